//! Events under overload: a producer far faster than the decoder.
//!
//! `bpf/bench/events.bpf.c` writes a 16-byte record to a ring buffer at
//! every getpid(2) of one thread, called there in a tight loop,
//! while another thread collects the exporter (a scrape) again and again.
//! The exporter's decoder is the hostile fixture taking the records, either
//! fast (it only counts them) or overloaded, so that at most ~400k records
//! a second get through while the producer makes well over a million:
//! slow per record (it spins ~5 µs on each, the usual way a decoder
//! falls behind) or slow per call (~10-15 ms on every call, whatever its
//! size). Measured, interleaved: the producer's time per getpid (the
//! kernel side: does a slow decoder slow it down?), the host reader's CPU
//! per record (its thread's schedstat), the collection's time
//! (does a scrape wait behind event batches? the pump cuts a slow-per-record
//! decoder's batches into calls of about half a millisecond; a slow-per-call
//! one keeps its full batches, so a scrape may wait for one) and where the
//! records went (received, handed to the decoder, dropped by reason).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfhost::agent::Exporter;
use bpfhost::decoder::wasm::{Limits, Runtime, WasmDecoder};
use bpfhost::loader::{self, LoadRequest};
use bpfhost::manifest::spec::GlobalValue;
use bpfhost::testing::artifact;

use crate::stats::{Samples, Table, duration};

/// How the decoder keeps up.
#[derive(Debug, Clone, Copy)]
enum Pace {
    Fast,
    SlowPerRecord,
    SlowPerCall,
}

impl Pace {
    fn config(self) -> &'static str {
        match self {
            Self::Fast => r#"{"events": "events16", "minRecordSize": 16}"#,
            // 10,000 iterations: ~5 µs a record in wasm.
            Self::SlowPerRecord => {
                r#"{"events": "events16", "minRecordSize": 16, "spinPerRecord": 10000}"#
            }
            // ~10-15 ms a call, so at most ~400k records a second (4,096 a
            // call) get through.
            Self::SlowPerCall => {
                r#"{"events": "events16", "minRecordSize": 16, "fault": "slow", "phase": "events", "spin": 40000000}"#
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast decoder",
            Self::SlowPerRecord => "slow per record",
            Self::SlowPerCall => "slow per call",
        }
    }
}

