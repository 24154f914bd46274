//! The bucket layouts eBPF programs use for histograms, and the Prometheus
//! bounds they stand for.

use crate::reader::Reader;
use crate::{Error, Result};

/// How an eBPF program lays out a histogram: what each counter slot counts,
/// how wide the counters are, whether a sum follows them, and the unit
/// conversion to apply.
///
/// Slot `i` counts the observations whose value is at most bound `i`
/// (and above bound `i - 1`). Declare the family with
/// [`bounds`](Self::bounds) and fill it with
/// [`Histograms`](crate::Histograms):
///
/// ```no_run
/// # use bpfhost_plugin_sdk::{Buckets, Result, Spec};
/// # fn f(spec: &mut Spec) -> Result<()> {
/// // bcc's BPF_HISTOGRAM of microseconds, exposed in seconds.
/// let buckets = Buckets::exp2(27).scale(1e-6);
/// let latency = spec.histogram("read_latency_seconds", "read(2) latency", &[], &buckets.bounds()?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// Unscaled upper bound of every slot; the last may be `+Inf`.
    raw_bounds: Vec<f64>,
    scale: f64,
    sum_slot: bool,
    counter: Counter,
}

/// The C type of each slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    U32,
    U64,
}

impl Buckets {
    /// Power-of-two slots: slot `i` counts values in `[2^(i-1), 2^i)`, so its
    /// bound is `2^i`: 1, 2, 4, 8, … That is the index `floor(log2(v)) + 1`
    /// of bcc's `bpf_log2l()` log2 histograms, and the bounds of
    /// `ebpf_exporter`'s `exp2` buckets.
    ///
    /// A program indexing with a plain `floor(log2(v))` (libbpf-tools'
    /// `log2l()`) puts `[2^i, 2^(i+1))` in slot `i`: declare those bounds
    /// with [`fixed`](Self::fixed) instead.
    pub fn exp2(slots: usize) -> Self {
        Self::new((0..slots).map(pow2).collect())
    }

    /// Like [`exp2`](Self::exp2) but slot 0 holds only zeros: bounds 0, 2,
    /// 4, 8, … (slot `i > 0` counts `[2^(i-1), 2^i)`). Use it when the
    /// program puts 0 in a slot of its own (`ebpf_exporter`'s `exp2zero`), so
    /// Prometheus can tell a zero from a one.
    pub fn exp2_zero(slots: usize) -> Self {
        Self::new(
            (0..slots)
                .map(|i| if i == 0 { 0.0 } else { pow2(i) })
                .collect(),
        )
    }

    /// Slots `step` wide from `min`: slot `i` counts `[min + i*step,
    /// min + (i+1)*step)`, so its bound is `min + (i+1)*step`. The program's
    /// index is `(v - min) / step`.
    pub fn linear(min: f64, step: f64, slots: usize) -> Self {
        Self::new(
            (0..slots)
                .map(|i| step.mul_add((i + 1) as f64, min))
                .collect(),
        )
    }

    /// One slot per given upper bound, ascending. A last bound of
    /// `f64::INFINITY` marks an overflow slot, as [`overflow`](Self::overflow)
    /// does.
    pub fn fixed(bounds: &[f64]) -> Self {
        Self::new(bounds.to_vec())
    }

    fn new(raw_bounds: Vec<f64>) -> Self {
        Self {
            raw_bounds,
            scale: 1.0,
            sum_slot: false,
            counter: Counter::U64,
        }
    }

    /// Multiplies bounds and sum by `factor`, e.g. `1e-6` for a program
    /// that measures microseconds and a family in seconds.
    #[must_use]
    pub fn scale(mut self, factor: f64) -> Self {
        self.scale *= factor;
        self
    }

    /// The last slot counts everything above the bound before it (programs
    /// that clamp the index to their last slot); it only counts towards
    /// `+Inf`.
    #[must_use]
    pub fn overflow(mut self) -> Self {
        if let Some(last) = self.raw_bounds.last_mut() {
            *last = f64::INFINITY;
        }
        self
    }

    /// One more slot follows the buckets and holds the sum of all observed
    /// values (`ebpf_exporter`'s `max_bucket + 1` key, or a `sum` field after
    /// the slot array). Without it a histogram's sum is 0.
    #[must_use]
    pub fn sum_slot(mut self) -> Self {
        self.sum_slot = true;
        self
    }

    /// Slots are `__u32` rather than `__u64` (e.g. libbpf-tools'
    /// `struct hist { __u32 slots[N]; }`); a sum slot is then `__u32` too.
    #[must_use]
    pub fn u32_counters(mut self) -> Self {
        self.counter = Counter::U32;
        self
    }

