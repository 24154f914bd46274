//! Map dumps: snapshots written as JSON, one hex key and value per entry,
//! so a decoder can be run offline on what a live exporter read
//! (`bpfhost plugin test --dump`), and a plugin author can read and edit
//! the bytes by hand.
//!
//! ```json
//! {"format": 1, "exporter": "writes", "maps": [
//!   {"name": "writes_by_process", "type": "hash", "keySize": 20,
//!    "valueSize": 8, "cpus": 1,
//!    "entries": [{"key": "2a000000736800...", "value": "3200000000000000"}]}
//! ]}
//! ```
//!
//! A per-CPU map's `value` holds every CPU's slot, each padded to 8 bytes,
//! CPU 0 first: the layout decoders receive.

use serde::{Deserialize, Serialize};

use super::{MapSnapshot, MapType};

/// The dump format version this agent writes and reads.
pub const FORMAT: u32 = 1;

/// Snapshots of an exporter's maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dump {
    pub format: u32,
    /// The exporter the maps were read from, for the reader's information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<String>,
    pub maps: Vec<DumpedMap>,
}

/// One map of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DumpedMap {
    pub name: String,
    /// `hash`, `array`, `percpu_hash`, `percpu_array`, `lru_hash`,
    /// `lru_percpu_hash`, or the kernel's number for any other type.
    #[serde(rename = "type")]
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    #[serde(default = "one")]
    pub cpus: u32,
    pub entries: Vec<DumpedEntry>,
}

fn one() -> u32 {
    1
}

/// One entry, as hex bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpedEntry {
    pub key: String,
    pub value: String,
}

/// Why a dump cannot be turned into snapshots.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("dump format {found} is not supported (this agent reads format {FORMAT})")]
    Format { found: u32 },
    #[error("map {map}: unknown map type `{found}`")]
    MapType { map: String, found: String },
    #[error("map {map}, entry {entry}: {field} is not hex")]
    Hex {
        map: String,
        entry: usize,
        field: &'static str,
        #[source]
        source: hex::FromHexError,
    },
    #[error("map {map}, entry {entry}: {field} has {found} bytes, expected {expected}")]
    Size {
        map: String,
        entry: usize,
        field: &'static str,
        found: usize,
        expected: usize,
    },
}

const TYPE_NAMES: [(MapType, &str); 6] = [
    (MapType::Hash, "hash"),
    (MapType::Array, "array"),
    (MapType::PerCpuHash, "percpu_hash"),
    (MapType::PerCpuArray, "percpu_array"),
    (MapType::LruHash, "lru_hash"),
    (MapType::LruPerCpuHash, "lru_percpu_hash"),
];

fn type_name(map_type: Option<MapType>) -> String {
    let map_type = map_type.unwrap_or(MapType::Hash);
    TYPE_NAMES
        .iter()
        .find(|(t, _)| *t == map_type)
        .map_or_else(|| map_type.to_raw().to_string(), |(_, n)| (*n).to_owned())
}

fn parse_type(map: &str, name: &str) -> Result<MapType, DumpError> {
    TYPE_NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(t, _)| *t)
        .or_else(|| name.parse().ok().map(MapType::from_raw))
        .ok_or_else(|| DumpError::MapType {
            map: map.to_owned(),
            found: name.to_owned(),
        })
}

/// Bytes of one entry's value in a snapshot.
fn value_stride(snapshot: &MapSnapshot) -> usize {
    if snapshot.map_type.is_some_and(MapType::is_per_cpu) {
        snapshot.value_size.next_multiple_of(8) as usize * snapshot.cpus as usize
    } else {
        snapshot.value_size as usize
    }
}

