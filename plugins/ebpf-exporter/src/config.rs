//! The `ebpf_exporter` config document: parsed, validated once, and turned
//! into the [`Metric`]s a decode runs.
//!
//! Parsing is strict where `ebpf_exporter` is lenient: an unknown field is an
//! error naming the metric and the field (`ebpf_exporter`'s YAML decoder
//! ignores it, so a typo such as `bucket_multipler` silently changes the
//! series). Everything `ebpf_exporter` only finds out at scrape time (an
//! unknown decoder, a label without size or decoders, a bad regexp, an
//! unknown bucket type) is refused here, once, at `init`.

mod duration;
pub(crate) mod raw;

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use self::raw::{RawCounter, RawDocument, RawHistogram, RawLabel};

use crate::decoders::Step;
use crate::histogram::Layout;
pub use crate::problem::Problem;

/// The prefix of every family unless `bpfhost.prefix` says otherwise:
/// `ebpf_exporter`'s Prometheus namespace.
pub const DEFAULT_PREFIX: &str = "ebpf_exporter_";

/// How often a `perf_event_array` counter's series are reset when its
/// `flush_interval` is not positive (`ebpf_exporter`'s
/// `exporter/perf_event_array.go`).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_hours(1);

/// A validated config: the metrics to export, in config order (counters
/// first).
#[derive(Debug)]
pub struct Document {
    pub metrics: Vec<Metric>,
}

/// One counter or histogram of the config.
#[derive(Debug)]
pub struct Metric {
    /// The config's `name`: the BPF map to read.
    pub map: String,
    /// The family name: the prefix and `name`.
    pub family: String,
    pub help: String,
    pub labels: Vec<Label>,
    /// `None` for a counter.
    pub histogram: Option<Layout>,
    /// A `perf_event_array` counter: it counts the records of the perf
    /// event array named `map` (one per record, by the labels its bytes
    /// decode to) and drops all its series every `flush_interval`.
    pub perf_event_array: Option<Flush>,
}

/// A `perf_event_array` counter's reset schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flush {
    pub interval: Duration,
}

impl Metric {
    pub fn kind(&self) -> &'static str {
        if self.histogram.is_some() {
            "histogram"
        } else {
            "counter"
        }
    }
}

/// One label: `size` key bytes, then `padding` ignored bytes, turned into
/// a value by a chain of decoders.
#[derive(Debug)]
pub struct Label {
    pub name: String,
    pub size: usize,
    pub padding: usize,
    pub steps: Vec<Step>,
}

/// Why a config was refused, and where in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub at: Location,
    pub problem: Problem,
}

/// The part of the config a [`ConfigError`] is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Document,
    Metric {
        kind: &'static str,
        name: String,
    },
    Label {
        kind: &'static str,
        metric: String,
        label: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Document => Ok(()),
            Self::Metric { kind, name } => write!(f, "{kind} `{name}`: "),
            Self::Label {
                kind,
                metric,
                label,
            } => write!(f, "{kind} `{metric}`, label `{label}`: "),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.at, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for bpfhost_plugin_sdk::Error {
    fn from(e: ConfigError) -> Self {
        Self::InvalidConfig(e.to_string())
    }
}

/// Parses and validates the JSON text the host hands to `init`.
pub fn parse(json: &str) -> Result<Document, ConfigError> {
    let document = |problem| ConfigError {
        at: Location::Document,
        problem,
    };
    let value: Value = serde_json::from_str(json).map_err(|e| {
        document(Problem::Field {
            path: String::new(),
            message: e.to_string(),
        })
    })?;
    if !value.is_object() {
        return Err(document(Problem::NotAnObject));
    }
    let raw: RawDocument = typed(value).map_err(document)?;
    if !raw.tracing.spans.as_ref().is_none_or(Vec::is_empty) {
        return Err(document(Problem::NotSupported("tracing spans are".into())));
    }
    if !raw.kaddrs.is_empty() {
        return Err(document(Problem::NotSupported(
            "kaddrs (kernel addresses written into the program's globals) are".into(),
        )));
    }
    if raw.cgroup_id_map.as_ref().is_some_and(|m| !m.is_null()) {
        return Err(document(Problem::AgentsPart {
            field: "cgroup_id_map",
            spec: "spec.cgroupIdMap",
        }));
    }
    if raw.metrics.counters.is_none()
        && raw.metrics.histograms.is_none()
        && raw.tracing.spans.is_none()
    {
        return Err(document(Problem::NoMetrics));
    }
    let prefix = raw.bpfhost.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
    let mut metrics = Vec::new();
    for (i, counter) in raw
        .metrics
        .counters
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        metrics.push(counter_metric(i, counter, prefix)?);
    }
    for (i, histogram) in raw
        .metrics
        .histograms
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        metrics.push(histogram_metric(i, histogram, prefix)?);
    }
    Ok(Document { metrics })
}

