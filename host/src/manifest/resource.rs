//! [`Manifest`]: one validated `BpfExporter` with where it came from, and
//! the reading of its object and decoder bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::builtin::Builtins;
use super::configmap::{ConfigMaps, DEFAULT_NAMESPACE};
use super::digest;
use super::error::{Location, ManifestError};
use super::source::Resolver;
use super::spec::{BpfExporter, KIND};
use super::validate::check_exporter;
use crate::lookup::Lookup;

/// A validated `BpfExporter` and its origin.
///
/// Every `Manifest` passed the load-time checks: exactly one source is set
/// for the object and the decoder, inline base64 decodes, names and
/// selectors are well-formed. Reading `path` and `configMapKeyRef` sources
/// happens later, in [`Manifest::object_bytes`] and
/// [`Manifest::decoder_bytes`].
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The resource as parsed.
    pub exporter: BpfExporter,
    /// The file and document it came from, or the cluster resource.
    pub location: Location,
    /// Directory that `path` sources are relative to: the manifest file's
    /// directory in file mode.
    pub base_dir: PathBuf,
}

impl Manifest {
    /// Validates a resource read from the cluster; `path` sources resolve
    /// against `base_dir`.
    pub fn from_resource(
        exporter: BpfExporter,
        base_dir: PathBuf,
    ) -> Result<Self, Vec<ManifestError>> {
        let location = Location::Resource {
            kind: KIND,
            namespace: exporter
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            name: exporter.metadata.name.clone(),
        };
        Self::checked(exporter, location, base_dir)
    }

    /// Validates `exporter` and wraps it, or returns all its errors.
    pub(crate) fn checked(
        exporter: BpfExporter,
        location: Location,
        base_dir: PathBuf,
    ) -> Result<Self, Vec<ManifestError>> {
        let errors = check_exporter(&exporter, &location);
        if errors.is_empty() {
            Ok(Manifest {
                exporter,
                location,
                base_dir,
            })
        } else {
            Err(errors)
        }
    }

    /// The exporter's name.
    pub fn name(&self) -> &str {
        &self.exporter.metadata.name
    }

    /// The exporter's namespace; `default` when it names none.
    pub fn namespace(&self) -> &str {
        self.exporter
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    /// The manifest file, in file mode.
    pub fn file(&self) -> Option<&Path> {
        match &self.location {
            Location::File(file) | Location::Document { file, .. } => Some(file),
            Location::Resource { .. } => None,
        }
    }

    /// The document's 1-based index in its file, in file mode.
    pub fn document(&self) -> Option<usize> {
        match self.location {
            Location::Document { document, .. } => Some(document),
            Location::File(_) | Location::Resource { .. } => None,
        }
    }

    /// Whether the exporter's node selector selects a node with `labels`.
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.exporter.spec.node_selector.matches(labels)
    }

    /// The bytes of the eBPF ELF object (`spec.object`).
    pub fn object_bytes(&self, config_maps: &ConfigMaps) -> Result<Vec<u8>, ManifestError> {
        const NO_BUILTINS: Builtins = Builtins::none();
        let object = &self.exporter.spec.object;
        let bytes = self
            .resolver(config_maps, &NO_BUILTINS)
            .read(object.source_ref(), "spec.object")?;
        digest::verify(
            bytes,
            object.sha256.as_deref(),
            &self.location,
            "spec.object.sha256",
        )
    }

    /// The bytes of the wasm decoder component (`spec.decoder`); a
    /// `builtin` one is read from `builtins`.
    pub fn decoder_bytes(
        &self,
        config_maps: &ConfigMaps,
        builtins: &Builtins,
    ) -> Result<Vec<u8>, ManifestError> {
        let decoder = &self.exporter.spec.decoder;
        let bytes = self
            .resolver(config_maps, builtins)
            .read(decoder.source_ref(), "spec.decoder")?;
        digest::verify(
            bytes,
            decoder.sha256.as_deref(),
            &self.location,
            "spec.decoder.sha256",
        )
    }

    /// `--require-digests`: the object and the decoder must both pin one.
    pub fn require_digests(&self) -> Result<(), ManifestError> {
        let spec = &self.exporter.spec;
        for (digest, field) in [
            (&spec.object.sha256, "spec.object.sha256"),
            (&spec.decoder.sha256, "spec.decoder.sha256"),
        ] {
            if digest.is_none() {
                return Err(ManifestError::DigestRequired {
                    at: self.location.boxed(),
                    field: field.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The host lookups the decoder may call: `spec.decoder.lookups`, or
    /// when that is empty those a built-in decoder needs for its config.
    pub fn granted_lookups(&self) -> Vec<Lookup> {
        let decoder = &self.exporter.spec.decoder;
        match &decoder.builtin {
            Some(name) if decoder.lookups.is_empty() => {
                Builtins::needed_lookups(name, decoder.config.as_ref())
            }
            // Validation already refused unknown lookup names.
            _ => decoder
                .lookups
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }

    /// The lookups the decoder may import beyond its grants: every one a
    /// built-in decoder imports (it is trusted; the ungranted ones answer
    /// none), none for any other.
    pub fn importable_lookups(&self) -> &'static [Lookup] {
        self.exporter
            .spec
            .decoder
            .builtin
            .as_deref()
            .map_or(&[], Builtins::imported_lookups)
    }

    /// `spec.decoder.config` as JSON text, `{}` when absent.
    pub fn decoder_config_json(&self) -> String {
        self.exporter
            .spec
            .decoder
            .config
            .as_ref()
            .map_or_else(|| "{}".to_owned(), ToString::to_string)
    }

    fn resolver<'a>(&'a self, config_maps: &'a ConfigMaps, builtins: &'a Builtins) -> Resolver<'a> {
        Resolver {
            at: &self.location,
            base_dir: &self.base_dir,
            namespace: self.namespace(),
            config_maps,
            builtins,
        }
    }
}
