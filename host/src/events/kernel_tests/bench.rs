//! Figures, not assertions on time: what the reader costs per event and how
//! many events a second it takes off a ring buffer, for 16-byte records
//! from `bpf/bench/events.bpf.c` (one per getpid(2) of this process, called
//! in a tight loop for a second). Run with `--nocapture` to see them.

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use super::{producer, thread_named};
use crate::events::{BatchLimits, DropReason, Readers};
use crate::loader::kernel_tests::{eventually, lookup, u64_sum};
use crate::testing::require_kernel;

/// CPU time of the thread `task` (its `/proc` directory), in ns: the first
/// field of its schedstat.
fn thread_cpu_ns(task: &std::path::Path) -> u64 {
    let schedstat = std::fs::read_to_string(task.join("schedstat")).expect("schedstat");
    schedstat
        .split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("schedstat's first field")
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn reader_cpu_per_event_and_events_per_second_for_16_byte_records() {
    require_kernel();
    let mut object = producer();
    let map = object.take_event_map("events16").expect("take events16");
    let limits = BatchLimits::default();
    let (tx, rx) = sync_channel(limits.queue_batches);
    let (readers, counters) = Readers::start("evbench", vec![map], &[limits], tx).expect("start");
    let counters = &counters[0];
    // A consumer that only counts: the figures are the reader's.
    let counting = std::thread::spawn(move || {
        let mut records = 0u64;
        while let Ok(batch) = rx.recv() {
            records += u64::from(batch.records);
        }
        records
    });
    let full = || {
        let map = object.map("full").expect("the full counter");
        u64_sum(&lookup(&map.fd, &0u32.to_le_bytes(), 8).expect("full[0]"))
    };

    let reader = thread_named("ev-evbench");
    let cpu_before = thread_cpu_ns(&reader);
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            // SAFETY: getpid has no preconditions; the raw syscall is never
            // answered from a cache.
            unsafe { libc::syscall(libc::SYS_getpid) };
        }
        calls += 1000;
    }
    let elapsed = started.elapsed();
    eventually("every record read or counted lost", || {
        counters.received() + full() == calls
    });
    let cpu = thread_cpu_ns(&reader) - cpu_before;
    drop(readers);
    let consumed = counting.join().expect("the counting consumer");

    let received = counters.received();
    let queue_full = counters.dropped(DropReason::QueueFull);
    let seconds = elapsed.as_secs_f64();
    println!(
        "events bench (16-byte records, ring buffer): {calls} getpid calls in {seconds:.2} s \
         ({:.2} M/s); {received} records read ({:.2} M/s), {} lost to a full ring buffer; \
         reader CPU {:.1} ns/record ({:.0}% of a core); {consumed} records handed on, \
         {queue_full} dropped on a full queue",
        calls as f64 / seconds / 1e6,
        received as f64 / seconds / 1e6,
        full(),
        cpu as f64 / received.max(1) as f64,
        cpu as f64 / elapsed.as_nanos() as f64 * 100.0,
    );
    assert!(received > 0);
    assert_eq!(received, consumed + queue_full);
}
