//! The document as `ebpf_exporter`'s `config.Config` declares it, for serde.
//!
//! A YAML `key:` with nothing after it is null, which `ebpf_exporter`
//! reads as the zero value: so does `nullable`. Unknown fields are
//! refused.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDocument {
    /// `ebpf_exporter` takes the name from the file name; accepted and unused.
    #[serde(default, rename = "name")]
    pub(super) _name: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) metrics: RawMetrics,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) tracing: RawTracing,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) kaddrs: Vec<String>,
    #[serde(default)]
    pub(super) cgroup_id_map: Option<Value>,
    /// Not `ebpf_exporter`'s: this decoder's own settings.
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bpfhost: Bpfhost,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    #[serde(default)]
    pub(super) counters: Option<Vec<Value>>,
    #[serde(default)]
    pub(super) histograms: Option<Vec<Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTracing {
    #[serde(default)]
    pub(super) spans: Option<Vec<Value>>,
}

/// `bpfhost:` in the config document: what `ebpf_exporter` has no field for.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Bpfhost {
    /// Prepended to every metric name; `ebpf_exporter_` by default.
    #[serde(default)]
    pub(super) prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounter {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) help: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) perf_event_array: bool,
    /// A Go duration (see `duration`); only `perf_event_array` counters
    /// use it, as in `ebpf_exporter`.
    #[serde(default)]
    pub(super) flush_interval: Value,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) labels: Vec<RawLabel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHistogram {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) help: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bucket_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bucket_multiplier: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bucket_min: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bucket_max: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) bucket_keys: Vec<f64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) labels: Vec<RawLabel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLabel {
    #[serde(default, deserialize_with = "nullable")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) size: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) padding: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub(super) decoders: Vec<RawDecoder>,
}

/// One entry of a label's `decoders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecoder {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `None` when absent, which `ebpf_exporter` tells from `{}`.
    #[serde(default)]
    pub static_map: Option<BTreeMap<String, Scalar>>,
    /// `None` when absent, which `ebpf_exporter` tells from `[]`.
    #[serde(default)]
    pub regexps: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub allow_unknown: bool,
}

/// A `static_map` value: `ebpf_exporter` reads YAML scalars as their text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

impl Scalar {
    pub fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Null => String::new(),
        }
    }
}

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
