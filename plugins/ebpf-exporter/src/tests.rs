//! The decoder as the agent runs it: a config in, map snapshots in, rows
//! out. Tests named `upstream_*` port `ebpf_exporter` v2.5's
//! `decoder/decoder_test.go` and `exporter/exporter_test.go` (the Go test
//! each comes from is named above it), through whole map snapshots.

use bpfhost_plugin_sdk::lookup::fake::{self, Fake};
use bpfhost_plugin_sdk::{MapSnapshot, MapType, MetricType};

use super::*;
use crate::config::tests::json_of;

/// A decoder for a config written in YAML, and the families it declared.
fn init(yaml: &str) -> (EbpfExporter, Spec) {
    let mut spec = Spec::default();
    let decoder = EbpfExporter::init(&Config::new(json_of(yaml)), &mut spec)
        .unwrap_or_else(|e| panic!("init: {e}"));
    (decoder, spec)
}

fn decode(decoder: &mut EbpfExporter, maps: &[MapSnapshot]) -> Output {
    let mut out = Output::default();
    decoder
        .decode(&Maps::new(maps), &mut out)
        .unwrap_or_else(|e| panic!("decode: {e}"));
    out
}

fn decode_err(decoder: &mut EbpfExporter, maps: &[MapSnapshot]) -> String {
    decoder
        .decode(&Maps::new(maps), &mut Output::default())
        .expect_err("decode fails")
        .to_string()
}

/// Counter rows as `(labels, value)`, sorted by labels.
fn samples(out: &Output) -> Vec<(Vec<String>, f64)> {
    let mut rows: Vec<_> = out
        .samples()
        .into_iter()
        .map(|s| (s.labels, s.value))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|&v| v.to_owned()).collect()
}

fn zero_padded(text: &str, size: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(size, 0);
    bytes
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const NUMBER_AND_FRUIT: &str = "
metrics:
  counters:
    - name: fruit_total
      help: Fruit
      labels:
        - name: number
          size: 4
          decoders: [{name: uint}]
        - name: fruit
          size: 32
          decoders: [{name: string}]
";

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

#[test]
fn families_get_the_prefix_the_help_and_the_label_names() {
    let (_, spec) = init(
        "
metrics:
  counters:
    - name: timer_starts_total
      help: Timers fired in the kernel
      labels: [{name: function, size: 8, decoders: [{name: ksym}]}]
  histograms:
    - name: bio_latency_seconds
      help: Block IO latency histogram
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 3
      bucket_multiplier: 0.5
      labels:
        - {name: operation, size: 4, decoders: [{name: uint}]}
        - {name: bucket, size: 8, decoders: [{name: uint}]}
",
    );
    let [counter, histogram] = spec.families() else {
        panic!("two families: {spec:?}");
    };
    assert_eq!(counter.name(), "ebpf_exporter_timer_starts_total");
    assert_eq!(counter.metric_type(), MetricType::Counter);
    assert_eq!(counter.help(), "Timers fired in the kernel");
    assert_eq!(counter.labels(), ["function"]);
    assert_eq!(histogram.name(), "ebpf_exporter_bio_latency_seconds");
    assert_eq!(histogram.metric_type(), MetricType::Histogram);
    assert_eq!(
        histogram.labels(),
        ["operation"],
        "the bucket label is not one"
    );
    assert_eq!(histogram.buckets(), [0.5, 1.0, 2.0, 4.0]);
    assert_eq!(spec.maps(), ["timer_starts_total", "bio_latency_seconds"]);
}

const SOFTIRQS: &str = "
metrics:
  counters:
    - name: softirqs_total
      help: Softirqs
      labels:
        - name: vec
          size: 4
          decoders:
            - name: uint
            - {name: static_map, static_map: {1: TIMER_SOFTIRQ, 3: NET_RX_SOFTIRQ}}
";

#[test]
fn per_cpu_values_are_summed() {
    let (mut decoder, _) = init(SOFTIRQS);
    let map = MapSnapshot::new("softirqs_total", MapType::PerCpuArray, 4, 8)
        .cpus(3)
        .entry_per_cpu(
            &1u32.to_le_bytes(),
            &[
                &1u64.to_le_bytes(),
                &2u64.to_le_bytes(),
                &3u64.to_le_bytes(),
            ],
        );
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["TIMER_SOFTIRQ"]), 6.0)]);
}

