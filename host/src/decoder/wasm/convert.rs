//! Conversions between the generated WIT types and the agent's own.

use std::sync::Arc;

use super::bindings::types as wit;
use crate::decoder::output::Row;
use crate::decoder::{DecodeError, DecoderSpec, PluginErrorKind};
use crate::maps::{MapSnapshot, MapType};
use crate::metrics::{Family, MetricType, Value};

pub fn spec(spec: wit::Spec) -> DecoderSpec {
    DecoderSpec {
        families: spec
            .families
            .into_iter()
            .map(|f| {
                Arc::new(Family {
                    name: f.name,
                    help: f.help,
                    metric_type: match f.metric_type {
                        wit::MetricType::Counter => MetricType::Counter,
                        wit::MetricType::Gauge => MetricType::Gauge,
                        wit::MetricType::Histogram => MetricType::Histogram,
                    },
                    unit: f.unit,
                    labels: f.labels,
                    buckets: f.buckets,
                })
            })
            .collect(),
        maps: spec.maps,
    }
}

pub fn plugin_error(e: wit::Error) -> DecodeError {
    let (kind, message) = match e {
        wit::Error::InvalidConfig(m) => (PluginErrorKind::InvalidConfig, m),
        wit::Error::BadMap(m) => (PluginErrorKind::BadMap, m),
        wit::Error::Failed(m) => (PluginErrorKind::Failed, m),
    };
    DecodeError::Plugin { kind, message }
}

fn map_type(t: Option<MapType>) -> wit::MapType {
    match t {
        Some(MapType::Hash) => wit::MapType::Hash,
        Some(MapType::Array) => wit::MapType::Array,
        Some(MapType::PerCpuHash) => wit::MapType::PercpuHash,
        Some(MapType::PerCpuArray) => wit::MapType::PercpuArray,
        Some(MapType::LruHash) => wit::MapType::LruHash,
        Some(MapType::LruPerCpuHash) => wit::MapType::LruPercpuHash,
        Some(MapType::Other(_)) | None => wit::MapType::Other,
    }
}

/// Moves the snapshots' buffers into WIT records (no copy).
pub fn take_snapshots(maps: &mut [MapSnapshot]) -> Vec<wit::MapSnapshot> {
    maps.iter_mut()
        .map(|m| wit::MapSnapshot {
            name: m.name.clone(),
            map_type: map_type(m.map_type),
            key_size: m.key_size,
            value_size: m.value_size,
            entries: m.entries,
            cpus: m.cpus,
            keys: std::mem::take(&mut m.keys),
            values: std::mem::take(&mut m.values),
        })
        .collect()
}

/// Moves the buffers back so they are reused by the next read.
pub fn restore_snapshots(maps: &mut [MapSnapshot], wit: Vec<wit::MapSnapshot>) {
    for (m, w) in maps.iter_mut().zip(wit) {
        m.keys = w.keys;
        m.values = w.values;
    }
}

pub fn rows(output: wit::Output) -> impl Iterator<Item = Row> {
    let samples = output.samples.into_iter().map(|s| Row {
        family: s.family,
        labels: s.labels,
        value: Value::Number(s.value),
    });
    let histograms = output.histograms.into_iter().map(|h| Row {
        family: h.family,
        labels: h.labels,
        value: Value::Histogram {
            buckets: h.buckets,
            sum: h.sum,
            count: h.count,
        },
    });
    samples.chain(histograms)
}
