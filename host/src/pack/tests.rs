//! `bpfhost pack` on the demo artifacts: the output loads in file mode with
//! the same bytes, parses as the cluster resource, and oversized inputs fail
//! with the limit they hit.

use std::fs;

use super::*;
use crate::manifest::{BpfExporterResource, Builtins, load_paths};
use crate::testing::artifact;

fn options(config_map: bool) -> PackOptions {
    PackOptions {
        object: artifact("bpf/writes.bpf.o"),
        decoder: artifact("plugins/writes.wasm"),
        config: None,
        name: None,
        namespace: None,
        config_map,
    }
}

/// Writes `text` to a file, loads it as `bpfhost run --manifests` would and
/// checks that the one exporter reads back the artifacts' bytes.
fn assert_round_trips(text: &str, options: &PackOptions) -> crate::manifest::Manifest {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("packed.yaml");
    fs::write(&file, text).expect("write");
    let loaded = load_paths(&[&file]);
    let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let [manifest] = &loaded.exporters[..] else {
        panic!("expected one exporter in:\n{text}");
    };
    let object = manifest.object_bytes(&loaded.config_maps).expect("object");
    assert!(
        object == fs::read(&options.object).expect("read"),
        "object bytes"
    );
    let decoder = manifest
        .decoder_bytes(&loaded.config_maps, &Builtins::none())
        .expect("decoder");
    assert!(
        decoder == fs::read(&options.decoder).expect("read"),
        "decoder bytes"
    );
    manifest.clone()
}

/// The last document parses as the resource the API server would serve.
fn assert_is_a_cluster_resource(text: &str) {
    let last = text.rsplit("---\n").next().expect("a document");
    let resource: BpfExporterResource = serde_yaml::from_str(last).expect("cluster resource");
    assert_eq!(resource.metadata.name.as_deref(), Some("writes"));
}

#[test]
fn inline_output_loads_with_the_same_bytes() {
    let options = options(false);
    let text = pack(&options).expect("packs");
    assert!(text.starts_with("# Packed by `bpfhost pack` from writes.bpf.o"));
    let manifest = assert_round_trips(&text, &options);
    assert_eq!(manifest.name(), "writes");
    assert!(manifest.exporter.spec.object.inline.is_some());
    assert_is_a_cluster_resource(&text);
}

#[test]
fn config_map_output_loads_with_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    fs::write(&config, "ports: [80, 443]\n").expect("write");
    let options = PackOptions {
        config: Some(config),
        namespace: Some("monitoring".into()),
        ..options(true)
    };
    let text = pack(&options).expect("packs");
    assert!(text.contains("kind: ConfigMap"), "{text}");
    assert!(
        text.contains("bpfhost.dev/source: 'true'")
            || text.contains("bpfhost.dev/source: \"true\""),
        "labelled for the agent's ConfigMap watch: {text}"
    );
    let manifest = assert_round_trips(&text, &options);
    assert_eq!(manifest.namespace(), "monitoring");
    assert_eq!(manifest.decoder_config_json(), r#"{"ports":[80,443]}"#);
    let key_ref = manifest.exporter.spec.decoder.config_map_key_ref.as_ref();
    assert_eq!(key_ref.map(|r| r.key.as_str()), Some("writes.wasm"));
    assert_is_a_cluster_resource(&text);
}

#[test]
fn oversized_inputs_name_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.bpf.o");
    fs::write(&big, vec![0u8; 1 << 20]).expect("write");
    let inline = PackOptions {
        object: big.clone(),
        ..options(false)
    };
    let error = pack(&inline).expect_err("too large inline").to_string();
    assert!(
        error.starts_with("the exporter with inline sources would be 1")
            && error.contains("use --configmap"),
        "{error}"
    );
    let config_map = PackOptions {
        object: big,
        ..options(true)
    };
    let error = pack(&config_map)
        .expect_err("too large configmap")
        .to_string();
    // Keys and raw bytes of the object and the decoder, as the API server
    // counts a ConfigMap's data.
    let decoder = fs::metadata(artifact("plugins/writes.wasm"))
        .expect("decoder")
        .len();
    let keys = ("big.bpf.o".len() + "writes.wasm".len()) as u64;
    let data = (1u64 << 20) + decoder + keys;
    assert!(
        error.starts_with(&format!("the configmap's data would be {data} bytes"))
            && error.contains("over the 1048576-byte limit"),
        "{error}"
    );
}

#[test]
fn names_come_from_the_object_file() {
    assert_eq!(
        derive_name(Path::new("/x/writes.bpf.o")).as_deref(),
        Some("writes")
    );
    assert_eq!(
        derive_name(Path::new("TCP_rtt.o")).as_deref(),
        Some("tcp-rtt")
    );
    assert_eq!(derive_name(Path::new("__.o")), None);
    let bad = PackOptions {
        name: Some("Bad_Name".into()),
        ..options(false)
    };
    let error = pack(&bad).expect_err("invalid name").to_string();
    assert!(error.contains("invalid name `Bad_Name`"), "{error}");
}

#[test]
fn keys_fall_back_when_file_names_are_unusable() {
    let (o, d) = keys(Path::new("a/x.bpf.o"), Path::new("b/x.wasm"));
    assert_eq!((o.as_str(), d.as_str()), ("x.bpf.o", "x.wasm"));
    let (o, d) = keys(Path::new("a/same"), Path::new("b/same"));
    assert_eq!((o.as_str(), d.as_str()), ("object.bpf.o", "decoder.wasm"));
}
