//! `ebpf_exporter`'s configs (`<dir>/<name>.yaml` beside `<dir>/<name>.bpf.o`)
//! as `BpfExporter` manifests that run the built-in `ebpf-exporter` decoder.
//!
//! Each config becomes one exporter: the object by path, the YAML document
//! as `decoder.config`, and `kaddrs` as `kaddr_<symbol>` globals (the one
//! part of a config the agent handles, not the decoder). The manifests are
//! built again at every rescan, so an edited config or a rebuilt object
//! reloads like a manifest does.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::kaddrs::Kallsyms;
use crate::manifest::{
    API_VERSION, AttachPolicy, BpfExporter, BpfExporterSpec, Builtins, CgroupIdMapKind,
    CgroupIdMapSpec, DecoderSpec, GlobalValue, KIND, LabelSelector, Loaded, Location, Manifest,
    ManifestError, ObjectMeta, Source,
};

/// The built-in decoder that runs a config.
pub const DECODER: &str = "ebpf-exporter";

/// The configs `--config.dir` and `--config.names` name.
#[derive(Debug, Clone)]
pub struct ConfigSet {
    dir: PathBuf,
    names: Vec<String>,
    kallsyms: Kallsyms,
    /// How programs that cannot attach are taken: ebpf_exporter's
    /// tolerance (`BestEffort`) unless `--config.strict`.
    attach_policy: AttachPolicy,
}

/// One config as the agent runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigName {
    /// The name in `--config.names` (and `ebpf_exporter`'s `config` label).
    pub config: String,
    /// The exporter's name: the config name as a Kubernetes name
    /// (`kfree_skb` → `kfree-skb`).
    pub exporter: String,
}

/// Why `--config.names` is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NamesError {
    #[error("--config.names: no config names given")]
    Empty,
    #[error("--config.names: `{0}` is not a config name (no `/`, not empty)")]
    Invalid(String),
    #[error("--config.names: `{0}` is given twice")]
    Duplicate(String),
    #[error("--config.names: `{first}` and `{second}` both become exporter `{exporter}`")]
    Collision {
        first: String,
        second: String,
        exporter: String,
    },
}

impl ConfigSet {
    /// The configs `names` (comma-separated, as `--config.names` takes
    /// them) in `dir`.
    pub fn new(dir: PathBuf, names: &str) -> Result<Self, NamesError> {
        if names.trim().is_empty() {
            return Err(NamesError::Empty);
        }
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut list = Vec::new();
        for name in names.split(',').map(str::trim) {
            let exporter = exporter_name(name).ok_or_else(|| NamesError::Invalid(name.into()))?;
            if list.iter().any(|n: &String| n == name) {
                return Err(NamesError::Duplicate(name.into()));
            }
            if let Some(first) = seen.insert(exporter.clone(), name.to_owned()) {
                return Err(NamesError::Collision {
                    first,
                    second: name.into(),
                    exporter,
                });
            }
            list.push(name.to_owned());
        }
        Ok(Self {
            dir,
            names: list,
            kallsyms: Kallsyms::default(),
            attach_policy: AttachPolicy::BestEffort,
        })
    }

