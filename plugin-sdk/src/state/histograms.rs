//! Histograms keyed by label values, fed one observation at a time.

use std::time::Duration;

use super::key::{self, KeyBuf};
use super::{Expiry, LabelSets};
use crate::{Error, FamilyId, Output, Result};

#[derive(Debug, Clone)]
struct Slot {
    /// Observations per bucket (not cumulative); the last is `+Inf`'s.
    counts: Vec<u64>,
    sum: f64,
    seen: u64,
}

/// Histograms by label set, kept between calls; see [the module](crate::state).
///
/// ```
/// use bpfhost_plugin_sdk::{state::HistogramSet, Output, Spec};
///
/// let bounds = [0.001, 0.01, 0.1];
/// let mut spec = Spec::default();
/// let latency = spec.histogram("dns_latency_seconds", "DNS latency", &["server"], &bounds);
/// let mut set = HistogramSet::new(&bounds).unwrap();
/// set.observe(&["10.0.0.53"], 0.004, 0);
/// let mut out = Output::default();
/// set.emit(&mut out, latency, 0);
/// assert_eq!(out.histograms()[0].buckets, [0, 1, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct HistogramSet {
    bounds: Vec<f64>,
    slots: LabelSets<Slot>,
    expiry: Expiry,
    key: KeyBuf,
}

impl HistogramSet {
    /// An empty set with the family's bucket upper bounds (ascending,
    /// without `+Inf`, as declared with [`Spec::histogram`](crate::Spec::histogram)).
    pub fn new(bounds: &[f64]) -> Result<Self> {
        if bounds.iter().any(|b| b.is_nan()) || !bounds.is_sorted_by(|a, b| a < b) {
            return Err(Error::InvalidBuckets {
                reason: "bounds must be ascending numbers",
            });
        }
        Ok(Self {
            bounds: bounds.to_vec(),
            slots: LabelSets::default(),
            expiry: Expiry::default(),
            key: KeyBuf::default(),
        })
    }

    /// Forgets label sets not updated for `d` (checked at each emit).
    #[must_use]
    pub fn expire_after(mut self, d: Duration) -> Self {
        self.expiry = Expiry::after(d);
        self
    }

    /// Records one observation of `value` for `labels`, at time `now`.
    #[inline]
    pub fn observe(&mut self, labels: &[&str], value: f64, now: u64) {
        let bucket = self.bounds.partition_point(|&b| b < value);
        let key = self.key.key(labels);
        let slot = if let Some(slot) = self.slots.get_mut(&key) {
            slot
        } else {
            let slot = Slot {
                counts: vec![0; self.bounds.len() + 1],
                sum: 0.0,
                seen: now,
            };
            self.slots.entry(key.into()).or_insert(slot)
        };
        slot.counts[bucket] += 1;
        slot.sum += value;
        slot.seen = now;
    }

    /// Forgets the label sets that are stale at `now`; returns how many.
    pub fn expire(&mut self, now: u64) -> usize {
        let before = self.slots.len();
        let expiry = self.expiry;
        self.slots.retain(|_, s| !expiry.stale(s.seen, now));
        before - self.slots.len()
    }

    /// Expires stale label sets, then emits every histogram (cumulative
    /// buckets) into `family`.
    pub fn emit(&mut self, out: &mut Output, family: FamilyId, now: u64) {
        self.expire(now);
        let mut labels = Vec::new();
        for (key, slot) in &self.slots {
            key::labels(key.bytes(), &mut labels);
            let mut total = 0;
            let mut cumulative: Vec<u64> = slot
                .counts
                .iter()
                .map(|c| {
                    total += c;
                    total
                })
                .collect();
            cumulative.pop();
            out.histogram(family, &labels, cumulative, slot.sum, total);
        }
    }

    /// Number of label sets kept.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no label set is kept.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spec;

    #[test]
    fn observations_land_in_cumulative_buckets_and_stale_sets_go() {
        let bounds = [1.0, 10.0];
        let mut spec = Spec::default();
        let family = spec.histogram("lat", "Latency", &["dev"], &bounds);
        let mut set = HistogramSet::new(&bounds)
            .unwrap()
            .expire_after(Duration::from_nanos(100));
        for v in [0.5, 1.0, 5.0, 50.0] {
            set.observe(&["sda"], v, 10);
        }
        set.observe(&["sdb"], 2.0, 50);
        let mut out = Output::default();
        set.emit(&mut out, family, 120);
        let h = out.histograms();
        assert_eq!(h.len(), 1, "sda went stale at 110");
        assert_eq!(h[0].labels, ["sdb"]);
        assert_eq!((h[0].buckets.clone(), h[0].count), (vec![0, 1], 1));

        let mut set = HistogramSet::new(&bounds).unwrap();
        for v in [0.5, 1.0, 5.0, 50.0] {
            set.observe(&[], v, 0);
        }
        let mut out = Output::default();
        set.emit(&mut out, family, 0);
        let h = &out.histograms()[0];
        // `le` is inclusive: 1.0 falls in the first bucket.
        assert_eq!((h.buckets.clone(), h.count, h.sum), (vec![2, 3], 4, 56.5));
    }

    #[test]
    fn bounds_must_ascend() {
        assert!(HistogramSet::new(&[2.0, 1.0]).is_err());
        assert!(HistogramSet::new(&[f64::NAN]).is_err());
    }
}
