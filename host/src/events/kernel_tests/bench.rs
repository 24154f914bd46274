//! Figures, not assertions on time: what the reader costs per record and
//! how many records a second it takes off a ring buffer and off perf
//! buffers, for 16-byte records from `bpf/bench/events.bpf.c` (one per
//! syscall of this process, called in a tight loop for a second). Run with
//! `--nocapture` to see them; a debug build's figures.

use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use super::{account_for_all, getpgid, getpid, producer, thread_named};
use crate::events::{BatchLimits, DropReason, Readers, SourceCounters};
use crate::loader::LoadedObject;
use crate::loader::kernel_tests::{lookup, u64_sum};
use crate::testing::require_kernel;

/// CPU time of the thread `task` (its `/proc` directory), in ns: the first
/// field of its schedstat.
fn thread_cpu_ns(task: &Path) -> u64 {
    let schedstat = std::fs::read_to_string(task.join("schedstat")).expect("schedstat");
    schedstat
        .split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("schedstat's first field")
}

/// Reads map `map` of the producer while `produce` runs in a tight loop
/// for a second; prints the figures. `lost` counts the records the kernel
/// could not deliver. `exporter` names the reader thread, so that each
/// measurement (they run in parallel) finds its own.
fn measure(
    exporter: &str,
    map: &str,
    produce: fn(),
    lost: impl Fn(&LoadedObject, &SourceCounters) -> u64,
) {
    let mut object = producer();
    let source = object.take_event_map(map).expect("take the producer's map");
    let kind = source.kind();
    let limits = BatchLimits::default();
    let (tx, rx) = sync_channel(limits.queue_batches);
    let (readers, counters) = Readers::start(exporter, vec![source], &[limits], tx).expect("start");
    let counters = &counters[0];
    // A consumer that only counts: the figures are the reader's.
    let counting = std::thread::spawn(move || {
        let mut records = 0u64;
        while let Ok(batch) = rx.recv() {
            records += u64::from(batch.records);
        }
        records
    });

    let reader = thread_named(&format!("ev-{exporter}"));
    let cpu_before = thread_cpu_ns(&reader);
    let started = Instant::now();
    let mut produced = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            produce();
        }
        produced += 1000;
    }
    let elapsed = started.elapsed();
    account_for_all(&mut produced, produce, || {
        counters.received() + lost(&object, counters)
    });
    let cpu = thread_cpu_ns(&reader) - cpu_before;
    drop(readers);
    let consumed = counting.join().expect("the counting consumer");

    let received = counters.received();
    let queue_full = counters.dropped(DropReason::QueueFull);
    let seconds = elapsed.as_secs_f64();
    println!(
        "events bench, 16-byte records, {kind}: {produced} produced in {seconds:.2} s \
         ({:.2} M/s); {received} read ({:.2} M/s), {} lost in the kernel; \
         reader CPU {:.1} ns/record ({:.0}% of a core); {consumed} handed on, \
         {queue_full} dropped on a full queue",
        produced as f64 / seconds / 1e6,
        received as f64 / seconds / 1e6,
        lost(&object, counters),
        cpu as f64 / received.max(1) as f64,
        cpu as f64 / elapsed.as_nanos() as f64 * 100.0,
    );
    assert!(received > 0);
    assert_eq!(received, consumed + queue_full);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn reader_cost_and_rate_for_16_byte_records_through_a_ring_buffer() {
    require_kernel();
    measure("evring", "events16", getpid, |object, _| {
        let map = object.map("full").expect("the full counter");
        u64_sum(&lookup(&map.fd, &0u32.to_le_bytes(), 8).expect("full[0]"))
    });
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn reader_cost_and_rate_for_16_byte_records_through_perf_buffers() {
    require_kernel();
    measure("evperf", "events16_perf", getpgid, |_, counters| {
        counters.dropped(DropReason::KernelLost)
    });
}
