//! Byte sources (`path`, `inline`, `configMapKeyRef`, and for a decoder
//! `builtin`): choosing one and reading its bytes.

use std::io;
use std::path::{Component, Path};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::builtin::{self, Builtins};
use super::configmap::ConfigMaps;
use super::encoding::decode_base64;
use super::error::{Location, ManifestError};
use super::schema::{DECODER_SOURCE_FIELDS, SOURCE_FIELDS};
use super::spec::{ConfigMapKeyRef, DecoderSpec, Source};

/// The one field a [`Source`] (or a [`DecoderSpec`]) sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRef<'a> {
    /// A file, relative to the manifest's directory.
    Path(&'a str),
    /// Base64 text.
    Inline(&'a str),
    /// A key of a `ConfigMap` in the resource's namespace.
    ConfigMapKeyRef(&'a ConfigMapKeyRef),
    /// A decoder shipped with the agent (`spec.decoder` only).
    Builtin(&'a str),
}

/// Not exactly one source field is set: the names of the set ones, and
/// the names that could be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOneSource {
    pub found: Vec<&'static str>,
    pub choices: &'static [&'static str],
}

impl SourceRef<'_> {
    /// Picks the one set field, or returns the names of all set fields when
    /// that is not exactly one of `choices` (an object has no `builtin`).
    fn select<'a>(
        path: Option<&'a String>,
        inline: Option<&'a String>,
        config_map_key_ref: Option<&'a ConfigMapKeyRef>,
        builtin: Option<&'a String>,
        choices: &'static [&'static str],
    ) -> Result<SourceRef<'a>, NotOneSource> {
        match (path, inline, config_map_key_ref, builtin) {
            (Some(path), None, None, None) => Ok(SourceRef::Path(path)),
            (None, Some(inline), None, None) => Ok(SourceRef::Inline(inline)),
            (None, None, Some(key_ref), None) => Ok(SourceRef::ConfigMapKeyRef(key_ref)),
            (None, None, None, Some(name)) => Ok(SourceRef::Builtin(name)),
            _ => {
                let set = [
                    path.is_some(),
                    inline.is_some(),
                    config_map_key_ref.is_some(),
                    builtin.is_some(),
                ];
                Err(NotOneSource {
                    found: choices
                        .iter()
                        .zip(set)
                        .filter_map(|(name, set)| set.then_some(*name))
                        .collect(),
                    choices,
                })
            }
        }
    }
}

impl Source {
    /// The one field this source sets; the names of the set fields otherwise.
    pub fn source_ref(&self) -> Result<SourceRef<'_>, NotOneSource> {
        SourceRef::select(
            self.path.as_ref(),
            self.inline.as_ref(),
            self.config_map_key_ref.as_ref(),
            None,
            SOURCE_FIELDS,
        )
    }
}

impl DecoderSpec {
    /// The one source field this decoder sets; the names of the set fields
    /// otherwise.
    pub fn source_ref(&self) -> Result<SourceRef<'_>, NotOneSource> {
        SourceRef::select(
            self.path.as_ref(),
            self.inline.as_ref(),
            self.config_map_key_ref.as_ref(),
            self.builtin.as_ref(),
            DECODER_SOURCE_FIELDS,
        )
    }
}

/// Checks what can be checked without reading anything: exactly one field is
/// set, `inline` is valid base64 and a `path` is not empty.
pub(crate) fn check(
    source: Result<SourceRef<'_>, NotOneSource>,
    at: &Location,
    field: &str,
) -> Result<(), ManifestError> {
    match one_of(source, at, field)? {
        SourceRef::Path("") => Err(ManifestError::Empty {
            at: at.boxed(),
            field: format!("{field}.path"),
        }),
        SourceRef::Path(path) => confined(path, at, &format!("{field}.path")),
        SourceRef::Inline(text) => decode_base64(text, at, &format!("{field}.inline")).map(drop),
        SourceRef::ConfigMapKeyRef(_) => Ok(()),
        SourceRef::Builtin(name) if builtin::valid_name(name) => Ok(()),
        SourceRef::Builtin(name) => Err(ManifestError::InvalidFormat {
            at: at.boxed(),
            field: format!("{field}.builtin"),
            value: name.to_owned(),
            expected: "a built-in decoder name (lowercase letters, digits and `-`)",
        }),
    }
}

