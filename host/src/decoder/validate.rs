//! What a decoder declares and returns is checked before it reaches the
//! exposition: Prometheus naming rules, reserved names, values that cannot
//! be valid for their type, and bounds. A broken family fails the plugin's
//! start; a broken series is dropped and counted, never the whole scrape.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::metrics::{Family, MetricType, Value};

use super::Declaration;

/// Label names the agent adds or the formats reserve.
const RESERVED_LABELS: &[&str] = &["le", "quantile", "node"];
/// Prefix of the agent's own metrics.
const SELF_PREFIX: &str = "bpfhost_";

/// Bounds on what one collection of one exporter may produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBounds {
    /// Series kept per collection; the rest are dropped.
    pub max_series: usize,
    /// Longest label value, in bytes.
    pub max_label_value_bytes: usize,
    /// Labels a family may declare; a decoder declaring more is refused.
    pub max_labels: usize,
    /// Exposition bytes per collection (names, label pairs and values,
    /// estimated per series); series past it are dropped.
    pub max_bytes: usize,
}

impl Default for OutputBounds {
    fn default() -> Self {
        Self {
            max_series: 200_000,
            max_label_value_bytes: 1024,
            max_labels: 32,
            max_bytes: 64 << 20,
        }
    }
}

/// Why a declared family is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("family {index}: `{name}` is not a valid metric name")]
    MetricName { index: usize, name: String },
    #[error("family `{family}`: the `bpfhost_` prefix is reserved for the agent's own metrics")]
    ReservedPrefix { family: String },
    #[error("family `{family}`: `{label}` is not a valid label name")]
    LabelName { family: String, label: String },
    #[error("family `{family}`: label `{label}` is reserved")]
    ReservedLabel { family: String, label: String },
    #[error("family `{family}`: label `{label}` is declared twice")]
    DuplicateLabel { family: String, label: String },
    #[error("family `{family}`: declares {labels} labels, more than the {max} allowed")]
    TooManyLabels {
        family: String,
        labels: usize,
        max: usize,
    },
    #[error("family `{family}`: histogram buckets must be finite and strictly ascending")]
    Buckets { family: String },
    #[error(
        "family `{family}`: unit `{unit}` must be a name suffix (`{family}` should end with `_{unit}`)"
    )]
    Unit { family: String, unit: String },
    #[error("family `{family}`: {rule} (promtool check metrics would reject it)")]
    Lint { family: String, rule: &'static str },
    #[error("families `{first}` and `{second}` both expose `{name}`")]
    Collision {
        first: String,
        second: String,
        name: String,
    },
}

/// Why a series was dropped; the label of the self-metric that counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// Unknown family, wrong label count, wrong type or bucket count.
    Malformed,
    /// A NaN, infinite or negative counter; a histogram whose buckets are not
    /// cumulative or exceed its count.
    InvalidValue,
    /// A label value longer than the bound.
    LabelTooLong,
    /// The same labels twice in one family: the first one is kept.
    Duplicate,
    /// Past the series bound.
    TooManySeries,
    /// Past the bytes bound.
    TooManyBytes,
}

impl DropReason {
    /// Every reason, for rendering zeros.
    pub const ALL: [Self; 6] = [
        Self::Malformed,
        Self::InvalidValue,
        Self::LabelTooLong,
        Self::Duplicate,
        Self::TooManySeries,
        Self::TooManyBytes,
    ];

