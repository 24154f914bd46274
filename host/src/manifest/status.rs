//! `BpfExporter.status`: what each node's agent reports.
//!
//! There is no central controller: every agent of the `DaemonSet` writes only
//! its own entry of `status.nodes`. The list is a Kubernetes *list-map* keyed
//! by `node` (`x-kubernetes-list-type: map`, `x-kubernetes-list-map-keys:
//! [node]`), so each agent patches the status subresource with server-side
//! apply under a field manager of its own (`bpfhost/<node>`) and the API
//! server merges the entries: agents never overwrite one another, and none
//! needs to read the list first. An agent removes its entry when the
//! exporter stops selecting its node.
//!
//! For the same reason there is no cluster-wide count (such as "ready
//! nodes") in the status: no single writer could keep it true.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The status of a `BpfExporter`: one entry per node that runs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BpfExporterStatus {
    /// One entry per node whose agent runs (or failed to run) the exporter,
    /// written by that node's agent alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["node"],
    ))]
    pub nodes: Vec<NodeStatus>,
}

/// Longest [`NodeStatus::verifier_log_tail`], in bytes: the end of the
/// verifier log is where the rejection is explained.
pub const VERIFIER_LOG_TAIL_MAX: usize = 4096;

/// One node's view of an exporter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// `ObjectLoaded`, `ProgramsAttached` and `DecoderReady`, each `True`,
    /// `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["type"],
    ))]
    pub conditions: Vec<Condition>,
    /// The last error, in full; absent while the exporter is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this entry describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The end of the kernel verifier's log when it rejected a program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = VERIFIER_LOG_TAIL_MAX))]
    pub verifier_log_tail: Option<String>,
}

/// The condition types of a [`NodeStatus`], in the order an exporter
/// becomes ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeCondition {
    /// The ELF object parsed and its programs passed the verifier.
    ObjectLoaded,
    /// Every program is attached.
    ProgramsAttached,
    /// The decoder component is instantiated and its families declared.
    DecoderReady,
}

impl NodeCondition {
    /// Every condition type.
    pub const ALL: [NodeCondition; 3] = [
        NodeCondition::ObjectLoaded,
        NodeCondition::ProgramsAttached,
        NodeCondition::DecoderReady,
    ];

    /// The condition's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeCondition::ObjectLoaded => "ObjectLoaded",
            NodeCondition::ProgramsAttached => "ProgramsAttached",
            NodeCondition::DecoderReady => "DecoderReady",
        }
    }
}

impl NodeStatus {
    /// The condition of type `kind`, when reported.
    pub fn condition(&self, kind: NodeCondition) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == kind.as_str())
    }

    /// Whether every condition is reported `True`.
    pub fn ready(&self) -> bool {
        NodeCondition::ALL
            .iter()
            .all(|&kind| self.condition(kind).is_some_and(|c| c.status == "True"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_as_agents_write_it() {
        let status: BpfExporterStatus = serde_json::from_value(serde_json::json!({
            "nodes": [{
                "node": "n1",
                "observedGeneration": 3,
                "conditions": [
                    {"type": "ObjectLoaded", "status": "True", "reason": "Loaded",
                     "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "ProgramsAttached", "status": "True", "reason": "Attached",
                     "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "DecoderReady", "status": "False", "reason": "Trapped",
                     "message": "wasm trap", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                ],
            }],
        }))
        .expect("valid status");
        let node = &status.nodes[0];
        assert_eq!(node.observed_generation, Some(3));
        let decoder = node
            .condition(NodeCondition::DecoderReady)
            .expect("reported");
        assert_eq!(decoder.reason, "Trapped");
        assert!(!node.ready());
    }

    #[test]
    fn verifier_log_bound_matches_the_schema() {
        let schema = schemars::schema_for!(NodeStatus);
        let max = &schema.as_value()["properties"]["verifierLogTail"]["maxLength"];
        assert_eq!(max, &serde_json::json!(VERIFIER_LOG_TAIL_MAX));
    }
}
