//! Errors of loading, validating and resolving manifests.
//!
//! Every error names where it happened ([`Location`]: a file, one document of
//! a file, or a cluster resource) and, when it is about one field, that
//! field's path (`spec.decoder.inline`). Messages are lowercase and complete:
//! none of the variants has a `#[source]`, so printing an error once shows it
//! all.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a manifest error happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A whole file or directory given on the command line.
    File(PathBuf),
    /// One YAML document of a file; `document` counts from 1.
    Document { file: PathBuf, document: usize },
    /// A resource read from the cluster.
    Resource {
        kind: &'static str,
        namespace: String,
        name: String,
    },
}

impl Location {
    /// A boxed copy, as errors hold it (which keeps `ManifestError` small).
    pub(crate) fn boxed(&self) -> Box<Location> {
        Box::new(self.clone())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(file) => write!(f, "{}", file.display()),
            Location::Document { file, document } => {
                write!(f, "{} (document {document})", file.display())
            }
            Location::Resource {
                kind,
                namespace,
                name,
            } => write!(f, "{kind} {namespace}/{name}"),
        }
    }
}

/// An error in a manifest, with its location and field path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A path given on the command line does not exist.
    #[error("{}: does not exist", .path.display())]
    PathNotFound { path: PathBuf },

    /// A manifest file or directory could not be read.
    #[error("{}: cannot read: {error}", .path.display())]
    Read { path: PathBuf, error: io::Error },

    /// A document is not well-formed YAML.
    #[error("{at}: invalid yaml: {error}")]
    Syntax {
        at: Box<Location>,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// 1-based column of the error, when known.
        column: Option<usize>,
        error: serde_yaml::Error,
    },

    /// A document is not a mapping (for example a bare string or list).
    #[error("{at}: expected a mapping with `apiVersion` and `kind`")]
    NotAMapping { at: Box<Location> },

    /// A document does not match the resource's schema: an unknown or
    /// missing field, or a value of the wrong type.
    #[error("{at}: {}{message}", field_prefix(.field))]
    Schema {
        at: Box<Location>,
        /// Path of the offending field; empty for the document itself.
        field: String,
        message: String,
    },

    /// A document of a kind bpfhost does not read.
    #[error(
        "{at}: kind: unsupported kind `{kind}` (apiVersion `{api_version}`), \
         expected `BpfExporter` or `ConfigMap`"
    )]
    UnsupportedKind {
        at: Box<Location>,
        api_version: String,
        kind: String,
    },

    /// A known kind with the wrong `apiVersion`.
    #[error("{at}: apiVersion: expected `{expected}` for kind `{kind}`, found `{found}`")]
    WrongApiVersion {
        at: Box<Location>,
        kind: String,
        expected: &'static str,
        found: String,
    },

    /// A map with an empty key where keys must not be empty.
    #[error("{at}: {field}: keys must not be empty")]
    EmptyKey { at: Box<Location>, field: String },

    /// A `ConfigMap` key set both in `data` and in `binaryData`.
    #[error("{at}: binaryData.{key}: key `{key}` is also set in data")]
    ConfigMapKeyConflict { at: Box<Location>, key: String },

    /// A field that must not be empty is empty.
    #[error("{at}: {field}: {value} is out of range (allowed: {min} to {max})")]
    OutOfRange {
        at: Box<Location>,
        field: String,
        value: String,
        min: String,
        max: String,
    },
    #[error("{at}: {field}: must not be empty")]
    Empty { at: Box<Location>, field: String },

    /// A resource name that Kubernetes would reject.
    #[error("{at}: {field}: invalid name `{name}`: {reason}")]
    InvalidName {
        at: Box<Location>,
        field: String,
        name: String,
        reason: &'static str,
    },

    /// A `spec.programs` entry that contradicts itself or does nothing.
    #[error("{at}: {field}: {reason}")]
    ProgramEntry {
        at: Box<Location>,
        field: String,
        reason: &'static str,
    },

    /// Source bytes that do not hash to the digest pinned in the manifest.
    #[error("{at}: {field}: the bytes read have SHA-256 {actual}, not the pinned {expected}")]
    DigestMismatch {
        at: Box<Location>,
        field: String,
        expected: String,
        actual: String,
    },

    /// `--require-digests` and a source without one.
    #[error(
        "{at}: {field}: a SHA-256 digest is required (--require-digests); `bpfhost pack` writes it"
    )]
    DigestRequired { at: Box<Location>, field: String },

    /// A value that does not have the expected form.
    #[error("{at}: {field}: expected {expected}, found `{value}`")]
    InvalidFormat {
        at: Box<Location>,
        field: String,
        value: String,
        expected: &'static str,
    },

    /// Not exactly one of a set of mutually exclusive fields is set.
    #[error(
        "{at}: {field}: exactly one of {} must be set, found {}",
        .choices.join(", "),
        and_list(.found)
    )]
    ExactlyOne {
        at: Box<Location>,
        field: String,
        choices: &'static [&'static str],
        found: Vec<&'static str>,
    },

    /// Base64 text that does not decode.
    #[error("{at}: {field}: invalid base64: {}", describe_base64(.error))]
    InvalidBase64 {
        at: Box<Location>,
        field: String,
        /// Offsets count bytes of the text as written, whitespace included.
        error: base64::DecodeError,
    },

    /// A second resource of the same kind, namespace and name.
    #[error("{at}: metadata.name: duplicate {kind} `{namespace}/{name}`, first defined in {first}")]
    DuplicateResource {
        at: Box<Location>,
        kind: &'static str,
        namespace: String,
        name: String,
        first: Box<Location>,
    },

    /// A `decoder.lookups` entry that names no lookup.
    #[error("{at}: {field}: {error}")]
    UnknownLookup {
        at: Box<Location>,
        field: String,
        error: crate::lookup::UnknownLookup,
    },

    /// The same key appears twice where keys must be unique.
    #[error("{at}: {field}: duplicate {what} `{name}`")]
    Duplicate {
        at: Box<Location>,
        field: String,
        what: &'static str,
        name: String,
    },

    /// A label selector operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error(
        "{at}: {field}: unknown operator `{operator}`, \
         expected one of `In`, `NotIn`, `Exists`, `DoesNotExist`"
    )]
    UnknownOperator {
        at: Box<Location>,
        field: String,
        operator: String,
    },

    /// `values` given to `Exists`/`DoesNotExist`, or missing for `In`/`NotIn`.
    #[error(
        "{at}: {field}: must be {} for operator `{operator}`",
        if *.required { "set" } else { "empty" }
    )]
    SelectorValues {
        at: Box<Location>,
        field: String,
        operator: String,
        /// Whether the operator needs values (`In`, `NotIn`).
        required: bool,
    },

    /// A cluster resource's `path` that is absolute or climbs out (`..`) of
    /// the agent's source directory.
    #[error("{at}: {field}: `{path}` must be a relative path without `..` for a cluster resource")]
    SourceOutsideDir {
        at: Box<Location>,
        field: String,
        path: String,
    },

    /// A `path` source that does not exist.
    #[error("{at}: {field}: {} does not exist", .path.display())]
    SourceNotFound {
        at: Box<Location>,
        field: String,
        /// The path after joining it to the manifest's directory.
        path: PathBuf,
    },

    /// A `path` source that is a directory or another non-file.
    #[error("{at}: {field}: {} is not a file", .path.display())]
    SourceNotAFile {
        at: Box<Location>,
        field: String,
        path: PathBuf,
    },

    /// A `path` source that exists but cannot be read.
    #[error("{at}: {field}: cannot read {}: {error}", .path.display())]
    SourceRead {
        at: Box<Location>,
        field: String,
        path: PathBuf,
        error: io::Error,
    },

    /// A `configMapKeyRef` naming a `ConfigMap` that is not known.
    #[error(
        "{at}: {field}: configmap `{namespace}/{name}` not found{}",
        selector_hint(at)
    )]
    ConfigMapNotFound {
        at: Box<Location>,
        field: String,
        namespace: String,
        name: String,
    },

    /// A `configMapKeyRef` naming a key the `ConfigMap` does not have.
    #[error("{at}: {field}: key `{key}` not found in configmap `{namespace}/{name}`")]
    ConfigMapKeyNotFound {
        at: Box<Location>,
        field: String,
        namespace: String,
        name: String,
        key: String,
    },
    /// A `decoder.builtin` naming no component in the agent's built-in
    /// decoder directory.
    #[error(
        "{at}: {field}: unknown built-in decoder `{name}` ({}); available: {}",
        builtin_dir(.dir.as_deref()),
        comma_list(.available)
    )]
    UnknownBuiltin {
        at: Box<Location>,
        field: String,
        name: String,
        dir: Option<PathBuf>,
        available: Vec<String>,
    },
}

