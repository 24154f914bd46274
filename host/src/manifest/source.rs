//! Byte sources (`path`, `inline`, `configMapKeyRef`, and for a decoder
//! `builtin`): choosing one and reading its bytes.

use std::fs;
use std::io;
use std::path::{Component, Path};

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

    fn read_file(&self, path: &str, field: &str) -> Result<Vec<u8>, ManifestError> {
        confined(path, self.at, field)?;
        let path = self.base_dir.join(path);
        let field = field.to_owned();
        let at = self.at.boxed();
        match fs::metadata(&path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ManifestError::SourceNotFound { at, field, path });
            }
            Err(error) => {
                return Err(ManifestError::SourceRead {
                    at,
                    field,
                    path,
                    error,
                });
            }
            Ok(meta) if !meta.is_file() => {
                return Err(ManifestError::SourceNotAFile { at, field, path });
            }
            Ok(_) => {}
        }
        fs::read(&path).map_err(|error| ManifestError::SourceRead {
            at,
            field,
            path,
            error,
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
