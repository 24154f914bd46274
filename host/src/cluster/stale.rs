//! Status entries of nodes that left the cluster.
//!
//! An agent removes its own entry when an exporter stops selecting its node,
//! but the agent of a deleted node is gone with it. So every agent, now and
//! then (and not on the scrape path), looks at the other nodes' entries and
//! removes those whose `Node` no longer exists (the API answers 404). It
//! applies the empty entry under the departed agent's own field manager, so
//! server-side apply drops exactly that entry; several agents doing it at
//! once is harmless.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};

use super::desired::Target;
use super::report::{apply_entry, field_manager};
use crate::manifest::BpfExporterResource;

/// Removes the entries of departed nodes from `exporters`' status; returns
/// how many were removed. Errors are logged: the next sweep retries.
pub async fn sweep(client: &Client, exporters: &[Arc<BpfExporterResource>], own: &str) -> usize {
    let nodes: Api<Node> = Api::all(client.clone());
    let mut exists: BTreeMap<String, bool> = BTreeMap::new();
    let mut removed = 0;
    for resource in exporters {
        let Some(status) = &resource.status else {
            continue;
        };
        let target = Target::new(resource, own);
        for entry in status.nodes.iter().filter(|n| n.node != own) {
            let node = &entry.node;
            if !exists.contains_key(node) {
                match nodes.get_opt(node).await {
                    Ok(found) => {
                        exists.insert(node.clone(), found.is_some());
                    }
                    Err(error) => {
                        tracing::warn!(%node, %error, "cannot tell whether a node still exists");
                        continue;
                    }
                }
            }
            if exists[node] {
                continue;
            }
            match apply_entry(client, &field_manager(node), &target, None).await {
                Ok(()) => {
                    tracing::info!(exporter = %target.name, %node, "removed the status entry of a departed node");
                    removed += 1;
                }
                Err(error) => {
                    tracing::warn!(exporter = %target.name, %node, %error, "cannot remove a departed node's status entry");
                }
            }
        }
    }
    removed
}