impl ManifestError {
    /// Turns a serde error with its field path into [`ManifestError::Schema`].
    pub(crate) fn schema(
        at: Box<Location>,
        error: &serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = error.path().to_string();
        ManifestError::Schema {
            at,
            field: if path == "." { String::new() } else { path },
            message: error.inner().to_string(),
        }
    }
}

/// `"spec.object: "`, or nothing for the document itself.
fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

/// `none`, `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => "none".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Where built-in decoders were looked for.
fn builtin_dir(dir: Option<&std::path::Path>) -> String {
    dir.map_or_else(
        || "no built-in decoder directory".to_owned(),
        |dir| format!("in {}", dir.display()),
    )
}

/// `none`, `a`, `a, b`.
fn comma_list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// A lowercase description of a base64 error.
fn describe_base64(error: &base64::DecodeError) -> String {
    use base64::DecodeError as E;
    match *error {
        E::InvalidByte(offset, byte) => {
            format!("invalid character {} at offset {offset}", show_byte(byte))
        }
        E::InvalidLength(len) => format!("invalid length ({len} symbols)"),
        E::InvalidLastSymbol(offset, byte) => {
            format!("invalid last symbol {} at offset {offset}", show_byte(byte))
        }
        E::InvalidPadding => "invalid padding".to_owned(),
    }
}

/// A byte as a quoted character when printable, else in hex.
fn show_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("`{}`", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

/// In Kubernetes mode the agent watches only some `ConfigMap`s; a missing
/// one is most often one without the label.
fn selector_hint(at: &Location) -> &'static str {
    match at {
        Location::Resource { .. } => {
            " (the agent watches only ConfigMaps that match its --configmap-selector, \
             by default those labelled `bpfhost.dev/source`)"
        }
        Location::File(_) | Location::Document { .. } => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_list_reads_like_english() {
        assert_eq!(and_list(&[]), "none");
        assert_eq!(and_list(&["path"]), "path");
        assert_eq!(and_list(&["path", "inline"]), "path and inline");
        assert_eq!(
            and_list(&["path", "inline", "configMapKeyRef"]),
            "path, inline and configMapKeyRef"
        );
    }

    #[test]
    fn location_display() {
        let file = PathBuf::from("packets.yaml");
        assert_eq!(Location::File(file.clone()).to_string(), "packets.yaml");
        let doc = Location::Document { file, document: 2 };
        assert_eq!(doc.to_string(), "packets.yaml (document 2)");
        let res = Location::Resource {
            kind: "BpfExporter",
            namespace: "default".into(),
            name: "packets".into(),
        };
        assert_eq!(res.to_string(), "BpfExporter default/packets");
    }
}
