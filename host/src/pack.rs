//! `bpfhost pack`: an ELF object and a decoder component into a ready
//! `BpfExporter` manifest, with the bytes inline (base64) or in a
//! `ConfigMap` (`binaryData`) that the exporter references, as kube-bpf's
//! generator did.
//!
//! The API server bounds what it stores: a `ConfigMap`'s data may total
//! 1 MiB, and etcd refuses an object over 1.5 MiB (its default request
//! limit), status included. Packing fails with the sizes and what to do
//! rather than print a manifest the cluster would refuse. The output is
//! loaded back with the file-mode loader before it is returned, so what
//! `pack` prints always loads in file mode too.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta as KubeMeta;

use crate::manifest::{
    API_VERSION, BpfExporter, BpfExporterSpec, ConfigMapKeyRef, DecoderSpec, KIND, ObjectMeta,
    Source, load_str, sha256_hex,
};

/// Most bytes a `ConfigMap`'s `data` and `binaryData` may hold (keys and
/// values), as the API server validates it.
pub const CONFIG_MAP_LIMIT: usize = 1 << 20;
/// Largest object etcd stores with its default `--max-request-bytes`.
pub const OBJECT_LIMIT: usize = 3 << 19;
/// Room an inline exporter leaves for what the API server adds later: the
/// per-node status (up to 4 KiB of verifier log per node) and metadata.
pub const STATUS_RESERVE: usize = 1 << 19;

/// What to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// The eBPF ELF object.
    pub object: PathBuf,
    /// The wasm decoder component.
    pub decoder: PathBuf,
    /// A YAML or JSON file for `spec.decoder.config`.
    pub config: Option<PathBuf>,
    /// The resource name; derived from the object's file name when absent.
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// Put the bytes in a `ConfigMap` instead of inline.
    pub config_map: bool,
}

/// Why packing failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: invalid decoder config", .path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("cannot derive a resource name from {}: pass --name", .path.display())]
    NoName { path: PathBuf },
    #[error("{what} would be {size} bytes, over the {limit}-byte limit {why}; {hint}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
        why: &'static str,
        hint: &'static str,
    },
    /// The generated manifest does not load (for example an invalid name).
    #[error("the packed manifest is invalid: {}", .errors.join("; "))]
    Invalid { errors: Vec<String> },
}

/// Reads the files and renders the manifest (and `ConfigMap`) as YAML.
///
/// ```no_run
/// use bpfhost::pack::{PackOptions, pack};
///
/// let yaml = pack(&PackOptions {
///     object: "writes.bpf.o".into(),
///     decoder: "writes.wasm".into(),
///     config: None,
///     name: None,
///     namespace: Some("monitoring".into()),
///     config_map: true,
/// })?;
/// print!("{yaml}");
/// # Ok::<(), bpfhost::pack::PackError>(())
/// ```
pub fn pack(options: &PackOptions) -> Result<String, PackError> {
    let object = read(&options.object)?;
    let decoder = read(&options.decoder)?;
    let config = options.config.as_deref().map(read_config).transpose()?;
    let name = match &options.name {
        Some(name) => name.clone(),
        None => derive_name(&options.object).ok_or_else(|| PackError::NoName {
            path: options.object.clone(),
        })?,
    };
    let metadata = ObjectMeta {
        name,
        namespace: options.namespace.clone(),
        ..ObjectMeta::default()
    };
    let header = header(options, object.len(), decoder.len());
    let text = if options.config_map {
        with_config_map(options, metadata, &object, &decoder, config, &header)?
    } else {
        inline(metadata, &object, &decoder, config, &header)?
    };
    check_loads(&text)?;
    Ok(text)
}

/// One exporter document with both sources inline.
fn inline(
    metadata: ObjectMeta,
    object: &[u8],
    decoder: &[u8],
    config: Option<serde_json::Value>,
    header: &str,
) -> Result<String, PackError> {
    let b64 = |bytes: &[u8]| Some(to_base64(bytes));
    let exporter = exporter(
        metadata,
        Source {
            inline: b64(object),
            sha256: Some(sha256_hex(object)),
            ..Source::default()
        },
        DecoderSpec {
            inline: b64(decoder),
            sha256: Some(sha256_hex(decoder)),
            ..decoder_spec(config)
        },
    );
    check_inline_size(&exporter)?;
    Ok(format!("{header}{}", to_yaml(&exporter)))
}

/// Base64 text of `bytes`, as an `inline` source holds it.
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Refuses an exporter with inline sources that etcd would refuse once
/// agents add their status.
pub(crate) fn check_inline_size(exporter: &BpfExporter) -> Result<(), PackError> {
    let size = json_size(exporter);
    let limit = OBJECT_LIMIT - STATUS_RESERVE;
    if size > limit {
        return Err(PackError::TooLarge {
            what: "the exporter with inline sources",
            size,
            limit,
            why: "(etcd's 1.5 MiB object limit, less room for per-node status)",
            hint: "use --configmap, or ship the files with the agent and use `path` sources",
        });
    }
    Ok(())
}

