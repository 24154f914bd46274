//! How many records the event pump hands a decoder in one call.
//!
//! A scrape waits for the batch call in progress (scrapes go first, but a
//! wasm call cannot be interrupted and resumed). So the pump keeps calls
//! short: starting small, it halves the records per call while a call
//! takes longer than [`TARGET`], and doubles them while calls take under a
//! quarter of it. A decoder whose cost is per call rather than per record (halving
//! the records did not shorten the call) gains nothing from smaller calls
//! and would only lose throughput: it gets full batches, for [`HOLD`]
//! before halving is tried again.

use std::time::{Duration, Instant};

/// What one call should take at most.
pub const TARGET: Duration = Duration::from_micros(500);
/// Fewest records a call is cut down to.
const MIN_RECORDS: u32 = 16;
/// Records of the first call: small, so that a slow decoder's first calls
/// do not keep a scrape waiting while the size is learnt; a fast one
/// doubles to full batches within four calls.
const START_RECORDS: u32 = 256;
/// How long a size found to be per call is kept before halving again.
const HOLD: Duration = Duration::from_secs(30);
/// A halved call that still takes more than this share of the one before
/// did not get cheaper with fewer records.
const NO_GAIN: f64 = 0.7;

#[derive(Debug, Clone)]
pub struct CallSize {
    records: u32,
    max: u32,
    /// What a call took just before the last halving.
    halved_from: Option<Duration>,
    /// Do not halve below `records` until then.
    hold_until: Option<Instant>,
}

impl CallSize {
    /// At most `max` records per call (the readers' batch size).
    pub fn new(max: u32) -> Self {
        let max = max.max(1);
        Self {
            records: START_RECORDS.min(max),
            max,
            halved_from: None,
            hold_until: None,
        }
    }

    /// Records for the next call.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// Learns from a call of `records` records that took `took`, at `now`.
    pub fn observe(&mut self, records: u32, took: Duration, now: Instant) {
        if records > self.records {
            // A piece cut before the size last changed.
            return;
        }
        let held = self.hold_until.is_some_and(|until| now < until);
        if records < self.records {
            // A partial batch: fast, it says nothing about a full call;
            // slow, the size must come down below it (unless the cost was
            // found to be per call).
            if took <= TARGET || held {
                return;
            }
            self.records = records.max(MIN_RECORDS);
            self.halved_from = None;
        }
        if took > TARGET {
            self.shrink(took, now);
        } else if took < TARGET / 4 && self.records < self.max {
            self.records = self.records.saturating_mul(2).min(self.max);
            self.halved_from = None;
        } else {
            self.halved_from = None;
        }
    }

    fn shrink(&mut self, took: Duration, now: Instant) {
        if let Some(before_took) = self.halved_from.take()
            && took.as_secs_f64() > NO_GAIN * before_took.as_secs_f64()
        {
            // Half the records, about the same time: the cost is per call,
            // so the fewest calls (full batches) lose the least.
            self.records = self.max;
            self.hold_until = Some(now + HOLD);
            return;
        }
        if self.hold_until.is_some_and(|until| now < until) || self.records <= MIN_RECORDS {
            return;
        }
        self.hold_until = None;
        self.halved_from = Some(took);
        self.records = (self.records / 2).max(MIN_RECORDS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `call_size` full calls costing `cost(records)` until it settles;
    /// the sizes it chose, in order.
    fn settle(call_size: &mut CallSize, now: Instant, cost: impl Fn(u32) -> Duration) -> Vec<u32> {
        let mut sizes = Vec::new();
        for _ in 0..20 {
            let n = call_size.records();
            sizes.push(n);
            call_size.observe(n, cost(n), now);
        }
        sizes
    }

    #[test]
    fn a_decoder_slow_per_record_gets_calls_of_about_the_target() {
        let mut call_size = CallSize::new(4096);
        // 10 µs a record: the first call of 256 records takes 2.56 ms.
        let per_record = |n: u32| Duration::from_micros(10 * u64::from(n));
        let sizes = settle(&mut call_size, Instant::now(), per_record);
        assert_eq!(&sizes[..4], [256, 128, 64, 32]);
        let n = call_size.records();
        assert!(per_record(n) <= TARGET && per_record(n) > TARGET / 4, "{n}");
        assert!(sizes[4..].iter().all(|&s| s == n), "{sizes:?}");
    }

    #[test]
    fn a_decoder_slow_per_call_gets_full_batches() {
        let now = Instant::now();
        let mut call_size = CallSize::new(4096);
        // Fast per record, but 10 ms a call whatever its size.
        let per_call = |n: u32| Duration::from_millis(10) + Duration::from_nanos(u64::from(n));
        let sizes = settle(&mut call_size, now, per_call);
        assert_eq!(&sizes[..3], [256, 128, 4096]);
        assert!(sizes[2..].iter().all(|&s| s == 4096), "{sizes:?}");
        // Neither the remainder of a batch nor a partial batch undoes it.
        call_size.observe(1000, per_call(1000), now);
        assert_eq!(call_size.records(), 4096);
        // After the hold, one more try.
        call_size.observe(4096, per_call(4096), now + HOLD + Duration::from_secs(1));
        assert_eq!(call_size.records(), 2048);
    }

    #[test]
    fn calls_grow_back_when_the_decoder_gets_fast_and_other_calls_teach_nothing() {
        let now = Instant::now();
        let mut call_size = CallSize::new(4096);
        settle(&mut call_size, now, |n| {
            Duration::from_nanos(5_000 * u64::from(n))
        });
        assert!(call_size.records() < 512);
        let small = call_size.records();
        call_size.observe(small - 1, Duration::ZERO, now);
        assert_eq!(call_size.records(), small);
        // Nor does a call cut at an earlier, larger size.
        call_size.observe(small * 2, Duration::from_secs(1), now);
        assert_eq!(call_size.records(), small);
        let sizes = settle(&mut call_size, now, |n| {
            Duration::from_nanos(50 * u64::from(n))
        });
        assert_eq!(sizes.last(), Some(&4096), "{sizes:?}");
    }

    #[test]
    fn a_partial_batch_over_the_target_brings_the_size_below_it() {
        let now = Instant::now();
        let mut call_size = CallSize::new(4096);
        assert_eq!(call_size.records(), 256);
        call_size.observe(100, TARGET * 3, now);
        assert_eq!(call_size.records(), 50);
    }

    #[test]
    fn never_below_the_minimum_nor_above_the_batch() {
        let now = Instant::now();
        let mut call_size = CallSize::new(64);
        // Costs that fall with the size, but never under the target.
        settle(&mut call_size, now, |n| Duration::from_millis(u64::from(n)));
        assert_eq!(call_size.records(), MIN_RECORDS);
        settle(&mut call_size, now, |_| Duration::ZERO);
        assert_eq!(call_size.records(), 64);
        assert_eq!(CallSize::new(0).records(), 1);
    }
}
