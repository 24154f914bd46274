//! The pipeline benchmark: real BPF maps of 1k to 1M entries (hash and
//! per-CPU hash) filled through `bpf(2)`, read by batch lookup and by per-key
//! iteration, decoded by the `flows` plugin as a wasm component and compiled
//! natively, encoded, and scraped over HTTP on 127.0.0.1; then the agent
//! binary's start-up time and memory with ten exporters, the allocations
//! of one scrape, the per-event cost of the example BPF programs, the
//! generic `ebpf_exporter` decoder against a hand-written one, what a
//! decoder's language costs (Rust, Python, JavaScript), and an event
//! handler in wasm against the same handler compiled natively, and a
//! producer of events far faster than its decoder.
//!
//! Every comparison is measured interleaved, round by round, in one run;
//! the tables show min and median per round and the ratios of medians.
//!
//! `cargo xtask bench` runs it in full (release); `cargo xtask bench --quick`
//! or `cargo test -p bpfhost --bench pipeline -- --quick` runs small sizes
//! and few rounds, as CI does. `--baseline BIN` adds this build's agent
//! against another build's (say, an earlier commit's release binary), both
//! started and scraped alternately. Needs root and the artifacts of
//! `cargo xtask build`. See BENCHMARKS.md.

mod alloc;
mod baseline;
mod events;
mod fixture;
mod generic;
mod handlers;
mod http;
mod languages;
mod native;
mod overload;
mod process;
mod report;
mod stages;
mod stats;

use std::time::Duration;

use bpfhost::decoder::validate::OutputBounds;
use bpfhost::decoder::wasm::{Limits, Runtime};
use bpfhost::testing::artifact;

use fixture::Kind;
use stages::Case;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// What to run, from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    pub sizes: Vec<u32>,
    pub rounds: usize,
    /// Exporters of the agent process, entries in each one's map, scrapes.
    pub exporters: usize,
    pub agent_entries: u32,
    pub scrapes: usize,
    pub startups: usize,
    /// Syscalls per round of the per-event measurement.
    pub event_calls: u32,
    /// `--profile wasm|native`: only decode the last case in a loop, for a
    /// profiler (`perf record`, `valgrind --tool=callgrind`).
    pub profile: Option<String>,
    /// `--baseline BIN`: another build's agent binary to compare with.
    pub baseline: Option<std::path::PathBuf>,
    /// `--only pipeline,languages,handlers,overload`: run only those parts.
    pub only: Option<Vec<String>>,
}

impl Settings {
    /// Whether part `name` runs.
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }
}

impl Settings {
    fn parse() -> Self {
        let mut args = std::env::args().skip(1);
        let mut quick = false;
        let mut rounds = None;
        let mut sizes = None;
        let mut profile = None;
        let mut baseline = None;
        let mut only = None;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--profile" => profile = args.next(),
                "--baseline" => baseline = args.next().map(std::path::PathBuf::from),
                "--only" => {
                    only = args
                        .next()
                        .map(|s| s.split(',').map(str::to_owned).collect());
                }
                "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()),
                "--sizes" => {
                    sizes = args.next().map(|s| s.split(',').map(parse_size).collect());
                }
                // `cargo bench` passes `--bench`; libtest filters are ignored.
                "--bench" | "--nocapture" => {}
                other => panic!(
                    "unknown argument {other:?}; usage: pipeline [--quick] [--rounds N] [--sizes 1k,10k,100k,1M] [--baseline BIN] [--only PARTS]"
                ),
            }
        }
        let mut s = if quick {
            Self {
                quick,
                sizes: vec![1000, 10_000],
                rounds: 2,
                exporters: 10,
                agent_entries: 100,
                scrapes: 20,
                startups: 1,
                event_calls: 20_000,
                profile: None,
                baseline: None,
                only: None,
            }
        } else {
            Self {
                quick,
                sizes: vec![1000, 10_000, 100_000, 1_000_000],
                rounds: 5,
                exporters: 10,
                agent_entries: 10_000,
                scrapes: 1000,
                startups: 3,
                event_calls: 1_000_000,
                profile: None,
                baseline: None,
                only: None,
            }
        };
        if let Some(r) = rounds {
            s.rounds = r;
        }
        if let Some(sizes) = sizes {
            s.sizes = sizes;
        }
        s.profile = profile;
        s.baseline = baseline;
        s.only = only;
        s
    }
}

