//! Label sets of one metric, deduplicated: `ebpf_exporter` sums the values of
//! map entries whose labels decode alike (a recycled cgroup id, keys that
//! differ only in padding, a `static_map` that maps two numbers to one
//! name), because Prometheus refuses a label set twice.
//!
//! Every label value of every series sits in one string, the series are
//! found by a hash of their values: a label set that is already there
//! costs no allocation, a new one only the growth of shared buffers, and
//! the buffers are kept from one scrape to the next.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The distinct label sets of one metric, in the order they were first
/// seen.
///
/// The hash index is built only once a label set may repeat: a metric
/// whose keys each decode to a label set of their own (see
/// [`commit_new`](Self::commit_new)) never pays for it.
#[derive(Debug, Default)]
pub struct Table {
    /// Labels per series.
    width: usize,
    /// Number of series.
    series: usize,
    /// Every label value, back to back: committed series, then the
    /// pending one.
    text: String,
    /// Where each value ends in `text`.
    ends: Vec<u32>,
    /// Whether `hashes`, `next` and `heads` cover every series: from the
    /// first [`commit`](Self::commit) on.
    indexed: bool,
    /// Per series: the hash of its values, and the series before it with
    /// the same hash (`u32::MAX` for none).
    hashes: Vec<u64>,
    next: Vec<u32>,
    /// Hash → the last series with it.
    heads: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
}

const NONE: u32 = u32::MAX;

impl Table {
    /// Empties the table for series of `width` labels, keeping its memory.
    pub fn reset(&mut self, width: usize) {
        self.width = width;
        self.series = 0;
        self.text.clear();
        self.ends.clear();
        self.indexed = true;
        self.hashes.clear();
        self.next.clear();
        self.heads.clear();
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series
    }

    /// Where the pending series' next value is written: append it, then
    /// call [`end_value`](Self::end_value).
    pub fn value_buffer(&mut self) -> &mut String {
        &mut self.text
    }

    /// Ends the value appended to [`value_buffer`](Self::value_buffer).
    pub fn end_value(&mut self) {
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    /// Appends a whole value to the pending series.
    #[cfg(test)]
    pub fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.end_value();
    }

    /// Drops the pending series' values.
    pub fn discard(&mut self) {
        let committed = self.series * self.width;
        self.ends.truncate(committed);
        self.text.truncate(self.end_of(committed));
    }

    /// Adds the pending values as a new series, without looking for them:
    /// the caller knows no series before has them. Its index.
    pub fn commit_new(&mut self) -> usize {
        let index = self.series;
        if self.indexed && index > 0 {
            // `commit` has built the index: keep it up.
            let hash = self.hash(index);
            self.insert(index, hash);
        } else {
            self.indexed = false;
        }
        self.series += 1;
        index
    }

    /// The index of the series with the pending values: an existing one
    /// (the pending values are dropped) or a new one.
    pub fn commit(&mut self) -> usize {
        if !self.indexed {
            for index in 0..self.series {
                let hash = self.hash(index);
                self.insert(index, hash);
            }
            self.indexed = true;
        }
        debug_assert_eq!(self.ends.len(), (self.series + 1) * self.width);
        let hash = self.hash(self.series);
        let mut candidate = self.heads.get(&hash).copied().unwrap_or(NONE);
        while candidate != NONE {
            let index = candidate as usize;
            if self.hashes[index] == hash && self.same_as_pending(index) {
                self.discard();
                return index;
            }
            candidate = self.next[index];
        }
        let index = self.series;
        self.insert(index, hash);
        self.series += 1;
        index
    }