    /// Label value for self-metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::InvalidValue => "invalid_value",
            Self::LabelTooLong => "label_too_long",
            Self::Duplicate => "duplicate",
            Self::TooManySeries => "too_many_series",
            Self::TooManyBytes => "too_many_bytes",
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The sample names a family puts in the exposition (both formats).
pub fn exposed_names(family: &Family) -> Vec<String> {
    match family.metric_type {
        MetricType::Counter => {
            let base = family.name.strip_suffix("_total").unwrap_or(&family.name);
            vec![
                base.to_owned(),
                format!("{base}_total"),
                format!("{base}_created"),
            ]
        }
        MetricType::Gauge => vec![family.name.clone()],
        MetricType::Histogram => ["", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .map(|s| format!("{}{s}", family.name))
            .collect(),
    }
}

/// Checks declared families; fills in HELP where the decoder gave none
/// (promtool rejects families without it).
pub fn check_spec(mut spec: Declaration, bounds: &OutputBounds) -> Result<Declaration, SpecError> {
    let mut exposed: Vec<(String, String)> = Vec::new();
    for (index, family) in spec.families.iter_mut().enumerate() {
        check_family(index, family)?;
        if family.labels.len() > bounds.max_labels {
            return Err(SpecError::TooManyLabels {
                family: family.name.clone(),
                labels: family.labels.len(),
                max: bounds.max_labels,
            });
        }
        for name in exposed_names(family) {
            if let Some((_, first)) = exposed.iter().find(|(n, _)| *n == name) {
                return Err(SpecError::Collision {
                    first: first.clone(),
                    second: family.name.clone(),
                    name,
                });
            }
            exposed.push((name, family.name.clone()));
        }
        if family.help.trim().is_empty() {
            Arc::make_mut(family).help = format!("{} (the decoder gave no help text)", family.name);
        }
    }
    Ok(spec)
}

fn check_family(index: usize, family: &Family) -> Result<(), SpecError> {
    let err_family = || family.name.clone();
    if !is_metric_name(&family.name) {
        return Err(SpecError::MetricName {
            index,
            name: family.name.clone(),
        });
    }
    if family.name.starts_with(SELF_PREFIX) {
        return Err(SpecError::ReservedPrefix {
            family: err_family(),
        });
    }
    let mut seen = BTreeSet::new();
    for label in &family.labels {
        if !is_label_name(label) {
            return Err(SpecError::LabelName {
                family: err_family(),
                label: label.clone(),
            });
        }
        if label.starts_with("__") || RESERVED_LABELS.contains(&label.as_str()) {
            return Err(SpecError::ReservedLabel {
                family: err_family(),
                label: label.clone(),
            });
        }
        if !seen.insert(label) {
            return Err(SpecError::DuplicateLabel {
                family: err_family(),
                label: label.clone(),
            });
        }
    }
    let ascending = family.buckets.windows(2).all(|w| w[0] < w[1]);
    if !ascending || family.buckets.iter().any(|b| !b.is_finite()) {
        return Err(SpecError::Buckets {
            family: err_family(),
        });
    }
    if let Some(rule) = lint(family) {
        return Err(SpecError::Lint {
            family: err_family(),
            rule,
        });
    }
    let base = family.name.strip_suffix("_total").unwrap_or(&family.name);
    if !family.unit.is_empty()
        && (!is_label_name(&family.unit) || !base.ends_with(&format!("_{}", family.unit)))
    {
        return Err(SpecError::Unit {
            family: err_family(),
            unit: family.unit.clone(),
        });
    }
    Ok(())
}

/// Unit words promtool wants in base units.
const NON_BASE: &[&str] = &[
    "milliseconds",
    "microseconds",
    "nanoseconds",
    "minutes",
    "hours",
    "days",
    "kilobytes",
    "megabytes",
    "gigabytes",
    "terabytes",
    "kibibytes",
    "mebibytes",
    "gibibytes",
    "bits",
];
/// Unit abbreviations promtool rejects.
const ABBREVIATED: &[&str] = &[
    "ms", "us", "ns", "sec", "secs", "min", "mins", "kb", "mb", "gb", "b",
];

/// The naming rules `promtool check metrics` enforces beyond the grammar.
fn lint(family: &Family) -> Option<&'static str> {
    let name = family.name.as_str();
    let type_word = match family.metric_type {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
    };
    if name.contains(':') {
        return Some("metric names should not contain ':' (reserved for recording rules)");
    }
    if name.chars().any(|c| c.is_ascii_uppercase())
        || family
            .labels
            .iter()
            .any(|l| l.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Some("metric and label names should be snake_case, not camelCase");
    }
    if name.contains(type_word) {
        return Some("metric names should not include their type");
    }
    let words: Vec<&str> = name.split('_').collect();
    if words.iter().any(|w| NON_BASE.contains(w)) {
        return Some("metric names should use base units (seconds, bytes)");
    }
    if words.iter().skip(1).any(|w| ABBREVIATED.contains(w)) {
        return Some("metric names should not contain abbreviated units");
    }
    let suffix_reserved = ["_bucket", "_sum", "_count"]
        .iter()
        .any(|s| name.ends_with(s));
    if family.metric_type != MetricType::Histogram && suffix_reserved {
        return Some("non-histogram metric names should not end in _bucket, _sum or _count");
    }
    None
}

/// Whether a value is valid for its family's type.
pub fn value_is_valid(metric_type: MetricType, value: &Value) -> bool {
    match value {
        Value::Number(v) => metric_type != MetricType::Counter || (v.is_finite() && *v >= 0.0),
        Value::Histogram {
            buckets,
            sum,
            count,
        } => {
            !sum.is_nan()
                && buckets.windows(2).all(|w| w[0] <= w[1])
                && buckets.last().is_none_or(|last| last <= count)
        }
    }
}

#[cfg(test)]
mod tests;
