//! This decoder against a hand-written one for the same map: the `writes`
//! example's `writes_by_process` (key `struct { __u32 pid; char comm[16]; }`,
//! `__u64` count), 100,000 entries, natively.
//!
//! `cargo bench -p bpfhost-plugin-ebpf-exporter --bench decode` prints the
//! time per scrape of each and their ratio; the target is at most 1.5.
//! Times on a loaded machine vary by tens of percent: `ONLY=hand` or
//! `ONLY=generic` runs one decoder, to count its instructions with
//! `valgrind --tool=callgrind` instead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bpfhost_plugin_ebpf_exporter::EbpfExporter;
use bpfhost_plugin_sdk::{Config, Decoder, MapSnapshot, MapType, Maps, Output, Spec};
use bpfhost_plugin_writes::Writes;

const ENTRIES: u32 = 100_000;
const SCRAPES: u32 = 50;

/// `writes_by_process` as an `ebpf_exporter` config.
const CONFIG: &str = r#"{"metrics": {"counters": [{
    "name": "writes_by_process", "help": "write(2) calls, by process",
    "labels": [
        {"name": "pid", "size": 4, "decoders": [{"name": "uint"}]},
        {"name": "comm", "size": 16, "decoders": [{"name": "string"}]}
    ]}]}}"#;

fn snapshot() -> MapSnapshot {
    let mut map = MapSnapshot::new("writes_by_process", MapType::LruHash, 20, 8);
    for pid in 0..ENTRIES {
        let mut key = pid.to_le_bytes().to_vec();
        let mut comm = format!("worker-{}", pid % 500).into_bytes();
        comm.resize(16, 0);
        key.extend_from_slice(&comm);
        map = map.entry(&key, &u64::from(pid).to_le_bytes());
    }
    map
}

/// One scrape of some decoder.
type Scrape = Box<dyn FnMut(&Maps<'_>, &mut Output)>;

/// A decoder ready to scrape, and its fastest scrape so far.
struct Timed {
    decode: Scrape,
    best: Duration,
    rows: usize,
}

impl Timed {
    fn new<D: Decoder>(config: &str) -> Self {
        let mut decoder = D::init(&Config::new(config), &mut Spec::default()).expect("init");
        Self {
            decode: Box::new(move |maps, out| decoder.decode(maps, out).expect("decode")),
            best: Duration::MAX,
            rows: 0,
        }
    }

    fn scrape(&mut self, maps: &[MapSnapshot]) {
        let mut out = Output::default();
        let start = Instant::now();
        (self.decode)(&Maps::new(maps), &mut out);
        self.best = self.best.min(start.elapsed());
        self.rows = black_box(out).len();
    }
}

fn main() {
    let maps = [snapshot()];
    let mut hand = Timed::new::<Writes>("{}");
    let mut generic = Timed::new::<EbpfExporter>(CONFIG);
    // Alternated, so both see the same load from anything else running.
    let only = std::env::var("ONLY").unwrap_or_default();
    if !only.is_empty() {
        for _ in 0..SCRAPES {
            match only.as_str() {
                "hand" => hand.scrape(&maps),
                _ => generic.scrape(&maps),
            }
        }
        return;
    }
    for _ in 0..SCRAPES {
        hand.scrape(&maps);
        generic.scrape(&maps);
    }
    assert_eq!(hand.rows, generic.rows, "both decode every entry");

    let per_row = |d: Duration| d.as_nanos() as f64 / f64::from(ENTRIES);
    println!("{ENTRIES} entries, best of {SCRAPES} scrapes each, alternated");
    println!(
        "  writes (hand-written): {:>10.2?}  {:6.1} ns/row",
        hand.best,
        per_row(hand.best)
    );
    println!(
        "  ebpf-exporter config:  {:>10.2?}  {:6.1} ns/row",
        generic.best,
        per_row(generic.best)
    );
    println!(
        "  ratio: {:.2} (target: at most 1.5)",
        generic.best.as_secs_f64() / hand.best.as_secs_f64()
    );
}