/// `percpu-softirq.yaml`: a trailing `cpu` label keeps each CPU's value,
/// decoding the CPU number appended to the key as a `u16`.
#[test]
fn a_trailing_cpu_label_splits_per_cpu_values() {
    let (mut decoder, _) = init(&format!(
        "{SOFTIRQS}        - {{name: cpu, size: 2, decoders: [{{name: uint}}]}}\n"
    ));
    let map = MapSnapshot::new("softirqs_total", MapType::PerCpuArray, 4, 8)
        .cpus(2)
        .entry_per_cpu(
            &3u32.to_le_bytes(),
            &[&5u64.to_le_bytes(), &7u64.to_le_bytes()],
        );
    let out = decode(&mut decoder, &[map]);
    assert_eq!(
        samples(&out),
        [
            (strings(&["NET_RX_SOFTIRQ", "0"]), 5.0),
            (strings(&["NET_RX_SOFTIRQ", "1"]), 7.0)
        ]
    );
}

#[test]
fn a_cpu_label_of_the_wrong_size_says_the_cpu_number_was_appended() {
    let (mut decoder, _) = init(&format!(
        "{SOFTIRQS}        - {{name: cpu, size: 4, decoders: [{{name: uint}}]}}\n"
    ));
    let map = MapSnapshot::new("softirqs_total", MapType::PerCpuArray, 4, 8)
        .cpus(1)
        .entry_per_cpu(&3u32.to_le_bytes(), &[&5u64.to_le_bytes()]);
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        "bad map: counter `softirqs_total`: the labels' sizes and paddings add up to 8 bytes, \
         the key has 6 (with the 2-byte CPU number appended for the trailing `cpu` label of a \
         per-CPU map)"
    );
}

/// A per-CPU array with one entry and `cpu` as its only label: the `u32`
/// 0 key is dropped, the CPU number kept.
#[test]
fn a_lone_cpu_label_reads_the_cpu_of_key_zero() {
    let (mut decoder, _) = init(
        "metrics: {counters: [{name: events_total, help: E, labels: [{name: cpu, size: 2, \
         decoders: [{name: uint}]}]}]}",
    );
    let map = MapSnapshot::new("events_total", MapType::PerCpuArray, 4, 8)
        .cpus(2)
        .entry_per_cpu(
            &0u32.to_le_bytes(),
            &[&1u64.to_le_bytes(), &2u64.to_le_bytes()],
        );
    let out = decode(&mut decoder, &[map]);
    assert_eq!(
        samples(&out),
        [(strings(&["0"]), 1.0), (strings(&["1"]), 2.0)]
    );
}

/// `llcstat.yaml`: `cpu` is an ordinary label of a map that is not
/// per-CPU.
#[test]
fn a_cpu_label_of_a_plain_map_is_read_from_the_key() {
    let (mut decoder, _) = init(
        "metrics: {counters: [{name: llc_misses_total, help: L, labels: [{name: cpu, size: 4, \
         decoders: [{name: uint}]}]}]}",
    );
    let map = MapSnapshot::new("llc_misses_total", MapType::Hash, 4, 8)
        .entry(&3u32.to_le_bytes(), &9u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(strings(&["3"]), 9.0)]);
}

#[test]
fn a_metric_without_labels_reads_key_zero_only() {
    let (mut decoder, _) = init("metrics: {counters: [{name: oom_kills_total, help: O}]}");
    let map = MapSnapshot::new("oom_kills_total", MapType::PerCpuArray, 4, 8)
        .cpus(2)
        .entry_per_cpu(
            &0u32.to_le_bytes(),
            &[&1u64.to_le_bytes(), &2u64.to_le_bytes()],
        );
    let out = decode(&mut decoder, &[map]);
    assert_eq!(samples(&out), [(vec![], 3.0)]);
    let map = MapSnapshot::new("oom_kills_total", MapType::Array, 4, 8)
        .entry(&0u32.to_le_bytes(), &1u64.to_le_bytes())
        .entry(&1u32.to_le_bytes(), &1u64.to_le_bytes());
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        "bad map: counter `oom_kills_total`: the labels' sizes and paddings add up to 0 bytes, \
         the key has 4"
    );
}

