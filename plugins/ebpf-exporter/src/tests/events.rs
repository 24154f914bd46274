//! `perf_event_array` counters: records in, counts out, as `ebpf_exporter`'s
//! `exporter/perf_event_array.go` makes them.

use bpfhost_plugin_sdk::lookup::fake::{self, Fake};
use bpfhost_plugin_sdk::{Events, MapSnapshot, MapType, SourceId};

use super::*;

const SECOND: u64 = 1_000_000_000;

/// `struct { __u32 number; char fruit[16]; }` records, counted per label
/// set, reset every minute.
const FRUIT_EVENTS: &str = "
metrics:
  counters:
    - name: fruit_events_total
      help: Fruit events
      perf_event_array: true
      flush_interval: 1m
      labels:
        - name: number
          size: 4
          decoders: [{name: uint}]
        - name: fruit
          size: 16
          decoders: [{name: string}]
";

fn fruit(number: u32, name: &str) -> Vec<u8> {
    key(&[&number.to_le_bytes(), &zero_padded(name, 16)])
}

/// Hands `records` to the decoder as one batch of source 0 at `now`.
fn send(decoder: &mut EbpfExporter, records: &[Vec<u8>], now: u64) -> Result<()> {
    let data = Events::encode(records);
    let count = u32::try_from(records.len()).expect("a few records");
    decoder.on_events(&Events::new(SourceId::new(0), count, &data).at(now))
}

/// The counter rows a scrape at `now` returns.
fn scrape(decoder: &mut EbpfExporter, now: u64) -> Vec<(Vec<String>, f64)> {
    let mut out = Output::default();
    let none: [MapSnapshot; 0] = [];
    decoder
        .decode(&Maps::new(&none).at(now), &mut out)
        .unwrap_or_else(|e| panic!("decode: {e}"));
    samples(&out)
}

#[test]
fn each_record_counts_one_for_its_labels_and_the_kernel_padding_is_cut() {
    let (mut decoder, spec) = init(FRUIT_EVENTS);
    let [family] = spec.families() else {
        panic!("one family: {spec:?}");
    };
    assert_eq!(family.name(), "ebpf_exporter_fruit_events_total");
    assert_eq!(family.labels(), ["number", "fruit"]);
    let [source] = spec.event_sources() else {
        panic!("one event source: {spec:?}");
    };
    assert_eq!(source.name(), "fruit_events_total");
    assert_eq!(source.min_record_size(), 0);
    assert!(spec.maps().is_empty(), "no map to snapshot: {spec:?}");

    // A 20-byte sample sits in a perf record padded to 8 bytes: 4 bytes
    // follow it, which are not the labels'.
    let padded = |number, name| key(&[&fruit(number, name), &[0xaa; 4]]);
    send(
        &mut decoder,
        &[padded(1, "apple"), padded(2, "pear"), padded(1, "apple")],
        SECOND,
    )
    .expect("counted");
    send(&mut decoder, &[fruit(1, "apple")], 2 * SECOND).expect("counted");
    assert_eq!(
        scrape(&mut decoder, 3 * SECOND),
        [
            (strings(&["1", "apple"]), 3.0),
            (strings(&["2", "pear"]), 1.0)
        ]
    );
    // A scrape reads the counts, it does not take them.
    assert_eq!(scrape(&mut decoder, 4 * SECOND).len(), 2);
}

#[test]
fn series_are_dropped_every_flush_interval() {
    let (mut decoder, _) = init(FRUIT_EVENTS);
    // The first batch starts the clock.
    send(&mut decoder, &[fruit(1, "apple")], 10 * SECOND).expect("counted");
    send(&mut decoder, &[fruit(2, "pear")], 40 * SECOND).expect("counted");
    assert_eq!(
        scrape(&mut decoder, 69 * SECOND),
        [
            (strings(&["1", "apple"]), 1.0),
            (strings(&["2", "pear"]), 1.0)
        ],
        "59 s after the first batch: not yet"
    );
    assert_eq!(scrape(&mut decoder, 70 * SECOND), [], "a minute: flushed");
    // Counting starts again from zero, and the next flush is a minute
    // after this one.
    send(
        &mut decoder,
        &[fruit(1, "apple"), fruit(1, "apple")],
        75 * SECOND,
    )
    .expect("counted");
    assert_eq!(
        scrape(&mut decoder, 129 * SECOND),
        [(strings(&["1", "apple"]), 2.0)]
    );
    // A batch due for a flush drops the old series before it is counted.
    send(&mut decoder, &[fruit(3, "plum")], 130 * SECOND).expect("counted");
    assert_eq!(
        scrape(&mut decoder, 131 * SECOND),
        [(strings(&["3", "plum"]), 1.0)]
    );
}

#[test]
fn without_a_flush_interval_series_last_an_hour() {
    let (mut decoder, _) = init(&FRUIT_EVENTS.replace("flush_interval: 1m", ""));
    send(&mut decoder, &[fruit(1, "apple")], 0).expect("counted");
    assert_eq!(scrape(&mut decoder, 3599 * SECOND).len(), 1);
    assert_eq!(scrape(&mut decoder, 3600 * SECOND), []);
}

