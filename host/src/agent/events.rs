//! An exporter's events: readers ([`crate::events`]) fill a bounded queue
//! with batches of records; one pump thread hands each batch to the
//! decoder ([`Decoder::on_events`](crate::decoder::Decoder::on_events)),
//! behind any waiting scrape, cut into calls of about half a millisecond
//! when the decoder is slow per record ([`CallSize`]) so a scrape never
//! waits long.
//!
//! A batch the decoder cannot take is dropped and counted by reason: the
//! decoder restarting after a trap or quarantined (`decoder_down`), or
//! answering with an error or a trap (`decoder_error`). Traps are also
//! counted by kind, like those of scrapes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::call_size::CallSize;
use super::shared_decoder::SharedDecoder;
use crate::decoder::{DecodeError, EventBatch, TrapKind};
use crate::events::{
    Batch, BatchLimits, DropReason, EventMap, EventsError, Readers, SourceCounters,
};

/// Batches an exporter's queue holds before readers drop new ones.
const QUEUE_BATCHES: usize = 64;
/// Records a batch holds at most.
const MAX_RECORDS: u32 = 4096;
/// How long a reader holds a partial batch before handing it over.
const MAX_DELAY: Duration = Duration::from_millis(10);
/// At most one log line per this interval for a decoder failing batches.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What an exporter's event sources did so far, for self-metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// The map's name.
    pub source: String,
    pub received: u64,
    /// By [`DropReason::ALL`] position.
    pub dropped: Vec<(DropReason, u64)>,
}

/// Traps of the event handler, by kind.
#[derive(Debug, Default)]
struct Traps([AtomicU64; TrapKind::ALL.len()]);

