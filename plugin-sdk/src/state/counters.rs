//! Counters keyed by label values.

use std::time::Duration;

use super::key::{self, KeyBuf};
use super::{Expiry, LabelSets};
use crate::{FamilyId, Output};

#[derive(Debug, Clone, Copy)]
struct Slot {
    value: f64,
    seen: u64,
}

/// Counters by label set, kept between calls; see [the module](crate::state).
///
/// ```
/// use std::time::Duration;
/// use bpfhost_plugin_sdk::{state::CounterSet, Output, Spec};
///
/// let mut spec = Spec::default();
/// let execs = spec.counter("process_execs", "Programs started, by command", &["comm"]);
/// let mut counts = CounterSet::new().expire_after(Duration::from_secs(600));
/// counts.inc(&["true"], 1_000);
/// counts.inc(&["true"], 2_000);
/// let mut out = Output::default();
/// counts.emit(&mut out, execs, 3_000);
/// assert_eq!(out.samples()[0].value, 2.0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CounterSet {
    slots: LabelSets<Slot>,
    expiry: Expiry,
    key: KeyBuf,
}

impl CounterSet {
    /// An empty set whose label sets never expire.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets label sets not updated for `d` (checked at each emit).
    #[must_use]
    pub fn expire_after(mut self, d: Duration) -> Self {
        self.expiry = Expiry::after(d);
        self
    }

    /// Adds `value` to the counter of `labels`, at time `now`.
    #[inline]
    pub fn add(&mut self, labels: &[&str], value: f64, now: u64) {
        let key = self.key.key(labels);
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.value += value;
            slot.seen = now;
        } else {
            self.slots.insert(key.into(), Slot { value, seen: now });
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&mut self, labels: &[&str], now: u64) {
        self.add(labels, 1.0, now);
    }

    /// The counter of `labels`, if it is kept.
    pub fn get(&mut self, labels: &[&str]) -> Option<f64> {
        self.slots.get(&self.key.key(labels)).map(|s| s.value)
    }

    /// Forgets every label set: each series starts again from zero at its
    /// next update, which Prometheus reads as a counter reset.
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// Forgets the label sets that are stale at `now`; returns how many.
    pub fn expire(&mut self, now: u64) -> usize {
        let before = self.slots.len();
        let expiry = self.expiry;
        self.slots.retain(|_, s| !expiry.stale(s.seen, now));
        before - self.slots.len()
    }

    /// Expires stale label sets, then emits every counter into `family`.
    pub fn emit(&mut self, out: &mut Output, family: FamilyId, now: u64) {
        self.expire(now);
        out.reserve(self.slots.len());
        let mut labels = Vec::new();
        for (key, slot) in &self.slots {
            key::labels(key.bytes(), &mut labels);
            out.sample(family, &labels, slot.value);
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

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn counts_by_label_set_and_forgets_what_went_stale() {
        let mut spec = Spec::default();
        let family = spec.counter("conns", "Connections", &["src", "port"]);
        let mut set = CounterSet::new().expire_after(Duration::from_secs(10));
        set.inc(&["10.0.0.1", "80"], SECOND);
        set.add(&["10.0.0.1", "80"], 2.0, 2 * SECOND);
        set.inc(&["10.0.0.2", "443"], 3 * SECOND);
        assert_eq!(set.get(&["10.0.0.1", "80"]), Some(3.0));

        let mut out = Output::default();
        set.emit(&mut out, family, 12 * SECOND);
        let mut got: Vec<(Vec<String>, f64)> = out
            .samples()
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            [
                (vec!["10.0.0.1".to_owned(), "80".to_owned()], 3.0),
                (vec!["10.0.0.2".to_owned(), "443".to_owned()], 1.0),
            ]
        );

        // 10.0.0.1 was last updated at 2 s: stale after 12 s, gone at 12.5 s.
        let mut out = Output::default();
        set.emit(&mut out, family, 12 * SECOND + SECOND / 2);
        assert_eq!(out.samples().len(), 1);
        assert_eq!(out.samples()[0].labels, ["10.0.0.2", "443"]);
        // Back again: starts from zero.
        set.inc(&["10.0.0.1", "80"], 13 * SECOND);
        assert_eq!(set.get(&["10.0.0.1", "80"]), Some(1.0));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn clear_forgets_every_label_set_and_counting_starts_again_from_zero() {
        let mut spec = Spec::default();
        let family = spec.counter("kills", "Kills", &["cgroup"]);
        let mut set = CounterSet::new();
        set.inc(&["/a"], 0);
        set.add(&["/b"], 5.0, 0);
        set.clear();
        assert!(set.is_empty());
        let mut out = Output::default();
        set.emit(&mut out, family, 1);
        assert!(out.samples().is_empty(), "{:?}", out.samples());

        set.inc(&["/a"], 2);
        assert_eq!(set.get(&["/a"]), Some(1.0));
        assert_eq!(set.get(&["/b"]), None);
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn without_expiry_nothing_is_forgotten() {
        let mut set = CounterSet::new();
        set.inc(&["a"], 0);
        assert_eq!(set.expire(u64::MAX), 0);
        assert_eq!(set.get(&["a"]), Some(1.0));
    }
}
