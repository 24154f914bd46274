//! Config validation. `ebpf_exporter` v2.5 has no config tests; its
//! `validateConfig` and the errors its decoders and histogram code return
//! at scrape time are pinned here, as `init` errors.

use super::*;

/// The JSON the agent hands to `init` for a `decoder.config` written in
/// YAML (the manifest is read with `serde_yaml` into a JSON value).
pub(crate) fn json_of(yaml: &str) -> String {
    let value: Value = serde_yaml::from_str(yaml).expect("YAML");
    value.to_string()
}

fn parse_yaml(yaml: &str) -> Result<Document, String> {
    parse(&json_of(yaml)).map_err(|e| e.to_string())
}

fn refused(yaml: &str) -> String {
    parse_yaml(yaml).expect_err("refused")
}

#[test]
fn an_upstream_example_parses_with_yaml_integer_keys_as_text() {
    // `percpu-softirq.yaml`, shortened.
    let document = parse_yaml(
        "
metrics:
  counters:
    - name: softirqs_total
      help: Total number of softirq calls per cpu
      labels:
        - name: vec
          size: 4
          decoders:
            - name: uint
            - name: static_map
              static_map:
                0: HI_SOFTIRQ
                1: TIMER_SOFTIRQ
        - name: cpu
          size: 2
          decoders:
            - name: uint
",
    )
    .unwrap();
    let [metric] = document.metrics.as_slice() else {
        panic!("one metric: {document:?}");
    };
    assert_eq!(metric.map, "softirqs_total");
    assert_eq!(metric.family, "ebpf_exporter_softirqs_total");
    assert_eq!(metric.kind(), "counter");
    let labels: Vec<(&str, usize, usize)> = metric
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.size, l.steps.len()))
        .collect();
    assert_eq!(labels, [("vec", 4, 2), ("cpu", 2, 1)]);
}

#[test]
fn the_prefix_is_configurable_and_checked() {
    let yaml = |prefix: &str| {
        format!(
            "bpfhost: {{prefix: {prefix:?}}}\nmetrics:\n  counters:\n    - {{name: x_total, help: X}}\n"
        )
    };
    let document = parse_yaml(&yaml("")).unwrap();
    assert_eq!(document.metrics[0].family, "x_total");
    let document = parse_yaml(&yaml("node_ebpf_")).unwrap();
    assert_eq!(document.metrics[0].family, "node_ebpf_x_total");
    assert_eq!(
        refused(&yaml("9")),
        "counter `x_total`: `9x_total` is not a valid Prometheus metric name (set \
         bpfhost.prefix to change the prefix)"
    );
    assert_eq!(
        refused("bpfhost: {prefx: a_}\nmetrics: {counters: []}"),
        "bpfhost.prefx: unknown field `prefx`, expected `prefix`"
    );
}

#[test]
fn a_config_without_metrics_or_spans_is_refused_as_upstream_does() {
    assert_eq!(
        refused("{}"),
        "neither metrics nor tracing are defined: decoder.config must hold an ebpf_exporter \
         config with metrics.counters or metrics.histograms"
    );
    assert_eq!(
        parse("[]").unwrap_err().to_string(),
        "decoder.config must be one ebpf_exporter config document (a mapping)"
    );
    // An explicit empty list is defined, as in Go.
    assert!(
        parse_yaml("metrics: {counters: []}")
            .unwrap()
            .metrics
            .is_empty()
    );
}

#[test]
fn a_metric_lacking_name_or_help_is_refused_as_validate_config_does() {
    assert_eq!(
        refused("metrics: {counters: [{help: H}]}"),
        "counter `#1 (unnamed)`: lacks name"
    );
    assert_eq!(
        refused("metrics: {histograms: [{name: h_seconds}]}"),
        "histogram `h_seconds`: lacks help"
    );
}