fn parse_size(s: &str) -> u32 {
    let (digits, unit) = match s.strip_suffix('M') {
        Some(d) => (d, 1_000_000),
        None => s.strip_suffix('k').map_or((s, 1), |d| (d, 1000)),
    };
    digits.parse::<u32>().expect("size like 10k or 1M") * unit
}

/// Limits large enough for a 1M-entry map; the agent's defaults (64 MiB of
/// memory, 200k series, 64 MiB of exposition: ~110 bytes a flow, so about
/// 600k) would cut the largest case short.
fn limits() -> Limits {
    Limits {
        deadline: Duration::from_mins(2),
        memory_bytes: 2 << 30,
        output: OutputBounds {
            max_series: 2_000_000,
            max_bytes: 1 << 30,
            ..OutputBounds::default()
        },
        ..Limits::default()
    }
}

fn main() {
    let settings = Settings::parse();
    if !bpfhost::testing::kernel_available("pipeline benchmark") {
        return;
    }
    eprintln!("pipeline benchmark: {settings:?}");
    let runtime = Runtime::new().expect("wasm engine");
    if settings.wants("pipeline") && !pipeline(&settings, &runtime) {
        return;
    }
    if settings.wants("languages") {
        // The decoder in each language, at the sizes users run (1k in --quick).
        let language_sizes: &[u32] = if settings.quick {
            &[1000]
        } else {
            &[1000, 10_000, 100_000]
        };
        languages::print(&languages::measure(language_sizes, settings.rounds));
    }
    if settings.wants("handlers") {
        let batches = if settings.quick { 4 } else { 64 };
        handlers::print(&handlers::measure(
            &runtime,
            &limits(),
            settings.rounds * 2,
            batches,
        ));
    }
    if settings.wants("overload") {
        let production = Duration::from_millis(if settings.quick { 300 } else { 2000 });
        overload::print(&overload::measure(&runtime, settings.rounds, production));
    }
    if let Some(bin) = &settings.baseline {
        baseline::print(&baseline::measure(&settings, bin));
    }
}

/// Maps of every size read, decoded, encoded and scraped; the agent
/// process; the example programs' cost per event; the generic decoder.
/// False when `--profile` asked for one loop only.
fn pipeline(settings: &Settings, runtime: &Runtime) -> bool {
    let wasm = std::fs::read(artifact("plugins/flows.wasm")).expect("read flows.wasm");
    let servers = http::Servers::new();
    let mut cases: Vec<Case> = Vec::new();
    for &size in &settings.sizes {
        for kind in Kind::ALL {
            eprintln!("filling a {} map with {size} entries", kind.name());
            let mut case = Case::new(kind, size, runtime, &wasm, limits(), &servers);
            case.verify();
            cases.push(case);
        }
    }
    if let Some(which) = &settings.profile {
        let case = cases.last_mut().expect("a case");
        let mut times = stats::Samples::default();
        for _ in 0..settings.rounds {
            let started = std::time::Instant::now();
            match which.as_str() {
                "wasm" => drop(case.decode_wasm_once()),
                "native" => drop(case.decode_native_once()),
                other => panic!("--profile wasm|native, not {other:?}"),
            }
            times.push(started.elapsed());
        }
        eprintln!(
            "{which} decode: min {}, median {}",
            stats::duration(times.min()),
            stats::duration(times.median())
        );
        return false;
    }
    for round in 0..settings.rounds {
        eprintln!("round {}/{}", round + 1, settings.rounds);
        for case in &mut cases {
            case.round(round);
        }
    }
    let allocations = alloc::measure(&mut cases);
    let pipeline = cases
        .iter_mut()
        .map(|c| report::CaseRun {
            kind: c.kind,
            entries: c.entries,
            results: std::mem::take(&mut c.results),
            wasm_error: c.wasm_error.take(),
        })
        .collect();
    drop(cases);
    drop(servers);
    let agent = process::measure(settings);
    // Many short rounds: the minimum of each side is what the program costs
    // when nothing else on the machine interferes.
    let events = events::measure(settings.rounds * 4, settings.event_calls / 4);
    let generic = generic::measure(runtime, &limits(), settings.rounds * 4);
    let runs = report::Runs {
        pipeline,
        allocations,
        agent,
        events,
        generic,
    };
    report::print(settings, &runs);
    true
}
