//! The generated CRD: committed copy, structural rules, names, the one-of
//! sources, and the example resources.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::check::{structural_violations, validate_resource};
use super::*;
use crate::manifest::{BpfExporterStatus, Manifest, NodeStatus};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `openAPIV3Schema` of the one version.
fn schema() -> Value {
    let crd = serde_json::to_value(crd()).expect("serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn yaml_to_json(text: &str) -> Value {
    serde_yaml::from_str(text).expect("valid yaml")
}

#[test]
fn committed_crd_matches_the_types() {
    let path = workspace().join(CRD_FILE);
    let rendered = crd_yaml();
    if std::env::var_os("BLESS").is_some() {
        fs::write(&path, &rendered).expect("write the CRD");
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{CRD_FILE} is out of date with the Rust types; regenerate it with \
         `BLESS=1 cargo test -p bpfhost committed_crd` or \
         `cargo run -p bpfhost -- crd > {CRD_FILE}`"
    );
}

#[test]
fn schema_is_structural() {
    let problems = structural_violations(&schema(), "");
    assert!(
        problems.is_empty(),
        "not structural:\n{}",
        problems.join("\n")
    );
}

#[test]
fn names_scope_columns_and_subresources() {
    let crd = crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("bpfexporters.bpfhost.dev")
    );
    let spec = &crd.spec;
    assert_eq!(spec.group, "bpfhost.dev");
    assert_eq!(spec.scope, "Namespaced");
    assert_eq!(spec.names.kind, "BpfExporter");
    assert_eq!(spec.names.plural, "bpfexporters");
    assert_eq!(
        spec.names.short_names.as_deref(),
        Some(&["bpfx".to_owned()][..])
    );
    assert_eq!(
        spec.names.categories.as_deref(),
        Some(&["bpfhost".to_owned()][..])
    );
    let [version] = &spec.versions[..] else {
        panic!("expected one version");
    };
    assert_eq!(version.name, "v1alpha1");
    assert!(version.served && version.storage);
    let subresources = version.subresources.as_ref().expect("subresources");
    assert!(subresources.status.is_some(), "status subresource");
    let columns: Vec<_> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.as_str(), c.json_path.as_str()))
        .collect();
    assert_eq!(columns, [("Age", ".metadata.creationTimestamp")]);
}

#[test]
fn exactly_one_source_for_object_and_decoder() {
    let schema = schema();
    let spec = |object: Value, decoder: Value| {
        let resource = json!({
            "apiVersion": "bpfhost.dev/v1alpha1", "kind": "BpfExporter",
            "metadata": {"name": "x"},
            "spec": {"object": object, "decoder": decoder},
        });
        validate_resource(&schema, &resource)
    };
    let cm = json!({"name": "elf", "key": "a.o"});
    for one in [
        json!({"path": "a.o"}),
        json!({"inline": "AA=="}),
        json!({"configMapKeyRef": cm}),
    ] {
        let mut decoder = one.clone();
        decoder["config"] = json!({"ports": [80]});
        assert_eq!(spec(one, decoder), Vec::<String>::new());
    }
    assert_eq!(
        spec(json!({}), json!({"path": "a.wasm", "inline": "AA=="})),
        [
            ".spec.decoder: matches 2 oneOf branches, expected exactly 1",
            ".spec.object: matches 0 oneOf branches, expected exactly 1",
        ]
    );
}

#[test]
fn libbpf_style_overrides_are_typed_in_the_schema() {
    let schema = schema();
    let spec = &schema["properties"]["spec"]["properties"];
    assert_eq!(
        spec["attachPolicy"]["enum"],
        json!(["AllOrNothing", "BestEffort"])
    );
    let map = &spec["maps"]["additionalProperties"];
    assert_eq!(map["required"], json!(["maxEntries"]));
    assert_eq!(map["properties"]["maxEntries"]["minimum"], json!(1.0));
    let program = &spec["programs"]["items"];
    assert_eq!(program["required"], json!(["name"]), "attach is optional");
    assert_eq!(program["properties"]["autoload"]["type"], "boolean");
    let resource = yaml_to_json(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {name: o}\nspec:\n  \
         object: {path: o.bpf.o}\n  decoder: {path: o.wasm}\n  attachPolicy: BestEffort\n  \
         maps: {counts: {maxEntries: 8192}}\n  programs: [{name: p, autoload: false}]\n",
    );
    assert_eq!(validate_resource(&schema, &resource), Vec::<String>::new());
}

#[test]
fn free_form_fields_keep_what_was_written() {
    let schema = schema();
    let spec = &schema["properties"]["spec"]["properties"];
    assert_eq!(
        spec["globals"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    let decoder = &spec["decoder"]["properties"];
    assert_eq!(
        decoder["config"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    let attach = &spec["programs"]["items"]["properties"]["attach"];
    assert_eq!(attach["x-kubernetes-preserve-unknown-fields"], true);
    let limits = &decoder["limits"]["properties"];
    assert_eq!(limits["memory"]["x-kubernetes-int-or-string"], true);
    assert_eq!(limits["timeout"]["x-kubernetes-int-or-string"], true);
}

#[test]
fn status_nodes_is_a_list_map_keyed_by_node() {
    let schema = schema();
    let nodes = &schema["properties"]["status"]["properties"]["nodes"];
    assert_eq!(nodes["x-kubernetes-list-type"], "map");
    assert_eq!(nodes["x-kubernetes-list-map-keys"], json!(["node"]));
    let conditions = &nodes["items"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
    let status = BpfExporterStatus {
        nodes: vec![NodeStatus {
            node: "n1".into(),
            observed_generation: Some(1),
            ..NodeStatus::default()
        }],
    };
    let value = serde_json::to_value(status).expect("serializes");
    assert_eq!(
        value,
        json!({"nodes": [{"node": "n1", "observedGeneration": 1}]})
    );
}

/// Every `crd/examples/*.yaml` passes the schema, parses into the resource
/// type and serializes back with every field it was written with.
#[test]
fn examples_validate_against_the_schema() {
    let schema = schema();
    let dir = workspace().join("crd/examples");
    let mut examples: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read crd/examples")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no examples in {}", dir.display());
    for example in &examples {
        let text = fs::read_to_string(example).expect("read example");
        let value = yaml_to_json(&text);
        let problems = validate_resource(&schema, &value);
        assert!(
            problems.is_empty(),
            "{}: rejected by the CRD schema:\n{}",
            example.display(),
            problems.join("\n")
        );
        let resource: BpfExporterResource = serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", example.display()));
        let back = serde_json::to_value(&resource).expect("serializes");
        let dropped = crate::testing::dropped_field(&value, &back);
        assert_eq!(
            dropped,
            None,
            "{}: field lost in parsing",
            example.display()
        );
    }
}

#[test]
fn resource_becomes_a_file_mode_exporter() {
    let resource: BpfExporterResource = serde_json::from_value(json!({
        "apiVersion": "bpfhost.dev/v1alpha1", "kind": "BpfExporter",
        "metadata": {"name": "packets", "namespace": "obs", "labels": {"team": "net"},
                     "uid": "1234", "generation": 2},
        "spec": {"object": {"inline": "AA=="}, "decoder": {"inline": "AA=="}},
        "status": {"nodes": [{"node": "n1"}]},
    }))
    .expect("valid resource");
    let exporter = BpfExporter::from(resource);
    assert_eq!(exporter.metadata.labels["team"], "net");
    let manifest = Manifest::from_resource(exporter, PathBuf::from("/var/lib/bpfhost"))
        .expect("valid exporter");
    assert_eq!(manifest.location.to_string(), "BpfExporter obs/packets");
}
