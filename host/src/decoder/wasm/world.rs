//! The decoder worlds the agent hosts, behind one type.
//!
//! A component names the version of `bpfhost:decoder` it was built for in
//! its imports (`plugin/imports.rs` reads it); [`World`] instantiates the
//! matching bindings and speaks the current version's types to the rest of
//! the agent. Calls into a 0.2 component move the buffers of the current
//! records into 0.2 records and back (no copy of keys, values or labels),
//! so serving an old component costs a few moves per call.

use wasmtime::component::{Component, Linker};
use wasmtime::{AsContextMut, Store};

use super::bindings::types as wit;
use super::bindings::{v0_2, v0_3};

/// The world a component was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// `bpfhost:decoder@0.2.0` or `@0.2.1`: map snapshots only.
    V0_2,
    /// `bpfhost:decoder@0.3.0`: events, `now`.
    V0_3,
}

impl Version {
    /// The world of a component built for `version` of the package, when
    /// the agent hosts it.
    pub fn of(version: &str) -> Option<Self> {
        match version {
            "0.2.0" | "0.2.1" => Some(Self::V0_2),
            "0.3.0" => Some(Self::V0_3),
            _ => None,
        }
    }
}

/// An instantiated component's exports.
pub enum World {
    V0_2(v0_2::Decoder),
    V0_3(v0_3::Decoder),
}

/// What a call into the guest returns: a trap, or the guest's own result.
pub type Call<T> = wasmtime::Result<Result<T, wit::Error>>;

impl World {
    pub fn instantiate<T: 'static>(
        version: Version,
        store: &mut Store<T>,
        component: &Component,
        linker: &Linker<T>,
    ) -> wasmtime::Result<Self> {
        Ok(match version {
            Version::V0_2 => Self::V0_2(v0_2::Decoder::instantiate(store, component, linker)?),
            Version::V0_3 => Self::V0_3(v0_3::Decoder::instantiate(store, component, linker)?),
        })
    }

    pub fn call_init(&self, store: impl AsContextMut, config: &str) -> Call<wit::Spec> {
        match self {
            Self::V0_2(b) => Ok(b
                .call_init(store, config)?
                .map(spec_from_0_2)
                .map_err(error_from_0_2)),
            Self::V0_3(b) => b.call_init(store, config),
        }
    }

    /// Calls `decode`; the snapshots' buffers are back in `maps` on return.
    pub fn call_decode(
        &self,
        store: impl AsContextMut,
        maps: &mut [wit::MapSnapshot],
        now: u64,
    ) -> Call<wit::Output> {
        match self {
            Self::V0_2(b) => {
                let old: Vec<v0_2::types::MapSnapshot> =
                    maps.iter_mut().map(snapshot_to_0_2).collect();
                let result = b.call_decode(store, &old);
                for (map, old) in maps.iter_mut().zip(old) {
                    map.keys = old.keys;
                    map.values = old.values;
                }
                Ok(result?.map(output_from_0_2).map_err(error_from_0_2))
            }
            Self::V0_3(b) => b.call_decode(store, maps, now),
        }
    }

    /// Calls `on-events`. A 0.2 component declares no event sources, so
    /// the host never has a batch for it; one would be refused.
    pub fn call_on_events(&self, store: impl AsContextMut, batch: &wit::EventBatch) -> Call<()> {
        match self {
            Self::V0_2(_) => Ok(Err(wit::Error::Failed(
                "a bpfhost:decoder@0.2 component takes no events".into(),
            ))),
            Self::V0_3(b) => b.call_on_events(store, batch),
        }
    }
}

fn spec_from_0_2(spec: v0_2::types::Spec) -> wit::Spec {
    use v0_2::types::MetricType as Old;
    wit::Spec {
        families: spec
            .families
            .into_iter()
            .map(|f| wit::Family {
                name: f.name,
                help: f.help,
                metric_type: match f.metric_type {
                    Old::Counter => wit::MetricType::Counter,
                    Old::Gauge => wit::MetricType::Gauge,
                    Old::Histogram => wit::MetricType::Histogram,
                },
                unit: f.unit,
                labels: f.labels,
                buckets: f.buckets,
            })
            .collect(),
        maps: spec.maps,
        events: Vec::new(),
    }
}

fn error_from_0_2(e: v0_2::types::Error) -> wit::Error {
    use v0_2::types::Error as Old;
    match e {
        Old::InvalidConfig(m) => wit::Error::InvalidConfig(m),
        Old::BadMap(m) => wit::Error::BadMap(m),
        Old::Failed(m) => wit::Error::Failed(m),
    }
}

/// Moves a snapshot's buffers into a 0.2 record.
fn snapshot_to_0_2(m: &mut wit::MapSnapshot) -> v0_2::types::MapSnapshot {
    use v0_2::types::MapType as Old;
    v0_2::types::MapSnapshot {
        name: m.name.clone(),
        map_type: match m.map_type {
            wit::MapType::Hash => Old::Hash,
            wit::MapType::Array => Old::Array,
            wit::MapType::PercpuHash => Old::PercpuHash,
            wit::MapType::PercpuArray => Old::PercpuArray,
            wit::MapType::LruHash => Old::LruHash,
            wit::MapType::LruPercpuHash => Old::LruPercpuHash,
            wit::MapType::Other => Old::Other,
        },
        key_size: m.key_size,
        value_size: m.value_size,
        entries: m.entries,
        cpus: m.cpus,
        keys: std::mem::take(&mut m.keys),
        values: std::mem::take(&mut m.values),
    }
}

fn output_from_0_2(o: v0_2::types::Output) -> wit::Output {
    let range = |r: v0_2::types::LabelRange| wit::LabelRange {
        first: r.first,
        count: r.count,
    };
    wit::Output {
        label_values: o.label_values,
        label_ends: o.label_ends,
        samples: o
            .samples
            .into_iter()
            .map(|s| wit::Sample {
                family: s.family,
                labels: range(s.labels),
                value: s.value,
            })
            .collect(),
        histograms: o
            .histograms
            .into_iter()
            .map(|h| wit::HistogramSample {
                family: h.family,
                labels: range(h.labels),
                buckets: h.buckets,
                sum: h.sum,
                count: h.count,
            })
            .collect(),
    }
}
