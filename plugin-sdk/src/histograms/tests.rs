use super::*;
use crate::{HistogramSample, MapSnapshot, MapType, Maps, Spec};

/// Entries `(cgroup, slot, count)` of a hash keyed by
/// `struct { __u32 cgroup; __u32 slot; }` with `__u64` values.
fn keyed(rows: &[(u32, u32, u64)]) -> MapSnapshot {
    rows.iter().fold(
        MapSnapshot::new("h", MapType::Hash, 8, 8),
        |s, &(cgroup, slot, count)| {
            let mut key = cgroup.to_le_bytes().to_vec();
            key.extend_from_slice(&slot.to_le_bytes());
            s.entry(&key, &count.to_le_bytes())
        },
    )
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Runs shape (a) over `snapshot` and returns the histograms.
fn decode_keyed(buckets: &Buckets, snapshot: MapSnapshot) -> Vec<HistogramSample> {
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let family = family(buckets);
    let mut hist = Histograms::new(buckets);
    for entry in maps.get("h").unwrap().entries() {
        let mut k = Reader::key(entry.key);
        let cgroup = k.u32().unwrap();
        let slot = k.u32().unwrap();
        hist.add_entry(&[&cgroup.to_string()], slot.into(), &entry)
            .unwrap();
    }
    let mut out = Output::default();
    hist.emit(&mut out, family);
    out.histograms()
}

fn family(buckets: &Buckets) -> FamilyId {
    let mut spec = Spec::default();
    spec.histogram(
        "latency_seconds",
        "",
        &["cgroup"],
        &buckets.bounds().unwrap(),
    )
}

fn sample(labels: &[&str], buckets: &[u64], sum: f64, count: u64) -> HistogramSample {
    HistogramSample {
        family: 0,
        labels: labels.iter().map(|&l| l.to_owned()).collect(),
        buckets: buckets.to_vec(),
        sum,
        count,
    }
}

#[test]
fn exp2_slots_become_cumulative_buckets_with_count_as_inf() {
    let buckets = Buckets::exp2(4);
    assert_eq!(buckets.bounds().unwrap(), [1.0, 2.0, 4.0, 8.0]);
    let got = decode_keyed(&buckets, keyed(&[(9, 0, 1), (9, 1, 2), (9, 3, 4)]));
    assert_eq!(got, [sample(&["9"], &[1, 3, 3, 7], 0.0, 7)]);
}

#[test]
fn entries_are_grouped_by_the_label_part_of_the_key() {
    let buckets = Buckets::exp2(2);
    let rows = [(1, 0, 5), (2, 1, 7), (1, 1, 1), (2, 0, 2), (1, 0, 3)];
    let got = decode_keyed(&buckets, keyed(&rows));
    assert_eq!(
        got,
        [
            sample(&["1"], &[8, 9], 0.0, 9),
            sample(&["2"], &[2, 9], 0.0, 9)
        ]
    );
}

#[test]
fn sum_slot_follows_the_buckets_and_is_scaled() {
    // ebpf_exporter style: the sum lives at key max_bucket + 1.
    let buckets = Buckets::exp2(3).sum_slot().scale(1e-6);
    assert_eq!(buckets.bounds().unwrap(), [1e-6, 2e-6, 4e-6]);
    let got = decode_keyed(&buckets, keyed(&[(0, 2, 2), (0, 3, 7_000_000)]));
    assert_eq!(got, [sample(&["0"], &[0, 0, 2], 7.0, 2)]);
}

#[test]
fn exp2_zero_keeps_zeros_apart() {
    let buckets = Buckets::exp2_zero(3);
    let got = decode_keyed(&buckets, keyed(&[(0, 0, 4), (0, 1, 1), (0, 2, 2)]));
    assert_eq!(got, [sample(&["0"], &[4, 5, 7], 0.0, 7)]);
    assert_eq!(buckets.bounds().unwrap(), [0.0, 2.0, 4.0]);
}

#[test]
fn overflow_slot_counts_only_towards_inf() {
    let buckets = Buckets::linear(0.0, 10.0, 3).overflow();
    assert_eq!(buckets.bounds().unwrap(), [10.0, 20.0]);
    let got = decode_keyed(&buckets, keyed(&[(0, 0, 1), (0, 1, 1), (0, 2, 5)]));
    assert_eq!(got, [sample(&["0"], &[1, 2], 0.0, 7)]);
}

#[test]
fn array_values_per_cpu_are_summed() {
    // Per-CPU array, key __u32 pid, value struct { __u64 slots[3]; __u64 sum; }.
    let buckets = Buckets::linear(100.0, 50.0, 3).sum_slot();
    let snapshot = MapSnapshot::new("h", MapType::PerCpuArray, 4, 32)
        .cpus(2)
        .entry_per_cpu(
            &42u32.to_le_bytes(),
            &[&u64s(&[1, 0, 2, 900]), &u64s(&[0, 3, 1, 450])],
        );
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let mut hist = Histograms::new(&buckets);
    for entry in maps.get("h").unwrap().entries() {
        let pid = Reader::key(entry.key).u32().unwrap();
        hist.add_value(&[&pid.to_string()], &entry).unwrap();
    }
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets));
    assert_eq!(buckets.bounds().unwrap(), [150.0, 200.0, 250.0]);
    assert_eq!(out.histograms(), [sample(&["42"], &[1, 4, 7], 1350.0, 7)]);
}