    /// The label values of series `index`, into `values` (cleared first).
    pub fn values<'t>(&'t self, index: usize, values: &mut Vec<&'t str>) {
        values.clear();
        let first = index * self.width;
        let mut start = self.end_of(first);
        for &end in &self.ends[first..first + self.width] {
            values.push(&self.text[start..end as usize]);
            start = end as usize;
        }
    }

    /// The hash of series `index`'s values (the pending ones for
    /// `self.series`).
    fn hash(&self, index: usize) -> u64 {
        let first = index * self.width;
        let start = self.end_of(first);
        let end = self.end_of(first + self.width);
        let mut hasher = FxHasher::default();
        hasher.write(&self.text.as_bytes()[start..end]);
        for end in &self.ends[first..first + self.width] {
            hasher.write_u32(end - start as u32);
        }
        hasher.finish()
    }

    fn insert(&mut self, index: usize, hash: u64) {
        let before = self.heads.insert(hash, index as u32).unwrap_or(NONE);
        self.next.push(before);
        self.hashes.push(hash);
    }

    /// Where value number `index` starts: where the one before it ends.
    fn end_of(&self, index: usize) -> usize {
        match index {
            0 => 0,
            i => self.ends[i - 1] as usize,
        }
    }

    fn same_as_pending(&self, index: usize) -> bool {
        let first = index * self.width;
        let pending = self.series * self.width;
        let (start, pending_start) = (self.end_of(first), self.end_of(pending));
        let end = self.end_of(first + self.width);
        self.text.as_bytes()[start..end] == self.text.as_bytes()[pending_start..]
            && self.ends[first..first + self.width]
                .iter()
                .zip(&self.ends[pending..])
                .all(|(a, b)| *a as usize - start == *b as usize - pending_start)
    }
}

/// The `FxHash` of rustc: a multiply and rotate per word, much faster than
/// `SipHash` on short label values, and flooding is no concern for values
/// a decoder computes itself.
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// For keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(table: &Table, index: usize) -> Vec<String> {
        let mut values = Vec::new();
        table.values(index, &mut values);
        values.into_iter().map(str::to_owned).collect()
    }

    fn commit(table: &mut Table, values: &[&str]) -> usize {
        for value in values {
            table.push(value);
        }
        table.commit()
    }

    #[test]
    fn label_sets_that_decode_alike_are_one_series() {
        let mut table = Table::default();
        table.reset(2);
        assert_eq!(commit(&mut table, &["8", "bananas"]), 0);
        assert_eq!(commit(&mut table, &["9", "bananas"]), 1);
        assert_eq!(commit(&mut table, &["8", "bananas"]), 0);
        assert_eq!(table.len(), 2);
        assert_eq!(series(&table, 0), ["8", "bananas"]);
        assert_eq!(series(&table, 1), ["9", "bananas"]);
    }

    #[test]
    fn values_are_compared_one_by_one_not_as_one_string() {
        let mut table = Table::default();
        table.reset(2);
        assert_eq!(commit(&mut table, &["ab", "c"]), 0);
        assert_eq!(commit(&mut table, &["a", "bc"]), 1);
        assert_eq!(series(&table, 1), ["a", "bc"]);
    }

    #[test]
    fn a_discarded_set_leaves_nothing_behind() {
        let mut table = Table::default();
        table.reset(1);
        commit(&mut table, &["kept"]);
        table.push("dropped");
        table.discard();
        assert_eq!(commit(&mut table, &["next"]), 1);
        assert_eq!(series(&table, 1), ["next"]);
    }

    #[test]
    fn no_labels_make_one_series() {
        let mut table = Table::default();
        table.reset(0);
        assert_eq!(table.commit(), 0);
        assert_eq!(table.commit(), 0);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn series_known_new_are_indexed_once_one_may_repeat() {
        let mut table = Table::default();
        table.reset(1);
        for value in ["a", "b", "c"] {
            table.push(value);
            table.commit_new();
        }
        assert_eq!(
            commit(&mut table, &["b"]),
            1,
            "found after the index is built"
        );
        assert_eq!(commit(&mut table, &["d"]), 3);
        table.push("e");
        assert_eq!(table.commit_new(), 4, "indexed");
        assert_eq!(commit(&mut table, &["e"]), 4);
        assert_eq!(series(&table, 4), ["e"]);
    }

    #[test]
    fn colliding_hashes_still_tell_series_apart() {
        let mut table = Table::default();
        table.reset(1);
        for i in 0..10_000 {
            assert_eq!(commit(&mut table, &[&i.to_string()]), i);
        }
        for i in (0..10_000).rev() {
            assert_eq!(commit(&mut table, &[&i.to_string()]), i);
        }
    }
}