/// Deserializes a JSON value, naming the failing field by its path.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| Problem::Field {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// The metric's name for messages, before it is parsed.
fn name_of(kind: &'static str, index: usize, value: &Value) -> Location {
    let name = match value.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("#{} (unnamed)", index + 1),
    };
    Location::Metric { kind, name }
}

fn counter_metric(index: usize, value: Value, prefix: &str) -> Result<Metric, ConfigError> {
    let at = name_of("counter", index, &value);
    let err = |problem| ConfigError {
        at: at.clone(),
        problem,
    };
    let raw: RawCounter = typed(value).map_err(err)?;
    let (name, help) = name_and_help(raw.name, raw.help).map_err(err)?;
    // Read, and refused when unreadable, on any counter: `ebpf_exporter`
    // reads it into every counter's config and uses it only with
    // `perf_event_array`.
    let flush_interval = duration::from_value(&raw.flush_interval).map_err(|message| {
        err(Problem::Field {
            path: "flush_interval".into(),
            message,
        })
    })?;
    let family = family_name(prefix, &name).map_err(err)?;
    let labels = labels("counter", &name, raw.labels)?;
    let perf_event_array = raw.perf_event_array.then(|| Flush {
        // `ebpf_exporter` keeps its default of an hour for 0 and below.
        interval: u64::try_from(flush_interval)
            .ok()
            .filter(|&ns| ns > 0)
            .map_or(DEFAULT_FLUSH_INTERVAL, Duration::from_nanos),
    });
    Ok(Metric {
        map: name,
        family,
        help,
        labels,
        histogram: None,
        perf_event_array,
    })
}

fn histogram_metric(index: usize, value: Value, prefix: &str) -> Result<Metric, ConfigError> {
    let at = name_of("histogram", index, &value);
    let err = |problem| ConfigError {
        at: at.clone(),
        problem,
    };
    let raw: RawHistogram = typed(value).map_err(err)?;
    let (name, help) = name_and_help(raw.name, raw.help).map_err(err)?;
    let family = family_name(prefix, &name).map_err(err)?;
    if raw.labels.is_empty() {
        return Err(err(Problem::NoBucketLabel));
    }
    let layout = Layout::new(
        &raw.bucket_type,
        raw.bucket_min,
        raw.bucket_max,
        raw.bucket_multiplier,
        raw.bucket_keys,
    )
    .map_err(err)?;
    let labels = labels("histogram", &name, raw.labels)?;
    Ok(Metric {
        map: name,
        family,
        help,
        labels,
        histogram: Some(layout),
        perf_event_array: None,
    })
}

/// `ebpf_exporter`'s `validateConfig`: a metric needs a name and a help.
fn name_and_help(name: String, help: String) -> Result<(String, String), Problem> {
    if name.is_empty() {
        return Err(Problem::Missing("name"));
    }
    if help.is_empty() {
        return Err(Problem::Missing("help"));
    }
    Ok((name, help))
}

/// The prefixed name, checked against Prometheus' grammar so the error
/// names the config field rather than the agent's family.
fn family_name(prefix: &str, name: &str) -> Result<String, Problem> {
    let family = format!("{prefix}{name}");
    let mut chars = family.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(family)
    } else {
        Err(Problem::MetricName(family))
    }
}

fn labels(kind: &'static str, metric: &str, raw: Vec<RawLabel>) -> Result<Vec<Label>, ConfigError> {
    raw.into_iter()
        .map(
            |RawLabel {
                 name,
                 size,
                 padding,
                 decoders,
             }| {
                let err = |problem| ConfigError {
                    at: Location::Label {
                        kind,
                        metric: metric.to_owned(),
                        label: name.clone(),
                    },
                    problem,
                };
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size == 0 {
                    return Err(err(Problem::ZeroSize));
                }
                if decoders.is_empty() {
                    return Err(err(Problem::NoDecoders));
                }
                let mut steps = Vec::with_capacity(decoders.len());
                for decoder in decoders {
                    // The first decoder reads the key bytes; later ones read
                    // what the one before produced.
                    let input = if steps.is_empty() { Some(size) } else { None };
                    steps.push(Step::new(decoder, input).map_err(err)?);
                }
                Ok(Label {
                    name,
                    size,
                    padding: usize::try_from(padding).unwrap_or(usize::MAX),
                    steps,
                })
            },
        )
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