/// A `ConfigMap` named like the exporter of `metadata`, labelled so the
/// agent watches it, holding `files` as `binaryData`; refused when the API
/// server would refuse it.
pub(crate) fn config_map(
    metadata: &ObjectMeta,
    files: Vec<(String, Vec<u8>)>,
) -> Result<ConfigMap, PackError> {
    let size: usize = files
        .iter()
        .map(|(key, bytes)| key.len() + bytes.len())
        .sum();
    if size > CONFIG_MAP_LIMIT {
        return Err(PackError::TooLarge {
            what: "the configmap's data",
            size,
            limit: CONFIG_MAP_LIMIT,
            why: "the API server allows a configmap",
            hint: "ship the files with the agent and use `path` sources",
        });
    }
    Ok(ConfigMap {
        metadata: KubeMeta {
            name: Some(metadata.name.clone()),
            namespace: metadata.namespace.clone(),
            // The agent watches only labelled ConfigMaps by default.
            labels: Some(BTreeMap::from([(
                crate::cluster::DEFAULT_CONFIG_MAP_SELECTOR.to_owned(),
                "true".to_owned(),
            )])),
            ..KubeMeta::default()
        },
        binary_data: Some(
            files
                .into_iter()
                .map(|(key, bytes)| (key, ByteString(bytes)))
                .collect(),
        ),
        ..ConfigMap::default()
    })
}

/// A `ConfigMap` holding both files, then an exporter referencing it.
fn with_config_map(
    options: &PackOptions,
    metadata: ObjectMeta,
    object: &[u8],
    decoder: &[u8],
    config: Option<serde_json::Value>,
    header: &str,
) -> Result<String, PackError> {
    let (object_key, decoder_key) = keys(&options.object, &options.decoder);
    let map = config_map(
        &metadata,
        vec![
            (object_key.clone(), object.to_vec()),
            (decoder_key.clone(), decoder.to_vec()),
        ],
    )?;
    let map_name = metadata.name.clone();
    let key_ref = |key: &str| ConfigMapKeyRef {
        name: map_name.clone(),
        key: key.to_owned(),
    };
    let exporter = exporter(
        metadata,
        Source {
            config_map_key_ref: Some(key_ref(&object_key)),
            sha256: Some(sha256_hex(object)),
            ..Source::default()
        },
        DecoderSpec {
            config_map_key_ref: Some(key_ref(&decoder_key)),
            sha256: Some(sha256_hex(decoder)),
            ..decoder_spec(config)
        },
    );
    Ok(format!(
        "{header}{}---\n{}",
        to_yaml(&map),
        to_yaml(&exporter)
    ))
}

fn exporter(metadata: ObjectMeta, object: Source, decoder: DecoderSpec) -> BpfExporter {
    BpfExporter {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        metadata,
        spec: BpfExporterSpec {
            node_selector: crate::manifest::LabelSelector::default(),
            object,
            programs: Vec::new(),
            maps: BTreeMap::new(),
            attach_policy: crate::manifest::AttachPolicy::AllOrNothing,
            globals: BTreeMap::new(),
            cgroup_id_map: None,
            decoder,
        },
        status: None,
    }
}

/// A decoder with no source yet and `config`.
fn decoder_spec(config: Option<serde_json::Value>) -> DecoderSpec {
    DecoderSpec {
        config,
        ..DecoderSpec::default()
    }
}

/// Comment lines that say what was packed and how to apply it.
fn header(options: &PackOptions, object: usize, decoder: usize) -> String {
    let file = |path: &Path| {
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    format!(
        "# Packed by `bpfhost pack` from {} ({object} bytes) and {} ({decoder} bytes).\n\
         # Apply with `kubectl create -f` or `kubectl apply --server-side -f`: client-side\n\
         # `kubectl apply` copies the object into an annotation limited to 256 KiB.\n",
        file(&options.object),
        file(&options.decoder),
    )
}

/// The `ConfigMap` keys: the file names, or fixed names when those are not
/// valid keys or collide.
fn keys(object: &Path, decoder: &Path) -> (String, String) {
    let key = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .filter(|n| {
                n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            })
            .filter(|n| *n != "." && *n != "..")
            .map(str::to_owned)
    };
    match (key(object), key(decoder)) {
        (Some(o), Some(d)) if o != d => (o, d),
        _ => ("object.bpf.o".to_owned(), "decoder.wasm".to_owned()),
    }
}

/// `writes.bpf.o` → `writes`; `TCP_rtt.o` → `tcp-rtt`.
pub(crate) fn derive_name(object: &Path) -> Option<String> {
    let file = object.file_name()?.to_str()?;
    let stem = file
        .strip_suffix(".bpf.o")
        .or_else(|| file.strip_suffix(".o"))
        .unwrap_or(file);
    let name: String = stem
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!name.is_empty()).then(|| name.chars().take(253).collect())
}

fn read(path: &Path) -> Result<Vec<u8>, PackError> {
    fs::read(path).map_err(|source| PackError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_config(path: &Path) -> Result<serde_json::Value, PackError> {
    let text = fs::read_to_string(path).map_err(|source| PackError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_yaml::from_str(&text).map_err(|source| PackError::Config {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("manifests always serialize")
}

/// Bytes of `value` as the JSON the API server stores.
fn json_size<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |json| json.len())
}

/// Loads `text` the way `bpfhost run --manifests` would.
pub(crate) fn check_loads(text: &str) -> Result<(), PackError> {
    let loaded = load_str(Path::new("packed.yaml"), text);
    if loaded.errors.is_empty() {
        Ok(())
    } else {
        Err(PackError::Invalid {
            errors: loaded.errors.iter().map(ToString::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests;
