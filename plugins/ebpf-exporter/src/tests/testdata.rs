//! `testdata/` and `ebpf_exporter`'s own example configs.

use bpfhost_plugin_sdk::{MapSnapshot, MapType};

use super::*;

/// A recorded map dump (`testdata/dump.json`, hex keys and values as
/// `/debug/dump` serves them) as snapshots.
fn snapshots_of_dump(json: &str) -> Vec<MapSnapshot> {
    let hex = |text: &str| -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    };
    let dump: serde_json::Value = serde_json::from_str(json).expect("dump");
    let maps = dump["maps"].as_array().expect("maps");
    maps.iter()
        .map(|m| {
            let size = |field: &str| m[field].as_u64().expect(field) as usize;
            let (map_type, cpus) = match m["type"].as_str() {
                Some("percpu_array") => (MapType::PerCpuArray, size("cpus")),
                Some("percpu_hash") => (MapType::PerCpuHash, size("cpus")),
                Some("lru_hash") => (MapType::LruHash, 1),
                other => panic!("map type {other:?}"),
            };
            let name = m["name"].as_str().expect("name");
            let mut snapshot = MapSnapshot::new(name, map_type, size("keySize"), size("valueSize"));
            if map_type.is_per_cpu() {
                snapshot = snapshot.cpus(cpus);
            }
            for entry in m["entries"].as_array().expect("entries") {
                let key = hex(entry["key"].as_str().expect("key"));
                let value = hex(entry["value"].as_str().expect("value"));
                snapshot = if map_type.is_per_cpu() {
                    let values: Vec<&[u8]> = value.chunks(8).collect();
                    snapshot.entry_per_cpu(&key, &values)
                } else {
                    snapshot.entry(&key, &value)
                };
            }
            snapshot
        })
        .collect()
}

/// `testdata/`: the config and dump `bpfhost plugin test` turns into
/// `expected.prom`, decoded natively.
#[test]
fn the_testdata_dump_decodes_to_the_expected_series() {
    let (mut decoder, _) = init(include_str!("../../testdata/config.yaml"));
    let maps = snapshots_of_dump(include_str!("../../testdata/dump.json"));
    let out = decode(&mut decoder, &maps);
    let expected = include_str!("../../testdata/expected.prom");
    for sample in out.samples() {
        let family = ["writes_by_process_total", "softirqs_total"][sample.family as usize];
        let names: &[&str] = match sample.family {
            0 => &["pid", "comm"],
            _ => &["vec", "cpu"],
        };
        let labels: Vec<String> = names
            .iter()
            .zip(&sample.labels)
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        let line = format!(
            "ebpf_exporter_{family}{{{}}} {}\n",
            labels.join(","),
            sample.value
        );
        assert!(expected.contains(&line), "{line} is not in expected.prom");
    }
    let [read, write] = out.histograms().try_into().expect("two histograms");
    assert_eq!((read.buckets, read.count), (vec![4, 8, 8, 9], 9));
    assert!((read.sum - 0.045).abs() < 1e-12);
    assert_eq!((write.buckets, write.count), (vec![0, 0, 6, 6], 6));
}
