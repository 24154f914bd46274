//! The agent against fake map sources and decoders: no kernel, no wasm.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::{Agent, Exporter, KernelObject, ProgramState, ProgramStatus};
use crate::decoder::{
    Collection, Declaration, DecodeError, Decoder, PluginErrorKind, Row, assemble,
};
use crate::loader::{ProgramStats, RunStats};
use crate::maps::{MapError, MapSnapshot, MapSource, ReadMethod};
use crate::metrics::{Family, Labels, MetricType, Value};

/// A map whose every read returns `entries` 4-byte keys 0..entries.
struct FakeMap {
    name: &'static str,
    entries: u32,
    fail: bool,
}

impl MapSource for FakeMap {
    fn name(&self) -> &str {
        self.name
    }

    fn read(&mut self, out: &mut MapSnapshot) -> Result<ReadMethod, MapError> {
        if self.fail {
            return Err(MapError::Syscall {
                map: self.name.into(),
                command: crate::maps::BpfCommand::LookupBatch,
                source: std::io::Error::from_raw_os_error(libc::EBADF),
            });
        }
        out.key_size = 4;
        out.value_size = 8;
        out.cpus = 1;
        out.entries = self.entries;
        out.keys.clear();
        out.values.clear();
        for k in 0..self.entries {
            out.keys.extend_from_slice(&k.to_le_bytes());
            out.values
                .extend_from_slice(&u64::from(k * 10).to_le_bytes());
        }
        Ok(ReadMethod::Batch)
    }
}

/// Emits one counter series per key, labelled by the key.
struct FakeDecoder {
    spec: Declaration,
    error: bool,
}

impl FakeDecoder {
    fn new(family: &str, error: bool) -> Self {
        Self {
            spec: Declaration {
                families: vec![Arc::new(Family {
                    name: family.into(),
                    help: "test".into(),
                    metric_type: MetricType::Counter,
                    unit: String::new(),
                    labels: vec!["key".into()],
                    buckets: vec![],
                })],
                maps: vec![],
                events: vec![],
            },
            error,
        }
    }
}

impl Decoder for FakeDecoder {
    fn spec(&self) -> &Declaration {
        &self.spec
    }

    fn decode(&mut self, maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        if self.error {
            return Err(DecodeError::Plugin {
                kind: PluginErrorKind::Failed,
                message: "nope".into(),
            });
        }
        let map = &maps[0];
        let rows = (0..map.entries as usize).map(|i| Row {
            family: 0,
            labels: Labels::new([u32::from_le_bytes(
                map.keys[i * 4..i * 4 + 4].try_into().expect("4 bytes"),
            )
            .to_string()]),
            value: Value::Number(1.0),
        });
        Ok(assemble(
            &self.spec,
            rows,
            crate::decoder::validate::OutputBounds::default(),
        ))
    }
}

fn exporter(name: &str, map_fails: bool, decoder_fails: bool) -> Exporter {
    Exporter::new(
        name,
        None,
        vec![Box::new(FakeMap {
            name: "m",
            entries: 3,
            fail: map_fails,
        })],
        Box::new(FakeDecoder::new(&format!("{name}_things"), decoder_fails)),
        2,
    )
}

fn value(scrape: &super::Scrape, family: &str, labels: &[&str]) -> Option<f64> {
    scrape
        .families()
        .find(|f| f.family.name == family)?
        .series
        .iter()
        .find(|s| s.labels == labels)
        .map(|s| match s.value {
            Value::Number(v) => v,
            Value::Histogram { .. } => f64::NAN,
        })
}

