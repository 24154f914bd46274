//! The generic `ebpf_exporter` decoder against a hand-written one for the
//! same map, both as the agent runs them: wasm components decoding the
//! `writes` example's `writes_by_process` (key `struct { __u32 pid; char
//! comm[16]; }`, `__u64` count) at 100,000 entries. The issue that added
//! the generic decoder asks it to stay within 1.5x of the hand-written
//! `writes` plugin. Decoding only: reading the map and encoding the
//! series cost both the same.

use std::time::Instant;

use bpfhost::decoder::Decoder as _;
use bpfhost::decoder::wasm::{Limits, Runtime, WasmDecoder};
use bpfhost::lookup::Grants;
use bpfhost::maps::{MapSnapshot, MapType};
use bpfhost::testing::artifact;

use crate::stats::{Samples, Table, duration, ratio, size};

/// Entries of the map, as the issue names them.
pub const ENTRIES: u32 = 100_000;

/// `writes_by_process` as an `ebpf_exporter` config.
const CONFIG: &str = r#"{"metrics": {"counters": [{
    "name": "writes_by_process", "help": "write(2) calls, by process",
    "labels": [
        {"name": "pid", "size": 4, "decoders": [{"name": "uint"}]},
        {"name": "comm", "size": 16, "decoders": [{"name": "string"}]}
    ]}]}}"#;

/// What one run measured: time per decode of each, alternated.
#[derive(Debug, Default)]
pub struct Report {
    pub hand: Samples,
    pub generic: Samples,
    /// Series each decode produced (the same for both).
    pub series: usize,
}

fn snapshot() -> MapSnapshot {
    let mut map = MapSnapshot {
        name: "writes_by_process".into(),
        map_type: Some(MapType::LruHash),
        key_size: 20,
        value_size: 8,
        cpus: 1,
        entries: ENTRIES,
        ..MapSnapshot::default()
    };
    for pid in 0..ENTRIES {
        map.keys.extend_from_slice(&pid.to_le_bytes());
        let mut comm = format!("worker-{}", pid % 500).into_bytes();
        comm.resize(16, 0);
        map.keys.extend_from_slice(&comm);
        map.values.extend_from_slice(&u64::from(pid).to_le_bytes());
    }
    map
}

fn load(runtime: &Runtime, plugin: &str, config: &str, mut limits: Limits) -> WasmDecoder {
    // The generic decoder imports every lookup it may call, as the
    // built-in does; this config calls none.
    limits.importable = Grants::all();
    let wasm = std::fs::read(artifact(&format!("plugins/{plugin}.wasm")))
        .unwrap_or_else(|e| panic!("{plugin}.wasm: {e}"));
    WasmDecoder::load(runtime, &wasm, config, limits)
        .unwrap_or_else(|e| panic!("loading {plugin}: {e}"))
}

/// Decodes the map `scrapes` times with each decoder, alternated so both
/// see the same load from anything else running.
pub fn measure(runtime: &Runtime, limits: &Limits, scrapes: usize) -> Report {
    let mut hand = load(runtime, "writes", "{}", *limits);
    let mut generic = load(runtime, "ebpf-exporter", CONFIG, *limits);
    let mut maps = [snapshot()];
    let mut report = Report::default();
    let mut decode = |decoder: &mut WasmDecoder, samples: &mut Samples| {
        let started = Instant::now();
        let collection = decoder.decode(&mut maps).expect("decode");
        samples.push(started.elapsed());
        collection
            .families
            .iter()
            .map(|f| f.series.len())
            .sum::<usize>()
    };
    for _ in 0..scrapes {
        let hand_series = decode(&mut hand, &mut report.hand);
        let generic_series = decode(&mut generic, &mut report.generic);
        assert_eq!(hand_series, generic_series, "both decode every entry");
        report.series = hand_series;
    }
    assert_eq!(report.series, ENTRIES as usize, "one series per entry");
    report
}

impl Report {
    pub fn print(&self) {
        println!(
            "\nThe generic ebpf_exporter decoder and a hand-written one, wasm, decode only ({} \
             scrapes each, alternated)\n",
            self.hand.len()
        );
        let mut table = Table::new(&["map", "entries", "decoder", "min", "median", "per entry"]);
        for (name, samples) in [
            ("writes (hand-written)", &self.hand),
            ("ebpf-exporter config", &self.generic),
        ] {
            let per_entry = samples.median() / ENTRIES;
            table.row(vec![
                "writes_by_process".into(),
                size(ENTRIES),
                name.into(),
                duration(samples.min()),
                duration(samples.median()),
                duration(per_entry),
            ]);
        }
        table.print();
    }

    /// `(median, min)` ratios, generic over hand-written.
    pub fn ratios(&self) -> (f64, f64) {
        (
            ratio(self.hand.median(), self.generic.median()),
            ratio(self.hand.min(), self.generic.min()),
        )
    }
}