/// Where and for whom a source is read.
#[derive(Debug)]
pub(crate) struct Resolver<'a> {
    pub at: &'a Location,
    /// Directory `path` sources are relative to.
    pub base_dir: &'a Path,
    /// Namespace `configMapKeyRef` sources are looked up in.
    pub namespace: &'a str,
    pub config_maps: &'a ConfigMaps,
    /// Where `builtin` decoders are found.
    pub builtins: &'a Builtins,
}

impl Resolver<'_> {
    /// Reads the bytes of the source at `field` (e.g. `spec.object`).
    pub fn read(
        &self,
        source: Result<SourceRef<'_>, NotOneSource>,
        field: &str,
    ) -> Result<Vec<u8>, ManifestError> {
        match one_of(source, self.at, field)? {
            SourceRef::Path(path) => self.read_file(path, &format!("{field}.path")),
            SourceRef::Inline(text) => decode_base64(text, self.at, &format!("{field}.inline")),
            SourceRef::ConfigMapKeyRef(key_ref) => {
                self.read_config_map(key_ref, &format!("{field}.configMapKeyRef"))
            }
            SourceRef::Builtin(name) => {
                self.builtins
                    .read(name, self.at, &format!("{field}.builtin"))
            }
        }
    }

    /// Reads a `path` source. A cluster resource's path is opened with
    /// cap-std inside the agent's source directory, so no absolute path,
    /// `..` or symlink leads out of it; a manifest file's path is read as
    /// its author wrote it (they already pick the files), symlinks and all.
    fn read_file(&self, path: &str, field: &str) -> Result<Vec<u8>, ManifestError> {
        confined(path, self.at, field)?;
        let full = self.base_dir.join(path);
        let read = if matches!(self.at, Location::Resource { .. }) {
            read_inside(self.base_dir, Path::new(path))
        } else {
            read_ambient(&full)
        };
        let (at, field) = (self.at.boxed(), field.to_owned());
        read.map_err(|failure| match failure {
            FileFailure::NotFound => ManifestError::SourceNotFound {
                at,
                field,
                path: full,
            },
            FileFailure::NotAFile => ManifestError::SourceNotAFile {
                at,
                field,
                path: full,
            },
            FileFailure::Escapes => ManifestError::SourceOutsideDir {
                at,
                field,
                path: path.to_owned(),
            },
            FileFailure::Io(error) => ManifestError::SourceRead {
                at,
                field,
                path: full,
                error,
            },
        })
    }

    fn read_config_map(
        &self,
        key_ref: &ConfigMapKeyRef,
        field: &str,
    ) -> Result<Vec<u8>, ManifestError> {
        let Some(data) = self.config_maps.get(self.namespace, &key_ref.name) else {
            return Err(ManifestError::ConfigMapNotFound {
                at: self.at.boxed(),
                field: field.to_owned(),
                namespace: self.namespace.to_owned(),
                name: key_ref.name.clone(),
            });
        };
        data.get(&key_ref.key)
            .cloned()
            .ok_or_else(|| ManifestError::ConfigMapKeyNotFound {
                at: self.at.boxed(),
                field: field.to_owned(),
                namespace: self.namespace.to_owned(),
                name: key_ref.name.clone(),
                key: key_ref.key.clone(),
            })
    }
}

/// Why a `path` source could not be read.
enum FileFailure {
    NotFound,
    NotAFile,
    /// Out of the source directory (a symlink that leads out).
    Escapes,
    Io(io::Error),
}

impl From<io::Error> for FileFailure {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::NotFound {
            Self::NotFound
        } else {
            Self::Io(error)
        }
    }
}

/// `relative` inside `root`, through cap-std (which refuses, as
/// `PermissionDenied`, any path or symlink that leads out of `root`).
fn read_inside(root: &Path, relative: &Path) -> Result<Vec<u8>, FileFailure> {
    let escapes = |error: io::Error| match error.kind() {
        io::ErrorKind::PermissionDenied => FileFailure::Escapes,
        _ => FileFailure::from(error),
    };
    let dir = Dir::open_ambient_dir(root, ambient_authority())?;
    if !dir.metadata(relative).map_err(escapes)?.is_file() {
        return Err(FileFailure::NotAFile);
    }
    dir.read(relative).map_err(escapes)
}

