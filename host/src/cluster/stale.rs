//! Status entries of nodes that left the cluster.
//!
//! An agent removes its own entry when an exporter stops selecting its node,
//! but the agent of a deleted node is gone with it. So agents sweep, now and
//! then (never on the scrape path), the entries of departed nodes: a node
//! is departed when its `Node` is gone (the API answers 404). The entry is
//! applied empty under the departed agent's own field manager, so
//! server-side apply drops exactly that entry.
//!
//! To keep the API load flat on large clusters, one live agent does the
//! work: the one with the smallest name among the nodes that have entries.
//! Every agent with an entry looks at the nodes named before its own, in
//! order, and stops at the first that still exists (that node's agent is
//! the sweeper); the agent that finds none alive checks the rest too. In a
//! healthy cluster that is one `GET` per agent per sweep, and one per
//! named node for the sweeper. An agent without any entry never sweeps.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};

use super::desired::Target;
use super::report::{apply_entry, field_manager};
use crate::manifest::BpfExporterResource;

/// Removes the entries of departed nodes that are this agent's to sweep;
/// returns how many were removed. Errors are logged: the next sweep
/// retries.
pub async fn sweep(client: &Client, exporters: &[Arc<BpfExporterResource>], own: &str) -> usize {
    let named: BTreeSet<&str> = exporters
        .iter()
        .filter_map(|r| r.status.as_ref())
        .flat_map(|s| s.nodes.iter().map(|n| n.node.as_str()))
        .collect();
    if !named.contains(own) {
        return 0;
    }
    let nodes: Api<Node> = Api::all(client.clone());
    let mut departed = BTreeSet::new();
    for &node in named.iter().filter(|n| **n != own) {
        match nodes.get_opt(node).await {
            Ok(Some(_)) if node < own => return 0, // a smaller live agent sweeps
            Ok(Some(_)) => {}
            Ok(None) => {
                departed.insert(node.to_owned());
            }
            Err(error) => {
                tracing::warn!(%node, error = %crate::error_chain(&error), "cannot tell whether a node still exists");
                if node < own {
                    return 0;
                }
            }
        }
    }
    let mut removed = 0;
    for resource in exporters {
        let Some(status) = &resource.status else {
            continue;
        };
        let target = Target::new(resource, own);
        for node in status
            .nodes
            .iter()
            .map(|n| &n.node)
            .filter(|n| departed.contains(*n))
        {
            match apply_entry(client, &field_manager(node), &target, None).await {
                Ok(()) => {
                    tracing::info!(exporter = %target.name, %node, "removed the status entry of a departed node");
                    removed += 1;
                }
                Err(error) => {
                    tracing::warn!(exporter = %target.name, %node, error = %crate::error_chain(&error), "cannot remove a departed node's status entry");
                }
            }
        }
    }
    removed
}
