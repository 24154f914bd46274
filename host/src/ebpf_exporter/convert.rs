//! `bpfhost convert ebpf-exporter`: `ebpf_exporter` configs as
//! `BpfExporter` manifests for a cluster, run by the built-in
//! `ebpf-exporter` decoder. The object goes inline or into a `ConfigMap`
//! (as `bpfhost pack` puts it); the config becomes `decoder.config`.

use super::configs::ConfigSet;
use crate::manifest::{ConfigMapKeyRef, ManifestError, Source};
use crate::pack::{self, PackError};

/// Why converting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Config(#[from] ManifestError),
    #[error("{}: cannot read", .path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {config}")]
    Pack {
        config: String,
        #[source]
        source: PackError,
    },
}

/// The manifests (and `ConfigMap`s with `config_map`) of every config of
/// `configs`, as one YAML stream.
pub fn convert(
    configs: &ConfigSet,
    namespace: Option<&str>,
    config_map: bool,
) -> Result<String, ConvertError> {
    let mut out = format!(
        "# Converted by `bpfhost convert ebpf-exporter` from {}.\n\
         # Apply with `kubectl create -f` or `kubectl apply --server-side -f`.\n",
        configs.dir().display()
    );
    for name in configs.names() {
        let (mut exporter, _) = configs.exporter(&name.config)?;
        exporter.metadata.namespace = namespace.map(str::to_owned);
        let key = format!("{}.bpf.o", name.config);
        let path = configs.dir().join(&key);
        let object = std::fs::read(&path).map_err(|source| ConvertError::Read { path, source })?;
        let packed = |source| ConvertError::Pack {
            config: name.config.clone(),
            source,
        };
        if config_map {
            let map = pack::config_map(&exporter.metadata, vec![(key.clone(), object)])
                .map_err(packed)?;
            exporter.spec.object = Source {
                config_map_key_ref: Some(ConfigMapKeyRef {
                    name: exporter.metadata.name.clone(),
                    key,
                }),
                ..Source::default()
            };
            out.push_str("---\n");
            out.push_str(&pack::to_yaml(&map));
        } else {
            exporter.spec.object = Source {
                inline: Some(pack::to_base64(&object)),
                ..Source::default()
            };
            pack::check_inline_size(&exporter).map_err(packed)?;
        }
        out.push_str("---\n");
        out.push_str(&pack::to_yaml(&exporter));
    }
    pack::check_loads(&out).map_err(|source| ConvertError::Pack {
        config: configs
            .names()
            .iter()
            .map(|n| n.config.as_str())
            .collect::<Vec<_>>()
            .join(","),
        source,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Builtins, load_str};

    const CONFIG: &str = "metrics:\n  counters:\n    - name: c\n      help: h\n      labels: []\n";

    fn configs() -> (tempfile::TempDir, ConfigSet) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("kfree_skb.yaml"), CONFIG).expect("write");
        std::fs::write(dir.path().join("kfree_skb.bpf.o"), b"\x7fELF").expect("write");
        let configs = ConfigSet::new(dir.path().to_owned(), "kfree_skb").expect("names");
        (dir, configs)
    }

    #[test]
    fn inline_manifests_carry_the_object_and_name_the_builtin_decoder() {
        let (_dir, configs) = configs();
        let yaml = convert(&configs, Some("monitoring"), false).expect("converts");
        let loaded = load_str(std::path::Path::new("out.yaml"), &yaml);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let [manifest] = loaded.exporters.as_slice() else {
            panic!("one exporter expected:\n{yaml}");
        };
        assert_eq!(manifest.name(), "kfree-skb");
        assert_eq!(manifest.namespace(), "monitoring");
        assert_eq!(
            manifest.object_bytes(&loaded.config_maps).expect("object"),
            b"\x7fELF"
        );
        let decoder = &manifest.exporter.spec.decoder;
        assert_eq!(decoder.builtin.as_deref(), Some("ebpf-exporter"));
        let expected: serde_json::Value = serde_yaml::from_str(CONFIG).expect("yaml");
        assert_eq!(decoder.config.as_ref(), Some(&expected));
        let missing = manifest
            .decoder_bytes(&loaded.config_maps, &Builtins::none())
            .expect_err("no builtin directory here");
        assert!(missing.to_string().contains("`ebpf-exporter`"), "{missing}");
    }

    #[test]
    fn cgroup_id_map_becomes_the_manifests_cgroup_id_map() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!("{CONFIG}cgroup_id_map: {{name: ids, regexps: [system.slice]}}\n");
        std::fs::write(dir.path().join("cg.yaml"), config).expect("write");
        std::fs::write(dir.path().join("cg.bpf.o"), b"\x7fELF").expect("write");
        let configs = ConfigSet::new(dir.path().to_owned(), "cg").expect("names");
        let yaml = convert(&configs, None, false).expect("converts");
        let loaded = load_str(std::path::Path::new("out.yaml"), &yaml);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let spec = &loaded.exporters[0].exporter.spec;
        let map = spec.cgroup_id_map.as_ref().expect("spec.cgroupIdMap");
        assert_eq!(
            (map.map.as_str(), map.regexps.as_slice()),
            ("ids", &["system.slice".to_owned()][..])
        );
        assert!(yaml.contains("cgroupIdMap:"), "{yaml}");
        let config = spec.decoder.config.as_ref().expect("config");
        assert!(config.get("cgroup_id_map").is_none(), "{config}");
    }

    #[test]
    fn configmap_manifests_reference_the_object_by_key() {
        let (_dir, configs) = configs();
        let yaml = convert(&configs, None, true).expect("converts");
        let loaded = load_str(std::path::Path::new("out.yaml"), &yaml);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let manifest = &loaded.exporters[0];
        let key_ref = manifest
            .exporter
            .spec
            .object
            .config_map_key_ref
            .as_ref()
            .expect("a configMapKeyRef");
        assert_eq!(
            (key_ref.name.as_str(), key_ref.key.as_str()),
            ("kfree-skb", "kfree_skb.bpf.o")
        );
        assert_eq!(
            manifest.object_bytes(&loaded.config_maps).expect("object"),
            b"\x7fELF"
        );
    }
}
