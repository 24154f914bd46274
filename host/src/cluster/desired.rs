//! What this node should run, from the watched resources: the exporters
//! whose `nodeSelector` selects this node's labels, the `ConfigMap`s their
//! sources read, and which resources to report on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource as _, ResourceExt as _};

use super::Scope;
use crate::manifest::{
    BpfExporter, BpfExporterResource, ConfigMaps, DEFAULT_NAMESPACE, Loaded, Location, Manifest,
};

/// A resource this agent reports on.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    /// `metadata.generation`, for `observedGeneration`.
    pub generation: Option<i64>,
    /// The resource, for Events.
    pub reference: ObjectReference,
    /// Whether the resource's status holds an entry of this node.
    pub has_entry: bool,
}

impl Target {
    pub(super) fn new(resource: &BpfExporterResource, node: &str) -> Self {
        Self {
            namespace: resource
                .namespace()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            name: resource.name_any(),
            generation: resource.meta().generation,
            reference: resource.object_ref(&()),
            has_entry: resource
                .status
                .as_ref()
                .is_some_and(|s| s.nodes.iter().any(|n| n.node == node)),
        }
    }
}

/// Why a selected resource cannot run; reported in its status only.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub target: Target,
    pub message: String,
}

/// The desired state of this node.
#[derive(Debug, Default)]
pub struct Desired {
    /// The valid exporters selecting this node, and every `ConfigMap`.
    pub loaded: Loaded,
    /// Exporters selecting this node whose resource failed validation, by
    /// name: a running version of one keeps serving.
    pub invalid: BTreeMap<String, String>,
    /// Every resource selecting this node that the agent runs (or tried
    /// to), by exporter name: valid or invalid.
    pub targets: BTreeMap<String, Target>,
    /// Resources selecting this node that cannot run here at all (their
    /// name is taken by a resource of another namespace).
    pub refused: Vec<Refused>,
    /// Resources that do not select this node.
    pub unselected: Vec<Target>,
}

/// Builds this node's desired state. `path` sources resolve against
/// `source_dir` (on the node's file system), and are refused without
/// one; exporters outside `scope` are
/// refused and `ConfigMap`s outside it ignored.
///
/// Exporter names are the `exporter` label of their self-metrics, so they
/// must be unique among the exporters of a node: when two namespaces hold
/// one of the same name, the first namespace (sorted) runs it.
pub fn desired(
    exporters: &[Arc<BpfExporterResource>],
    config_maps: &[Arc<ConfigMap>],
    node: &str,
    node_labels: &BTreeMap<String, String>,
    source_dir: Option<&Path>,
    scope: &Scope,
) -> Desired {
    let in_scope: Vec<Arc<ConfigMap>> = config_maps
        .iter()
        .filter(|m| {
            scope.allows(
                &m.namespace()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            )
        })
        .cloned()
        .collect();
    let mut out = Desired {
        loaded: Loaded {
            config_maps: config_map_set(&in_scope),
            ..Loaded::default()
        },
        ..Desired::default()
    };
    let mut sorted: Vec<&Arc<BpfExporterResource>> = exporters.iter().collect();
    sorted.sort_by_key(|r| (r.namespace(), r.name_any()));
    for resource in sorted {
        let target = Target::new(resource, node);
        if !resource.spec.node_selector.matches(node_labels) {
            out.unselected.push(target);
            continue;
        }
        if !scope.allows(&target.namespace) {
            let message = scope.refusal(&target.namespace);
            out.refused.push(Refused { target, message });
            continue;
        }
        if let Some(first) = out.targets.get(&target.name) {
            let message = format!(
                "exporter name {} is already used by {}/{} on node {node}; \
                 exporter names must be unique across namespaces",
                target.name, first.namespace, first.name
            );
            out.refused.push(Refused { target, message });
            continue;
        }
        let exporter = BpfExporter::from((**resource).clone());
        let uses_path = exporter.spec.object.path.is_some() || exporter.spec.decoder.path.is_some();
        let base_dir = match source_dir {
            Some(dir) => dir.to_path_buf(),
            None if uses_path => {
                let message = "path sources are read only from the agent's --source-dir, \
                               which this agent was not given; use inline or configMapKeyRef"
                    .to_owned();
                out.refused.push(Refused { target, message });
                continue;
            }
            None => PathBuf::new(),
        };
        match Manifest::from_resource(exporter, base_dir) {
            Ok(manifest) => out.loaded.exporters.push(manifest),
            Err(errors) => {
                let message = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                out.invalid.insert(target.name.clone(), message);
            }
        }
        out.targets.insert(target.name.clone(), target);
    }
    out
}

