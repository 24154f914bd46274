//! State a decoder keeps between calls: counters and histograms keyed by
//! label values, fed by events ([`Decoder::on_events`](crate::Decoder::on_events))
//! and emitted at every scrape.
//!
//! # Expiry
//!
//! Events often carry unbounded label values (addresses, ports, command
//! names). A set built with `expire_after(d)` forgets a label set that no
//! update has touched for `d`: the set is checked at every
//! [`CounterSet::emit`] / [`HistogramSet::emit`], against the time the host
//! passes to the call ([`Maps::now`](crate::Maps::now),
//! [`Events::now`](crate::Events::now)), so an idle series leaves
//! `/metrics` at the first scrape after it went stale. Should the label set
//! come back, its series starts again from zero: Prometheus reads that as a
//! counter reset, which `rate()` and `increase()` handle. Without
//! `expire_after`, label sets are kept for the life of the instance (a
//! trap restarts the instance and loses them, as any state).

mod counters;
mod histograms;
mod key;

pub use counters::CounterSet;
pub use histograms::HistogramSet;

use std::time::Duration;

/// Values by encoded label set. foldhash rather than the standard `SipHash`:
/// a label-set lookup per event is the hot path of an event handler, and
/// foldhash is seeded per map, so label values an attacker picks (command
/// names, addresses) cannot be chosen to collide in every instance.
type LabelSets<V> = hashbrown::HashMap<key::Key, V, foldhash::fast::RandomState>;

/// When label sets go stale, in the host clock's nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Expiry(Option<u64>);

impl Expiry {
    fn after(d: Duration) -> Self {
        Self(Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    /// Whether a label set last updated at `seen` is stale at `now`.
    fn stale(self, seen: u64, now: u64) -> bool {
        self.0.is_some_and(|after| now.saturating_sub(seen) > after)
    }
}