#[test]
fn unknown_fields_are_refused_with_the_metric_and_the_field() {
    assert_eq!(
        refused(
            "
metrics:
  histograms:
    - name: bio_latency_seconds
      help: Block IO latency histogram
      bucket_type: exp2
      bucket_max: 27
      bucket_multipler: 0.000001
      labels: [{name: bucket, size: 8, decoders: [{name: uint}]}]
"
        ),
        "histogram `bio_latency_seconds`: bucket_multipler: unknown field `bucket_multipler`, \
         expected one of `name`, `help`, `bucket_type`, `bucket_multiplier`, `bucket_min`, \
         `bucket_max`, `bucket_keys`, `labels`"
    );
    assert_eq!(
        refused(
            "metrics: {counters: [{name: c_total, help: C, labels: [{name: pid, size: 4, \
             decoders: [{name: uint, static_mpa: {}}]}]}]}"
        ),
        "counter `c_total`: labels[0].decoders[0].static_mpa: unknown field `static_mpa`, \
         expected one of `name`, `static_map`, `regexps`, `allow_unknown`"
    );
    assert_eq!(
        refused("metrics: {counters: [{name: c_total, help: C, labels: [{name: pid, size: -4}]}]}"),
        "counter `c_total`: labels[0].size: invalid value: integer `-4`, expected u64"
    );
    assert_eq!(
        refused("metric: {}"),
        "metric: unknown field `metric`, expected one of `name`, `metrics`, `tracing`, \
         `kaddrs`, `cgroup_id_map`, `bpfhost`"
    );
}

#[test]
fn labels_need_a_size_and_decoders() {
    assert_eq!(
        refused(
            "metrics: {counters: [{name: c_total, help: C, labels: [{name: pid, decoders: [{name: uint}]}]}]}"
        ),
        "counter `c_total`, label `pid`: size is zero or not set"
    );
    assert_eq!(
        refused("metrics: {counters: [{name: c_total, help: C, labels: [{name: pid, size: 4}]}]}"),
        "counter `c_total`, label `pid`: no decoders set"
    );
    assert_eq!(
        refused(
            "metrics: {counters: [{name: c_total, help: C, labels: [{name: pid, size: 4, \
             decoders: [{name: uint}, {name: pid_to_comm}]}]}]}"
        ),
        "counter `c_total`, label `pid`: unknown decoder `pid_to_comm`: expected one of cgroup, \
         dname, errno, hex, ifname, inet_ip, kstack, ksym, majorminor, pci_class, pci_device, \
         pci_subclass, pci_vendor, regexp, static_map, string, syscall, uint"
    );
}

#[test]
fn hardware_decoders_start_and_majorminor_needs_four_bytes() {
    // `biolatency.yaml`'s device label.
    let biolatency = "metrics: {histograms: [{name: bio_latency_seconds, help: H, \
                      bucket_type: exp2, bucket_max: 27, labels: [{name: device, size: 4, \
                      decoders: [{name: majorminor}]}, {name: bucket, size: 8, decoders: \
                      [{name: uint}]}]}]}";
    parse_yaml(biolatency).expect("majorminor is supported");
    parse_yaml(
        "metrics: {counters: [{name: pci_total, help: P, labels: [{name: vendor, size: 2, \
         decoders: [{name: uint}, {name: pci_vendor}]}, {name: class, size: 1, decoders: \
         [{name: uint}, {name: pci_class}]}]}]}",
    )
    .expect("pci decoders are supported");
    assert_eq!(
        refused(&biolatency.replace("size: 4", "size: 2")),
        "histogram `bio_latency_seconds`, label `device`: decoder `majorminor`: reads a 4-byte \
         device number, the label has size 2"
    );
}

