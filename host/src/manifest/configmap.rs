//! `ConfigMap`s that `configMapKeyRef` sources read from.
//!
//! In file mode they are `kind: ConfigMap` documents next to the exporters;
//! in Kubernetes mode the caller fills a [`ConfigMaps`] from the API.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::encoding::decode_base64;
use super::error::{Location, ManifestError};
use super::spec::ObjectMeta;

/// The namespace of a resource that does not name one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A `v1` `ConfigMap` document, as far as bpfhost reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMap {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    /// UTF-8 values.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// Base64-encoded binary values.
    #[serde(default)]
    pub binary_data: BTreeMap<String, String>,
    #[serde(default)]
    pub immutable: Option<bool>,
}

impl ConfigMap {
    /// The keys and their bytes: `data` as UTF-8, `binaryData` decoded.
    pub fn decode(&self, at: &Location) -> Result<BTreeMap<String, Vec<u8>>, ManifestError> {
        let mut entries: BTreeMap<String, Vec<u8>> = self
            .data
            .iter()
            .map(|(key, value)| (key.clone(), value.clone().into_bytes()))
            .collect();
        for (key, text) in &self.binary_data {
            let bytes = decode_base64(text, at, &format!("binaryData.{key}"))?;
            if entries.insert(key.clone(), bytes).is_some() {
                return Err(ManifestError::ConfigMapKeyConflict {
                    at: at.boxed(),
                    key: key.clone(),
                });
            }
        }
        Ok(entries)
    }
}

/// One stored `ConfigMap`.
#[derive(Debug, Clone)]
struct Entry {
    data: BTreeMap<String, Vec<u8>>,
    location: Location,
}

/// `ConfigMap`s by namespace and name.
#[derive(Debug, Clone, Default)]
pub struct ConfigMaps {
    maps: BTreeMap<(String, String), Entry>,
}

impl ConfigMaps {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a `ConfigMap`'s keys. An absent namespace means `default`.
    ///
    /// When one of that namespace and name is already present it is kept
    /// and the location of the first is returned.
    pub fn insert(
        &mut self,
        namespace: Option<&str>,
        name: &str,
        data: BTreeMap<String, Vec<u8>>,
        location: Location,
    ) -> Result<(), Location> {
        let key = (
            namespace.unwrap_or(DEFAULT_NAMESPACE).to_owned(),
            name.to_owned(),
        );
        if let Some(first) = self.maps.get(&key) {
            return Err(first.location.clone());
        }
        self.maps.insert(key, Entry { data, location });
        Ok(())
    }

    /// The keys of one `ConfigMap`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        self.maps
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|entry| &entry.data)
    }

    /// How many `ConfigMap`s are held.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether no `ConfigMap` is held.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn data_and_binary_data_become_bytes() {
        let map: ConfigMap = serde_yaml::from_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elf}\n\
             data: {cfg: '{}'}\nbinaryData: {a.o: aGVsbG8=}\n",
        )
        .expect("valid configmap");
        let at = Location::File(PathBuf::from("cm.yaml"));
        let data = map.decode(&at).expect("decodes");
        assert_eq!(data["cfg"], b"{}");
        assert_eq!(data["a.o"], b"hello");
    }

    #[test]
    fn absent_namespace_is_default_and_duplicates_keep_the_first() {
        let first = Location::File(PathBuf::from("a.yaml"));
        let mut maps = ConfigMaps::new();
        maps.insert(None, "elf", BTreeMap::new(), first.clone())
            .expect("first insert");
        assert!(maps.get("default", "elf").is_some());
        let again = maps.insert(
            Some("default"),
            "elf",
            BTreeMap::new(),
            Location::File(PathBuf::from("b.yaml")),
        );
        assert_eq!(again, Err(first));
        assert_eq!(maps.len(), 1);
    }
}
