//! Loading manifests from files and directories (`--manifests PATH...`).
//!
//! A path is a YAML file or a directory of them; a file holds any number of
//! `---`-separated documents. `BpfExporter` documents become [`Manifest`]s,
//! `ConfigMap` documents feed `configMapKeyRef` sources, and every problem is
//! collected as a [`ManifestError`] so that one bad document costs only
//! itself.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::configmap::{ConfigMap, ConfigMaps, DEFAULT_NAMESPACE};
use super::error::{Location, ManifestError};
use super::resource::Manifest;
use super::spec::{API_VERSION, BpfExporter, KIND};
use super::validate::check_name;

/// Kind of the `ConfigMap` resource.
const CONFIG_MAP_KIND: &str = "ConfigMap";
/// API version of the `ConfigMap` resource.
const CONFIG_MAP_API_VERSION: &str = "v1";

/// Everything read from a set of manifest paths.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The valid exporters, in path, file and document order.
    pub exporters: Vec<Manifest>,
    /// The `ConfigMap`s, for [`Manifest::object_bytes`] and
    /// [`Manifest::decoder_bytes`].
    pub config_maps: ConfigMaps,
    /// One entry per problem; the documents they are in are skipped.
    pub errors: Vec<ManifestError>,
}

/// Loads every manifest in `paths`: files, and the `*.yaml`/`*.yml` files of
/// directories (sorted by name, not recursive, hidden entries skipped).
///
/// ```no_run
/// use std::path::PathBuf;
///
/// let loaded = bpfhost::manifest::load_paths(&[PathBuf::from("/etc/bpfhost")]);
/// for error in &loaded.errors {
///     eprintln!("{error}");
/// }
/// for manifest in &loaded.exporters {
///     let elf = manifest.object_bytes(&loaded.config_maps);
/// }
/// ```
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut loader = Loader::default();
    for path in paths {
        loader.load_path(path.as_ref());
    }
    loader.loaded
}

/// Loads the documents of `text` as if read from `file` (which is used for
/// locations and as the base of relative `path` sources).
pub fn load_str(file: &Path, text: &str) -> Loaded {
    let mut loader = Loader::default();
    loader.load_text(file, text);
    loader.loaded
}

/// The state of one load: results so far and the names already seen.
#[derive(Debug, Default)]
struct Loader {
    loaded: Loaded,
    /// Where each exporter (by namespace and name) was first defined.
    exporters: BTreeMap<(String, String), Location>,
}

/// The two fields that decide how to read a document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    api_version: String,
    kind: String,
}