/// `ebpf_exporter`'s `config/config.go` (`Counter.PerfEventArray`,
/// `Counter.FlushInterval`) and `exporter/perf_event_array.go` (an hour
/// unless the interval is positive).
#[test]
fn perf_event_array_counters_read_their_flush_interval() {
    let flush = |yaml: &str| {
        let document = parse_yaml(yaml).expect("parses");
        let [metric] = document.metrics.as_slice() else {
            panic!("one metric: {document:?}");
        };
        metric.perf_event_array.map(|f| f.interval)
    };
    let oomkill = crate::tests::OOMKILL;
    assert_eq!(flush(oomkill), Some(Duration::from_hours(1)));
    let with = |interval: &str| {
        oomkill.replace(
            "perf_event_array: true",
            &format!("perf_event_array: true\n      flush_interval: {interval}"),
        )
    };
    assert_eq!(flush(&with("1m")), Some(Duration::from_mins(1)));
    assert_eq!(flush(&with("1h30m")), Some(Duration::from_mins(90)));
    assert_eq!(flush(&with("500ms")), Some(Duration::from_millis(500)));
    assert_eq!(
        flush(&with("1000000000")),
        Some(Duration::from_secs(1)),
        "a YAML integer is nanoseconds"
    );
    for not_positive in ["0", "0s", "-5m", "null"] {
        assert_eq!(
            flush(&with(not_positive)),
            Some(DEFAULT_FLUSH_INTERVAL),
            "{not_positive}"
        );
    }
    assert_eq!(
        refused(&with("1d")),
        "counter `oom_kills_total`: flush_interval: unknown unit \"d\" in duration \"1d\" \
         (expected ns, us, ms, s, m or h)"
    );
    assert_eq!(
        refused(&with("[1m]")),
        "counter `oom_kills_total`: flush_interval: expected a duration such as \"1m\", \
         \"30s\" or \"1h30m\", found [\"1m\"]"
    );
    // Without `perf_event_array` a counter reads its map; the interval is
    // read and unused, as upstream.
    let map_counter = with("2m").replace("perf_event_array: true", "perf_event_array: false");
    assert_eq!(flush(&map_counter), None);
    // Upstream's `Histogram` has no such field.
    assert_eq!(
        refused(
            "metrics: {histograms: [{name: h, help: H, bucket_type: linear, \
             perf_event_array: true, labels: [{name: bucket, size: 8, decoders: [{name: uint}]}]}]}"
        ),
        "histogram `h`: perf_event_array: unknown field `perf_event_array`, expected one of \
         `name`, `help`, \
         `bucket_type`, `bucket_multiplier`, `bucket_min`, `bucket_max`, `bucket_keys`, `labels`"
    );
}

#[test]
fn features_not_supported_yet_are_refused_by_name() {
    assert_eq!(
        refused("tracing: {spans: [{name: exec, ringbuf: exec_spans}]}"),
        "tracing spans are not supported yet"
    );
    assert_eq!(
        refused("kaddrs: [bpf_prog_fops]\nmetrics: {counters: []}"),
        "kaddrs (kernel addresses written into the program's globals) are not supported yet"
    );
    assert_eq!(
        refused("cgroup_id_map: {name: cgroup_map, regexps: [.*]}\nmetrics: {counters: []}"),
        "cgroup_id_map is run by the agent, not the decoder: put it in spec.cgroupIdMap \
         (`bpfhost ebpf-exporter` and `bpfhost convert ebpf-exporter` do)"
    );
    // Fields that only matter for those features are still accepted.
    assert!(
        parse_yaml("metrics: {counters: [{name: e_total, help: E, flush_interval: 1m}]}").is_ok()
    );
}

#[test]
fn histograms_need_a_bucket_label_and_valid_buckets() {
    assert_eq!(
        refused("metrics: {histograms: [{name: h, help: H, bucket_type: exp2, bucket_max: 3}]}"),
        "histogram `h`: a histogram needs at least one label: the last one is the bucket"
    );
    assert_eq!(
        refused(
            "metrics: {histograms: [{name: h, help: H, bucket_max: 3, labels: [{name: bucket, \
             size: 8, decoders: [{name: uint}]}]}]}"
        ),
        "histogram `h`: unknown bucket_type ``: expected exp2, exp2zero, linear or fixed"
    );
}

#[test]
fn yaml_nulls_read_as_zero_values_as_in_go() {
    let document = parse_yaml(
        "
metrics:
  counters:
    - name: c_total
      help: C
      labels:
        - name: key
          size: 4
          padding:
          decoders:
            - name: static_map
              allow_unknown:
              static_map:
tracing:
kaddrs:
",
    )
    .unwrap();
    assert_eq!(document.metrics[0].labels[0].padding, 0);
}
