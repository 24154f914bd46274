//! Building Prometheus histograms from BPF bucket counters, one per label set.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::reader::Reader;
use crate::{Buckets, Entry, Error, FamilyId, Output, Result};

/// Collects the bucket counters of one histogram family, grouped by label
/// values, and emits one Prometheus histogram per label set.
///
/// Counts for the same labels add up, so per-CPU values, several map
/// entries and several maps can all feed the same series. The two map
/// shapes eBPF programs use:
///
/// ```no_run
/// # use bpfhost_plugin_sdk::{Buckets, FamilyId, Histograms, MapView, Output, Reader, Result};
/// # fn f(map: MapView<'_>, values: MapView<'_>, buckets: &Buckets, family: FamilyId, out: &mut Output) -> Result<()> {
/// // (a) one entry per bucket: key `struct { __u32 cgroup; __u32 slot; }`,
/// //     value a `__u64` count (per-CPU maps are summed).
/// let mut hist = Histograms::new(buckets);
/// for entry in map.entries() {
///     let mut k = Reader::key(entry.key);
///     let cgroup = k.u32()?;
///     let slot = k.u32()?;
///     hist.add_entry(&[&cgroup.to_string()], slot.into(), &entry)?;
/// }
/// hist.emit(out, family);
///
/// // (b) one entry per series: key `__u32 pid`, value `__u64 slots[N]`.
/// let mut hist = Histograms::new(buckets);
/// for entry in values.entries() {
///     let pid = Reader::key(entry.key).u32()?;
///     hist.add_value(&[&pid.to_string()], &entry)?;
/// }
/// hist.emit(out, family);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Histograms<'b> {
    buckets: &'b Buckets,
    series: Vec<Series>,
    /// Encoded label values → index into `series`.
    index: HashMap<String, usize>,
    /// Reused to encode labels without allocating for known series.
    scratch: String,
    /// Reused by `read_slots`.
    read: Vec<u64>,
}

#[derive(Debug)]
struct Series {
    labels: Vec<String>,
    counts: Vec<u64>,
    sum: u64,
}

impl<'b> Histograms<'b> {
    /// No series yet, for a family declared with `buckets.bounds()`.
    pub fn new(buckets: &'b Buckets) -> Self {
        Self {
            buckets,
            series: Vec::new(),
            index: HashMap::new(),
            scratch: String::new(),
            read: Vec::new(),
        }
    }

    /// Adds `count` observations to bucket slot `slot` of the series with
    /// these labels. With a [sum slot](Buckets::sum_slot), slot
    /// [`slots()`](Buckets::slots) adds to the sum instead.
    pub fn add(&mut self, labels: &[&str], slot: u64, count: u64) -> Result<()> {
        let slots = self.buckets.slots();
        let sum_slot = self.buckets.has_sum_slot();
        let index = usize::try_from(slot).ok().filter(|&i| i <= slots);
        let series = match index {
            Some(i) if i < slots || sum_slot => self.series(labels),
            _ => {
                return Err(Error::SlotOutOfRange {
                    slot,
                    slots: slots + usize::from(sum_slot),
                });
            }
        };
        match series.counts.get_mut(slot as usize) {
            Some(c) => *c = c.wrapping_add(count),
            None => series.sum = series.sum.wrapping_add(count),
        }
        Ok(())
    }

    /// Adds to the sum of the series with these labels, in the program's
    /// unit (the layout's scale is applied when emitting). For programs
    /// that keep the sum apart from the slots.
    pub fn add_sum(&mut self, labels: &[&str], sum: u64) {
        let series = self.series(labels);
        series.sum = series.sum.wrapping_add(sum);
    }

    /// Shape (a): `entry` is the counter of slot `slot` (a counter of the
    /// layout's width, summed over CPUs for per-CPU maps).
    pub fn add_entry(&mut self, labels: &[&str], slot: u64, entry: &Entry<'_>) -> Result<()> {
        let buckets = self.buckets;
        let count = entry.sum_by(|v| buckets.read_counter(v))?;
        self.add(labels, slot, count)
    }

    /// Shape (b): `entry`'s value is the whole slot array (and the sum slot),
    /// exactly [`Buckets::value_size`] bytes; per-CPU values are summed.
    pub fn add_value(&mut self, labels: &[&str], entry: &Entry<'_>) -> Result<()> {
        let need = self.buckets.value_size();
        for value in entry.per_cpu() {
            if value.len() != need {
                return Err(Error::HistogramSize {
                    need,
                    have: value.len(),
                });
            }
            self.read_slots(labels, &mut Reader::value(value))?;
        }
        Ok(())
    }

    /// Reads the slot array (and the sum slot) at the reader's position and
    /// adds it: for a histogram embedded in a larger value.
    pub fn read_slots(&mut self, labels: &[&str], r: &mut Reader<'_>) -> Result<()> {
        // Read everything first: a short value adds nothing.
        let buckets = self.buckets;
        self.read.clear();
        for _ in 0..buckets.slots() + usize::from(buckets.has_sum_slot()) {
            self.read.push(buckets.read_counter(r)?);
        }
        let index = self.series_index(labels);
        let series = &mut self.series[index];
        let (counts, sum) = self.read.split_at(buckets.slots());
        for (total, count) in series.counts.iter_mut().zip(counts) {
            *total = total.wrapping_add(*count);
        }
        if let Some(sum) = sum.first() {
            series.sum = series.sum.wrapping_add(*sum);
        }
        Ok(())
    }

    /// Label sets seen so far.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Emits one histogram per label set, in the order they were first
    /// added: cumulative counts per finite bound, `+Inf` (the count) over
    /// every slot, and the sum times the layout's scale.
    pub fn emit(self, out: &mut Output, family: FamilyId) {
        let finite = self.buckets.finite_slots();
        let scale = self.buckets.scale_factor();
        for series in self.series {
            let mut total = 0u64;
            let mut cumulative = Vec::with_capacity(finite);
            for (i, count) in series.counts.iter().enumerate() {
                total = total.saturating_add(*count);
                if i < finite {
                    cumulative.push(total);
                }
            }
            let labels: Vec<&str> = series.labels.iter().map(String::as_str).collect();
            out.histogram(
                family,
                &labels,
                cumulative,
                series.sum as f64 * scale,
                total,
            );
        }
    }

    fn series(&mut self, labels: &[&str]) -> &mut Series {
        let index = self.series_index(labels);
        &mut self.series[index]
    }

    fn series_index(&mut self, labels: &[&str]) -> usize {
        self.scratch.clear();
        for label in labels {
            // Length-prefixed, so no two label lists encode alike.
            _ = write!(self.scratch, "{}:{label}", label.len());
        }
        if let Some(&i) = self.index.get(self.scratch.as_str()) {
            i
        } else {
            let i = self.series.len();
            self.series.push(Series {
                labels: labels.iter().map(|&l| l.to_owned()).collect(),
                counts: vec![0; self.buckets.slots()],
                sum: 0,
            });
            self.index.insert(self.scratch.clone(), i);
            i
        }
    }
}

#[cfg(test)]
mod tests;