#[test]
fn values_other_than_u64_and_missing_maps_name_the_metric() {
    let (mut decoder, _) = init(NUMBER_AND_FRUIT);
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 4);
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        "bad map: counter `fruit_total`: value size for map `fruit_total` is not expected 8 \
         bytes (u64), it is 4 bytes"
    );
    assert_eq!(
        decode_err(&mut decoder, &[]),
        "bad map: counter `fruit_total`: map fruit_total was not provided"
    );
}

#[test]
fn a_decoder_failing_at_scrape_time_names_metric_label_and_decoder() {
    let (mut decoder, _) = init(
        "metrics: {counters: [{name: c_total, help: C, labels: [{name: group, size: 4, \
         decoders: [{name: hex}, {name: cgroup}]}]}]}",
    );
    let map = MapSnapshot::new("c_total", MapType::Hash, 4, 8)
        .entry(&[0xab, 0, 0, 0], &1u64.to_le_bytes());
    assert_eq!(
        decode_err(&mut decoder, &[map]),
        r#"counter `c_total`: label `group`: decoder `cgroup`: error parsing "ab000000" as an integer"#
    );
}

#[test]
fn lookups_resolve_through_the_host() {
    let mut answers = Fake::default();
    answers.syscalls.insert(257, "openat".to_owned());
    answers.cgroup_paths.insert(77, "/user.slice".to_owned());
    fake::install(answers);
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: syscalls_total
      help: S
      labels:
        - {name: cgroup, size: 8, decoders: [{name: uint}, {name: cgroup}]}
        - {name: syscall, size: 4, padding: 4, decoders: [{name: uint}, {name: syscall}]}
",
    );
    let k = |nr: u32| key(&[&77u64.to_le_bytes(), &nr.to_le_bytes(), &[0; 4]]);
    let map = MapSnapshot::new("syscalls_total", MapType::Hash, 16, 8)
        .entry(&k(257), &4u64.to_le_bytes())
        .entry(&k(9999), &1u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(
        samples(&out),
        [
            (strings(&["/sys/fs/cgroup/user.slice", "openat"]), 4.0),
            (
                strings(&["/sys/fs/cgroup/user.slice", "unknown_syscall:9999"]),
                1.0
            )
        ]
    );
}

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

#[test]
fn buffers_are_reused_and_a_second_scrape_gives_the_same_rows() {
    let (mut decoder, _) = init(NUMBER_AND_FRUIT);
    let mut map = MapSnapshot::new("fruit_total", MapType::Hash, 36, 8);
    for i in 0..1000u32 {
        let k = key(&[
            &i.to_le_bytes(),
            &zero_padded(&format!("fruit{}", i % 7), 32),
        ]);
        map = map.entry(&k, &u64::from(i).to_le_bytes());
    }
    let maps = [map];
    let first = decode(&mut decoder, &maps);
    let second = decode(&mut decoder, &maps);
    assert_eq!(first.len(), 1000);
    assert_eq!(first, second);
}

/// Keys that differ only in bytes no label shows (after a string's NUL, in
/// padding, invalid UTF-8 replaced alike) are one series, whether they
/// come before or after keys that cannot collide.
#[test]
fn keys_differing_only_in_hidden_bytes_are_summed() {
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: comm_total
      help: C
      labels:
        - {name: pid, size: 1, padding: 3, decoders: [{name: uint}]}
        - {name: comm, size: 8, decoders: [{name: string}]}
",
    );
    let k = |pid: u8, padding: u8, comm: &[u8]| {
        let mut comm = comm.to_vec();
        comm.resize(8, 0);
        key(&[&[pid, padding, 0, 0], &comm])
    };
    let map = MapSnapshot::new("comm_total", MapType::Hash, 12, 8)
        .entry(&k(1, 0, b"bash"), &1u64.to_le_bytes())
        .entry(&k(2, 0, b"sshd"), &10u64.to_le_bytes())
        .entry(&k(1, 0, b"bash\0xyz"), &2u64.to_le_bytes())
        .entry(&k(1, 7, b"bash"), &4u64.to_le_bytes())
        .entry(&k(3, 0, b"caf\xc3\xa9"), &8u64.to_le_bytes())
        .entry(&k(4, 0, b"a\xffb"), &16u64.to_le_bytes())
        .entry(&k(4, 0, b"a\xfeb"), &32u64.to_le_bytes())
        .entry(&k(5, 0, b"late"), &64u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    assert_eq!(
        samples(&out),
        [
            (strings(&["1", "bash"]), 7.0),
            (strings(&["2", "sshd"]), 10.0),
            (strings(&["3", "café"]), 8.0),
            (strings(&["4", "a\u{fffd}b"]), 48.0),
            (strings(&["5", "late"]), 64.0),
        ]
    );
}

