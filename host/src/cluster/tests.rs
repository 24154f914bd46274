//! The Kubernetes controller against the fake API server: a real
//! `kube::Client`, watcher and reflector, the real reconcile core and
//! status writer; exporters come from a fake [`Setup`] (no kernel, no wasm).
//!
//! A fake exporter's decoder declares one gauge family named by
//! `decoder.config.family`; `decoder.config.fail` makes setup fail at a
//! stage (`decoder`, `verifier`, `attach`). Object and decoder bytes come
//! from the `ConfigMap` `obs/src`, so editing it changes the exporter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::fake::{FakeApi, Kind};
use super::{KubeConfig, run};
use crate::agent::setup::{Setup, SetupError};
use crate::agent::{Agent, Exporter, ProgramState, ProgramStatus};
use crate::decoder::validate::OutputBounds;
use crate::decoder::{Collection, Declaration, DecodeError, Decoder, assemble};
use crate::loader::LoadError;
use crate::manifest::{Builtins, ConfigMaps, Manifest};
use crate::maps::MapSnapshot;
use crate::metrics::{Family, MetricType};

const WAIT: Duration = Duration::from_secs(10);
const NODE: &str = "n1";

/// Counts exporters alive: their "kernel objects" are guards.
#[derive(Debug, Default)]
struct FakeSetup {
    alive: Arc<AtomicUsize>,
    /// (exporter, decoder bytes) of every successful load.
    loads: Mutex<Vec<(String, String)>>,
}

struct Guard(Arc<AtomicUsize>);

impl crate::agent::KernelObject for Guard {}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct GaugeDecoder(Declaration);

impl Decoder for GaugeDecoder {
    fn spec(&self) -> &Declaration {
        &self.0
    }

    fn decode(&mut self, _: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        Ok(assemble(
            &self.0,
            std::iter::empty(),
            OutputBounds::default(),
        ))
    }
}

impl Setup for FakeSetup {
    fn load(
        &self,
        manifest: &Manifest,
        config_maps: &ConfigMaps,
        _: &Agent,
    ) -> Result<Exporter, SetupError> {
        let config = manifest
            .exporter
            .spec
            .decoder
            .config
            .clone()
            .unwrap_or_default();
        let decoder = manifest
            .decoder_bytes(config_maps, &Builtins::none())
            .map_err(SetupError::DecoderSource)?;
        manifest
            .object_bytes(config_maps)
            .map_err(SetupError::ObjectSource)?;
        let program = "count".to_owned();
        match config["fail"].as_str() {
            Some("decoder") => {
                return Err(SetupError::FamilyCollision {
                    family: "x".into(),
                    exporter: "other".into(),
                });
            }
            Some("verifier") => {
                return Err(SetupError::Load(LoadError::Verifier {
                    program,
                    errno: std::io::Error::from_raw_os_error(libc::EACCES),
                    log_tail: "0: (85) call bpf_probe_read#4\nR1 invalid mem access 'scalar'"
                        .into(),
                }));
            }
            Some("attach") => {
                return Err(SetupError::Load(LoadError::InterfaceNotFound {
                    program,
                    interface: "eth9".into(),
                }));
            }
            _ => {}
        }
        let family = config["family"].as_str().unwrap_or("fake").to_owned();
        let spec = Declaration {
            families: vec![Arc::new(Family {
                name: family,
                help: "fake".into(),
                metric_type: MetricType::Gauge,
                unit: String::new(),
                labels: vec![],
                buckets: vec![],
            })],
            maps: vec![],
            events: vec![],
        };
        self.alive.fetch_add(1, Ordering::SeqCst);
        let name = manifest.name().to_owned();
        let version = String::from_utf8_lossy(&decoder).into_owned();
        self.loads
            .lock()
            .expect("loads")
            .push((name.clone(), version));
        let exporter = Exporter::new(
            name,
            Some(Box::new(Guard(self.alive.clone()))),
            vec![],
            Box::new(GaugeDecoder(spec)),
            1,
        );
        Ok(match config["fail"].as_str() {
            // attachPolicy BestEffort with one program that did not attach.
            Some("partial") => exporter.with_programs(vec![
                program_status("count", ProgramState::Attached, None),
                program_status("probe", ProgramState::Failed, Some(PROBE_ERROR)),
            ]),
            _ => exporter,
        })
    }
}

const PROBE_ERROR: &str = "program probe: attaching to nope failed";

fn program_status(name: &str, state: ProgramState, error: Option<&str>) -> ProgramStatus {
    ProgramStatus {
        name: name.into(),
        section: format!("kprobe/{name}"),
        state,
        target: None,
        error: error.map(str::to_owned),
    }
}

