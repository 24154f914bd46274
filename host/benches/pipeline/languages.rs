//! What a decoder's language costs: the `writes` decoder in Rust, Python
//! (`plugins/writes-py`), JavaScript (`plugins/writes-js`) and C
//! (`plugins/writes-c`), the same
//! logic and the same series. Per language: component size, load time
//! cold (compiled) and warm (from the compiled-component cache), linear
//! memory after `init` and after decoding the largest map, and decode time
//! at each size, all as ratios to Rust. No kernel needed: the snapshots
//! are built in memory, shaped as `writes_by_process` is.

use std::time::{Duration, Instant};

use bpfhost::decoder::Decoder;
use bpfhost::decoder::wasm::{Limits, Runtime, WasmDecoder};
use bpfhost::maps::{MapSnapshot, MapType};
use bpfhost::testing::artifact;

use crate::stats::{Samples, Table, duration, mib};

/// A size in KiB below 1 MiB (a Rust component is tens of KiB), else MiB.
fn size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        mib(bytes)
    }
}

/// The languages, by their decoder artifact.
const LANGUAGES: [(&str, &str); 4] = [
    ("Rust", "plugins/writes.wasm"),
    ("Python", "plugins/writes-py.wasm"),
    ("JavaScript", "plugins/writes-js.wasm"),
    ("C", "plugins/writes-c.wasm"),
];

/// One language's figures.
#[derive(Debug, Default)]
pub struct Costs {
    pub language: &'static str,
    pub size: u64,
    pub cold: Samples,
    pub warm: Samples,
    pub memory_init: u64,
    pub memory_decoded: u64,
    /// Per size: decode time samples.
    pub decode: Vec<(u32, Samples)>,
}

/// A `writes_by_process` snapshot of `entries` processes.
fn snapshot(entries: u32) -> MapSnapshot {
    let mut snap = MapSnapshot {
        name: "writes_by_process".into(),
        map_type: Some(MapType::LruHash),
        key_size: 20,
        value_size: 8,
        cpus: 1,
        entries,
        ..MapSnapshot::default()
    };
    for pid in 0..entries {
        snap.keys.extend_from_slice(&(pid + 1000).to_le_bytes());
        let mut comm = [0u8; 16];
        let name = format!("proc-{}", pid % 977);
        comm[..name.len()].copy_from_slice(name.as_bytes());
        snap.keys.extend_from_slice(&comm);
        snap.values
            .extend_from_slice(&u64::from(pid * 3 + 1).to_le_bytes());
    }
    snap
}

fn limits() -> Limits {
    Limits {
        deadline: Duration::from_secs(60),
        memory_bytes: 1 << 30,
        ..Limits::default()
    }
}

fn load(runtime: &Runtime, wasm: &[u8]) -> (WasmDecoder, Duration) {
    let started = Instant::now();
    let decoder = WasmDecoder::load(runtime, wasm, "{}", limits()).expect("load decoder");
    (decoder, started.elapsed())
}

/// Measures every language; `rounds` samples of each figure.
pub fn measure(sizes: &[u32], rounds: usize) -> Vec<Costs> {
    let cache = tempfile::tempdir().expect("cache dir");
    let cold_rt = Runtime::new().expect("engine");
    let mut warm_rt = Runtime::new().expect("engine");
    warm_rt.enable_cache(cache.path()).expect("cache");
    let snapshots: Vec<MapSnapshot> = sizes.iter().map(|&n| snapshot(n)).collect();
    let mut all = Vec::new();
    for (language, path) in LANGUAGES {
        eprintln!("languages: {language}");
        let wasm = std::fs::read(artifact(path)).expect("read decoder");
        let mut costs = Costs {
            language,
            size: wasm.len() as u64,
            ..Costs::default()
        };
        drop(load(&warm_rt, &wasm)); // fills the cache
        for _ in 0..rounds {
            costs.cold.push(load(&cold_rt, &wasm).1);
            costs.warm.push(load(&warm_rt, &wasm).1);
        }
        let (mut decoder, _) = load(&warm_rt, &wasm);
        costs.memory_init = decoder.memory_bytes().unwrap_or(0);
        for snap in &snapshots {
            let mut samples = Samples::default();
            let mut maps = [snap.clone()];
            // The first decode warms the guest (allocator, caches).
            let first = decoder.decode(&mut maps).expect("decode");
            assert_eq!(
                first.families[0].series.len(),
                snap.entries as usize,
                "{language}"
            );
            for _ in 0..rounds {
                let started = Instant::now();
                decoder.decode(&mut maps).expect("decode");
                samples.push(started.elapsed());
            }
            costs.decode.push((snap.entries, samples));
        }
        costs.memory_decoded = decoder.memory_bytes().unwrap_or(0);
        all.push(costs);
    }
    all
}

/// Prints one table: each language's figures and their ratio to Rust's.
pub fn print(all: &[Costs]) {
    let Some(rust) = all.first() else { return };
    println!("\nDecoder languages (the `writes` decoder; medians, ratio to Rust in brackets):");
    let mut header = vec![
        "language".to_owned(),
        "component".to_owned(),
        "load cold".to_owned(),
        "load warm".to_owned(),
        "memory after init".to_owned(),
        "memory after decode".to_owned(),
    ];
    header.extend(rust.decode.iter().map(|(n, _)| format!("decode {n}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header);
    let times = |a: Duration, b: Duration| format!(" ({:.1}x)", a.as_secs_f64() / b.as_secs_f64());
    let bytes = |a: u64, b: u64| format!(" ({:.1}x)", a as f64 / b.max(1) as f64);
    for c in all {
        let mut row = vec![
            c.language.to_owned(),
            format!("{}{}", size(c.size), bytes(c.size, rust.size)),
            format!(
                "{}{}",
                duration(c.cold.median()),
                times(c.cold.median(), rust.cold.median())
            ),
            format!(
                "{}{}",
                duration(c.warm.median()),
                times(c.warm.median(), rust.warm.median())
            ),
            format!(
                "{}{}",
                mib(c.memory_init),
                bytes(c.memory_init, rust.memory_init)
            ),
            format!(
                "{}{}",
                mib(c.memory_decoded),
                bytes(c.memory_decoded, rust.memory_decoded)
            ),
        ];
        for ((_, samples), (_, base)) in c.decode.iter().zip(&rust.decode) {
            row.push(format!(
                "{}{}",
                duration(samples.median()),
                times(samples.median(), base.median())
            ));
        }
        t.row(row);
    }
    t.print();
}
