//! Conversions between the generated WIT types and the agent's own.

use std::sync::Arc;

use super::bindings::types as wit;
use crate::decoder::output::Row;
use crate::decoder::{Declaration, DecodeError, EventSource, PluginErrorKind};
use crate::maps::{MapSnapshot, MapType};
use crate::metrics::{Family, LabelPool, Labels, MetricType, Value};

pub fn spec(spec: wit::Spec) -> Declaration {
    Declaration {
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
        events: spec
            .events
            .into_iter()
            .map(|e| EventSource {
                map: e.name,
                min_record_size: e.min_record_size,
            })
            .collect(),
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

/// The rows of one decode's output, each row's label values a range of the
/// output's shared buffer (moved into a [`LabelPool`], not copied). Rows
/// whose labels do not resolve are skipped and counted in `malformed`.
pub struct Rows {
    pool: Arc<LabelPool>,
    samples: std::vec::IntoIter<wit::Sample>,
    histograms: std::vec::IntoIter<wit::HistogramSample>,
    /// Rows skipped so far.
    pub malformed: u64,
}

impl Rows {
    pub fn new(output: wit::Output) -> Self {
        Self {
            pool: LabelPool::new(output.label_values, output.label_ends),
            samples: output.samples.into_iter(),
            histograms: output.histograms.into_iter(),
            malformed: 0,
        }
    }

    fn labels(&self, range: wit::LabelRange) -> Option<Labels> {
        Labels::from_pool(&self.pool, range.first as usize, range.count as usize)
    }
}

impl Iterator for Rows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        while let Some(s) = self.samples.next() {
            match self.labels(s.labels) {
                Some(labels) => {
                    return Some(Row {
                        family: s.family,
                        labels,
                        value: Value::Number(s.value),
                    });
                }
                None => self.malformed += 1,
            }
        }
        while let Some(h) = self.histograms.next() {
            match self.labels(h.labels) {
                Some(labels) => {
                    return Some(Row {
                        family: h.family,
                        labels,
                        value: Value::Histogram {
                            buckets: h.buckets,
                            sum: h.sum,
                            count: h.count,
                        },
                    });
                }
                None => self.malformed += 1,
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.samples.len() + self.histograms.len();
        (0, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(family: u32, first: u32, count: u32, value: f64) -> wit::Sample {
        wit::Sample {
            family,
            labels: wit::LabelRange { first, count },
            value,
        }
    }

    #[test]
    fn rows_take_their_labels_from_the_shared_buffer_and_bad_ranges_are_malformed() {
        let output = wit::Output {
            label_values: "10.0.0.1443tcpé".into(),
            label_ends: vec![8, 11, 14, 16, 15],
            samples: vec![
                sample(0, 0, 3, 1.0),
                sample(1, 0, 3, 2.0),
                sample(0, 2, 2, 3.0),
                sample(0, 1, 9, 4.0),
                sample(0, 3, 2, 5.0),
                sample(2, 0, 0, 6.0),
            ],
            histograms: vec![wit::HistogramSample {
                family: 3,
                labels: wit::LabelRange { first: 3, count: 1 },
                buckets: vec![1, 2],
                sum: 0.5,
                count: 2,
            }],
        };
        let mut rows = Rows::new(output);
        let got: Vec<(u32, Vec<String>, Value)> = (&mut rows)
            .map(|r| {
                (
                    r.family,
                    r.labels.iter().map(str::to_owned).collect(),
                    r.value,
                )
            })
            .collect();
        let strings = |v: &[&str]| v.iter().map(|&s| s.to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                (0, strings(&["10.0.0.1", "443", "tcp"]), Value::Number(1.0)),
                (1, strings(&["10.0.0.1", "443", "tcp"]), Value::Number(2.0)),
                (0, strings(&["tcp", "é"]), Value::Number(3.0)),
                (2, strings(&[]), Value::Number(6.0)),
                (
                    3,
                    strings(&["é"]),
                    Value::Histogram {
                        buckets: vec![1, 2],
                        sum: 0.5,
                        count: 2
                    }
                ),
            ]
        );
        // Past the last value; an end before its start (and inside `é`).
        assert_eq!(rows.malformed, 2);
    }
}
