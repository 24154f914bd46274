//! `BpfExporter` manifests: types, loading, validation and source resolution.
//!
//! - [`spec`] holds the resource types, the single source of the format;
//!   [`crd`] derives the `CustomResourceDefinition` from them, and the
//!   status types say what each node's agent reports.
//! - [`load_paths`] reads files and directories of YAML documents into
//!   [`Loaded`]: valid [`Manifest`]s, the [`ConfigMaps`] found beside them,
//!   and one [`ManifestError`] per bad document (the others still load).
//! - Checks that need no file (exactly one source, base64, names, selector
//!   operators, attach targets) run at load time, so `bpfhost validate`
//!   reports them without reading anything else.
//! - [`Manifest::object_bytes`] and [`Manifest::decoder_bytes`] read a
//!   source: a `path` relative to the manifest's directory, `inline` base64,
//!   a `configMapKeyRef` in the exporter's namespace, or for a decoder a
//!   `builtin` one shipped with the agent ([`Builtins`]); a `sha256` on a
//!   source pins the bytes (`digest`).
//! - [`LabelSelector::matches`] decides whether a node runs an exporter.

mod builtin;
mod configmap;
mod crd;
mod digest;
mod encoding;
mod error;
mod global;
mod limits;
mod load;
mod resource;
mod schema;
mod selector;
mod source;
pub mod spec;
mod status;
mod validate;

#[cfg(test)]
mod tests;

pub use builtin::Builtins;
pub use configmap::{ConfigMap, ConfigMaps, DEFAULT_NAMESPACE};
pub use crd::{CRD_FILE, crd, crd_yaml};
pub use digest::sha256_hex;
pub use error::{Location, ManifestError};
pub use limits::{DecoderLimits, Quantity, TimeSpan};
pub use load::{Loaded, load_paths, load_str};
pub use resource::Manifest;
pub use schema::{DECODER_SOURCE_FIELDS, SOURCE_FIELDS};
pub use selector::{Operator, UnknownOperator};
pub use source::{NotOneSource, SourceRef};
pub use spec::*;
pub use status::{BpfExporterStatus, NodeCondition, NodeStatus, VERIFIER_LOG_TAIL_MAX};