/// The readers and pump of one exporter; dropping it stops both.
pub struct EventFeed {
    /// Dropped first: stopping the readers closes the queue, which ends
    /// the pump.
    readers: Option<Readers>,
    pump: Option<JoinHandle<()>>,
    /// Tells the pump to leave what is still queued: an exporter being
    /// unloaded must not wait for its decoder to work through a backlog.
    stop: Arc<AtomicBool>,
    counters: Vec<Arc<SourceCounters>>,
    traps: Arc<Traps>,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field(
                "sources",
                &self.counters.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl EventFeed {
    /// Starts reading `maps` (in the order of the decoder's declared
    /// sources) into `decoder`.
    pub fn start(
        exporter: &str,
        decoder: Arc<SharedDecoder>,
        maps: Vec<EventMap>,
    ) -> Result<Self, EventsError> {
        let limits: Vec<BatchLimits> = decoder
            .spec()
            .events
            .iter()
            .map(|source| BatchLimits {
                max_records: MAX_RECORDS,
                max_delay: MAX_DELAY,
                queue_batches: QUEUE_BATCHES,
                min_record_size: source.min_record_size,
            })
            .collect();
        let (queue, batches) = sync_channel(QUEUE_BATCHES);
        let (readers, counters) = Readers::start(exporter, maps, &limits, queue)?;
        let traps = Arc::new(Traps::default());
        let stop = Arc::new(AtomicBool::new(false));
        let pump = Pump {
            exporter: exporter.to_owned(),
            decoder,
            stop: stop.clone(),
            counters: counters.clone(),
            traps: traps.clone(),
            size: CallSize::new(MAX_RECORDS),
            last_log: None,
            unlogged: 0,
        };
        let pump = std::thread::Builder::new()
            .name(format!("events-{exporter}"))
            .spawn(move || pump.run(&batches))
            .map_err(|source| EventsError::Pump {
                exporter: exporter.to_owned(),
                source,
            })?;
        Ok(Self {
            readers: Some(readers),
            pump: Some(pump),
            stop,
            counters,
            traps,
        })
    }

    /// Received and dropped records per source, since the start.
    pub fn report(&self) -> Vec<SourceReport> {
        self.counters
            .iter()
            .map(|c| SourceReport {
                source: c.name().to_owned(),
                received: c.received(),
                dropped: DropReason::ALL.iter().map(|&r| (r, c.dropped(r))).collect(),
            })
            .collect()
    }

    /// Traps of the event handler by kind, since the start.
    pub fn traps(&self) -> Vec<(TrapKind, u64)> {
        TrapKind::ALL
            .iter()
            .zip(&self.traps.0)
            .map(|(&kind, n)| (kind, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.readers.take());
        if let Some(pump) = self.pump.take() {
            // The pump leaves the queue as it is once told to stop (the
            // closed queue also ends it); a batch call in progress ends by
            // the sandbox's deadline at the latest.
            let _ = pump.join();
        }
    }
}

/// Hands batches to the decoder.
struct Pump {
    exporter: String,
    decoder: Arc<SharedDecoder>,
    stop: Arc<AtomicBool>,
    counters: Vec<Arc<SourceCounters>>,
    traps: Arc<Traps>,
    /// Records per decoder call, kept short for scrapes.
    size: CallSize,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl Pump {
    fn run(mut self, batches: &Receiver<Batch>) {
        // What the decoder writes to stdout/stderr is logged in this span.
        let span = tracing::info_span!("decoder", exporter = %self.exporter);
        let _entered = span.enter();
        let mut scratch = Vec::new();
        while let Ok(batch) = batches.recv() {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let Some(counters) = self.counters.get(batch.source as usize).cloned() else {
                continue;
            };
            if batch.records <= self.size.records() {
                self.deliver(&counters, batch.source, batch.records, batch.data);
                continue;
            }
            // Cut into calls short enough for a scrape to wait behind.
            let mut pieces = batch.pieces();
            while let Some((records, bytes)) = pieces.next_piece(self.size.records()) {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                scratch.clear();
                scratch.extend_from_slice(bytes);
                scratch = self.deliver(&counters, batch.source, records, scratch);
            }
        }
    }

    /// Hands `records` records to the decoder (behind any waiting scrape),
    /// counts them dropped if it cannot take them, and gives the buffer back.
    fn deliver(
        &mut self,
        counters: &SourceCounters,
        source: u32,
        records: u32,
        data: Vec<u8>,
    ) -> Vec<u8> {
        let mut batch = EventBatch {
            source,
            records,
            data,
        };
        let result = {
            let mut decoder = self.decoder.for_events();
            let started = Instant::now();
            let result = decoder.on_events(&mut batch);
            if result.is_ok() {
                self.size
                    .observe(records, started.elapsed(), Instant::now());
            }
            result
        };
        let reason = match result {
            Ok(()) => return batch.data,
            Err(DecodeError::NotRunning { .. }) => DropReason::DecoderDown,
            Err(ref e) => {
                if let DecodeError::Trap { kind, .. } = e {
                    self.traps.0[*kind as usize].fetch_add(1, Ordering::Relaxed);
                }
                self.log(counters.name(), e);
                DropReason::DecoderError
            }
        };
        counters.add_dropped(reason, u64::from(records));
        batch.data
    }

    /// Logs a failed batch, at most once per [`LOG_EVERY`] (traps always:
    /// the restart back-off already spaces them).
    fn log(&mut self, source: &str, error: &DecodeError) {
        let now = Instant::now();
        let trap = matches!(error, DecodeError::Trap { .. });
        if !trap && self.last_log.is_some_and(|t| now - t < LOG_EVERY) {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(
            exporter = %self.exporter,
            source,
            error = %error,
            suppressed = self.unlogged,
            "event batch dropped: the decoder failed it"
        );
        self.last_log = Some(now);
        self.unlogged = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::sync_channel;

    use super::*;
    use crate::decoder::{Collection, Declaration, Decoder};
    use crate::maps::MapSnapshot;

    /// Records each call's records (as numbers); fails call number `fail`.
    struct Recording {
        spec: Declaration,
        calls: Arc<Mutex<Vec<Vec<u32>>>>,
        fail: Option<usize>,
    }

    impl Decoder for Recording {
        fn spec(&self) -> &Declaration {
            &self.spec
        }

        fn decode(&mut self, _: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
            Ok(Collection::default())
        }

        fn on_events(&mut self, batch: &mut EventBatch) -> Result<(), DecodeError> {
            let mut calls = self.calls.lock().unwrap();
            if self.fail == Some(calls.len()) {
                calls.push(Vec::new());
                return Err(DecodeError::Trap {
                    kind: TrapKind::Unreachable,
                    message: "on purpose".into(),
                });
            }
            let batch = Batch {
                source: batch.source,
                records: batch.records,
                data: batch.data.clone(),
            };
            let records: Vec<u32> = batch
                .iter()
                .map(|r| u32::from_le_bytes(r.try_into().unwrap()))
                .collect();
            assert_eq!(records.len(), batch.records as usize);
            calls.push(records);
            Ok(())
        }
    }

    /// Runs a pump whose calls hold at most `per_call` records over
    /// batches of `sizes` records numbered from 0 on; the calls the decoder
    /// saw and the records counted dropped.
    fn pump(per_call: u32, sizes: &[u32], fail: Option<usize>) -> (Vec<Vec<u32>>, u64) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let decoder = Recording {
            spec: Declaration::default(),
            calls: calls.clone(),
            fail,
        };
        let counters = Arc::new(SourceCounters::new("records"));
        let pump = Pump {
            exporter: "test".into(),
            decoder: Arc::new(SharedDecoder::new(Box::new(decoder))),
            stop: Arc::new(AtomicBool::new(false)),
            counters: vec![counters.clone()],
            traps: Arc::new(Traps::default()),
            size: CallSize::new(per_call),
            last_log: None,
            unlogged: 0,
        };
        let (queue, batches) = sync_channel(sizes.len());
        let mut next = 0u32;
        for &size in sizes {
            let mut batch = Batch::default();
            for _ in 0..size {
                batch.data.extend_from_slice(&4u32.to_le_bytes());
                batch.data.extend_from_slice(&next.to_le_bytes());
                next += 1;
            }
            batch.records = size;
            queue.send(batch).unwrap();
        }
        drop(queue);
        pump.run(&batches);
        let dropped = counters.dropped(DropReason::DecoderError);
        let calls = calls.lock().unwrap().clone();
        (calls, dropped)
    }

    #[test]
    fn a_batch_over_the_call_size_is_handed_over_in_order_in_pieces() {
        let (calls, dropped) = pump(100, &[250, 40], None);
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50, 40]);
        let all: Vec<u32> = calls.concat();
        assert_eq!(all, (0..290).collect::<Vec<_>>());
        assert_eq!(dropped, 0);
    }

    #[test]
    fn a_failed_piece_drops_its_own_records_only() {
        let (calls, dropped) = pump(100, &[250], Some(1));
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 0, 50]);
        assert_eq!(calls[2], (200..250).collect::<Vec<_>>());
        assert_eq!(dropped, 100);
    }
}