#[test]
fn u32_counters_are_read_at_their_width() {
    let buckets = Buckets::exp2(2).u32_counters();
    let snapshot =
        MapSnapshot::new("h", MapType::Array, 4, 8).entry(&[0; 4], &[3, 0, 0, 0, 4, 0, 0, 0]);
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let mut hist = Histograms::new(&buckets);
    let entry = maps.get("h").unwrap().entries().next().unwrap();
    hist.add_value(&[], &entry).unwrap();
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets));
    assert_eq!(out.histograms(), [sample(&[], &[3, 7], 0.0, 7)]);
}

#[test]
fn separate_sum_is_scaled_too() {
    let buckets = Buckets::exp2(1).scale(0.001);
    let mut hist = Histograms::new(&buckets);
    hist.add(&["a"], 0, 2).unwrap();
    hist.add_sum(&["a"], 1500);
    let mut out = Output::default();
    hist.emit(&mut out, family(&buckets));
    assert_eq!(out.histograms(), [sample(&["a"], &[2], 1.5, 2)]);
}

#[test]
fn labels_are_not_confused_by_how_they_split() {
    let buckets = Buckets::exp2(1);
    let mut hist = Histograms::new(&buckets);
    hist.add(&["ab", "c"], 0, 1).unwrap();
    hist.add(&["a", "bc"], 0, 1).unwrap();
    assert_eq!(hist.len(), 2);
}

#[test]
fn out_of_range_slot_is_an_error() {
    let four = Buckets::exp2(4);
    let mut hist = Histograms::new(&four);
    let err = hist.add(&[], 4, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "histogram slot 4 is out of range: the bucket layout has 4 slots"
    );
    let buckets = Buckets::exp2(4).sum_slot();
    let mut hist = Histograms::new(&buckets);
    hist.add(&[], 4, 1).unwrap();
    let err = hist.add(&[], u64::MAX, 1).unwrap_err();
    assert_eq!(
        err,
        Error::SlotOutOfRange {
            slot: u64::MAX,
            slots: 5
        }
    );
    assert!(hist.len() == 1, "a failed add creates no series");
}

#[test]
fn wrong_value_size_is_an_error() {
    let buckets = Buckets::exp2(4).sum_slot();
    let snapshot = MapSnapshot::new("h", MapType::Array, 4, 32).entry(&[0; 4], &[0; 32]);
    let snapshots = [snapshot];
    let maps = Maps::new(&snapshots);
    let entry = maps.get("h").unwrap().entries().next().unwrap();
    let err = Histograms::new(&buckets)
        .add_value(&[], &entry)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "histogram value has 32 bytes, the bucket layout needs 40"
    );
}

#[test]
fn a_short_slot_array_adds_nothing() {
    let buckets = Buckets::exp2(3);
    let mut hist = Histograms::new(&buckets);
    let value = u64s(&[1, 2]);
    let err = hist
        .read_slots(&["a"], &mut Reader::value(&value))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value too short: need 8 bytes at offset 16, have 16"
    );
    assert!(hist.is_empty());
}