/// `path` as the process sees it.
fn read_ambient(path: &Path) -> Result<Vec<u8>, FileFailure> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(FileFailure::NotAFile);
    }
    Ok(std::fs::read(path)?)
}

/// A cluster resource may only name files inside the agent's source
/// directory: no absolute path, no `..`. (In file mode whoever writes the
/// manifest already chooses the files, so any path goes.)
fn confined(path: &str, at: &Location, field: &str) -> Result<(), ManifestError> {
    let escapes = Path::new(path)
        .components()
        .any(|part| !matches!(part, Component::Normal(_) | Component::CurDir));
    if escapes && matches!(at, Location::Resource { .. }) {
        Err(ManifestError::SourceOutsideDir {
            at: at.boxed(),
            field: field.to_owned(),
            path: path.to_owned(),
        })
    } else {
        Ok(())
    }
}

/// Maps "not exactly one field set" to [`ManifestError::ExactlyOne`].
fn one_of<'a>(
    source: Result<SourceRef<'a>, NotOneSource>,
    at: &Location,
    field: &str,
) -> Result<SourceRef<'a>, ManifestError> {
    source.map_err(|error| ManifestError::ExactlyOne {
        at: at.boxed(),
        field: field.to_owned(),
        choices: error.choices,
        found: error.found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_resources_path_cannot_leave_the_source_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.bpf.o"), b"object").expect("write");
        let outside = tempfile::NamedTempFile::new().expect("tempfile");
        std::fs::write(outside.path(), b"secret").expect("write");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape.bpf.o"))
            .expect("symlink");
        let config_maps = ConfigMaps::new();
        let builtins = Builtins::none();
        let resource = Location::Resource {
            kind: "BpfExporter",
            namespace: "ns".into(),
            name: "x".into(),
        };
        let file = Location::File(dir.path().join("x.yaml"));
        let resolver = |at| Resolver {
            at,
            base_dir: dir.path(),
            namespace: "ns",
            config_maps: &config_maps,
            builtins: &builtins,
        };
        let read = |at, path| resolver(at).read(Ok(SourceRef::Path(path)), "spec.object");
        assert_eq!(read(&resource, "a.bpf.o").expect("inside"), b"object");
        for escape in ["escape.bpf.o", "../a.bpf.o", "/etc/hostname"] {
            let error = read(&resource, escape).expect_err(escape);
            assert!(
                matches!(error, ManifestError::SourceOutsideDir { .. }),
                "{escape}: {error}"
            );
        }
        // A manifest file's author already picks the files: any path goes.
        assert_eq!(read(&file, "escape.bpf.o").expect("file mode"), b"secret");
        let missing = read(&resource, "missing.bpf.o").expect_err("missing");
        assert!(
            matches!(missing, ManifestError::SourceNotFound { .. }),
            "{missing}"
        );
    }

    #[test]
    fn selects_the_one_set_field() {
        let source = Source {
            path: Some("a.o".into()),
            ..Source::default()
        };
        assert_eq!(source.source_ref(), Ok(SourceRef::Path("a.o")));
        let both = Source {
            path: Some("a.o".into()),
            inline: Some(String::new()),
            ..Source::default()
        };
        assert_eq!(
            both.source_ref().map_err(|e| e.found),
            Err(vec!["path", "inline"])
        );
        assert_eq!(
            Source::default().source_ref().map_err(|e| e.found),
            Err(vec![])
        );
    }

    #[test]
    fn a_decoder_may_be_builtin_instead() {
        let builtin = DecoderSpec {
            builtin: Some("ebpf-exporter".into()),
            ..DecoderSpec::default()
        };
        assert_eq!(
            builtin.source_ref(),
            Ok(SourceRef::Builtin("ebpf-exporter"))
        );
        let both = DecoderSpec {
            path: Some("d.wasm".into()),
            ..builtin
        };
        let error = both.source_ref().expect_err("two sources");
        assert_eq!(error.found, ["path", "builtin"]);
        assert_eq!(error.choices, DECODER_SOURCE_FIELDS);
    }
}