impl Dump {
    /// Records snapshots.
    pub fn from_snapshots(exporter: Option<&str>, snapshots: &[MapSnapshot]) -> Self {
        let maps = snapshots
            .iter()
            .map(|s| {
                let key = s.key_size as usize;
                let value = value_stride(s);
                let entries = (0..s.entries as usize)
                    .map(|i| DumpedEntry {
                        key: hex::encode(&s.keys[i * key..(i + 1) * key]),
                        value: hex::encode(&s.values[i * value..(i + 1) * value]),
                    })
                    .collect();
                DumpedMap {
                    name: s.name.clone(),
                    map_type: type_name(s.map_type),
                    key_size: s.key_size,
                    value_size: s.value_size,
                    cpus: s.cpus.max(1),
                    entries,
                }
            })
            .collect();
        Self {
            format: FORMAT,
            exporter: exporter.map(str::to_owned),
            maps,
        }
    }

    /// The snapshots a decoder receives, checked entry by entry.
    pub fn to_snapshots(&self) -> Result<Vec<MapSnapshot>, DumpError> {
        if self.format != FORMAT {
            return Err(DumpError::Format { found: self.format });
        }
        self.maps.iter().map(snapshot).collect()
    }
}

fn snapshot(map: &DumpedMap) -> Result<MapSnapshot, DumpError> {
    let mut out = MapSnapshot {
        name: map.name.clone(),
        map_type: Some(parse_type(&map.name, &map.map_type)?),
        key_size: map.key_size,
        value_size: map.value_size,
        cpus: map.cpus.max(1),
        entries: u32::try_from(map.entries.len()).unwrap_or(u32::MAX),
        ..MapSnapshot::default()
    };
    let stride = value_stride(&out);
    for (i, entry) in map.entries.iter().enumerate() {
        for (field, text, expected) in [
            ("key", &entry.key, map.key_size as usize),
            ("value", &entry.value, stride),
        ] {
            let bytes = hex::decode(text).map_err(|source| DumpError::Hex {
                map: map.name.clone(),
                entry: i,
                field,
                source,
            })?;
            if bytes.len() != expected {
                return Err(DumpError::Size {
                    map: map.name.clone(),
                    entry: i,
                    field,
                    found: bytes.len(),
                    expected,
                });
            }
            let buffer = if field == "key" {
                &mut out.keys
            } else {
                &mut out.values
            };
            buffer.extend_from_slice(&bytes);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_cpu() -> MapSnapshot {
        MapSnapshot {
            name: "counts".into(),
            map_type: Some(MapType::PerCpuHash),
            key_size: 4,
            value_size: 4,
            cpus: 2,
            entries: 2,
            keys: vec![1, 0, 0, 0, 2, 0, 0, 0],
            // Two entries, two CPUs, 4-byte values padded to 8.
            values: (0u8..32).collect(),
        }
    }

    #[test]
    fn snapshots_round_trip_through_json() {
        let dump = Dump::from_snapshots(Some("demo"), &[per_cpu()]);
        assert_eq!(dump.maps[0].entries[1].key, "02000000");
        assert_eq!(
            dump.maps[0].entries[1].value,
            "101112131415161718191a1b1c1d1e1f"
        );
        let json = serde_json::to_string_pretty(&dump).expect("json");
        let back: Dump = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.to_snapshots().expect("snapshots"), [per_cpu()]);
    }

    #[test]
    fn bad_entries_are_named() {
        let mut dump = Dump::from_snapshots(None, &[per_cpu()]);
        dump.maps[0].entries[1].value.truncate(8);
        let err = dump.to_snapshots().expect_err("short value");
        assert_eq!(
            err.to_string(),
            "map counts, entry 1: value has 4 bytes, expected 16"
        );
        dump.maps[0].entries[0].key = "zz".into();
        let err = dump.to_snapshots().expect_err("not hex");
        assert_eq!(err.to_string(), "map counts, entry 0: key is not hex");
        dump.maps[0].map_type = "ringbuf".into();
        assert_eq!(
            dump.to_snapshots().expect_err("type").to_string(),
            "map counts: unknown map type `ringbuf`"
        );
    }
}
