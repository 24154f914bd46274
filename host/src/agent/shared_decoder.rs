//! One exporter's decoder, shared by its scrapes and its event pump.
//!
//! Both take the decoder in turn (a wasm instance runs one call at a time).
//! Scrapes go first: the pump waits while a scrape waits, so a steady
//! stream of event batches cannot keep a scrape out, and a scrape waits at
//! most for the one batch call in progress, which the sandbox's deadline
//! bounds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::decoder::{Declaration, Decoder};
use crate::sys::lock;

/// How long the pump sleeps between looks while a scrape waits.
const YIELD: Duration = Duration::from_micros(200);

pub struct SharedDecoder {
    decoder: Mutex<Box<dyn Decoder>>,
    scrapes_waiting: AtomicUsize,
    /// What the decoder declared at start; a restarted instance must
    /// declare the same, so this copy never goes stale.
    spec: Declaration,
}

impl std::fmt::Debug for SharedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedDecoder")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl SharedDecoder {
    pub fn new(decoder: Box<dyn Decoder>) -> Self {
        Self {
            spec: decoder.spec().clone(),
            decoder: Mutex::new(decoder),
            scrapes_waiting: AtomicUsize::new(0),
        }
    }

    /// The families, maps and event sources declared at start.
    pub fn spec(&self) -> &Declaration {
        &self.spec
    }

    /// The decoder, for a scrape: ahead of any event batch still to come.
    pub fn for_scrape(&self) -> MutexGuard<'_, Box<dyn Decoder>> {
        self.scrapes_waiting.fetch_add(1, Ordering::SeqCst);
        let guard = lock(&self.decoder);
        self.scrapes_waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// The decoder, for an event batch: once no scrape waits for it.
    pub fn for_events(&self) -> MutexGuard<'_, Box<dyn Decoder>> {
        loop {
            while self.scrapes_waiting.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(YIELD);
            }
            let guard = lock(&self.decoder);
            if self.scrapes_waiting.load(Ordering::SeqCst) == 0 {
                return guard;
            }
            // A scrape arrived while we took the lock: let it have it.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32};

    use super::*;
    use crate::decoder::{Collection, DecodeError, EventBatch};
    use crate::maps::MapSnapshot;

    /// Counts the batch calls it starts; each holds the decoder a while.
    struct Busy {
        spec: Declaration,
        started: Arc<AtomicU32>,
    }

    impl Decoder for Busy {
        fn spec(&self) -> &Declaration {
            &self.spec
        }

        fn decode(&mut self, _: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
            Ok(Collection::default())
        }

        fn on_events(&mut self, _: &mut EventBatch) -> Result<(), DecodeError> {
            self.started.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            Ok(())
        }
    }

    #[test]
    fn a_scrape_waits_for_at_most_the_batch_in_progress() {
        let started = Arc::new(AtomicU32::new(0));
        let shared = Arc::new(SharedDecoder::new(Box::new(Busy {
            spec: Declaration::default(),
            started: started.clone(),
        })));
        let stop = Arc::new(AtomicBool::new(false));
        let pump = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let mut decoder = shared.for_events();
                    decoder.on_events(&mut EventBatch::default()).unwrap();
                }
            })
        };
        for _ in 0..20 {
            let before = started.load(Ordering::SeqCst);
            let mut decoder = shared.for_scrape();
            // The pump takes the lock again right after releasing it; were
            // scrapes not first, it could start any number of calls here.
            let during = started.load(Ordering::SeqCst) - before;
            assert!(
                during <= 1,
                "{during} batch calls started while a scrape waited"
            );
            decoder.decode(&mut []).unwrap();
            drop(decoder);
            std::thread::sleep(Duration::from_millis(7));
        }
        stop.store(true, Ordering::SeqCst);
        pump.join().unwrap();
        assert!(
            started.load(Ordering::SeqCst) >= 10,
            "the pump ran between scrapes"
        );
    }
}
