//! The SDK's readers against byte layouts produced by a real C compiler.
//!
//! `layouts.c` defines the kind of structs eBPF programs put in maps,
//! initializes them (padding filled with 0xaa) and prints their bytes,
//! `offsetof` values and field values as C sees them. These tests compile
//! and run it with `$CC` (default `cc`), then read the bytes with the SDK
//! and compare. Without a C compiler they fail, on purpose: the layout
//! claims would otherwise go untested.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use bpfhost_plugin_sdk::{
    Buckets, Error, FamilyId, HistogramSample, Histograms, MapSnapshot, MapType, Maps, Output,
    Part, Reader, Spec,
};

/// Facts printed by `layouts.c`, by name.
struct Facts(HashMap<String, String>);

impl Facts {
    fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("layouts.c printed no `{name}`"))
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        let hex = self.get(&format!("{name}.bytes"));
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex byte"))
            .collect()
    }

    fn usize(&self, name: &str) -> usize {
        self.get(name).parse().expect("a number")
    }

    fn off(&self, field: &str) -> usize {
        self.usize(&format!("{field}.off"))
    }
}

fn facts() -> &'static Facts {
    static FACTS: OnceLock<Facts> = OnceLock::new();
    FACTS.get_or_init(compile_and_run)
}

fn compile_and_run() -> Facts {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/layouts.c");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpfhost-sdk-layouts");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "these tests need a C compiler to produce the layouts they check: \
                 running `{cc}` failed ({e}); install gcc or clang, or set CC"
            )
        });
    assert!(
        status.success(),
        "`{cc}` could not compile {}",
        source.display()
    );
    let output = Command::new(&binary).output().expect("running layouts");
    assert!(
        output.status.success(),
        "layouts exited with {}",
        output.status
    );
    let text = String::from_utf8(output.stdout).expect("layouts prints UTF-8");
    Facts(
        text.lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// Asserts that the reader has just read `field` at its C offset.
fn ends_at(r: &Reader<'_>, f: &Facts, field: &str, size: usize) {
    assert_eq!(r.position(), f.off(field) + size, "end of {field}");
}

#[test]
fn conn_key_reads_in_declaration_order_across_padding() {
    let f = facts();
    let bytes = f.bytes("conn_key");
    assert_eq!(bytes.len(), f.usize("conn_key.size"));
    let mut k = Reader::key(&bytes);

    assert_eq!(k.u32().unwrap().to_string(), f.get("conn_key.pid"));
    ends_at(&k, f, "conn_key.pid", 4);
    assert_eq!(k.u8().unwrap().to_string(), f.get("conn_key.proto"));
    ends_at(&k, f, "conn_key.proto", 1);
    assert_eq!(k.u16_be().unwrap().to_string(), f.get("conn_key.port_be"));
    ends_at(&k, f, "conn_key.port_be", 2);
    assert_eq!(k.u64().unwrap().to_string(), f.get("conn_key.cgroup"));
    ends_at(&k, f, "conn_key.cgroup", 8);
    assert_eq!(k.c_str(16).unwrap(), f.get("conn_key.comm"));
    ends_at(&k, f, "conn_key.comm", 16);
    assert_eq!(k.i8().unwrap().to_string(), f.get("conn_key.nice"));
    assert_eq!(k.i16().unwrap().to_string(), f.get("conn_key.delta16"));
    ends_at(&k, f, "conn_key.delta16", 2);
    assert_eq!(k.i32().unwrap().to_string(), f.get("conn_key.delta32"));
    ends_at(&k, f, "conn_key.delta32", 4);
    assert_eq!(k.i64().unwrap().to_string(), f.get("conn_key.delta64"));
    ends_at(&k, f, "conn_key.delta64", 8);
    assert_eq!(k.remaining(), 0);

    // The values C printed are the ones layouts.c sets, not something else.
    assert_eq!(f.get("conn_key.comm"), "curl");
    assert_eq!(f.get("conn_key.port_be"), "8443");
}

#[test]
fn conn_key_fields_read_at_explicit_offsets() {
    let f = facts();
    let bytes = f.bytes("conn_key");
    let mut k = Reader::key(&bytes);
    k.seek(f.off("conn_key.cgroup")).unwrap();
    assert_eq!(k.u64().unwrap().to_string(), f.get("conn_key.cgroup"));
    k.seek(f.off("conn_key.port_be")).unwrap();
    assert_eq!(k.u16_be().unwrap().to_string(), f.get("conn_key.port_be"));
    // skip/align reach the same place as automatic padding.
    let mut k = Reader::key(&bytes).packed();
    k.skip(5).unwrap().align(2).unwrap();
    assert_eq!(k.position(), f.off("conn_key.port_be"));
}

#[test]
fn addresses_ports_and_full_char_arrays() {
    let f = facts();
    let bytes = f.bytes("addr_pair");
    let mut v = Reader::value(&bytes);
    assert_eq!(v.u8().unwrap().to_string(), f.get("addr_pair.family"));
    assert_eq!(v.ipv4().unwrap().to_string(), f.get("addr_pair.saddr"));
    ends_at(&v, f, "addr_pair.saddr", 4);
    assert_eq!(v.ipv6().unwrap().to_string(), f.get("addr_pair.daddr"));
    ends_at(&v, f, "addr_pair.daddr", 16);
    assert_eq!(v.u16_be().unwrap().to_string(), f.get("addr_pair.sport_be"));
    assert_eq!(v.u32_be().unwrap().to_string(), f.get("addr_pair.seq_be"));
    ends_at(&v, f, "addr_pair.seq_be", 4);
    assert_eq!(
        v.u64_be().unwrap().to_string(),
        f.get("addr_pair.cookie_be")
    );
    ends_at(&v, f, "addr_pair.cookie_be", 8);
    assert_eq!(v.c_str(16).unwrap(), f.get("addr_pair.comm"));
    assert_eq!(v.remaining(), 0);
    assert_eq!(f.get("addr_pair.daddr"), "2001:db8::8a2e:370:7334");
}

#[test]
fn packed_structs_read_without_padding() {
    let f = facts();
    let bytes = f.bytes("packed_key");
    assert_eq!(bytes.len(), f.usize("packed_key.size"));
    let mut k = Reader::key(&bytes).packed();
    k.u8().unwrap();
    assert_eq!(k.u32().unwrap().to_string(), f.get("packed_key.b"));
    ends_at(&k, f, "packed_key.b", 4);
    assert_eq!(k.u16().unwrap().to_string(), f.get("packed_key.c"));
    assert_eq!(k.u64().unwrap().to_string(), f.get("packed_key.d"));
    ends_at(&k, f, "packed_key.d", 8);
}

#[test]
fn a_truncated_key_reports_the_c_offset_of_the_missing_field() {
    let f = facts();
    let bytes = f.bytes("conn_key");
    let comm = f.off("conn_key.comm");
    let short = &bytes[..comm + 10];
    let mut k = Reader::key(short);
    k.u32().unwrap();
    k.u8().unwrap();
    k.u16_be().unwrap();
    k.u64().unwrap();
    assert_eq!(
        k.c_str(16).unwrap_err(),
        Error::TooShort {
            part: Part::Key,
            offset: comm,
            need: 16,
            have: comm + 10
        }
    );
}

fn family(buckets: &Buckets, labels: &[&str]) -> FamilyId {
    Spec::default().histogram(
        "h_seconds",
        "",
        labels,
        &buckets.bounds().expect("valid buckets"),
    )
}

fn histogram(labels: &[&str], buckets: &[u64], sum: f64, count: u64) -> HistogramSample {
    HistogramSample {
        family: 0,
        labels: labels.iter().map(|&l| l.to_owned()).collect(),
        buckets: buckets.to_vec(),
        sum,
        count,
    }
}

#[test]
fn u64_slot_array_with_sum_per_cpu() {
    // struct hist { __u64 slots[8]; __u64 sum; } = {1,0,3,5,0,0,2,1}, 12345
    // on two CPUs with the same value: every count doubles.
    let f = facts();
    let value = f.bytes("hist");
    let buckets = Buckets::exp2(8).sum_slot().scale(0.001);
    assert_eq!(buckets.value_size(), f.usize("hist.size"));
    let snapshot = MapSnapshot::new("h", MapType::PerCpuArray, 4, value.len())
        .cpus(2)
        .entry_per_cpu(&0u32.to_le_bytes(), &[&value, &value]);
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let mut hist = Histograms::new(&buckets);
    for entry in maps.get("h").unwrap().entries() {
        hist.add_value(&[], &entry).unwrap();
    }
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets, &[]));
    assert_eq!(
        out.histograms(),
        [histogram(&[], &[2, 2, 8, 18, 18, 18, 22, 24], 24.69, 24)]
    );
}