impl Loader {
    fn load_path(&mut self, path: &Path) {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => match manifest_files(path) {
                Ok(files) => files.iter().for_each(|file| self.load_file(file)),
                Err(error) => self.fail(read_error(path, error)),
            },
            Ok(_) => self.load_file(path),
            Err(error) => self.fail(read_error(path, error)),
        }
    }

    fn load_file(&mut self, file: &Path) {
        match fs::read_to_string(file) {
            Ok(text) => self.load_text(file, &text),
            Err(error) => self.fail(read_error(file, error)),
        }
    }

    fn load_text(&mut self, file: &Path, text: &str) {
        // serde_yaml (unmaintained) panics on some malformed input (found
        // by the parser fuzzing): that costs the file, never the agent.
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.load_documents(file, text);
        }));
        if loaded.is_err() {
            self.fail(ManifestError::InvalidFormat {
                at: Box::new(Location::File(file.to_owned())),
                field: "(document)".to_owned(),
                value: String::new(),
                expected: "YAML the parser can read (it failed inside on this file)",
            });
        }
    }

    fn load_documents(&mut self, file: &Path, text: &str) {
        let mut last_error = None;
        for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let at = Location::Document {
                file: file.to_owned(),
                document: index + 1,
            };
            match Value::deserialize(document) {
                Ok(value) => self.load_document(file, at, &value),
                Err(error) => {
                    // After a document-level error (a duplicate key) the next
                    // document parses; after a broken token stream the parser
                    // repeats the same error for ever, so stop there.
                    let message = error.to_string();
                    if last_error.as_ref() == Some(&message) {
                        break;
                    }
                    last_error = Some(message);
                    let location = error.location();
                    self.fail(ManifestError::Syntax {
                        at: Box::new(at),
                        line: location.as_ref().map(serde_yaml::Location::line),
                        column: location.as_ref().map(serde_yaml::Location::column),
                        error,
                    });
                }
            }
        }
    }

    fn load_document(&mut self, file: &Path, at: Location, value: &Value) {
        match value {
            // An empty document, e.g. after a trailing `---`.
            Value::Null => return,
            Value::Mapping(_) => {}
            _ => return self.fail(ManifestError::NotAMapping { at: Box::new(at) }),
        }
        let value = match to_json(value, &at) {
            Ok(value) => value,
            Err(error) => return self.fail(error),
        };
        let value = &value;
        let meta: TypeMeta = match parse(value, &at) {
            Ok(meta) => meta,
            Err(error) => return self.fail(error),
        };
        let expected = match meta.kind.as_str() {
            KIND => API_VERSION,
            CONFIG_MAP_KIND => CONFIG_MAP_API_VERSION,
            _ => {
                return self.fail(ManifestError::UnsupportedKind {
                    at: Box::new(at),
                    api_version: meta.api_version,
                    kind: meta.kind,
                });
            }
        };
        if meta.api_version != expected {
            return self.fail(ManifestError::WrongApiVersion {
                at: Box::new(at),
                kind: meta.kind,
                expected,
                found: meta.api_version,
            });
        }
        if meta.kind == KIND {
            self.load_exporter(file, at, value);
        } else {
            self.load_config_map(at, value);
        }
    }

    fn load_exporter(&mut self, file: &Path, at: Location, value: &serde_json::Value) {
        let exporter: BpfExporter = match parse(value, &at) {
            Ok(exporter) => exporter,
            Err(error) => return self.fail(error),
        };
        let base_dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let manifest = match Manifest::checked(exporter, at, base_dir) {
            Ok(manifest) => manifest,
            Err(errors) => return self.loaded.errors.extend(errors),
        };
        let key = (manifest.namespace().to_owned(), manifest.name().to_owned());
        if let Some(first) = self.exporters.get(&key) {
            let (namespace, name) = key;
            return self.fail(ManifestError::DuplicateResource {
                at: Box::new(manifest.location),
                kind: KIND,
                namespace,
                name,
                first: first.boxed(),
            });
        }
        self.exporters.insert(key, manifest.location.clone());
        self.loaded.exporters.push(manifest);
    }

    fn load_config_map(&mut self, at: Location, value: &serde_json::Value) {
        let map: ConfigMap = match parse(value, &at) {
            Ok(map) => map,
            Err(error) => return self.fail(error),
        };
        if let Some(error) = check_name(&map.metadata.name, &at, "metadata.name") {
            return self.fail(error);
        }
        let data = match map.decode(&at) {
            Ok(data) => data,
            Err(error) => return self.fail(error),
        };
        let namespace = map.metadata.namespace.as_deref();
        let name = &map.metadata.name;
        if let Err(first) = self
            .loaded
            .config_maps
            .insert(namespace, name, data, at.clone())
        {
            self.fail(ManifestError::DuplicateResource {
                at: Box::new(at),
                kind: CONFIG_MAP_KIND,
                namespace: namespace.unwrap_or(DEFAULT_NAMESPACE).to_owned(),
                name: name.clone(),
                first: Box::new(first),
            });
        }
    }

    fn fail(&mut self, error: ManifestError) {
        self.loaded.errors.push(error);
    }
}

/// Deserializes `value` as `T`, naming the failing field.
fn parse<T: DeserializeOwned>(
    value: &serde_json::Value,
    at: &Location,
) -> Result<T, ManifestError> {
    serde_path_to_error::deserialize(value)
        .map_err(|error| ManifestError::schema(at.boxed(), &error))
}

/// The document as JSON, the form the Kubernetes API stores: enums are
/// singleton maps (`attach: {kprobe: ...}`), as in a cluster, rather than
/// `serde_yaml`'s `!tags`.
fn to_json(value: &Value, at: &Location) -> Result<serde_json::Value, ManifestError> {
    serde_json::to_value(value).map_err(|error| ManifestError::Schema {
        at: at.boxed(),
        field: String::new(),
        message: error.to_string(),
    })
}

/// The `*.yaml` and `*.yml` files directly in `dir`, sorted. Hidden entries
/// (such as the `..data` links of a mounted `ConfigMap`) are skipped; symbolic
/// links to files are followed.
fn manifest_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        let yaml = path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if !hidden && yaml && fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// An error reading a manifest path; "does not exist" gets its own variant.
fn read_error(path: &Path, error: io::Error) -> ManifestError {
    if error.kind() == io::ErrorKind::NotFound {
        ManifestError::PathNotFound {
            path: path.to_owned(),
        }
    } else {
        ManifestError::Read {
            path: path.to_owned(),
            error,
        }
    }
}