/// The fake cluster, the agent of node `n1` and its controller.
struct Harness {
    api: FakeApi,
    agent: Arc<Agent>,
    setup: Arc<FakeSetup>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    /// A cluster with node `n1` (labelled `pool=a`) and the source
    /// `ConfigMap`; the controller is not started yet.
    fn new() -> Self {
        let api = FakeApi::new();
        api.put(
            Kind::Node,
            json!({"metadata": {"name": NODE, "labels": {"pool": "a"}}}),
        );
        api.put(Kind::ConfigMap, source("v1"));
        Self {
            api,
            agent: Arc::new(Agent::new(NODE)),
            setup: Arc::new(FakeSetup::default()),
            shutdown: CancellationToken::new(),
            task: None,
        }
    }

    fn start(&mut self) {
        self.start_in(crate::cluster::Scope::all());
    }

    /// Starts the controller acting on the namespaces of `scope` only.
    fn start_in(&mut self, scope: crate::cluster::Scope) {
        let config = KubeConfig {
            resync: Duration::from_millis(100),
            sweep: Duration::from_millis(200),
            scope,
            ..KubeConfig::new(NODE)
        };
        self.task = Some(tokio::spawn(run(
            self.api.client(),
            config,
            self.agent.clone(),
            self.setup.clone(),
            self.shutdown.clone(),
        )));
    }

    fn running(&self, name: &str) -> bool {
        self.agent.slot(name).is_some_and(|s| s.is_running())
    }

    /// This node's status entry of exporter `obs/name`.
    fn entry(&self, name: &str) -> Option<Value> {
        entry_of(&self.api, name, NODE)
    }

    async fn wait(&self, what: &str, check: impl Fn(&FakeApi) -> bool) {
        self.api.wait_for(what, WAIT, check).await;
    }

    fn loads(&self) -> Vec<(String, String)> {
        self.setup.loads.lock().expect("loads").clone()
    }

    fn alive(&self) -> usize {
        self.setup.alive.load(Ordering::SeqCst)
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the controller stops")
                .expect("the controller does not panic");
        }
    }
}

fn entry_of(api: &FakeApi, name: &str, node: &str) -> Option<Value> {
    let exporter = api.get(Kind::Exporter, "obs", name)?;
    exporter["status"]["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["node"] == node)
        .cloned()
}

fn condition(entry: &Value, kind: &str) -> (String, String) {
    let c = entry["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {entry}"));
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

fn ready(entry: &Value) -> bool {
    ["ObjectLoaded", "ProgramsAttached", "DecoderReady"]
        .iter()
        .all(|kind| condition(entry, kind).0 == "True")
}

fn source(version: &str) -> Value {
    json!({
        "metadata": {"name": "src", "namespace": "obs", "labels": {"bpfhost.dev/source": "true"}},
        "data": {"decoder": version},
        "binaryData": {"object": "f0VMRg=="},
    })
}

fn exporter(name: &str, config: &Value, selector: &Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "obs"},
        "spec": {
            "object": {"configMapKeyRef": {"name": "src", "key": "object"}},
            "decoder": {"configMapKeyRef": {"name": "src", "key": "decoder"}, "config": config},
            "nodeSelector": selector,
        },
    })
}

fn events(api: &FakeApi, reason: &str) -> Vec<Value> {
    api.list(Kind::Event)
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .collect()
}

fn status_patches(api: &FakeApi) -> Vec<super::fake::Recorded> {
    api.requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH && r.path.ends_with("/status"))
        .collect()
}