#[test]
fn u32_slot_array_as_libbpf_tools_writes_it() {
    // struct hist32 { __u32 slots[6]; } = {4,1,0,0,7,2}, the last slot clamped.
    let f = facts();
    let value = f.bytes("hist32");
    let buckets = Buckets::exp2(6).u32_counters().overflow();
    assert_eq!(buckets.value_size(), f.usize("hist32.size"));
    let mut hist = Histograms::new(&buckets);
    hist.read_slots(&["x"], &mut Reader::value(&value)).unwrap();
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets, &["x"]));
    assert_eq!(buckets.bounds().unwrap(), [1.0, 2.0, 4.0, 8.0, 16.0]);
    assert_eq!(
        out.histograms(),
        [histogram(&["x"], &[4, 5, 5, 5, 12], 0.0, 14)]
    );
}

#[test]
fn keyed_slots_group_by_the_label_part_of_c_keys() {
    // struct hist_key { __u64 cgroup; __u32 slot; } (4 bytes tail padding):
    // {100,0} {200,3} {100,2} {100,4 = sum slot}, with counts 5, 6, 7, 900.
    let f = facts();
    let key_size = f.usize("hist_key.size");
    let keys = f.bytes("hist_keys");
    let counts = [5u64, 6, 7, 900];
    let snapshot = keys.chunks_exact(key_size).zip(counts).fold(
        MapSnapshot::new("h", MapType::Hash, key_size, 8),
        |s, (k, c)| s.entry(k, &c.to_le_bytes()),
    );
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let buckets = Buckets::exp2(4).sum_slot();
    let mut hist = Histograms::new(&buckets);
    for entry in maps.get("h").unwrap().entries() {
        let mut k = Reader::key(entry.key);
        let cgroup = k.u64().unwrap();
        let slot = k.u32().unwrap();
        assert_eq!(k.position(), f.off("hist_key.slot") + 4);
        hist.add_entry(&[&cgroup.to_string()], slot.into(), &entry)
            .unwrap();
    }
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets, &["cgroup"]));
    assert_eq!(
        out.histograms(),
        [
            histogram(&["100"], &[5, 5, 12, 12], 900.0, 12),
            histogram(&["200"], &[0, 0, 0, 6], 0.0, 6),
        ]
    );
}
