//! Histograms: buckets, sum, backfill, per-CPU maps.

use bpfhost_plugin_sdk::{MapSnapshot, MapType};

use super::*;

const LATENCY: &str = "
metrics:
  histograms:
    - name: op_latency_seconds
      help: Latency
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 3
      bucket_multiplier: 0.001
      labels:
        - name: op
          size: 4
          decoders:
            - name: uint
            - {name: static_map, static_map: {0: read, 1: write}}
        - {name: bucket, size: 4, decoders: [{name: uint}]}
";

fn latency_key(op: u32, bucket: u32) -> Vec<u8> {
    key(&[&op.to_le_bytes(), &bucket.to_le_bytes()])
}

#[test]
fn histograms_backfill_missing_buckets_and_read_the_sum_after_the_last() {
    let (mut decoder, _) = init(LATENCY);
    let map = MapSnapshot::new("op_latency_seconds", MapType::PerCpuHash, 8, 8)
        .cpus(2)
        .entry_per_cpu(
            &latency_key(0, 1),
            &[&2u64.to_le_bytes(), &1u64.to_le_bytes()],
        )
        .entry_per_cpu(
            &latency_key(0, 3),
            &[&1u64.to_le_bytes(), &0u64.to_le_bytes()],
        )
        // The sum, at bucket_max + 1, in the program's unit (ms).
        .entry_per_cpu(
            &latency_key(0, 4),
            &[&9u64.to_le_bytes(), &3u64.to_le_bytes()],
        )
        // Past the sum: ignored.
        .entry_per_cpu(
            &latency_key(0, 9),
            &[&100u64.to_le_bytes(), &0u64.to_le_bytes()],
        )
        .entry_per_cpu(
            &latency_key(1, 0),
            &[&1u64.to_le_bytes(), &1u64.to_le_bytes()],
        );
    let out = decode(&mut decoder, &[map]);
    let mut rows: Vec<_> = out
        .histograms()
        .into_iter()
        .map(|h| (h.labels, h.buckets, h.sum, h.count))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rows,
        [
            (strings(&["read"]), vec![0, 3, 3, 4], 12.0 * 0.001, 4),
            (strings(&["write"]), vec![2, 2, 2, 2], 0.0, 2),
        ]
    );
}

#[test]
fn fixed_histograms_count_the_bucket_keys_only() {
    let (mut decoder, spec) = init(
        "
metrics:
  histograms:
    - name: sizes_bytes
      help: Sizes
      bucket_type: fixed
      bucket_keys: [64, 512, 4096]
      labels: [{name: bucket, size: 8, decoders: [{name: uint}]}]
",
    );
    assert_eq!(spec.families()[0].buckets(), [64.0, 512.0, 4096.0]);
    let map = MapSnapshot::new("sizes_bytes", MapType::Hash, 8, 8)
        .entry(&64u64.to_le_bytes(), &5u64.to_le_bytes())
        .entry(&100u64.to_le_bytes(), &50u64.to_le_bytes())
        .entry(&4096u64.to_le_bytes(), &1u64.to_le_bytes())
        .entry(&4097u64.to_le_bytes(), &70_000u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    let [h] = out.histograms().try_into().unwrap();
    assert_eq!((h.buckets, h.sum, h.count), (vec![5, 5, 6], 70_000.0, 6));
}

#[test]
fn an_empty_map_has_no_series_and_a_bucket_that_is_no_number_fails_the_scrape() {
    let (mut decoder, _) = init(LATENCY);
    let empty = MapSnapshot::new("op_latency_seconds", MapType::Hash, 8, 8);
    assert!(decode(&mut decoder, &[empty]).is_empty());

    let (mut decoder, _) = init(&LATENCY.replace(
        "{name: bucket, size: 4, decoders: [{name: uint}]}",
        "{name: bucket, size: 4, decoders: [{name: hex}]}",
    ));
    let map = MapSnapshot::new("op_latency_seconds", MapType::Hash, 8, 8)
        .entry(&latency_key(0, 10), &1u64.to_le_bytes());
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        r#"histogram `op_latency_seconds`: bucket label `bucket` decoded to "0a000000", which is not an unsigned integer"#
    );
}
