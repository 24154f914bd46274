//! Samples the kernel loses to a full perf buffer are counted as
//! `kernel_lost`, exactly: a burst from `bpf/bench/events.bpf.c`'s perf
//! producer into one-page buffers, made by a real-time thread on the
//! reader's CPU, so the reader cannot run until the burst is over.

use std::sync::mpsc::sync_channel;

use super::{Collector, account_for_all, getpgid, producer, thread_named};
use crate::events::{BatchLimits, DropReason, Readers};
use crate::testing::require_kernel;

/// Records in the burst: a one-page buffer holds about 128.
const BURST: u64 = 10_000;

/// The id of this process's thread named `name`.
fn thread_id(name: &str) -> libc::pid_t {
    let task = thread_named(name);
    let id = task.file_name().and_then(|id| id.to_str()?.parse().ok());
    id.expect("a thread id")
}

/// Pins thread `tid` (0: the calling one) to `cpu`.
fn pin(tid: libc::pid_t, cpu: u32) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        set
    };
    // SAFETY: `set` lives across the call, with its size.
    let pinned =
        unsafe { libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &raw const set) };
    assert_eq!(
        pinned,
        0,
        "sched_setaffinity: {}",
        std::io::Error::last_os_error()
    );
}

/// Sets the calling thread's scheduling policy.
fn schedule(policy: libc::c_int, priority: libc::c_int) {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` lives across the call.
    let set = unsafe { libc::sched_setscheduler(0, policy, &raw const param) };
    assert_eq!(
        set,
        0,
        "sched_setscheduler: {}",
        std::io::Error::last_os_error()
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn samples_lost_to_a_full_perf_buffer_are_counted_exactly() {
    require_kernel();
    let mut object = producer();
    let map = object
        .take_event_map("events16_perf")
        .expect("take events16_perf");
    let name = map.name().to_owned();
    let source = map.open_with(1).expect("one-page perf buffers");
    let (tx, rx) = sync_channel(64);
    let (readers, counters) =
        Readers::start_sources("evlost", vec![(name, source)], &BatchLimits::default(), &tx);
    drop(tx);
    let counters = &counters[0];
    let collector = Collector::start(rx);

    let cpu = aya::util::online_cpus().expect("online cpus")[0];
    pin(thread_id("ev-evlost"), cpu);
    // The producer only counts this thread's calls: it makes the burst
    // (each test has a thread of its own, so pinning it is harmless).
    pin(0, cpu);
    schedule(libc::SCHED_FIFO, 1);
    for _ in 0..BURST {
        getpgid();
    }
    schedule(libc::SCHED_OTHER, 0);

    let mut produced = BURST;
    account_for_all(&mut produced, getpgid, || {
        counters.received() + counters.dropped(DropReason::KernelLost)
    });
    drop(readers);
    let handed_on: u64 = collector
        .finish()
        .iter()
        .map(|b| u64::from(b.records))
        .sum();
    let lost = counters.dropped(DropReason::KernelLost);
    assert!(lost > 0, "the burst overflowed the buffers");
    println!(
        "perf buffer of one page: {produced} records produced, {} read, {lost} lost",
        counters.received()
    );
    assert_eq!(handed_on, counters.received());
    assert_eq!(counters.received() + lost, produced);
}