    /// The bounds to declare the family with
    /// ([`Spec::histogram`](crate::Spec::histogram)): scaled, without the
    /// overflow slot's `+Inf`. Fails when they would not be finite and
    /// strictly ascending.
    pub fn bounds(&self) -> Result<Vec<f64>> {
        let invalid = |reason| Err(Error::InvalidBuckets { reason });
        if self.raw_bounds.is_empty() {
            return invalid("a layout needs at least one slot");
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return invalid("the scale factor must be finite and positive");
        }
        let bounds: Vec<f64> = self.raw_bounds[..self.finite_slots()]
            .iter()
            .map(|b| b * self.scale)
            .collect();
        if bounds.iter().any(|b| !b.is_finite()) {
            return invalid("bounds must be finite, except an overflow slot's last one");
        }
        if bounds.windows(2).any(|w| w[0] >= w[1]) {
            return invalid("bounds must be strictly ascending");
        }
        Ok(bounds)
    }

    /// Bucket slots, the overflow slot included, the sum slot not.
    pub fn slots(&self) -> usize {
        self.raw_bounds.len()
    }

    /// Whether a sum slot follows the bucket slots.
    pub fn has_sum_slot(&self) -> bool {
        self.sum_slot
    }

    /// The scale factor applied to bounds and sum.
    pub fn scale_factor(&self) -> f64 {
        self.scale
    }

    /// Bytes of one value holding every slot (and the sum slot).
    pub fn value_size(&self) -> usize {
        (self.slots() + usize::from(self.sum_slot)) * self.counter_size()
    }

    /// Bytes of one counter slot: 8, or 4 with
    /// [`u32_counters`](Self::u32_counters).
    pub fn counter_size(&self) -> usize {
        match self.counter {
            Counter::U32 => 4,
            Counter::U64 => 8,
        }
    }

    /// Reads one counter of this layout's width.
    pub(crate) fn read_counter(&self, r: &mut Reader<'_>) -> Result<u64> {
        match self.counter {
            Counter::U32 => r.u32().map(u64::from),
            Counter::U64 => r.u64(),
        }
    }

    /// Slots with a finite bound: all but a trailing `+Inf` one.
    pub(crate) fn finite_slots(&self) -> usize {
        match self.raw_bounds.last() {
            Some(last) if *last == f64::INFINITY => self.raw_bounds.len() - 1,
            _ => self.raw_bounds.len(),
        }
    }
}

fn pow2(i: usize) -> f64 {
    2f64.powi(i32::try_from(i).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_bounds_are_powers_of_two() {
        assert_eq!(
            Buckets::exp2(5).bounds().unwrap(),
            [1.0, 2.0, 4.0, 8.0, 16.0]
        );
    }

    #[test]
    fn exp2_zero_has_a_bound_of_zero_first() {
        assert_eq!(
            Buckets::exp2_zero(4).bounds().unwrap(),
            [0.0, 2.0, 4.0, 8.0]
        );
    }

    #[test]
    fn linear_bounds_are_the_slot_ends() {
        assert_eq!(
            Buckets::linear(10.0, 5.0, 3).bounds().unwrap(),
            [15.0, 20.0, 25.0]
        );
    }

    #[test]
    fn scale_applies_to_bounds_and_overflow_drops_the_last() {
        let b = Buckets::exp2(4).scale(0.5).overflow();
        assert_eq!(b.bounds().unwrap(), [0.5, 1.0, 2.0]);
        assert_eq!(b.slots(), 4);
        let fixed = Buckets::fixed(&[1.0, 5.0, f64::INFINITY]);
        assert_eq!(fixed.bounds().unwrap(), [1.0, 5.0]);
    }

    #[test]
    fn value_size_counts_the_sum_slot_and_counter_width() {
        assert_eq!(Buckets::exp2(4).value_size(), 32);
        assert_eq!(Buckets::exp2(4).sum_slot().value_size(), 40);
        assert_eq!(Buckets::exp2(4).u32_counters().sum_slot().value_size(), 20);
    }

    #[test]
    fn invalid_layouts_say_why() {
        let err = |b: Buckets| b.bounds().unwrap_err().to_string();
        assert_eq!(
            err(Buckets::fixed(&[2.0, 1.0])),
            "invalid histogram buckets: bounds must be strictly ascending"
        );
        assert_eq!(
            err(Buckets::exp2(0)),
            "invalid histogram buckets: a layout needs at least one slot"
        );
        assert_eq!(
            err(Buckets::exp2(3).scale(-1.0)),
            "invalid histogram buckets: the scale factor must be finite and positive"
        );
        assert_eq!(
            err(Buckets::fixed(&[1.0, f64::NAN, 3.0])),
            "invalid histogram buckets: bounds must be finite, except an overflow slot's last one"
        );
    }
}
