//! The metric model shared by decoders, the agent and the exposition encoder.
//!
//! A decoder declares [`Family`]s once; every collection produces [`Series`]
//! grouped per family. Label values are positional: `Series::labels[i]` is the
//! value of `Family::labels[i]`.

use std::sync::Arc;

mod labels;

pub use labels::{Iter as LabelIter, LabelPool, Labels};

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

/// A metric family as declared by a decoder (or by the agent for self-metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Name without the `_total` suffix of counters.
    pub name: String,
    pub help: String,
    pub metric_type: MetricType,
    /// Unit suffix such as `seconds`; empty for none.
    pub unit: String,
    /// Label names; series give values in this order.
    pub labels: Vec<String>,
    /// Histogram bucket upper bounds, ascending, without `+Inf`.
    pub buckets: Vec<f64>,
}

/// The value of one series.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter or gauge value.
    Number(f64),
    /// Cumulative bucket counts (one per `Family::buckets` bound), sum and
    /// count (the `+Inf` bucket).
    Histogram {
        buckets: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

/// One series of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub value: Value,
}

/// A family together with the series one collection produced for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySamples {
    pub family: Arc<Family>,
    pub series: Vec<Series>,
}
