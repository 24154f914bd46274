//! The agent's own metrics, under `bpfhost_`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::decoder::TrapKind;
use crate::decoder::validate::DropReason;
use crate::metrics::{Family, FamilySamples, MetricType, Series, Value};

/// What one exporter's collection looked like.
#[derive(Debug, Clone, Default)]
pub struct ExporterReport {
    pub exporter: String,
    pub up: bool,
    pub decode_error: bool,
    pub dropped: [u64; DropReason::ALL.len()],
    pub programs_attached: usize,
    pub duration: Duration,
    pub map_entries: Vec<(String, u32)>,
    /// The kind of trap the decoder hit in this collection, if any.
    pub trap: Option<TrapKind>,
    /// Whether the decoder is quarantined after repeated traps.
    pub quarantined: bool,
}

impl ExporterReport {
    /// A report for `exporter` that is down until told otherwise.
    pub fn new(exporter: &str) -> Self {
        Self {
            exporter: exporter.to_owned(),
            ..Self::default()
        }
    }
}

/// Counters that accumulate across scrapes, per exporter.
#[derive(Debug, Default)]
pub struct SelfMetrics {
    decode_errors: BTreeMap<String, u64>,
    dropped: BTreeMap<(String, DropReason), u64>,
    traps: BTreeMap<(String, &'static str), u64>,
}

fn family(name: &str, help: &str, metric_type: MetricType, labels: &[&str]) -> Arc<Family> {
    Arc::new(Family {
        name: name.into(),
        help: help.into(),
        metric_type,
        unit: String::new(),
        labels: labels.iter().map(|&l| l.into()).collect(),
        buckets: Vec::new(),
    })
}

fn series(labels: &[&str], value: f64) -> Series {
    Series {
        labels: labels.iter().map(|&l| l.into()).collect(),
        value: Value::Number(value),
    }
}

impl SelfMetrics {
    /// Folds one scrape's reports into the counters and renders every
    /// self-metric family.
    pub fn record(
        &mut self,
        reports: &[ExporterReport],
        manifest_errors: usize,
    ) -> Vec<FamilySamples> {
        for r in reports {
            *self.decode_errors.entry(r.exporter.clone()).or_default() += u64::from(r.decode_error);
            if let Some(kind) = r.trap {
                *self
                    .traps
                    .entry((r.exporter.clone(), kind.as_str()))
                    .or_default() += 1;
            }
            for reason in DropReason::ALL {
                *self
                    .dropped
                    .entry((r.exporter.clone(), reason))
                    .or_default() += r.dropped[reason as usize];
            }
        }
        let per_exporter =
            |name: &str, help: &str, metric_type, value: &dyn Fn(&ExporterReport) -> f64| {
                FamilySamples {
                    family: family(name, help, metric_type, &["exporter"]),
                    series: reports
                        .iter()
                        .map(|r| series(&[&r.exporter], value(r)))
                        .collect(),
                }
            };
        let mut out = vec![
            per_exporter(
                "bpfhost_exporter_up",
                "Whether the exporter's last collection succeeded (1) or not (0).",
                MetricType::Gauge,
                &|r| f64::from(u8::from(r.up)),
            ),
            per_exporter(
                "bpfhost_exporter_collect_duration_seconds",
                "Time the exporter's last collection took: map reads and decoding.",
                MetricType::Gauge,
                &|r| r.duration.as_secs_f64(),
            ),
            per_exporter(
                "bpfhost_exporter_programs_attached",
                "Programs of the exporter's object attached to the kernel.",
                MetricType::Gauge,
                &|r| r.programs_attached as f64,
            ),
            per_exporter(
                "bpfhost_exporter_decode_errors",
                "Collections of the exporter that failed to read or decode its maps.",
                MetricType::Counter,
                &|r| self.decode_errors.get(&r.exporter).copied().unwrap_or(0) as f64,
            ),
        ];
        out.extend(self.sandbox(reports));
        out.push(FamilySamples {
            family: family(
                "bpfhost_exporter_dropped_series",
                "Series the exporter's decoder returned that were dropped, by reason.",
                MetricType::Counter,
                &["exporter", "reason"],
            ),
            series: reports
                .iter()
                .flat_map(|r| {
                    DropReason::ALL.iter().map(|&reason| {
                        let total = self
                            .dropped
                            .get(&(r.exporter.clone(), reason))
                            .copied()
                            .unwrap_or(0);
                        series(&[&r.exporter, reason.as_str()], total as f64)
                    })
                })
                .collect(),
        });
        out.push(FamilySamples {
            family: family(
                "bpfhost_exporter_map_entries",
                "Entries read from each map at the last collection.",
                MetricType::Gauge,
                &["exporter", "map"],
            ),
            series: reports
                .iter()
                .flat_map(|r| {
                    r.map_entries
                        .iter()
                        .map(|(m, n)| series(&[&r.exporter, m], f64::from(*n)))
                })
                .collect(),
        });
        out.push(FamilySamples {
            family: family(
                "bpfhost_manifest_errors",
                "Manifest documents that could not be turned into an exporter (see /status).",
                MetricType::Gauge,
                &[],
            ),
            series: vec![series(&[], manifest_errors as f64)],
        });
        out.push(FamilySamples {
            family: family(
                "bpfhost_build_info",
                "bpfhost version.",
                MetricType::Gauge,
                &["version"],
            ),
            series: vec![series(&[env!("CARGO_PKG_VERSION")], 1.0)],
        });
        out
    }

    /// Families about the wasm sandbox: traps by kind, quarantine.
    fn sandbox(&self, reports: &[ExporterReport]) -> [FamilySamples; 2] {
        [
            FamilySamples {
                family: family(
                    "bpfhost_plugin_traps",
                    "Traps of the exporter's decoder plugin, by kind.",
                    MetricType::Counter,
                    &["exporter", "kind"],
                ),
                series: self
                    .traps
                    .iter()
                    .filter(|((exporter, _), _)| reports.iter().any(|r| &r.exporter == exporter))
                    .map(|((exporter, kind), n)| series(&[exporter, kind], *n as f64))
                    .collect(),
            },
            FamilySamples {
                family: family(
                    "bpfhost_plugin_quarantined",
                    "Whether the exporter's decoder is quarantined after trapping too often in a row.",
                    MetricType::Gauge,
                    &["exporter"],
                ),
                series: reports
                    .iter()
                    .map(|r| series(&[&r.exporter], f64::from(u8::from(r.quarantined))))
                    .collect(),
            },
        ]
    }
}
