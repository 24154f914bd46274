//! Kubernetes mode (`bpfhost run --kube`): the agent of one node of a
//! `DaemonSet`.
//!
//! - [`controller`] watches `BpfExporter`s and the `ConfigMap`s their
//!   sources read, and runs the exporters whose `nodeSelector` selects this
//!   node through the same reconcile core as file mode
//!   ([`crate::agent::Reconciler`]): load, reload (the new version before
//!   the old one is dropped) and unload, leaving nothing in the kernel.
//! - [`desired`] is the pure part: from the watched resources and the
//!   node's labels to what this node should run and report on.
//! - [`report`] writes this node's entry of each exporter's
//!   `status.nodes` (server-side apply, one field manager per node) and
//!   Events on failures and recoveries.
//! - [`stale`] removes the entries of nodes that left the cluster.
//!
//! The API server is reached through a [`kube::Client`]; the tests run the
//! controller against an in-memory fake API server behind the same client.

mod controller;
pub mod desired;
pub mod report;
pub mod scope;
pub mod stale;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use controller::run;
pub use scope::Scope;

/// Default label selector of the watched `ConfigMap`s.
pub const DEFAULT_CONFIG_MAP_SELECTOR: &str = "bpfhost.dev/source";

/// Configuration of Kubernetes mode.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// This node's name (the downward API's `spec.nodeName`).
    pub node_name: String,
    /// Label selector of the `ConfigMap`s to watch; `None` or empty
    /// watches them all (every one is then held in memory).
    pub config_map_selector: Option<String>,
    /// How often the node's labels are re-read and failed status writes
    /// are given another chance even without a watch event.
    pub resync: Duration,
    /// How often departed nodes' status entries are swept.
    pub sweep: Duration,
    /// The directory `path` sources are opened in (`--source-dir`), on the
    /// node's file system; `None` refuses `path` sources.
    pub source_dir: Option<PathBuf>,
    /// The namespaces whose exporters this agent runs (`--namespaces`).
    pub scope: Scope,
}

impl KubeConfig {
    /// The defaults for the agent of `node_name`.
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            config_map_selector: Some(DEFAULT_CONFIG_MAP_SELECTOR.to_owned()),
            resync: Duration::from_secs(30),
            sweep: Duration::from_mins(10),
            source_dir: None,
            scope: Scope::all(),
        }
    }
}
