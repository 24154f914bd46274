//! The node agent's control loop in Kubernetes mode.
//!
//! Two reflectors keep local copies of the `BpfExporter`s and of the source
//! `ConfigMap`s; any change to either wakes the loop. A pass waits until
//! both copies are complete (never acting on a partial list, which would
//! unload exporters), builds this node's [`Desired`] state from them and the
//! node's labels, hands it to the same [`Reconciler`] file mode uses, then
//! writes this node's status entries. The node's labels are re-read on
//! every resync; departed nodes' entries are swept now and then.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::runtime::{WatchStreamExt as _, reflector, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::KubeConfig;
use super::desired::{Desired, desired};
use super::report::StatusWriter;
use super::stale;
use crate::agent::{Agent, Failure, Outcome, Reconciler, Stage, setup::Setup};
use crate::manifest::BpfExporterResource;

/// How long the loop lets a burst of watch events settle before a pass.
const SETTLE: Duration = Duration::from_millis(50);
/// First delay before retrying a pass whose status writes failed.
const RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest delay between such retries.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// The retry timer while nothing needs retrying (resync wakes the loop).
const IDLE: Duration = Duration::from_hours(24);

/// Runs the control loop until `shutdown` fires.
pub async fn run(
    client: Client,
    config: KubeConfig,
    agent: Arc<Agent>,
    setup: Arc<dyn Setup>,
    shutdown: CancellationToken,
) {
    let changed = Arc::new(Notify::new());
    let exporters = reflect::<BpfExporterResource>(
        "BpfExporter",
        Api::all(client.clone()),
        watcher::Config::default(),
        &changed,
        &shutdown,
    );
    let mut config_map_watch = watcher::Config::default();
    if let Some(selector) = config
        .config_map_selector
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        config_map_watch = config_map_watch.labels(selector);
    }
    // ConfigMaps are read only where exporters may run: with --namespaces,
    // one watch per namespace (so RBAC may grant them there only).
    let config_map_apis: Vec<Api<ConfigMap>> = match config.scope.namespaces() {
        None => vec![Api::all(client.clone())],
        Some(namespaces) => namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    };
    let config_maps: Vec<_> = config_map_apis
        .into_iter()
        .map(|api| {
            reflect::<ConfigMap>(
                "ConfigMap",
                api,
                config_map_watch.clone(),
                &changed,
                &shutdown,
            )
        })
        .collect();
    let synced = async {
        let (a, b) = tokio::join!(
            exporters.wait_until_ready(),
            futures::future::join_all(config_maps.iter().map(reflector::Store::wait_until_ready))
        );
        a.is_ok() && b.iter().all(Result::is_ok)
    };
    tokio::select! {
        () = shutdown.cancelled() => return,
        ok = synced => if !ok { return },
    }
    tracing::info!(
        node = %config.node_name,
        namespaces = %config.scope,
        "watching BpfExporters and ConfigMaps"
    );

    let mut node = NodeLabels::new(client.clone(), &config.node_name);
    let readiness_of = agent.clone();
    let mut reconciler = Reconciler::new(agent, setup);
    let mut writer = StatusWriter::new(client.clone(), &config.node_name);
    let mut resync = tokio::time::interval(config.resync);
    let mut sweep = tokio::time::interval(config.sweep);
    let mut retry = RETRY_MIN;
    loop {
        let failed = if node.labels.is_some() {
            let sources: Vec<_> = config_maps
                .iter()
                .flat_map(reflector::Store::state)
                .collect();
            let state = desired(
                &exporters.state(),
                &sources,
                &config.node_name,
                node.labels.as_ref().unwrap_or(&BTreeMap::new()),
                config.source_dir.as_deref(),
                &config.scope,
            );
            let Some((r, state)) = apply(reconciler, state).await else {
                return;
            };
            reconciler = r;
            // Both watches have listed and this node runs what they ask.
            readiness_of.readiness().set_ready();
            !report(&mut writer, &reconciler, &state, &exporters.state()).await
        } else {
            true
        };
        let wait = if failed { retry } else { IDLE };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = changed.notified() => tokio::time::sleep(SETTLE).await,
            _ = resync.tick() => node.refresh().await,
            _ = sweep.tick() => {
                stale::sweep(&client, &exporters.state(), &config.node_name).await;
            }
            () = tokio::time::sleep(wait) => node.refresh().await,
        }
        retry = if failed {
            (retry * 2).min(RETRY_MAX)
        } else {
            RETRY_MIN
        };
    }
}