/// A recorded map dump (`testdata/dump.json`, hex keys and values as
/// `/debug/dump` serves them) as snapshots.
fn snapshots_of_dump(json: &str) -> Vec<MapSnapshot> {
    let hex = |text: &str| -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    };
    let dump: serde_json::Value = serde_json::from_str(json).expect("dump");
    let maps = dump["maps"].as_array().expect("maps");
    maps.iter()
        .map(|m| {
            let size = |field: &str| m[field].as_u64().expect(field) as usize;
            let (map_type, cpus) = match m["type"].as_str() {
                Some("percpu_array") => (MapType::PerCpuArray, size("cpus")),
                Some("percpu_hash") => (MapType::PerCpuHash, size("cpus")),
                Some("lru_hash") => (MapType::LruHash, 1),
                other => panic!("map type {other:?}"),
            };
            let name = m["name"].as_str().expect("name");
            let mut snapshot = MapSnapshot::new(name, map_type, size("keySize"), size("valueSize"));
            if map_type.is_per_cpu() {
                snapshot = snapshot.cpus(cpus);
            }
            for entry in m["entries"].as_array().expect("entries") {
                let key = hex(entry["key"].as_str().expect("key"));
                let value = hex(entry["value"].as_str().expect("value"));
                snapshot = if map_type.is_per_cpu() {
                    let values: Vec<&[u8]> = value.chunks(8).collect();
                    snapshot.entry_per_cpu(&key, &values)
                } else {
                    snapshot.entry(&key, &value)
                };
            }
            snapshot
        })
        .collect()
}

/// `testdata/`: the config and dump `bpfhost plugin test` turns into
/// `expected.prom`, decoded natively.
#[test]
fn the_testdata_dump_decodes_to_the_expected_series() {
    let (mut decoder, _) = init(include_str!("../testdata/config.yaml"));
    let maps = snapshots_of_dump(include_str!("../testdata/dump.json"));
    let out = decode(&mut decoder, &maps);
    let expected = include_str!("../testdata/expected.prom");
    for sample in out.samples() {
        let family = ["writes_by_process_total", "softirqs_total"][sample.family as usize];
        let names: &[&str] = match sample.family {
            0 => &["pid", "comm"],
            _ => &["vec", "cpu"],
        };
        let labels: Vec<String> = names
            .iter()
            .zip(&sample.labels)
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        let line = format!(
            "ebpf_exporter_{family}{{{}}} {}\n",
            labels.join(","),
            sample.value
        );
        assert!(expected.contains(&line), "{line} is not in expected.prom");
    }
    let [read, write] = out.histograms().try_into().expect("two histograms");
    assert_eq!((read.buckets, read.count), (vec![4, 8, 8, 9], 9));
    assert!((read.sum - 0.045).abs() < 1e-12);
    assert_eq!((write.buckets, write.count), (vec![0, 0, 6, 6], 6));
}

/// Every config of a checkout of `ebpf_exporter`'s `examples/`: each one
/// either starts or is refused for a feature this decoder does not
/// support yet, never for anything else.
#[test]
#[ignore = "needs EBPF_EXPORTER_EXAMPLES=<ebpf_exporter checkout>/examples"]
fn upstream_example_configs_start_or_name_what_is_not_supported() {
    let dir = std::env::var("EBPF_EXPORTER_EXAMPLES").expect("EBPF_EXPORTER_EXAMPLES");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no configs");
    for path in paths {
        let yaml = std::fs::read_to_string(&path).expect("config");
        let result = EbpfExporter::init(&Config::new(json_of(&yaml)), &mut Spec::default());
        match result {
            Ok(_) => println!("{}: ok", path.display()),
            Err(e) => {
                let message = e.to_string();
                println!("{}: {message}", path.display());
                assert!(
                    message.contains("not supported yet"),
                    "{}: {message}",
                    path.display()
                );
            }
        }
    }
}