/// One pace's figures over every round.
#[derive(Debug)]
pub struct Run {
    pace: &'static str,
    /// Producer: wall time per getpid (program attached, record written).
    getpid: Samples,
    /// Producer: CPU time per getpid.
    getpid_cpu: Samples,
    /// The host's reader thread: CPU time per record it took off the ring
    /// buffer.
    reader_cpu: Samples,
    /// Time per collection of the exporter.
    collect: Samples,
    received: u64,
    handled: f64,
    dropped: Vec<(&'static str, u64)>,
}

fn exporter(runtime: &Runtime, pace: Pace) -> Exporter {
    let elf = std::fs::read(artifact("bpf/bench/events.bpf.o")).expect("read events.bpf.o");
    // Records of this thread's getpid calls only (produce() runs here).
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let globals = BTreeMap::from([(
        "target_pid".to_owned(),
        GlobalValue::Unsigned(u64::try_from(tid).expect("a thread id")),
    )]);
    let mut object = loader::load(&LoadRequest {
        exporter: "overload",
        elf: &elf,
        globals: &globals,
        programs: &[],
        maps: &BTreeMap::new(),
        attach_policy: bpfhost::manifest::AttachPolicy::AllOrNothing,
    })
    .unwrap_or_else(|e| panic!("loading events.bpf.o: {}", bpfhost::error_chain(&e)));
    let map = object.take_event_map("events16").expect("events16");
    let wasm = std::fs::read(artifact("plugins/hostile.wasm")).expect("read hostile.wasm");
    let decoder =
        WasmDecoder::load(runtime, &wasm, pace.config(), Limits::default()).expect("load hostile");
    let mut exporter = Exporter::new(
        "overload",
        Some(Box::new(object)),
        Vec::new(),
        Box::new(decoder),
        0,
    );
    exporter
        .start_events(vec![map])
        .expect("start the event feed");
    exporter
}

/// The name of the exporter's reader thread.
const READER: &str = "ev-overload";

/// CPU time so far of this process's thread named `name`, in ns (the first
/// field of its schedstat). A new thread names itself once it runs, so
/// this looks for a second before giving up.
fn thread_cpu_ns(name: &str) -> u64 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        for task in tasks.flatten().map(|t| t.path()) {
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            if comm.trim_end() == name {
                let stat = std::fs::read_to_string(task.join("schedstat")).expect("schedstat");
                return stat
                    .split_whitespace()
                    .next()
                    .and_then(|ns| ns.parse().ok())
                    .expect("schedstat's first field");
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("no thread named {name}");
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill; the clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// getpid in a loop for `length`; wall time and CPU time per call. The CPU
/// time is what the kernel side costs the producer (the BPF program and
/// its ring buffer write); the wall time also counts the moments the
/// producer waited for a core, on a machine whose other threads (reader,
/// pump) are busy.
fn produce(length: Duration) -> (Duration, Duration) {
    let (started, cpu) = (Instant::now(), thread_cpu());
    let mut calls = 0u32;
    while started.elapsed() < length {
        for _ in 0..1000 {
            // SAFETY: getpid has no preconditions; the raw syscall always
            // enters the kernel.
            unsafe { libc::syscall(libc::SYS_getpid) };
        }
        calls += 1000;
    }
    (started.elapsed() / calls, (thread_cpu() - cpu) / calls)
}

fn handled(exporter: &mut Exporter) -> f64 {
    let collection = exporter.collect().expect("collect");
    collection
        .families
        .iter()
        .filter(|f| f.family.name == "hostile_ok")
        .flat_map(|f| &f.series)
        .find(|s| s.labels.iter().next() == Some("events"))
        .and_then(|s| match s.value {
            bpfhost::metrics::Value::Number(n) => Some(n),
            bpfhost::metrics::Value::Histogram { .. } => None,
        })
        .unwrap_or(0.0)
}

/// `rounds` rounds of `length` of production per pace, alternated.
pub fn measure(runtime: &Runtime, rounds: usize, length: Duration) -> Vec<Run> {
    let paces = [Pace::Fast, Pace::SlowPerRecord, Pace::SlowPerCall];
    let mut runs: Vec<Run> = paces
        .iter()
        .map(|p| Run {
            pace: p.name(),
            getpid: Samples::default(),
            getpid_cpu: Samples::default(),
            reader_cpu: Samples::default(),
            collect: Samples::default(),
            received: 0,
            handled: 0.0,
            dropped: Vec::new(),
        })
        .collect();
    for _ in 0..rounds {
        for (pace, run) in paces.iter().zip(&mut runs) {
            let exporter = Arc::new(std::sync::Mutex::new(exporter(runtime, *pace)));
            let reader_before = thread_cpu_ns(READER);
            let stop = Arc::new(AtomicBool::new(false));
            let scraper = {
                let (exporter, stop) = (exporter.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut times = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        let started = Instant::now();
                        exporter
                            .lock()
                            .expect("exporter")
                            .collect()
                            .expect("collect");
                        times.push(started.elapsed());
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    times
                })
            };
            let (wall, cpu) = produce(length);
            run.getpid.push(wall);
            run.getpid_cpu.push(cpu);
            stop.store(true, Ordering::SeqCst);
            for t in scraper.join().expect("scraper") {
                run.collect.push(t);
            }
            // Let the queue drain, then read where the records went.
            std::thread::sleep(Duration::from_millis(600));
            let mut exporter = exporter.lock().expect("exporter");
            run.handled += handled(&mut exporter);
            let (sources, _) = exporter.event_report();
            let source = &sources[0];
            run.received += source.received;
            let reader = thread_cpu_ns(READER) - reader_before;
            run.reader_cpu
                .push(Duration::from_nanos(reader / source.received.max(1)));
            for (reason, n) in &source.dropped {
                match run.dropped.iter_mut().find(|(r, _)| *r == reason.as_str()) {
                    Some((_, total)) => *total += n,
                    None => run.dropped.push((reason.as_str(), *n)),
                }
            }
        }
    }
    runs
}

pub fn print(runs: &[Run]) {
    println!(
        "\nEvents under overload: getpid(2) in a tight loop writing 16-byte ring buffer records, \
         the exporter collected every 20 ms meanwhile (all rounds together):"
    );
    let mut t = Table::new(&[
        "decoder",
        "getpid CPU",
        "getpid wall",
        "reader CPU/record",
        "collect median",
        "collect max",
        "received",
        "handled",
        "dropped (reason)",
    ]);
    for r in runs {
        let dropped: Vec<String> = r
            .dropped
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(reason, n)| format!("{n} ({reason})"))
            .collect();
        t.row(vec![
            r.pace.to_owned(),
            duration(r.getpid_cpu.median()),
            duration(r.getpid.median()),
            duration(r.reader_cpu.median()),
            duration(r.collect.median()),
            duration(r.collect.max()),
            r.received.to_string(),
            format!("{:.0}", r.handled),
            if dropped.is_empty() {
                "0".to_owned()
            } else {
                dropped.join(", ")
            },
        ]);
    }
    t.print();
    if let [fast, overloaded @ ..] = runs {
        for slow in overloaded {
            println!(
                "{}/fast: getpid CPU {:.2}x, wall {:.2}x, collect median {:.2}x",
                slow.pace,
                slow.getpid_cpu.median().as_secs_f64() / fast.getpid_cpu.median().as_secs_f64(),
                slow.getpid.median().as_secs_f64() / fast.getpid.median().as_secs_f64(),
                slow.collect.median().as_secs_f64() / fast.collect.median().as_secs_f64(),
            );
        }
    }
}
