//! Per-source counters: records received off the kernel and records
//! dropped, by reason. Shared (`Arc`) between the source's reader, the pump
//! that feeds the decoder and the self-metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why records were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The exporter's queue was full: the decoder is behind.
    QueueFull,
    /// Nobody takes batches off the queue any more.
    DecoderDown,
    /// The kernel lost samples: a perf buffer was full.
    KernelLost,
    /// A record shorter than the decoder declared.
    TooShort,
    /// The decoder failed on the batch.
    DecoderError,
}

impl DropReason {
    /// Every reason, in the order of the `reason` label's values.
    pub const ALL: [Self; 5] = [
        Self::QueueFull,
        Self::DecoderDown,
        Self::KernelLost,
        Self::TooShort,
        Self::DecoderError,
    ];

    /// The `reason` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::DecoderDown => "decoder_down",
            Self::KernelLost => "kernel_lost",
            Self::TooShort => "too_short",
            Self::DecoderError => "decoder_error",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one event source. Every record read off the kernel counts as
/// received, whatever becomes of it; records the kernel lost never arrive,
/// so they count as dropped ([`DropReason::KernelLost`]) only.
#[derive(Debug)]
pub struct SourceCounters {
    name: String,
    received: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
}

impl SourceCounters {
    /// Zeroed counters of the source named `name` (its map's name).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            received: AtomicU64::new(0),
            dropped: Default::default(),
        }
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records read off the kernel so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Records dropped for `reason` so far.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()].load(Ordering::Relaxed)
    }

    /// Counts `n` more records received.
    pub fn add_received(&self, n: u64) {
        if n > 0 {
            self.received.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts `n` more records dropped for `reason`.
    pub fn add_dropped(&self, reason: DropReason, n: u64) {
        if n > 0 {
            self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_distinct_label_values_in_order() {
        let names: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "queue_full",
                "decoder_down",
                "kernel_lost",
                "too_short",
                "decoder_error"
            ]
        );
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
        }
    }

    #[test]
    fn counts_add_up_per_reason() {
        let counters = SourceCounters::new("execs");
        counters.add_received(7);
        counters.add_received(3);
        counters.add_dropped(DropReason::QueueFull, 4);
        counters.add_dropped(DropReason::KernelLost, 2);
        counters.add_dropped(DropReason::QueueFull, 1);
        assert_eq!(counters.name(), "execs");
        assert_eq!(counters.received(), 10);
        assert_eq!(counters.dropped(DropReason::QueueFull), 5);
        assert_eq!(counters.dropped(DropReason::KernelLost), 2);
        assert_eq!(counters.dropped(DropReason::TooShort), 0);
    }
}
