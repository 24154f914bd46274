//! Bucket layouts. `ebpf_exporter` v2.5 has no tests of its histogram code
//! (`exporter/histogram.go`); these pin what `transformHistogramDynamic`,
//! `transformHistogramFixed` and `histogramKeyerMaker` do.

use super::*;

fn layout(bucket_type: &str, min: i64, max: i64, multiplier: f64, keys: &[f64]) -> Layout {
    Layout::new(bucket_type, min, max, multiplier, keys.to_vec()).unwrap()
}

fn refused(bucket_type: &str, min: i64, max: i64, multiplier: f64, keys: &[f64]) -> String {
    Layout::new(bucket_type, min, max, multiplier, keys.to_vec())
        .unwrap_err()
        .to_string()
}

#[test]
fn exp2_bounds_are_powers_of_two_times_the_multiplier() {
    let l = layout("exp2", 0, 4, 0.5, &[]);
    assert_eq!(l.bounds(), [0.5, 1.0, 2.0, 4.0, 8.0]);
    assert!((l.multiplier() - 0.5).abs() < f64::EPSILON);
    // biolatency.yaml: microseconds to seconds.
    let l = layout("exp2", 0, 27, 0.000_001, &[]);
    assert_eq!(l.bounds().len(), 28);
    assert!((l.bounds()[27] - 134.217_728).abs() < 1e-9);
}

#[test]
fn exp2zero_has_a_bucket_for_zero_then_powers_of_two() {
    // tcp-syn-backlog-exp2zero.yaml, no multiplier.
    let l = layout("exp2zero", 0, 4, 0.0, &[]);
    assert_eq!(l.bounds(), [0.0, 1.0, 2.0, 4.0, 8.0]);
}

#[test]
fn linear_and_fixed_bounds_are_the_bucket_numbers_times_the_multiplier() {
    assert_eq!(
        layout("linear", 1, 3, 10.0, &[]).bounds(),
        [10.0, 20.0, 30.0]
    );
    assert_eq!(
        layout("fixed", 0, 0, 0.001, &[1.0, 5.0, 10.0]).bounds(),
        [0.001, 0.005, 0.01]
    );
}

#[test]
fn no_multiplier_is_a_multiplier_of_one() {
    assert!((layout("linear", 0, 2, 0.0, &[]).multiplier() - 1.0).abs() < f64::EPSILON);
}

#[test]
fn the_key_after_the_last_bucket_is_the_sum() {
    let l = layout("exp2", 0, 3, 1.0, &[]);
    assert_eq!(l.slot(0), Slot::Bucket(0));
    assert_eq!(l.slot(3), Slot::Bucket(3));
    assert_eq!(l.slot(4), Slot::Sum);
    assert_eq!(l.slot(5), Slot::Outside);
    let l = layout("linear", 2, 4, 1.0, &[]);
    assert_eq!(l.slot(1), Slot::Outside);
    assert_eq!(l.slot(2), Slot::Bucket(0));
    assert_eq!(l.slot(5), Slot::Sum);
    let l = layout("fixed", 0, 0, 1.0, &[1.0, 5.0, 10.0]);
    assert_eq!(l.slot(5), Slot::Bucket(1));
    assert_eq!(l.slot(4), Slot::Outside);
    assert_eq!(l.slot(11), Slot::Sum);
    assert_eq!(l.slot(u64::MAX), Slot::Outside);
}

#[test]
fn layouts_that_make_no_histogram_are_refused_with_upstreams_words() {
    assert_eq!(
        refused("exp2", 3, 3, 1.0, &[]),
        "histogram buckets have zero size: [bucket_min .. bucket_max] = [3 .. 3]"
    );
    assert_eq!(
        refused("fixed", 0, 10, 1.0, &[]),
        "histogram buckets have zero size: len(bucket_keys) = 0"
    );
    assert_eq!(
        refused("", 0, 10, 1.0, &[]),
        "unknown bucket_type ``: expected exp2, exp2zero, linear or fixed"
    );
    assert_eq!(
        refused("log2", 0, 10, 1.0, &[]),
        "unknown bucket_type `log2`: expected exp2, exp2zero, linear or fixed"
    );
}

#[test]
fn bounds_must_be_finite_and_ascending() {
    assert_eq!(
        refused("exp2", 5, 2, 1.0, &[]),
        "bucket_max (2) is below bucket_min (5)"
    );
    assert_eq!(
        refused("linear", 1, 3, -1.0, &[]),
        "bucket bounds must be finite and ascending: bucket 1 has bound -2, after -1"
    );
    assert_eq!(
        refused("exp2zero", -1, 2, 1.0, &[]),
        "bucket bounds must be finite and ascending: bucket 1 has bound 0, after 0.25"
    );
    assert_eq!(
        refused("exp2", 1020, 1030, 1.0, &[]),
        "bucket bounds must be finite and ascending: bucket 4 has bound inf, after \
         8.98846567431158e307"
    );
    assert_eq!(
        refused("fixed", 0, 0, 1.0, &[1.0, 1.0]),
        "bucket_keys must be in ascending order, without repeats"
    );
    assert_eq!(
        refused("linear", 0, 1_000_000, 1.0, &[]),
        "[bucket_min .. bucket_max] = [0 .. 1000000] is more than 4096 buckets"
    );
}
