//! Counters: families, per-CPU maps, keys, errors and lookups.

use bpfhost_plugin_sdk::lookup::fake::{self, Fake};
use bpfhost_plugin_sdk::{MapSnapshot, MapType, MetricType};

use super::*;

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
