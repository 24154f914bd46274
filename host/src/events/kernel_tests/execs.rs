//! The ring buffer: `bpf/execs.bpf.c`'s exec records, every one exactly
//! once, and what happens when nobody takes them or they are too short.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::time::Duration;

use super::{Collector, execs_of, run_true};
use crate::events::{
    Batch, BatchLimits, DropReason, EventMap, EventsError, Readers, SourceCounters,
};
use crate::loader::LoadedObject;
use crate::loader::kernel_tests::{eventually, load_fixture};
use crate::testing::require_kernel;

fn execs_object() -> LoadedObject {
    load_fixture("bpf/execs.bpf.o", &[]).expect("load bpf/execs.bpf.o")
}

fn take_execs(object: &mut LoadedObject) -> EventMap {
    let map = object
        .take_event_map("execs")
        .expect("take the execs ring buffer");
    assert_eq!((map.name(), map.kind()), ("execs", "ring buffer"));
    map
}

/// The execs program, attached, and a reader of its ring buffer with a
/// queue of `limits.queue_batches`. The object must outlive the test.
fn start_execs(
    exporter: &str,
    limits: BatchLimits,
) -> (LoadedObject, Readers, Arc<SourceCounters>, Receiver<Batch>) {
    let mut object = execs_object();
    let map = take_execs(&mut object);
    let (tx, rx) = sync_channel(limits.queue_batches);
    let (readers, mut counters) =
        Readers::start(exporter, vec![map], &[limits], tx).expect("start the reader");
    (object, readers, counters.remove(0), rx)
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn every_exec_arrives_exactly_once_through_the_ring_buffer() {
    require_kernel();
    let (_object, readers, counters, rx) = start_execs("execs", BatchLimits::default());
    let collector = Collector::start(rx);

    let pids = run_true(300);
    eventually("the 300 exec records of /bin/true", || {
        execs_of(&collector.records(), &pids).len() >= 300
    });
    drop(readers);
    let batches = collector.finish();

    let records: Vec<Vec<u8>> = batches
        .iter()
        .flat_map(Batch::iter)
        .map(<[u8]>::to_vec)
        .collect();
    let ours = execs_of(&records, &pids);
    assert_eq!(ours.len(), 300, "each exec once");
    assert!(ours.iter().all(|(_, comm)| comm == "true"), "{ours:?}");
    assert!(batches.iter().all(|b| b.source == 0 && b.records > 0));
    let total: u64 = batches.iter().map(|b| u64::from(b.records)).sum();
    assert_eq!(total, records.len() as u64);
    assert_eq!(counters.received(), total);
    for reason in DropReason::ALL {
        assert_eq!(counters.dropped(reason), 0, "{}", reason.as_str());
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_queue_nobody_drains_drops_whole_batches_and_counts_them_exactly() {
    require_kernel();
    let limits = BatchLimits {
        max_records: 1,
        queue_batches: 1,
        ..BatchLimits::default()
    };
    let (_object, readers, counters, rx) = start_execs("overload", limits);

    // Nobody takes batches: the first stays queued, every later one drops.
    run_true(50);
    eventually("50 records read, all but one dropped", || {
        counters.received() >= 50
            && counters.received() == 1 + counters.dropped(DropReason::QueueFull)
    });
    let first = rx.try_recv().expect("the one queued batch");
    // The reader kept reading: with the queue drained, records arrive again.
    let collector = Collector::start(rx);
    let late = run_true(5);
    eventually("an exec record after the overload", || {
        !execs_of(&collector.records(), &late).is_empty()
    });
    drop(readers);
    let batches = collector.finish();

    let queued =
        u64::from(first.records) + batches.iter().map(|b| u64::from(b.records)).sum::<u64>();
    let dropped = counters.dropped(DropReason::QueueFull);
    println!(
        "overload: {} records received, {queued} queued, {dropped} dropped (queue full)",
        counters.received()
    );
    assert!(dropped >= 49, "{dropped} dropped");
    assert_eq!(counters.received(), queued + dropped);
    for reason in [
        DropReason::DecoderDown,
        DropReason::KernelLost,
        DropReason::TooShort,
    ] {
        assert_eq!(counters.dropped(reason), 0, "{}", reason.as_str());
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn records_shorter_than_declared_are_dropped_as_too_short() {
    require_kernel();
    let limits = BatchLimits {
        min_record_size: 21, // an exec record is 20 bytes
        max_delay: Duration::from_millis(1),
        ..BatchLimits::default()
    };
    let (_object, readers, counters, rx) = start_execs("short", limits);
    run_true(20);
    eventually("20 records dropped as too short", || {
        counters.dropped(DropReason::TooShort) >= 20
    });
    drop(readers);
    assert_eq!(counters.received(), counters.dropped(DropReason::TooShort));
    assert_eq!(
        rx.try_recv().map(|b| b.records),
        Err(TryRecvError::Disconnected)
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_map_that_is_missing_or_not_an_event_map_is_a_clear_error() {
    require_kernel();
    let mut object = execs_object();
    take_execs(&mut object);
    let again = object.take_event_map("execs").expect_err("taken already");
    assert!(matches!(again, EventsError::MissingMap { .. }), "{again:?}");
    assert!(
        again
            .to_string()
            .starts_with("the object has no map `execs`"),
        "{again}"
    );

    let mut object = load_fixture("bpf/fixtures/tracepoint.bpf.o", &[]).expect("load");
    let error = object.take_event_map("hits").expect_err("an array");
    assert_eq!(
        error.to_string(),
        "map `hits` is an Array, not a ring buffer or perf event array"
    );
    // Refused, the map stays with its object.
    assert!(object.map("hits").is_some());
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_batch_of_no_records_is_refused() {
    require_kernel();
    let mut object = execs_object();
    let map = take_execs(&mut object);
    let limits = BatchLimits {
        max_records: 0,
        ..BatchLimits::default()
    };
    let (tx, _rx) = sync_channel(1);
    let error = Readers::start("zero", vec![map], &[limits], tx).expect_err("max_records 0");
    assert_eq!(
        error.to_string(),
        "exporter `zero`, source `execs`: max_records is 0, it must be at least 1"
    );
}
