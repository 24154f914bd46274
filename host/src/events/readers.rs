//! The readers of one exporter: a thread per source, stopped and joined
//! when dropped.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use mio::Waker;

use super::batch::{Batch, BatchLimits};
use super::reader::{Reader, Source};
use super::{EventMap, EventsError, SourceCounters};

/// The readers of one exporter: one thread per source, sleeping in epoll
/// (never on the async runtime's workers). Dropping it stops and joins
/// them (within milliseconds: each wakes on its stop eventfd) and closes
/// their maps and perf buffers.
pub struct Readers {
    exporter: String,
    stop: Arc<AtomicBool>,
    threads: Vec<(JoinHandle<()>, Waker)>,
}

impl fmt::Debug for Readers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readers")
            .field("exporter", &self.exporter)
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// Starts a reader for each of `sources` (the decoder's declaration
    /// order: batches carry the index), batching by `limits` (one per
    /// source) and handing batches to `queue`. Returns the sources'
    /// counters, in the same order.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the caller hands its sender over, so the queue disconnects once the readers are dropped"
    )]
    pub fn start(
        exporter: &str,
        sources: Vec<EventMap>,
        limits: &[BatchLimits],
        queue: SyncSender<Batch>,
    ) -> Result<(Self, Vec<Arc<SourceCounters>>), EventsError> {
        if sources.len() != limits.len() {
            return Err(EventsError::LimitsMismatch {
                exporter: exporter.to_owned(),
                sources: sources.len(),
                limits: limits.len(),
            });
        }
        if let Some((map, _)) = sources
            .iter()
            .zip(limits)
            .find(|(_, limits)| limits.max_records == 0)
        {
            return Err(EventsError::NoRecordsPerBatch {
                exporter: exporter.to_owned(),
                map: map.name().to_owned(),
            });
        }
        // On an error below, dropping `readers` stops those already started.
        let mut readers = Self {
            exporter: exporter.to_owned(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::with_capacity(sources.len()),
        };
        let mut counters = Vec::with_capacity(sources.len());
        for (index, (map, limits)) in sources.into_iter().zip(limits).enumerate() {
            let name = map.name().to_owned();
            let source = map.open()?;
            counters.push(readers.spawn(index as u32, &name, source, limits, &queue)?);
        }
        Ok((readers, counters))
    }

    /// Starts the reader of source `index`; returns its counters.
    fn spawn(
        &mut self,
        index: u32,
        name: &str,
        source: Box<dyn Source>,
        limits: &BatchLimits,
        queue: &SyncSender<Batch>,
    ) -> Result<Arc<SourceCounters>, EventsError> {
        let counters = Arc::new(SourceCounters::new(name));
        let (reader, waker) = Reader::new(
            source,
            index,
            limits,
            queue.clone(),
            Arc::clone(&counters),
            Arc::clone(&self.stop),
        )
        .map_err(|source| EventsError::Poll {
            map: name.to_owned(),
            source,
        })?;
        // Linux keeps 15 bytes of a thread's name; std cuts it there.
        let thread = std::thread::Builder::new()
            .name(format!("ev-{}", self.exporter))
            .spawn(move || reader.run())
            .map_err(|source| EventsError::Spawn {
                exporter: self.exporter.clone(),
                map: name.to_owned(),
                source,
            })?;
        self.threads.push((thread, waker));
        Ok(counters)
    }

    /// Starts a reader on a source other than a kernel map (tests).
    #[cfg(test)]
    pub(super) fn start_sources(
        exporter: &str,
        sources: Vec<(String, Box<dyn Source>)>,
        limits: &BatchLimits,
        queue: &SyncSender<Batch>,
    ) -> (Self, Vec<Arc<SourceCounters>>) {
        let mut readers = Self {
            exporter: exporter.to_owned(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        };
        let counters = sources
            .into_iter()
            .enumerate()
            .map(|(index, (name, source))| {
                readers
                    .spawn(index as u32, &name, source, limits, queue)
                    .expect("start a reader")
            })
            .collect();
        (readers, counters)
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for (_, waker) in &self.threads {
            if let Err(error) = waker.wake() {
                tracing::error!(exporter = %self.exporter, %error, "cannot wake an event reader");
            }
        }
        for (thread, _) in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!(exporter = %self.exporter, "an event reader panicked");
            }
        }
    }
}