#[test]
fn a_failing_exporter_costs_only_its_own_series() {
    let agent = Agent::new("n1");
    agent.insert(exporter("good", false, false));
    agent.insert(exporter("badmap", true, false));
    agent.insert(exporter("baddecode", false, true));
    agent.insert_failed("neverloaded", "invalid ELF");

    let scrape = agent.collect();
    let good = scrape
        .families()
        .find(|f| f.family.name == "good_things")
        .expect("good family");
    assert_eq!(good.series.len(), 3);
    assert!(!scrape.families().any(|f| f.family.name.starts_with("bad")));
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["good"]), Some(1.0));
    for down in ["badmap", "baddecode", "neverloaded"] {
        assert_eq!(
            value(&scrape, "bpfhost_exporter_up", &[down]),
            Some(0.0),
            "{down}"
        );
    }
    assert_eq!(
        value(&scrape, "bpfhost_exporter_decode_errors", &["badmap"]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_exporter_programs_attached", &["good"]),
        Some(2.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_exporter_map_entries", &["good", "m"]),
        Some(3.0)
    );

    let second = agent.collect();
    assert_eq!(
        value(&second, "bpfhost_exporter_decode_errors", &["baddecode"]),
        Some(2.0)
    );
    let status = |name: &str| agent.slot(name).expect("slot").status();
    assert_eq!(status("good").error, None);
    assert_eq!(
        status("baddecode").error.as_deref(),
        Some("decoder reported failed: nope")
    );
    assert_eq!(
        status("badmap").error.as_deref(),
        Some("reading map m: BPF_MAP_LOOKUP_BATCH failed: Bad file descriptor (os error 9)")
    );
    assert_eq!(status("neverloaded").state, "failed");
}

/// A kernel side whose programs report fixed `bpf_prog_info` figures.
struct FakeKernelObject(Vec<ProgramStats>);

impl KernelObject for FakeKernelObject {
    fn program_stats(&self) -> Vec<ProgramStats> {
        self.0.clone()
    }
}

/// An exporter `name` on `kernel` whose object holds `programs`.
fn with_kernel(name: &str, kernel: FakeKernelObject, programs: Vec<ProgramStatus>) -> Exporter {
    let map = FakeMap {
        name: "m",
        entries: 1,
        fail: false,
    };
    let decoder = FakeDecoder::new(&format!("{name}_things"), false);
    Exporter::new(
        name,
        Some(Box::new(kernel)),
        vec![Box::new(map)],
        Box::new(decoder),
        0,
    )
    .with_programs(programs)
}

fn program(name: &str, state: ProgramState, error: Option<&str>) -> ProgramStatus {
    ProgramStatus {
        name: name.into(),
        section: format!("kprobe/{name}"),
        state,
        target: (state == ProgramState::Attached).then(|| name.to_owned()),
        error: error.map(str::to_owned),
    }
}

fn stats(name: &str, id: u32, run: Option<RunStats>) -> ProgramStats {
    ProgramStats {
        program: name.into(),
        id,
        tag: "a04f5eef06a7f555".into(),
        program_type: "kprobe".into(),
        run,
    }
}

#[test]
fn each_program_is_reported_attached_or_not_with_its_kernel_figures() {
    let agent = Agent::new("n1");
    let kernel = FakeKernelObject(vec![
        stats(
            "on",
            41,
            Some(RunStats {
                count: 7,
                time: std::time::Duration::from_micros(1500),
            }),
        ),
        stats("broken", 42, None),
    ]);
    let programs = vec![
        program("on", ProgramState::Attached, None),
        program("idle", ProgramState::Unattached, None),
        program("broken", ProgramState::Failed, Some("attaching failed")),
        program("off", ProgramState::Disabled, None),
    ];
    agent.insert(with_kernel("p", kernel, programs));
    let scrape = agent.collect();
    let attached = |program: &str| value(&scrape, "bpfhost_program_attached", &["p", program]);
    assert_eq!(attached("on"), Some(1.0));
    assert_eq!(attached("broken"), Some(0.0));
    assert_eq!(attached("idle"), None, "not meant to attach");
    assert_eq!(attached("off"), None, "autoload: false");
    assert_eq!(
        value(&scrape, "bpfhost_exporter_programs_attached", &["p"]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "bpfhost_program_info",
            &["p", "broken", "42", "a04f5eef06a7f555", "kprobe"]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_program_runs", &["p", "on"]),
        Some(7.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_program_run_seconds", &["p", "on"]),
        Some(0.0015)
    );
    assert_eq!(
        value(&scrape, "bpfhost_program_runs", &["p", "broken"]),
        None,
        "no run figures without kernel.bpf_stats_enabled"
    );

    let status = agent.slot("p").expect("slot").status();
    let json = serde_json::to_value(&status).expect("serialize");
    assert_eq!(
        json["programs"][2],
        serde_json::json!({
            "name": "broken",
            "section": "kprobe/broken",
            "state": "failed",
            "error": "attaching failed",
        })
    );
    assert_eq!(json["programs"][3]["state"], "disabled");
}

#[test]
fn run_figures_are_left_out_while_kernel_stats_are_off() {
    let agent = Agent::new("n1");
    let kernel = FakeKernelObject(vec![stats("on", 1, None)]);
    let programs = vec![program("on", ProgramState::Attached, None)];
    agent.insert(with_kernel("q", kernel, programs));
    let scrape = agent.collect();
    let names: Vec<&str> = scrape.families().map(|f| f.family.name.as_str()).collect();
    assert!(names.contains(&"bpfhost_program_info"), "{names:?}");
    assert!(!names.contains(&"bpfhost_program_runs"), "{names:?}");
    assert!(!names.contains(&"bpfhost_program_run_seconds"), "{names:?}");
}

#[test]
fn status_counts_programs_and_the_series_last_served() {
    let agent = Agent::new("n1");
    agent.insert(exporter("good", false, false));
    agent.insert(exporter("baddecode", false, true));
    agent.insert_failed("neverloaded", "invalid ELF");
    let status = |name: &str| agent.slot(name).expect("slot").status();
    assert_eq!(status("good").series, None, "nothing collected yet");
    assert_eq!(status("good").programs_attached, Some(2));

    agent.collect();
    assert_eq!(status("good").series, Some(3));
    assert_eq!(status("baddecode").series, Some(0));
    assert_eq!(status("neverloaded").series, None);
    assert_eq!(status("neverloaded").programs_attached, None);
}

#[test]
fn exporters_are_replaced_and_removed_while_serving() {
    let agent = Agent::new("n1");
    agent.insert(exporter("a", false, false));
    agent.insert_failed("b", "not yet");
    let old = agent.insert(exporter("b", false, false)).expect("replaced");
    assert!(!old.is_running());
    assert!(agent.slot("b").expect("b").is_running());
    assert!(agent.remove("a").is_some());
    let scrape = agent.collect();
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["b"]), Some(1.0));
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["a"]), None);
    assert!(!scrape.families().any(|f| f.family.name == "a_things"));
}