#[tokio::test]
async fn create_update_and_delete_load_reload_and_unload() {
    let mut h = Harness::new();
    h.start();
    h.api.put(
        Kind::Exporter,
        exporter("x", &json!({"family": "x_one"}), &json!({})),
    );
    h.wait("x loaded and reported ready", |api| {
        entry_of(api, "x", NODE).is_some_and(|e| ready(&e))
    })
    .await;
    assert!(h.running("x"));
    assert_eq!(h.entry("x").expect("entry")["observedGeneration"], 1);
    assert_eq!(h.alive(), 1);

    // Update: a new spec (generation 2) reloads; the old version is gone.
    h.api.put(
        Kind::Exporter,
        exporter("x", &json!({"family": "x_two"}), &json!({})),
    );
    h.wait("generation 2 observed", |api| {
        entry_of(api, "x", NODE).is_some_and(|e| e["observedGeneration"] == 2 && ready(&e))
    })
    .await;
    assert!(h.running("x"));
    assert_eq!(h.loads().len(), 2, "loaded once per generation");
    assert_eq!(
        h.alive(),
        1,
        "the old version was dropped after the new one loaded"
    );

    // Delete: unloaded, nothing left.
    h.api.delete(Kind::Exporter, "obs", "x");
    tokio::time::timeout(WAIT, async {
        while h.agent.slot("x").is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("x unloaded after delete");
    assert_eq!(h.alive(), 0, "no exporter left behind");
    h.stop().await;
}

#[tokio::test]
async fn a_config_map_change_reloads_with_the_new_bytes() {
    let mut h = Harness::new();
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    h.start();
    h.wait("x ready", |api| {
        entry_of(api, "x", NODE).is_some_and(|e| ready(&e))
    })
    .await;
    h.api.put(Kind::ConfigMap, source("v2"));
    tokio::time::timeout(WAIT, async {
        while h.loads().last().map(|l| l.1.as_str()) != Some("v2") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("reloaded from the edited ConfigMap");
    assert_eq!(
        h.loads(),
        [("x".into(), "v1".into()), ("x".into(), "v2".into())]
    );
    assert_eq!(h.alive(), 1);
    // The resource did not change: still generation 1.
    assert_eq!(h.entry("x").expect("entry")["observedGeneration"], 1);
    h.stop().await;
}

#[tokio::test]
async fn node_selectors_follow_the_node_labels() {
    let mut h = Harness::new();
    h.api.put(
        Kind::Exporter,
        exporter(
            "gpu",
            &json!({"family": "gpu"}),
            &json!({"matchLabels": {"pool": "gpu"}}),
        ),
    );
    h.api.put(
        Kind::Exporter,
        exporter(
            "any",
            &json!({"family": "any"}),
            &json!({"matchExpressions": [{"key": "pool", "operator": "Exists"}]}),
        ),
    );
    h.start();
    h.wait("the matching exporter reported", |api| {
        entry_of(api, "any", NODE).is_some()
    })
    .await;
    assert!(h.running("any"));
    assert!(
        h.agent.slot("gpu").is_none(),
        "a selector that does not match is not loaded"
    );
    assert!(h.entry("gpu").is_none(), "and not reported on");

    // The node joins the gpu pool: the resync re-reads its labels.
    h.api.put(
        Kind::Node,
        json!({"metadata": {"name": NODE, "labels": {"pool": "gpu"}}}),
    );
    h.wait("gpu loaded", |api| {
        entry_of(api, "gpu", NODE).is_some_and(|e| ready(&e))
    })
    .await;
    assert!(h.running("gpu"));

    // The label goes: both unloaded, and this node's entries removed.
    h.api.put(
        Kind::Node,
        json!({"metadata": {"name": NODE, "labels": {}}}),
    );
    h.wait("entries removed", |api| {
        entry_of(api, "gpu", NODE).is_none() && entry_of(api, "any", NODE).is_none()
    })
    .await;
    assert!(h.agent.slots().is_empty());
    assert_eq!(h.alive(), 0);
    h.stop().await;
}

#[tokio::test]
async fn status_patches_touch_only_this_nodes_entry() {
    let mut h = Harness::new();
    h.api.put(Kind::Node, json!({"metadata": {"name": "n2"}}));
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    let other = json!({"node": "n2", "message": "n2's own words"});
    h.api
        .apply_status("obs", "x", "bpfhost/n2", vec![other.clone()]);
    h.start();
    h.wait("n1's entry", |api| entry_of(api, "x", NODE).is_some())
        .await;
    assert_eq!(
        entry_of(&h.api, "x", "n2"),
        Some(other),
        "n2's entry is untouched"
    );
    let patches = status_patches(&h.api);
    assert!(!patches.is_empty());
    for patch in &patches {
        assert_eq!(patch.query["fieldManager"], "bpfhost/n1", "{patch:?}");
        assert_eq!(patch.query.get("force").map(String::as_str), Some("true"));
        let nodes = patch.body["status"]["nodes"].as_array().expect("nodes");
        assert!(
            nodes.iter().all(|n| n["node"] == NODE),
            "only n1's entry is sent: {nodes:?}"
        );
    }
    // Nothing changes: no more patches (the status write is not a loop).
    let before = status_patches(&h.api).len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status_patches(&h.api).len(),
        before,
        "an unchanged entry is not re-sent"
    );
    h.stop().await;
}

#[tokio::test]
async fn failures_are_reported_by_stage_with_events_and_a_bad_edit_keeps_the_last_good_version() {
    let mut h = Harness::new();
    h.api.put(
        Kind::Exporter,
        exporter("v", &json!({"fail": "verifier"}), &json!({})),
    );
    h.api.put(
        Kind::Exporter,
        exporter("a", &json!({"fail": "attach"}), &json!({})),
    );
    h.api.put(
        Kind::Exporter,
        exporter("d", &json!({"fail": "decoder"}), &json!({})),
    );
    h.start();
    h.wait("three failures reported", |api| {
        ["v", "a", "d"]
            .iter()
            .all(|n| entry_of(api, n, NODE).is_some())
    })
    .await;
    let v = h.entry("v").expect("v");
    assert_eq!(
        condition(&v, "ObjectLoaded"),
        ("False".into(), "VerifierRejected".into())
    );
    assert_eq!(condition(&v, "ProgramsAttached").0, "Unknown");
    assert!(
        v["verifierLogTail"]
            .as_str()
            .is_some_and(|l| l.contains("invalid mem access"))
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("rejected by the verifier"))
    );
    let a = h.entry("a").expect("a");
    assert_eq!(condition(&a, "ObjectLoaded").0, "True");
    assert_eq!(
        condition(&a, "ProgramsAttached"),
        ("False".into(), "AttachFailed".into())
    );
    let d = h.entry("d").expect("d");
    assert_eq!(
        condition(&d, "DecoderReady"),
        ("False".into(), "DecoderFailed".into())
    );
    h.wait("warning events", |api| {
        ["VerifierRejected", "AttachFailed", "DecoderFailed"]
            .iter()
            .all(|r| events(api, r).len() == 1)
    })
    .await;
    let event = &events(&h.api, "VerifierRejected")[0];
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["regarding"]["name"], "v");
    assert_eq!(event["reportingInstance"], NODE);

    // Fixed: ready again, and a Recovered event.
    h.api
        .put(Kind::Exporter, exporter("v", &json!({}), &json!({})));
    h.wait("v recovered", |api| {
        entry_of(api, "v", NODE).is_some_and(|e| ready(&e) && e["message"].is_null())
            && events(api, "Recovered").len() == 1
    })
    .await;
    assert!(h.running("v"));

    // A bad edit (a lookup that does not exist) keeps v serving.
    let mut bad = exporter("v", &json!({}), &json!({}));
    bad["spec"]["decoder"]["lookups"] = json!(["telepathy"]);
    h.api.put(Kind::Exporter, bad);
    h.wait("the invalid spec reported", |api| {
        entry_of(api, "v", NODE).is_some_and(|e| condition(&e, "DecoderReady").1 == "InvalidSpec")
    })
    .await;
    let v = h.entry("v").expect("v");
    assert!(
        v["message"].as_str().is_some_and(
            |m| m.contains("telepathy") && m.contains("previous version keeps serving")
        ),
        "{v}"
    );
    assert_eq!(v["observedGeneration"], 3);
    assert!(h.running("v"), "the last good version keeps serving");
    h.stop().await;
}

#[tokio::test]
async fn a_partial_attach_serves_and_names_the_missing_programs_in_status() {
    let mut h = Harness::new();
    h.api.put(
        Kind::Exporter,
        exporter("p", &json!({"fail": "partial"}), &json!({})),
    );
    h.start();
    h.wait("the partial attach reported", |api| {
        entry_of(api, "p", NODE).is_some()
    })
    .await;
    assert!(h.running("p"), "BestEffort serves what attached");
    let p = h.entry("p").expect("p");
    assert_eq!(condition(&p, "ObjectLoaded").0, "True");
    assert_eq!(condition(&p, "DecoderReady").0, "True");
    assert_eq!(
        condition(&p, "ProgramsAttached"),
        ("False".into(), "PartiallyAttached".into())
    );
    let attached = p["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ProgramsAttached"))
        .expect("condition");
    let message = attached["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("probe ({PROBE_ERROR})")) && !message.contains("count"),
        "{message}"
    );
    h.wait("a warning event", |api| {
        events(api, "PartiallyAttached").len() == 1
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn api_errors_are_retried() {
    let mut h = Harness::new();
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    h.api.fail(Method::GET, "/bpfexporters", 500, 2);
    h.api.fail(Method::GET, "/nodes/n1", 503, 2);
    h.api.fail(Method::PATCH, "/status", 500, 2);
    h.start();
    h.wait("x reported after the errors", |api| {
        entry_of(api, "x", NODE).is_some_and(|e| ready(&e))
    })
    .await;
    let requests = h.api.requests();
    let failed = |path: &str| {
        requests
            .iter()
            .filter(|r| r.status >= 500 && r.path.contains(path))
            .count()
    };
    assert_eq!(
        failed("/bpfexporters"),
        2 + 2,
        "two failed lists, two failed status patches"
    );
    assert_eq!(failed("/nodes/"), 2);
    assert!(h.running("x"));
    assert_eq!(h.loads().len(), 1, "retries do not reload");
    h.stop().await;
}

#[tokio::test]
async fn departed_nodes_entries_are_swept_by_the_smallest_live_agent() {
    let mut h = Harness::new();
    h.api.put(Kind::Node, json!({"metadata": {"name": "n2"}}));
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    for node in ["a-gone", "n2", "z-gone"] {
        let manager = format!("bpfhost/{node}");
        h.api
            .apply_status("obs", "x", &manager, vec![json!({"node": node})]);
    }
    h.start();
    h.wait("departed entries swept", |api| {
        entry_of(api, "x", "a-gone").is_none()
            && entry_of(api, "x", "z-gone").is_none()
            && entry_of(api, "x", NODE).is_some()
    })
    .await;
    assert!(
        entry_of(&h.api, "x", "n2").is_some(),
        "a live node's entry stays"
    );
    let managers: Vec<String> = status_patches(&h.api)
        .into_iter()
        .filter(|p| p.body["status"]["nodes"] == json!([]))
        .map(|p| p.query["fieldManager"].clone())
        .collect();
    assert!(
        managers.contains(&"bpfhost/a-gone".to_owned()),
        "{managers:?}"
    );
    assert!(
        managers.contains(&"bpfhost/z-gone".to_owned()),
        "{managers:?}"
    );
    h.stop().await;

    // The agent of n2 is not the sweeper while n1 lives: one GET, no patch.
    let api = FakeApi::new();
    api.put(Kind::Node, json!({"metadata": {"name": "n1"}}));
    api.put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    for node in ["n1", "n2", "z-gone"] {
        api.apply_status(
            "obs",
            "x",
            &format!("bpfhost/{node}"),
            vec![json!({"node": node})],
        );
    }
    let client = api.client();
    let exporters: kube::Api<crate::manifest::BpfExporterResource> = kube::Api::all(client.clone());
    let listed: Vec<_> = exporters
        .list(&kube::api::ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(Arc::new)
        .collect();
    assert_eq!(super::stale::sweep(&client, &listed, "n2").await, 0);
    let requests = api.requests();
    let gets: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.contains("/nodes/"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(gets, ["/api/v1/nodes/n1"]);
    assert!(status_patches(&api).is_empty());
}

#[tokio::test]
async fn the_same_name_in_two_namespaces_is_refused_in_status() {
    let mut h = Harness::new();
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    let mut twin = exporter("x", &json!({}), &json!({}));
    twin["metadata"]["namespace"] = json!("zz");
    h.api.put(Kind::Exporter, twin);
    h.start();
    h.wait("the twin's refusal", |api| {
        api.get(Kind::Exporter, "zz", "x")
            .and_then(|x| x["status"]["nodes"].as_array().cloned())
            .is_some_and(|nodes| {
                nodes.iter().any(|n| {
                    n["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("already used by obs/x"))
                })
            })
    })
    .await;
    assert!(h.running("x"));
    assert_eq!(h.loads().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn exporters_outside_the_agents_namespaces_are_refused_in_status() {
    let mut h = Harness::new();
    h.api
        .put(Kind::Exporter, exporter("x", &json!({}), &json!({})));
    let mut other = exporter("y", &json!({}), &json!({}));
    other["metadata"]["namespace"] = json!("zz");
    h.api.put(Kind::Exporter, other);
    h.start_in(crate::cluster::Scope::only(["obs"]));
    h.wait("y's refusal", |api| {
        api.get(Kind::Exporter, "zz", "y")
            .and_then(|y| y["status"]["nodes"].as_array().cloned())
            .is_some_and(|nodes| {
                nodes.iter().any(|n| {
                    n["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("--namespaces"))
                })
            })
    })
    .await;
    assert!(h.running("x"));
    assert!(h.agent.slot("y").is_none());
    // ConfigMaps are read in the allowed namespace only.
    let config_map_paths: Vec<String> = h
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/configmaps"))
        .map(|r| r.path)
        .collect();
    assert!(!config_map_paths.is_empty());
    assert!(
        config_map_paths
            .iter()
            .all(|p| p == "/api/v1/namespaces/obs/configmaps"),
        "{config_map_paths:?}"
    );
    h.stop().await;
}
