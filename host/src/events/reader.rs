//! One source's reader: a thread that sleeps in epoll on the source's fds
//! and a stop waker, drains what the kernel wrote, batches the records and
//! hands each batch to the exporter's queue without ever waiting on it.

use std::io;
use std::ops::ControlFlow;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::batch::{Batch, BatchLimits, Pending};
use super::{DropReason, SourceCounters};

/// The stop waker's token; a source's fds take 1, 2, ...
const STOP: Token = Token(0);

/// What a source yields while it is drained.
#[derive(Debug)]
pub(super) enum Event<'a> {
    /// A record, in one part or (a perf sample that wraps) two.
    Record(&'a [u8], &'a [u8]),
    /// The kernel lost this many records.
    Lost(u64),
}

/// A source of records: what the reader polls and drains. The kernel's
/// ring buffers and perf buffers are the real ones (`map.rs`).
pub(super) trait Source: Send {
    /// The fds that become readable when records arrive.
    fn fds(&self) -> Vec<RawFd>;
    /// Hands `f` every record available now, until `f` breaks.
    fn drain(&mut self, f: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>) -> ControlFlow<()>;
}

/// A reader, ready to run on its own thread.
pub(super) struct Reader {
    source: Box<dyn Source>,
    poll: Poll,
    out: Output,
    min_record_size: usize,
}

/// Where records go: the batch being filled, the queue, the counters.
struct Output {
    pending: Pending,
    queue: SyncSender<Batch>,
    counters: Arc<SourceCounters>,
    stop: Arc<AtomicBool>,
    /// Records received (and dropped as too short) since the counters were
    /// last updated: they are updated once per drain or batch, not per record.
    received: u64,
    too_short: u64,
}

impl Reader {
    /// Registers the source's fds and a stop waker in a new epoll set.
    pub(super) fn new(
        source: Box<dyn Source>,
        index: u32,
        limits: &BatchLimits,
        queue: SyncSender<Batch>,
        counters: Arc<SourceCounters>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<(Self, Waker)> {
        let poll = Poll::new()?;
        for (i, fd) in source.fds().iter().enumerate() {
            poll.registry()
                .register(&mut SourceFd(fd), Token(i + 1), Interest::READABLE)?;
        }
        let waker = Waker::new(poll.registry(), STOP)?;
        let reader = Self {
            source,
            poll,
            out: Output {
                pending: Pending::new(index, limits),
                queue,
                counters,
                stop,
                received: 0,
                too_short: 0,
            },
            min_record_size: limits.min_record_size as usize,
        };
        Ok((reader, waker))
    }

    /// Reads until stopped, then hands on the batch in progress.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(64);
        // The kernel may have written before the fds were registered; epoll
        // is edge-triggered, so drain once before the first wait.
        let mut flow = self.drain();
        while flow.is_continue() {
            let timeout = self
                .out
                .pending
                .deadline()
                .map(|deadline| deadline.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::error!(
                        source = self.out.counters.name(),
                        error = %e,
                        "event reader stops: epoll failed"
                    );
                    break;
                }
            }
            if self.out.stopping() {
                break;
            }
            flow = self.drain();
            if self
                .out
                .pending
                .deadline()
                .is_some_and(|deadline| deadline <= Instant::now())
            {
                self.out.flush();
            }
        }
        self.out.flush();
    }

    /// Drains the source into batches; breaks when asked to stop.
    fn drain(&mut self) -> ControlFlow<()> {
        let min = self.min_record_size;
        let out = &mut self.out;
        let flow = self.source.drain(&mut |event| match event {
            Event::Record(head, tail) => out.record(head, tail, min),
            Event::Lost(n) => {
                out.counters.add_dropped(DropReason::KernelLost, n);
                ControlFlow::Continue(())
            }
        });
        out.publish();
        flow
    }
}

impl Output {
    fn record(&mut self, head: &[u8], tail: &[u8], min_record_size: usize) -> ControlFlow<()> {
        self.received += 1;
        if head.len() + tail.len() < min_record_size {
            self.too_short += 1;
            return ControlFlow::Continue(());
        }
        if !self.pending.push(head, tail) {
            return ControlFlow::Continue(());
        }
        self.flush();
        if self.stopping() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Updates the counters with what was read since the last update.
    fn publish(&mut self) {
        self.counters
            .add_received(std::mem::take(&mut self.received));
        self.counters
            .add_dropped(DropReason::TooShort, std::mem::take(&mut self.too_short));
    }

    /// Hands the batch in progress to the queue, or drops and counts it
    /// when the queue is full or gone: the reader never waits.
    fn flush(&mut self) {
        // Received before dropped: the counters never show more dropped
        // than received.
        self.publish();
        let Some(batch) = self.pending.take() else {
            return;
        };
        let records = u64::from(batch.records);
        match self.queue.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counters.add_dropped(DropReason::QueueFull, records);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.counters.add_dropped(DropReason::DecoderDown, records);
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}