/// Starts a reflector of `api`'s resources; every event notifies `changed`.
fn reflect<K>(
    kind: &'static str,
    api: Api<K>,
    config: watcher::Config,
    changed: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> reflector::Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, config).default_backoff());
    let (changed, shutdown) = (changed.clone(), shutdown.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = drive(kind, stream, &changed) => {}
        }
    });
    store
}

async fn drive<K>(
    kind: &'static str,
    stream: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    changed: &Notify,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(_) => changed.notify_one(),
            // The backoff retries; the copy keeps its last contents.
            Err(error) => tracing::warn!(
                kind,
                error = %crate::error_chain(&error),
                "watch failed; retrying"
            ),
        }
    }
}

/// Runs a reconcile pass off the async threads (loading compiles wasm and
/// talks to the kernel).
async fn apply(mut reconciler: Reconciler, state: Desired) -> Option<(Reconciler, Desired)> {
    let result = tokio::task::spawn_blocking(move || {
        reconciler.apply(&state.loaded, &state.invalid);
        (reconciler, state)
    })
    .await;
    match result {
        Ok(done) => Some(done),
        Err(error) => {
            tracing::error!(error = %crate::error_chain(&error), "reconcile pass failed; the Kubernetes controller stops");
            None
        }
    }
}

/// Writes this node's status entries; false when any write failed.
async fn report(
    writer: &mut StatusWriter,
    reconciler: &Reconciler,
    state: &Desired,
    exporters: &[Arc<BpfExporterResource>],
) -> bool {
    let mut ok = true;
    let mut note = |result: Result<(), super::report::ReportError>| {
        if let Err(error) = result {
            tracing::warn!(error = %crate::error_chain(&error), "status update failed; retrying");
            ok = false;
        }
    };
    for (name, target) in &state.targets {
        if let Some(outcome) = reconciler.outcome(name) {
            note(writer.report(target, outcome).await);
        }
    }
    for refused in &state.refused {
        let outcome = Outcome::Failed(Failure {
            stage: Stage::Manifest,
            message: refused.message.clone(),
            verifier_log: None,
            previous_serving: false,
            reason: None,
        });
        note(writer.report(&refused.target, &outcome).await);
    }
    for target in state.unselected.iter().filter(|t| t.has_entry) {
        note(writer.remove(target).await);
    }
    writer.retain(|namespace, name| {
        exporters.iter().any(|r| {
            r.metadata.namespace.as_deref() == Some(namespace)
                && r.metadata.name.as_deref() == Some(name)
        })
    });
    ok
}

/// This node's labels, re-read from the API on demand.
struct NodeLabels {
    api: Api<Node>,
    name: String,
    /// The last labels read; `None` until the first read succeeds.
    labels: Option<BTreeMap<String, String>>,
}

impl NodeLabels {
    fn new(client: Client, name: &str) -> Self {
        Self {
            api: Api::all(client),
            name: name.to_owned(),
            labels: None,
        }
    }

    /// Reads the labels again; on error the last ones stay.
    async fn refresh(&mut self) {
        match self.api.get_opt(&self.name).await {
            Ok(Some(node)) => self.labels = Some(node.metadata.labels.unwrap_or_default()),
            Ok(None) => tracing::error!(
                node = %self.name,
                "this node does not exist in the API; set NODE_NAME (downward API spec.nodeName)"
            ),
            Err(error) => {
                tracing::warn!(node = %self.name, error = %crate::error_chain(&error), "cannot read the node's labels");
            }
        }
    }
}