#[test]
fn a_counter_without_labels_counts_every_record() {
    // Upstream cuts each record to 0 bytes, which decode to no labels.
    let (mut decoder, spec) =
        init("metrics: {counters: [{name: wakeups_total, help: W, perf_event_array: true}]}");
    assert_eq!(spec.families()[0].labels(), [""; 0]);
    send(&mut decoder, &[vec![1; 8], vec![], vec![2; 12]], 0).expect("counted");
    assert_eq!(scrape(&mut decoder, SECOND), [(vec![], 3.0)]);
}

#[test]
fn a_label_set_a_regexp_drops_is_not_counted() {
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: comm_events_total
      help: Events by command
      perf_event_array: true
      labels:
        - name: comm
          size: 8
          decoders:
            - name: string
            - {name: regexp, regexps: ['^(bash|sh)$']}
",
    );
    let comm = |name: &str| zero_padded(name, 8);
    send(
        &mut decoder,
        &[comm("bash"), comm("cat"), comm("sh"), comm("bash")],
        0,
    )
    .expect("a skipped record is no error");
    assert_eq!(
        scrape(&mut decoder, SECOND),
        [(strings(&["bash"]), 2.0), (strings(&["sh"]), 1.0)]
    );
}

#[test]
fn records_that_do_not_decode_are_reported_and_the_others_counted() {
    let (mut decoder, _) = init(FRUIT_EVENTS);
    let short = fruit(9, "fig")[..19].to_vec();
    let err = send(
        &mut decoder,
        &[fruit(1, "apple"), short.clone(), fruit(1, "apple"), short],
        0,
    )
    .expect_err("two records are short");
    assert_eq!(
        err.to_string(),
        "counter `fruit_events_total`: 2 of 4 records were not counted: a record of 19 bytes \
         is shorter than the labels' sizes and paddings (20 bytes)"
    );
    assert_eq!(
        scrape(&mut decoder, SECOND),
        [(strings(&["1", "apple"]), 2.0)]
    );

    // A decoder's error names the label and the decoder.
    let (mut decoder, _) = init(
        "
metrics:
  counters:
    - name: codes_total
      help: Codes
      perf_event_array: true
      labels:
        - {name: code, size: 8, decoders: [{name: string}, {name: uint}]}
",
    );
    let err = send(
        &mut decoder,
        &[zero_padded("abcd", 8), zero_padded("abc", 8)],
        0,
    )
    .expect_err("a 3-byte uint");
    assert_eq!(
        err.to_string(),
        "counter `codes_total`: 1 of 2 records were not counted: label `code`: decoder `uint`: \
         unknown value length 3"
    );
    assert_eq!(
        scrape(&mut decoder, SECOND),
        [(strings(&["1684234849"]), 1.0)],
        "\"abcd\" as a little-endian u32"
    );
}

#[test]
fn upstream_oomkill_counts_kills_by_cgroup_path() {
    // `examples/oomkill.yaml` and `oomkill.bpf.c`: the program submits the
    // memory cgroup's id, 8 bytes, which the kernel pads to 12.
    let mut answers = Fake::default();
    answers
        .cgroup_paths
        .insert(4242, "/system.slice/db.service".to_owned());
    fake::install(answers);
    let (mut decoder, spec) = init(OOMKILL);
    assert_eq!(spec.event_sources()[0].name(), "oom_kills_total");
    let kill = |id: u64| key(&[&id.to_le_bytes(), &[0; 4]]);
    send(&mut decoder, &[kill(4242), kill(0), kill(4242)], SECOND).expect("counted");
    assert_eq!(
        scrape(&mut decoder, 2 * SECOND),
        [
            (strings(&["/sys/fs/cgroup/system.slice/db.service"]), 2.0),
            (strings(&["unknown_cgroup_id:0"]), 1.0)
        ]
    );
}

#[test]
fn event_counters_and_map_metrics_share_a_config_and_a_scrape() {
    let yaml = format!(
        "{FRUIT_EVENTS}    - name: fruit_total
      help: Fruit in the map
      labels:
        - name: number
          size: 4
          decoders: [{{name: uint}}]
"
    );
    let (mut decoder, spec) = init(&yaml);
    assert_eq!(spec.maps(), ["fruit_total"]);
    assert_eq!(spec.event_sources().len(), 1);
    send(&mut decoder, &[fruit(1, "apple")], 0).expect("counted");
    let map = MapSnapshot::new("fruit_total", MapType::Hash, 4, 8)
        .entry(&7u32.to_le_bytes(), &5u64.to_le_bytes());
    let out = decode(&mut decoder, &[map]);
    let families: Vec<(&str, Vec<String>, f64)> = out
        .samples()
        .into_iter()
        .map(|s| (spec.families()[s.family as usize].name(), s.labels, s.value))
        .collect();
    assert_eq!(
        families,
        [
            (
                "ebpf_exporter_fruit_events_total",
                strings(&["1", "apple"]),
                1.0
            ),
            ("ebpf_exporter_fruit_total", strings(&["7"]), 5.0),
        ]
    );
}

#[test]
fn a_batch_of_a_source_no_counter_declared_is_refused() {
    let (mut decoder, _) = init(FRUIT_EVENTS);
    let data = Events::encode(&[fruit(1, "apple")]);
    let err = decoder
        .on_events(&Events::new(SourceId::new(1), 1, &data))
        .expect_err("source 1 is nobody's");
    assert_eq!(
        err.to_string(),
        "no perf_event_array counter reads event source 1"
    );
}
