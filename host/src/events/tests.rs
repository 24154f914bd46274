//! The reader's batching, dropping and stopping, on a fake source (no
//! kernel): records the test feeds through a socket pair's readiness.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reader::{Event, Source};
use super::{Batch, BatchLimits, DropReason, Readers, SourceCounters};
use crate::loader::kernel_tests::eventually;

/// Records waiting in a fake source, and the socket that makes it readable.
struct Feed {
    records: Arc<Mutex<VecDeque<Vec<u8>>>>,
    wake: UnixStream,
}

impl Feed {
    fn send(&mut self, records: &[&[u8]]) {
        self.records
            .lock()
            .expect("feed lock")
            .extend(records.iter().map(|r| r.to_vec()));
        self.wake.write_all(b"!").expect("wake the reader");
    }
}

struct FakeSource {
    records: Arc<Mutex<VecDeque<Vec<u8>>>>,
    ready: UnixStream,
}

impl Source for FakeSource {
    fn fds(&self) -> Vec<RawFd> {
        vec![self.ready.as_raw_fd()]
    }

    fn drain(&mut self, f: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
        let mut sink = [0; 64];
        while self.ready.read(&mut sink).is_ok_and(|n| n > 0) {}
        loop {
            let record = self.records.lock().expect("feed lock").pop_front();
            let Some(record) = record else {
                return ControlFlow::Continue(());
            };
            f(Event::Record(&record, &[]))?;
        }
    }
}

fn fake() -> (Feed, Box<dyn Source>) {
    let (wake, ready) = UnixStream::pair().expect("socket pair");
    ready.set_nonblocking(true).expect("nonblocking");
    let records = Arc::new(Mutex::new(VecDeque::new()));
    let feed = Feed {
        records: Arc::clone(&records),
        wake,
    };
    (feed, Box::new(FakeSource { records, ready }))
}

/// A reader on one fake source, its queue bounded to `queue` batches.
fn start(
    limits: BatchLimits,
    queue: usize,
) -> (Feed, Readers, Arc<SourceCounters>, Receiver<Batch>) {
    let (feed, source) = fake();
    let (tx, rx) = sync_channel(queue);
    let (readers, mut counters) =
        Readers::start_sources("fake", vec![("fake".to_owned(), source)], &limits, &tx);
    (feed, readers, counters.remove(0), rx)
}

/// Limits that hand a batch on at `max_records` only (or when stopped).
fn handed_on_at(max_records: u32) -> BatchLimits {
    BatchLimits {
        max_records,
        max_delay: Duration::from_secs(3600),
        ..BatchLimits::default()
    }
}

fn records(batch: &Batch) -> Vec<&[u8]> {
    batch.iter().collect()
}

#[test]
fn a_partial_batch_is_handed_on_once_max_delay_has_passed() {
    let limits = BatchLimits {
        max_records: 100,
        max_delay: Duration::from_millis(30),
        ..BatchLimits::default()
    };
    let (mut feed, _readers, counters, rx) = start(limits, 4);
    let sent = Instant::now();
    feed.send(&[b"one", b"two", b"three"]);
    let batch = rx.recv_timeout(Duration::from_secs(5)).expect("a batch");
    assert!(
        sent.elapsed() >= limits.max_delay,
        "handed on before max_delay"
    );
    assert_eq!(batch.source, 0);
    assert_eq!(batch.records, 3);
    assert_eq!(records(&batch), [&b"one"[..], b"two", b"three"]);
    assert_eq!(counters.received(), 3);
}

#[test]
fn a_full_batch_is_handed_on_at_once_and_the_rest_on_drop() {
    let limits = handed_on_at(2);
    let (mut feed, readers, counters, rx) = start(limits, 4);
    feed.send(&[b"a", b"b", b"c", b"d", b"e"]);
    let first = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("first batch");
    let second = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("second batch");
    assert_eq!(records(&first), [b"a", b"b"]);
    assert_eq!(records(&second), [b"c", b"d"]);
    // Stopping leaves unread records unread: wait for the fifth to be read.
    eventually("the fifth record read", || counters.received() == 5);
    drop(readers);
    let last = rx
        .try_recv()
        .expect("the partial batch, handed on when stopped");
    assert_eq!(records(&last), [b"e"]);
    assert_eq!(counters.received(), 5);
    assert!(DropReason::ALL.iter().all(|&r| counters.dropped(r) == 0));
}

#[test]
fn a_full_queue_drops_and_counts_batches_without_blocking_the_reader() {
    let limits = handed_on_at(1);
    let (mut feed, readers, counters, rx) = start(limits, 1);
    for i in 0..10u8 {
        feed.send(&[&[i]]);
    }
    eventually("10 records read", || counters.received() == 10);
    // The reader is not stuck on the full queue: it still takes records.
    assert_eq!(rx.try_recv().map(|b| b.data), Ok(vec![1, 0, 0, 0, 0]));
    feed.send(&[b"late"]);
    let late = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the late record");
    assert_eq!(records(&late), [b"late"]);
    drop(readers);
    assert_eq!(counters.received(), 11);
    assert_eq!(counters.dropped(DropReason::QueueFull), 9);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn records_shorter_than_declared_are_dropped_as_too_short() {
    let limits = BatchLimits {
        min_record_size: 4,
        ..handed_on_at(2)
    };
    let (mut feed, _readers, counters, rx) = start(limits, 4);
    feed.send(&[b"abcd", b"ab", b"", b"abcdef"]);
    let batch = rx.recv_timeout(Duration::from_secs(5)).expect("a batch");
    assert_eq!(records(&batch), [&b"abcd"[..], b"abcdef"]);
    assert_eq!(counters.received(), 4);
    assert_eq!(counters.dropped(DropReason::TooShort), 2);
}

#[test]
fn batches_nobody_takes_any_more_count_as_decoder_down() {
    let limits = handed_on_at(1);
    let (mut feed, _readers, counters, rx) = start(limits, 4);
    drop(rx);
    feed.send(&[b"x", b"y", b"z"]);
    eventually("3 records dropped", || {
        counters.dropped(DropReason::DecoderDown) == 3
    });
    assert_eq!(counters.received(), 3);
}

#[test]
fn dropping_readers_wakes_and_joins_their_threads_at_once() {
    let (_feed, readers, _counters, rx) = start(BatchLimits::default(), 4);
    let started = Instant::now();
    drop(readers);
    // Nothing else would wake the reader: it waits without a timeout.
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "stopping took {:?}",
        started.elapsed()
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn one_limits_per_source_or_a_clear_error() {
    let (tx, _rx) = sync_channel(1);
    let error = Readers::start("packets", Vec::new(), &[BatchLimits::default()], tx)
        .expect_err("one limits too many");
    assert_eq!(
        error.to_string(),
        "exporter `packets`: 0 event sources but 1 batch limits"
    );
}