/// A decoder that counts its calls and blocks in each until the gate opens.
struct Gated {
    spec: Declaration,
    calls: Arc<AtomicUsize>,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Decoder for Gated {
    fn spec(&self) -> &Declaration {
        &self.spec
    }

    fn decode(&mut self, _maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let (open, changed) = &*self.gate;
        let guard = open.lock().expect("gate");
        drop(changed.wait_while(guard, |open| !*open).expect("gate"));
        let row = Row {
            family: 0,
            labels: Labels::from(["calls"]),
            value: Value::Number(n as f64),
        };
        Ok(assemble(
            &self.spec,
            [row],
            crate::decoder::validate::OutputBounds::default(),
        ))
    }
}

struct Gate {
    calls: Arc<AtomicUsize>,
    gate: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    fn open(&self) {
        let (open, changed) = &*self.gate;
        *open.lock().expect("gate") = true;
        changed.notify_all();
    }
}

fn gated(name: &str) -> (Exporter, Gate) {
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let decoder = Gated {
        spec: FakeDecoder::new(&format!("{name}_things"), false).spec,
        calls: calls.clone(),
        gate: gate.clone(),
    };
    let map = FakeMap {
        name: "m",
        entries: 1,
        fail: false,
    };
    let exporter = Exporter::new(name, None, vec![Box::new(map)], Box::new(decoder), 1);
    (exporter, Gate { calls, gate })
}

/// Lets every spawned task run until it waits. The runtime has one thread,
/// so tasks spawned before this call have all reached their first wait.
async fn let_spawned_tasks_run() {
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_scrapes_share_one_collection() {
    let agent = Arc::new(Agent::new("n1"));
    let (slow, gate) = gated("slow");
    agent.insert(slow);
    let slow_slot = agent.slot("slow").expect("slot");
    // Sixteen scrapes arrive while the first collection is still running.
    let scrapes: Vec<_> = (0..16)
        .map(|_| {
            let agent = agent.clone();
            tokio::spawn(async move { agent.collect_within(None).await })
        })
        .collect();
    let flight = agent.join_or_start(&slow_slot);
    let_spawned_tasks_run().await;
    gate.open();
    for scrape in scrapes {
        let scrape = scrape.await.expect("scrape task");
        assert_eq!(value(&scrape, "slow_things", &["calls"]), Some(1.0));
        assert_eq!(value(&scrape, "bpfhost_exporter_up", &["slow"]), Some(1.0));
    }
    drop(flight);
    assert_eq!(gate.calls.load(Ordering::SeqCst), 1, "one plugin run");
    // The next scrape starts a new collection, and self-metrics counted one.
    let next = agent.collect_within(None).await;
    assert_eq!(value(&next, "slow_things", &["calls"]), Some(2.0));
    assert_eq!(gate.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_scrape_answers_within_its_budget_and_reports_the_late_exporter_down() {
    let agent = Arc::new(Agent::new("n1"));
    let (slow, gate) = gated("slow");
    agent.insert(slow);
    agent.insert(exporter("fast", false, false));

    let started = std::time::Instant::now();
    let scrape = agent
        .collect_within(Some(std::time::Duration::from_millis(500)))
        .await;
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "answered in {took:?}"
    );
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["fast"]), Some(1.0));
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["slow"]), Some(0.0));
    assert_eq!(
        value(&scrape, "bpfhost_exporter_scrape_timeouts", &["slow"]),
        Some(1.0)
    );
    assert!(scrape.families().any(|f| f.family.name == "fast_things"));
    assert!(!scrape.families().any(|f| f.family.name == "slow_things"));

    // The late collection goes on; a scrape that arrives meanwhile shares it.
    let next = tokio::spawn({
        let agent = agent.clone();
        async move { agent.collect_within(None).await }
    });
    let_spawned_tasks_run().await;
    gate.open();
    let next = next.await.expect("scrape task");
    assert_eq!(value(&next, "slow_things", &["calls"]), Some(1.0));
    assert_eq!(value(&next, "bpfhost_exporter_up", &["slow"]), Some(1.0));
    assert_eq!(gate.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn plugin_call_durations_are_a_histogram_per_exporter() {
    let agent = Agent::new("n1");
    agent.insert(exporter("good", false, false));
    agent.insert(exporter("badmap", true, false));
    agent.collect();
    let scrape = agent.collect();
    let calls = scrape
        .families()
        .find(|f| f.family.name == "bpfhost_plugin_call_duration_seconds")
        .expect("call duration family");
    assert_eq!(
        calls.series.len(),
        1,
        "a map failure never reaches the plugin"
    );
    assert_eq!(calls.series[0].labels, ["good"]);
    let Value::Histogram { count, .. } = calls.series[0].value else {
        panic!("not a histogram");
    };
    assert_eq!(count, 2);
}
