//! The agent's own metrics, under `bpfhost_`.
//!
//! Counters are folded in once per collection ([`SelfMetrics::observe`]),
//! however many scrapes share that collection; every scrape then renders
//! them for the exporters it covers ([`SelfMetrics::render`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::events::SourceReport;
use super::programs::{ProgramState, ProgramStatus};
use crate::decoder::TrapKind;
use crate::decoder::validate::DropReason;
use crate::loader::ProgramStats;
use crate::metrics::{Family, FamilySamples, Labels, MetricType, Series, Value};

/// What one exporter's collection looked like.
#[derive(Debug, Clone, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about one collection"
)]
pub struct ExporterReport {
    pub exporter: String,
    /// Whether the exporter is loaded (its collection may still fail).
    pub loaded: bool,
    pub up: bool,
    pub decode_error: bool,
    pub dropped: [u64; DropReason::ALL.len()],
    pub programs_attached: usize,
    /// Every program of the object and where it stands.
    pub programs: Vec<ProgramStatus>,
    /// The kernel's view of the loaded programs at this collection.
    pub program_stats: Vec<ProgramStats>,
    /// The whole collection: map reads and decoding.
    pub duration: Duration,
    /// The decoder call alone, when the collection got that far.
    pub decode_duration: Option<Duration>,
    pub map_entries: Vec<(String, u32)>,
    /// The kind of trap the decoder hit in this collection, if any.
    pub trap: Option<TrapKind>,
    /// Whether the decoder is quarantined after repeated traps.
    pub quarantined: bool,
    /// Linear memory of the decoder's sandbox, when it has one running.
    pub memory_bytes: Option<u64>,
    /// Records of each event source since the exporter started.
    pub events: Vec<SourceReport>,
    /// Traps of the event handler by kind since the exporter started.
    pub event_traps: Vec<(TrapKind, u64)>,
    /// The exporter's cgroup id map and its sync errors since it started.
    pub cgroup_id_map: Option<(String, u64)>,
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

/// Upper bounds of the plugin call duration histogram, in seconds.
const CALL_BUCKETS: [f64; 12] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram of plugin call durations.
#[derive(Debug, Clone, Default)]
struct CallHistogram {
    buckets: [u64; CALL_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl CallHistogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(CALL_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// Counters that accumulate across collections, per exporter.
#[derive(Debug, Default)]
pub struct SelfMetrics {
    decode_errors: BTreeMap<String, u64>,
    dropped: BTreeMap<(String, DropReason), u64>,
    traps: BTreeMap<(String, &'static str), u64>,
    calls: BTreeMap<String, CallHistogram>,
    timeouts: BTreeMap<String, u64>,
}

/// A family without unit or buckets.
pub fn family(name: &str, help: &str, metric_type: MetricType, labels: &[&str]) -> Arc<Family> {
    Arc::new(Family {
        name: name.into(),
        help: help.into(),
        metric_type,
        unit: String::new(),
        labels: labels.iter().map(|&l| l.into()).collect(),
        buckets: Vec::new(),
    })
}

/// A series with a numeric value.
pub fn series(labels: &[&str], value: f64) -> Series {
    Series {
        labels: Labels::new(labels),
        value: Value::Number(value),
    }
}

/// One series per exporter of the scrape.
fn per_exporter(
    reports: &[ExporterReport],
    name: &str,
    help: &str,
    metric_type: MetricType,
    value: impl Fn(&ExporterReport) -> f64,
) -> FamilySamples {
    FamilySamples {
        family: family(name, help, metric_type, &["exporter"]),
        series: reports
            .iter()
            .map(|r| series(&[&r.exporter], value(r)))
            .collect(),
    }
}

fn count<K: Ord>(map: &BTreeMap<K, u64>, key: &K) -> f64 {
    map.get(key).copied().unwrap_or(0) as f64
}

/// One series per program of every exporter of the scrape, for the
/// programs `keep` picks.
fn per_program<'a, T: 'a>(
    reports: &'a [ExporterReport],
    programs: impl Fn(&'a ExporterReport) -> &'a [T],
    mut series_of: impl FnMut(&str, &'a T) -> Option<Series>,
) -> Vec<Series> {
    reports
        .iter()
        .flat_map(|r| programs(r).iter().map(move |p| (r.exporter.as_str(), p)))
        .filter_map(|(exporter, p)| series_of(exporter, p))
        .collect()
}

/// Families about each program: attached or not, the kernel's id, tag and
/// type, and (while `kernel.bpf_stats_enabled` is on) its runs.
fn programs(reports: &[ExporterReport]) -> Vec<FamilySamples> {
    let attached = per_program(
        reports,
        |r| &r.programs,
        |exporter, p: &ProgramStatus| {
            p.should_attach().then(|| {
                let value = f64::from(u8::from(p.state == ProgramState::Attached));
                series(&[exporter, &p.name], value)
            })
        },
    );
    let info = per_program(
        reports,
        |r| &r.program_stats,
        |exporter, p: &ProgramStats| {
            let id = p.id.to_string();
            Some(series(
                &[exporter, &p.program, &id, &p.tag, &p.program_type],
                1.0,
            ))
        },
    );
    let runs = per_program(
        reports,
        |r| &r.program_stats,
        |exporter, p: &ProgramStats| Some(series(&[exporter, &p.program], p.run?.count as f64)),
    );
    let run_time = per_program(
        reports,
        |r| &r.program_stats,
        |exporter, p: &ProgramStats| {
            Some(series(&[exporter, &p.program], p.run?.time.as_secs_f64()))
        },
    );
    let mut out = vec![
        FamilySamples {
            family: family(
                "bpfhost_program_attached",
                "Whether each program of the exporter that should attach is attached (1) \
                 or failed to under attachPolicy BestEffort (0; see /status).",
                MetricType::Gauge,
                &["exporter", "program"],
            ),
            series: attached,
        },
        FamilySamples {
            family: family(
                "bpfhost_program_info",
                "Each loaded program of the exporter, with the kernel's id, tag and type.",
                MetricType::Gauge,
                &["exporter", "program", "id", "tag", "type"],
            ),
            series: info,
        },
    ];
    // Only while kernel.bpf_stats_enabled is on: the kernel counts nothing
    // otherwise, and a flat counter would pass for an idle program.
    if !runs.is_empty() {
        out.push(FamilySamples {
            family: family(
                "bpfhost_program_runs",
                "Runs of each loaded program, counted while kernel.bpf_stats_enabled is 1.",
                MetricType::Counter,
                &["exporter", "program"],
            ),
            series: runs,
        });
        out.push(FamilySamples {
            family: family(
                "bpfhost_program_run_seconds",
                "Time each loaded program ran, counted while kernel.bpf_stats_enabled is 1.",
                MetricType::Counter,
                &["exporter", "program"],
            ),
            series: run_time,
        });
    }
    out
}

/// Families about event sources: records received and dropped by reason.
fn events(reports: &[ExporterReport]) -> Vec<FamilySamples> {
    let sources = || {
        reports
            .iter()
            .flat_map(|r| r.events.iter().map(move |s| (r.exporter.as_str(), s)))
    };
    vec![
        FamilySamples {
            family: family(
                "bpfhost_events_received",
                "Records the exporter's event sources (ring buffers, perf event arrays) \
                 delivered, handed to the decoder or dropped.",
                MetricType::Counter,
                &["exporter", "source"],
            ),
            series: sources()
                .map(|(exporter, s)| series(&[exporter, &s.source], s.received as f64))
                .collect(),
        },
        FamilySamples {
            family: family(
                "bpfhost_events_dropped",
                "Records of the exporter's event sources that the decoder never saw, by \
                 reason: queue_full (the decoder fell behind), decoder_down (restarting or \
                 quarantined), decoder_error (it failed the batch), too_short (shorter than \
                 declared), kernel_lost (perf buffer overrun).",
                MetricType::Counter,
                &["exporter", "source", "reason"],
            ),
            series: sources()
                .flat_map(|(exporter, s)| {
                    s.dropped.iter().map(move |(reason, n)| {
                        series(&[exporter, &s.source, reason.as_str()], *n as f64)
                    })
                })
                .collect(),
        },
    ]
}

impl SelfMetrics {
    /// Folds one collection's report into the counters.
    pub fn observe(&mut self, r: &ExporterReport) {
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
        if let Some(call) = r.decode_duration {
            self.calls
                .entry(r.exporter.clone())
                .or_default()
                .observe(call.as_secs_f64());
        }
    }

    /// Collections of `exporter` that failed to read or decode its maps.
    pub fn decode_errors(&self, exporter: &str) -> u64 {
        self.decode_errors.get(exporter).copied().unwrap_or(0)
    }

    /// Counts a scrape that ran out of budget before `exporter` was done.
    pub fn timed_out(&mut self, exporter: &str) {
        *self.timeouts.entry(exporter.to_owned()).or_default() += 1;
    }

    /// Every self-metric family, for the exporters of one scrape.
    pub fn render(&self, reports: &[ExporterReport], manifest_errors: usize) -> Vec<FamilySamples> {
        let mut out = self.exporters(reports);
        out.extend(programs(reports));
        out.extend(self.sandbox(reports));
        out.extend(events(reports));
        out.push(FamilySamples {
            family: family(
                "bpfhost_cgroup_id_map_errors",
                "Errors keeping the exporter's cgroup id map (spec.cgroupIdMap) in sync since it \
                 started: writes the kernel refused, cgroup directories that could not be read \
                 (each is logged).",
                MetricType::Counter,
                &["exporter", "map"],
            ),
            series: reports
                .iter()
                .filter_map(|r| {
                    let (map, errors) = r.cgroup_id_map.as_ref()?;
                    Some(series(&[&r.exporter, map], *errors as f64))
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

    /// Families about exporters: up, durations, programs, errors, maps.
    fn exporters(&self, reports: &[ExporterReport]) -> Vec<FamilySamples> {
        vec![
            per_exporter(
                reports,
                "bpfhost_exporter_up",
                "Whether the exporter's collection for this scrape succeeded (1) or not (0).",
                MetricType::Gauge,
                |r| f64::from(u8::from(r.up)),
            ),
            per_exporter(
                reports,
                "bpfhost_exporter_collect_duration_seconds",
                "Time the exporter's last collection took: map reads and decoding.",
                MetricType::Gauge,
                |r| r.duration.as_secs_f64(),
            ),
            per_exporter(
                reports,
                "bpfhost_exporter_programs_attached",
                "Programs of the exporter's object attached to the kernel.",
                MetricType::Gauge,
                |r| r.programs_attached as f64,
            ),
            per_exporter(
                reports,
                "bpfhost_exporter_decode_errors",
                "Collections of the exporter that failed to read or decode its maps.",
                MetricType::Counter,
                |r| count(&self.decode_errors, &r.exporter),
            ),
            per_exporter(
                reports,
                "bpfhost_exporter_scrape_timeouts",
                "Scrapes whose budget ran out before the exporter's collection was done.",
                MetricType::Counter,
                |r| count(&self.timeouts, &r.exporter),
            ),
            FamilySamples {
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
                            let total = count(&self.dropped, &(r.exporter.clone(), reason));
                            series(&[&r.exporter, reason.as_str()], total)
                        })
                    })
                    .collect(),
            },
            FamilySamples {
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
            },
        ]
    }

    /// Families about the wasm sandbox: call durations, memory, traps by
    /// kind, quarantine.
    fn sandbox(&self, reports: &[ExporterReport]) -> Vec<FamilySamples> {
        let covered = |exporter: &str| reports.iter().any(|r| r.exporter == exporter);
        let calls = FamilySamples {
            family: Arc::new(Family {
                buckets: CALL_BUCKETS.to_vec(),
                ..(*family(
                    "bpfhost_plugin_call_duration_seconds",
                    "Time each call of the exporter's decoder plugin took.",
                    MetricType::Histogram,
                    &["exporter"],
                ))
                .clone()
            }),
            series: self
                .calls
                .iter()
                .filter(|(exporter, _)| covered(exporter))
                .map(|(exporter, h)| Series {
                    labels: Labels::new([exporter]),
                    value: Value::Histogram {
                        buckets: h.buckets.to_vec(),
                        sum: h.sum,
                        count: h.count,
                    },
                })
                .collect(),
        };
        let memory = FamilySamples {
            family: family(
                "bpfhost_plugin_memory_bytes",
                "Linear memory held by the exporter's decoder plugin instance.",
                MetricType::Gauge,
                &["exporter"],
            ),
            series: reports
                .iter()
                .filter_map(|r| Some(series(&[&r.exporter], r.memory_bytes? as f64)))
                .collect(),
        };
        // Traps in scrapes, folded per collection, and in event batches,
        // counted by the exporter's event feed.
        let mut trap_counts: BTreeMap<(&str, &str), u64> = self
            .traps
            .iter()
            .filter(|((exporter, _), _)| covered(exporter))
            .map(|((exporter, kind), n)| ((exporter.as_str(), *kind), *n))
            .collect();
        for r in reports {
            for (kind, n) in &r.event_traps {
                *trap_counts
                    .entry((r.exporter.as_str(), kind.as_str()))
                    .or_default() += n;
            }
        }
        let traps = FamilySamples {
            family: family(
                "bpfhost_plugin_traps",
                "Traps of the exporter's decoder plugin in scrapes and event batches, by kind \
                 (timeout: interrupted at its deadline).",
                MetricType::Counter,
                &["exporter", "kind"],
            ),
            series: trap_counts
                .iter()
                .map(|((exporter, kind), n)| series(&[exporter, kind], *n as f64))
                .collect(),
        };
        let quarantined = per_exporter(
            reports,
            "bpfhost_plugin_quarantined",
            "Whether the exporter's decoder is quarantined after trapping too often in a row.",
            MetricType::Gauge,
            |r| f64::from(u8::from(r.quarantined)),
        );
        vec![calls, memory, traps, quarantined]
    }
}