    /// `--config.strict`: a program that cannot attach fails its config
    /// (and the start), instead of the config running without it.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.attach_policy = if strict {
            AttachPolicy::AllOrNothing
        } else {
            AttachPolicy::BestEffort
        };
        self
    }

    /// The configs, in `--config.names` order.
    pub fn names(&self) -> Vec<ConfigName> {
        self.names
            .iter()
            .map(|config| ConfigName {
                config: config.clone(),
                exporter: exporter_name(config).unwrap_or_default(),
            })
            .collect()
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every config as a manifest; a config that cannot be read is an
    /// error naming its file, and the others still load.
    pub fn load(&self) -> Loaded {
        let mut loaded = Loaded::default();
        for name in &self.names {
            match self.manifest(name) {
                Ok(manifest) => loaded.exporters.push(manifest),
                Err(error) => loaded.errors.push(error),
            }
        }
        loaded
    }

    /// The manifest of config `name`.
    fn manifest(&self, name: &str) -> Result<Manifest, ManifestError> {
        let (exporter, at) = self.exporter(name)?;
        Manifest::checked(exporter, at, self.dir.clone()).map_err(|mut errors| errors.remove(0))
    }

    /// The `BpfExporter` of config `name`, and where it comes from.
    pub(super) fn exporter(&self, name: &str) -> Result<(BpfExporter, Location), ManifestError> {
        let yaml = self.dir.join(format!("{name}.yaml"));
        let object = format!("{name}.bpf.o");
        let at = Location::File(yaml.clone());
        let mut config = read_config(&yaml, &at)?;
        let object_path = self.dir.join(&object);
        if !object_path.is_file() {
            return Err(ManifestError::PathNotFound { path: object_path });
        }
        let globals = self.kaddrs(&mut config, &at)?;
        // Granted explicitly, so a converted manifest shows them.
        let lookups = Builtins::needed_lookups(DECODER, Some(&config))
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect();
        let cgroup_id_map = cgroup_id_map(&mut config, &at)?;
        let exporter = BpfExporter {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: ObjectMeta {
                name: exporter_name(name).unwrap_or_default(),
                ..ObjectMeta::default()
            },
            spec: BpfExporterSpec {
                node_selector: LabelSelector::default(),
                object: Source {
                    path: Some(object),
                    ..Source::default()
                },
                programs: Vec::new(),
                maps: BTreeMap::new(),
                attach_policy: self.attach_policy,
                globals,
                cgroup_id_map,
                decoder: DecoderSpec {
                    builtin: Some(DECODER.to_owned()),
                    config: Some(config),
                    lookups,
                    ..DecoderSpec::default()
                },
            },
            status: None,
        };
        Ok((exporter, at))
    }

    /// Takes `kaddrs` out of `config` (the decoder does not read it) and
    /// returns the `kaddr_<symbol>` globals it asks for.
    fn kaddrs(
        &self,
        config: &mut Value,
        at: &Location,
    ) -> Result<BTreeMap<String, GlobalValue>, ManifestError> {
        let Some(kaddrs) = config.as_object_mut().and_then(|c| c.remove("kaddrs")) else {
            return Ok(BTreeMap::new());
        };
        let symbols: Vec<String> = match kaddrs {
            Value::Null => return Ok(BTreeMap::new()),
            value => serde_json::from_value(value).map_err(|e| ManifestError::Schema {
                at: at.boxed(),
                field: "kaddrs".to_owned(),
                message: e.to_string(),
            })?,
        };
        let mut globals = BTreeMap::new();
        for (i, symbol) in symbols.iter().enumerate() {
            let address =
                self.kallsyms
                    .address(symbol)
                    .map_err(|message| ManifestError::Schema {
                        at: at.boxed(),
                        field: format!("kaddrs[{i}]"),
                        message,
                    })?;
            globals.insert(format!("kaddr_{symbol}"), GlobalValue::Unsigned(address));
        }
        Ok(globals)
    }
}

/// `ebpf_exporter`'s `cgroup_id_map` as it is written in a config.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamCgroupIdMap {
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<CgroupIdMapKind>,
    #[serde(default)]
    regexps: Vec<String>,
}

/// Takes `cgroup_id_map` out of `config` (the agent keeps the map, not the
/// decoder) as the spec's `cgroupIdMap`; no type means `hash`, as
/// `ebpf_exporter` reads it.
fn cgroup_id_map(
    config: &mut Value,
    at: &Location,
) -> Result<Option<CgroupIdMapSpec>, ManifestError> {
    let Some(value) = config
        .as_object_mut()
        .and_then(|c| c.remove("cgroup_id_map"))
    else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    let upstream: UpstreamCgroupIdMap =
        serde_json::from_value(value).map_err(|e| ManifestError::Schema {
            at: at.boxed(),
            field: "cgroup_id_map".to_owned(),
            message: e.to_string(),
        })?;
    Ok(Some(CgroupIdMapSpec {
        map: upstream.name,
        kind: upstream.kind.unwrap_or_default(),
        regexps: upstream.regexps,
    }))
}

/// Reads one config document as JSON, the form `decoder.config` holds.
fn read_config(yaml: &Path, at: &Location) -> Result<Value, ManifestError> {
    let text = fs::read_to_string(yaml).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => ManifestError::PathNotFound {
            path: yaml.to_owned(),
        },
        _ => ManifestError::Read {
            path: yaml.to_owned(),
            error,
        },
    })?;
    let document: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|error| ManifestError::Syntax {
            at: at.boxed(),
            line: error.location().map(|l| l.line()),
            column: error.location().map(|l| l.column()),
            error,
        })?;
    if !document.is_mapping() {
        return Err(ManifestError::Schema {
            at: at.boxed(),
            field: String::new(),
            message: "expected a mapping: an ebpf_exporter config with `metrics`".to_owned(),
        });
    }
    // Through JSON, as the API server would store it: integer keys of a
    // `static_map` become strings, as `ebpf_exporter` reads them.
    serde_json::to_value(&document).map_err(|error| ManifestError::Schema {
        at: at.boxed(),
        field: String::new(),
        message: error.to_string(),
    })
}

/// A config name as a Kubernetes name; `None` for one that is not a file
/// name.
fn exporter_name(config: &str) -> Option<String> {
    if config.is_empty() || config.contains('/') || config == "." || config == ".." {
        return None;
    }
    crate::pack::derive_name(Path::new(config))
}

#[cfg(test)]
mod tests;