/// The `ConfigMap`s as `configMapKeyRef` sources read them.
fn config_map_set(config_maps: &[Arc<ConfigMap>]) -> ConfigMaps {
    let mut set = ConfigMaps::new();
    for map in config_maps {
        let namespace = map.namespace();
        let name = map.name_any();
        let mut data: BTreeMap<String, Vec<u8>> = map
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        for (key, bytes) in map.binary_data.iter().flatten() {
            data.entry(key.clone()).or_insert_with(|| bytes.0.clone());
        }
        let location = Location::Resource {
            kind: "ConfigMap",
            namespace: namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            name: name.clone(),
        };
        // The API server guarantees unique names per namespace.
        let _ = set.insert(namespace.as_deref(), &name, data, location);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exporter(
        namespace: &str,
        name: &str,
        selector: &serde_json::Value,
    ) -> Arc<BpfExporterResource> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "bpfhost.dev/v1alpha1",
                "kind": "BpfExporter",
                "metadata": {"name": name, "namespace": namespace, "generation": 4},
                "spec": {
                    "object": {"configMapKeyRef": {"name": "src", "key": "a.bpf.o"}},
                    "decoder": {"configMapKeyRef": {"name": "src", "key": "a.wasm"}},
                    "nodeSelector": selector,
                },
                "status": {"nodes": [{"node": "n1"}]},
            }))
            .expect("valid resource"),
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selectors_split_the_resources_and_config_maps_resolve() {
        let config_map: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "src", "namespace": "obs"},
            "data": {"cfg": "{}"},
            "binaryData": {"a.bpf.o": "aGVsbG8="},
        }))
        .expect("valid configmap");
        let all = desired(
            &[
                exporter(
                    "obs",
                    "gpu",
                    &serde_json::json!({"matchLabels": {"gpu": "yes"}}),
                ),
                exporter("obs", "all", &serde_json::json!({})),
            ],
            &[Arc::new(config_map)],
            "n1",
            &labels(&[("kubernetes.io/os", "linux")]),
            None,
            &Scope::all(),
        );
        let names: Vec<&str> = all.loaded.exporters.iter().map(Manifest::name).collect();
        assert_eq!(names, ["all"]);
        assert_eq!(all.unselected.len(), 1);
        assert_eq!(all.unselected[0].name, "gpu");
        assert!(all.unselected[0].has_entry, "the stale entry is seen");
        let target = &all.targets["all"];
        assert_eq!(
            (target.namespace.as_str(), target.generation),
            ("obs", Some(4))
        );
        let object = all.loaded.exporters[0].object_bytes(&all.loaded.config_maps);
        assert_eq!(object.expect("configmap source"), b"hello");
    }

    #[test]
    fn the_same_name_in_two_namespaces_runs_once() {
        let out = desired(
            &[
                exporter("b", "x", &serde_json::json!({})),
                exporter("a", "x", &serde_json::json!({})),
            ],
            &[],
            "n1",
            &BTreeMap::new(),
            None,
            &Scope::all(),
        );
        assert_eq!(out.loaded.exporters.len(), 1);
        assert_eq!(out.loaded.exporters[0].namespace(), "a");
        assert_eq!(out.refused.len(), 1);
        assert!(
            out.refused[0].message.contains("already used by a/x"),
            "{}",
            out.refused[0].message
        );
    }

    #[test]
    fn exporters_outside_the_scope_are_refused_and_their_config_maps_unseen() {
        let config_map = |namespace: &str| -> Arc<ConfigMap> {
            Arc::new(
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": "src", "namespace": namespace},
                    "binaryData": {"a.bpf.o": "aGVsbG8="},
                }))
                .expect("valid configmap"),
            )
        };
        let out = desired(
            &[
                exporter("team-a", "a", &serde_json::json!({})),
                exporter("team-b", "b", &serde_json::json!({})),
            ],
            &[config_map("team-a"), config_map("team-b")],
            "n1",
            &BTreeMap::new(),
            None,
            &Scope::only(["team-a"]),
        );
        let names: Vec<&str> = out.loaded.exporters.iter().map(Manifest::name).collect();
        assert_eq!(names, ["a"]);
        let [refused] = &out.refused[..] else {
            panic!("one refusal expected: {:?}", out.refused);
        };
        assert_eq!(refused.target.namespace, "team-b");
        assert!(
            refused.message.contains("--namespaces"),
            "{}",
            refused.message
        );
        assert!(!out.targets.contains_key("b"));
        // team-b's ConfigMap is not even readable through the set.
        let b = BpfExporter::from((*exporter("team-b", "b", &serde_json::json!({}))).clone());
        let b = Manifest::from_resource(b, "/".into()).expect("valid");
        assert!(b.object_bytes(&out.loaded.config_maps).is_err());
    }

    #[test]
    fn path_sources_need_a_source_dir() {
        let mut with_path = (*exporter("obs", "p", &serde_json::json!({}))).clone();
        with_path.spec.object = crate::manifest::Source {
            path: Some("a.bpf.o".into()),
            ..crate::manifest::Source::default()
        };
        let with_path = [Arc::new(with_path)];
        let refused = desired(&with_path, &[], "n1", &BTreeMap::new(), None, &Scope::all());
        assert_eq!(refused.loaded.exporters, []);
        assert!(
            refused.refused[0].message.contains("--source-dir"),
            "{:?}",
            refused.refused
        );
        let dir = Path::new("/var/lib/bpfhost/sources");
        let allowed = desired(
            &with_path,
            &[],
            "n1",
            &BTreeMap::new(),
            Some(dir),
            &Scope::all(),
        );
        assert_eq!(allowed.loaded.exporters.len(), 1);
        assert!(allowed.refused.is_empty());
    }

    #[test]
    fn an_invalid_resource_is_kept_by_name_with_its_errors() {
        let mut bad = (*exporter("obs", "bad", &serde_json::json!({}))).clone();
        bad.spec.decoder.lookups = vec!["no-such-lookup".into()];
        let out = desired(
            &[Arc::new(bad)],
            &[],
            "n1",
            &BTreeMap::new(),
            None,
            &Scope::all(),
        );
        assert_eq!(out.loaded.exporters, []);
        assert!(
            out.invalid["bad"].contains("no-such-lookup"),
            "{}",
            out.invalid["bad"]
        );
        assert!(out.targets.contains_key("bad"));
    }
}
