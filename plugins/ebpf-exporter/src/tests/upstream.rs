//! Ports of `ebpf_exporter` v2.5's `decoder/decoder_test.go` and
//! `exporter/exporter_test.go`, through whole map snapshots (the Go test
//! each comes from is named above it).

use bpfhost_plugin_sdk::{MapSnapshot, MapType};

use super::*;

// From TestDecodeLabels, case 1: labels that do not cover the key.
#[test]
fn upstream_decode_labels_not_all_decoded() {
    let (mut decoder, _) = init(
        "metrics: {counters: [{name: c_total, help: C, labels: [{name: number, size: 4, \
         decoders: [{name: uint}]}]}]}",
    );
    let k = key(&[&8u32.to_le_bytes(), &zero_padded("potatoes", 16)]);
    let map = MapSnapshot::new("c_total", MapType::Hash, 20, 8).entry(&k, &1u64.to_le_bytes());
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        "bad map: counter `c_total`: the labels' sizes and paddings add up to 4 bytes, the key \
         has 20"
    );
}

// From TestDecodeLabels, case 2.
#[test]
fn upstream_decode_labels_number_and_string() {
    let (mut decoder, _) = init(NUMBER_AND_FRUIT);
    let k = key(&[&8u32.to_le_bytes(), &zero_padded("bananas", 32)]);
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 8).entry(&k, &3u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["8", "bananas"]), 3.0)]);
}

// From TestDecodeLabels, case 3: padding skips bytes after a label.
#[test]
fn upstream_decode_labels_padding() {
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: fruit_total
      help: Fruit
      labels:
        - {name: number, size: 1, padding: 3, decoders: [{name: uint}]}
        - {name: fruit, size: 32, decoders: [{name: string}]}
",
    );
    let k = key(&[&[0x8, 0x1, 0x1, 0x1], &zero_padded("bananas", 32)]);
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 8).entry(&k, &1u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["8", "bananas"]), 1.0)]);
}

/// `TestDecodeLabels` cases 4 and 5 and `TestDecodeSkipLabels`: a regexp that
/// matches keeps the label set, one that does not drops it.
fn fruit_regexps(regexps: &str) -> EbpfExporter {
    init(&format!(
        "
metrics:
  counters:
    - name: fruit_total
      help: Fruit
      labels:
        - {{name: number, size: 4, decoders: [{{name: uint}}]}}
        - name: fruit
          size: 32
          decoders: [{{name: string}}, {{name: regexp, regexps: {regexps}}}]
"
    ))
    .0
}

// From TestDecodeLabels, case 4, and TestDecodeSkipLabels, case 1.
#[test]
fn upstream_decode_labels_regexp_match() {
    let mut decoder = fruit_regexps(r#"["^bananas$", "$is-banana-even-fruit$"]"#);
    let k = key(&[&8u32.to_le_bytes(), &zero_padded("bananas", 32)]);
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 8).entry(&k, &1u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["8", "bananas"]), 1.0)]);
}

// From TestDecodeLabels, case 5, and TestDecodeSkipLabels, case 2.
#[test]
fn upstream_decode_labels_regexp_skip() {
    let mut decoder = fruit_regexps(r#"["^tomato$"]"#);
    let bananas = key(&[&8u32.to_le_bytes(), &zero_padded("bananas", 32)]);
    let tomato = key(&[&9u32.to_le_bytes(), &zero_padded("tomato", 32)]);
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 8)
        .entry(&bananas, &1u64.to_le_bytes())
        .entry(&tomato, &2u64.to_le_bytes());
    let out = decode(&mut decoder, std::slice::from_ref(&map));
    assert_eq!(samples(&out), [(strings(&["9", "tomato"]), 2.0)]);
    // Skipped again at the next scrape (upstream's skip cache).
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["9", "tomato"]), 2.0)]);
}

// From TestDecoderSetCache: one key read as one u64 by a metric and as two
// u32 by another.
#[test]
fn upstream_decoder_set_cache() {
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: one_total
      help: One
      labels: [{name: single_u64, size: 8, decoders: [{name: uint}]}]
    - name: two_total
      help: Two
      labels:
        - {name: u32_one, size: 4, decoders: [{name: uint}]}
        - {name: u32_two, size: 4, decoders: [{name: uint}]}
",
    );
    let k = [0xba, 0xbe, 0xba, 0xbe, 0xde, 0xad, 0xbe, 0xef];
    let one = MapSnapshot::new("one_total", MapType::Hash, 8, 8).entry(&k, &1u64.to_le_bytes());
    let two = MapSnapshot::new("two_total", MapType::Hash, 8, 8).entry(&k, &1u64.to_le_bytes());
    let out = decode(&mut decoder, &[one, two]);
    let rows: Vec<(u32, Vec<String>)> = out
        .samples()
        .into_iter()
        .map(|s| (s.family, s.labels))
        .collect();
    assert_eq!(
        rows,
        [
            (0, strings(&["17275436392834055866"])),
            (1, strings(&["3199909562", "4022250974"]))
        ]
    );
}

// From TestAggregatedMetricValues: label sets that decode alike are summed.
#[test]
fn upstream_aggregated_metric_values() {
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: fruit_total
      help: Fruit
      labels:
        - name: fruit
          size: 4
          decoders:
            - name: uint
            - {name: static_map, static_map: {1: foo, 2: bar, 3: foo}}
",
    );
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 4, 8)
        .entry(&1u32.to_le_bytes(), &8u64.to_le_bytes())
        .entry(&2u32.to_le_bytes(), &1u64.to_le_bytes())
        .entry(&3u32.to_le_bytes(), &3u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(
        samples(&out),
        [(strings(&["bar"]), 1.0), (strings(&["foo"]), 11.0)]
    );
}
