//! What can be wrong with a config: the problems [`crate::config`] and
//! the decoder and histogram parsers report, apart from where they are.

use std::fmt;

/// What is wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The config is not a JSON object.
    NotAnObject,
    /// Neither metrics nor tracing spans are defined.
    NoMetrics,
    /// A field is unknown or has the wrong type (serde's message).
    Field { path: String, message: String },
    /// A required field is absent or empty.
    Missing(&'static str),
    /// An `ebpf_exporter` feature this decoder does not implement.
    NotSupported(String),
    /// A part of an `ebpf_exporter` config the agent runs, given to the
    /// decoder: the manifest field it belongs in.
    AgentsPart {
        field: &'static str,
        spec: &'static str,
    },
    /// A decoder `ebpf_exporter` does not have, and those it has.
    UnknownDecoder {
        name: String,
        known: &'static [&'static str],
    },
    /// A decoder's own settings, or its input size, are unusable.
    Decoder {
        decoder: &'static str,
        message: String,
    },
    /// A label without `decoders`.
    NoDecoders,
    /// A label with `size` 0 or none.
    ZeroSize,
    /// A histogram without the bucket label.
    NoBucketLabel,
    /// `bucket_type` is none of exp2, exp2zero, linear and fixed.
    BucketType(String),
    /// The buckets cannot make a Prometheus histogram.
    Buckets(String),
    /// The prefix and name do not make a Prometheus metric name.
    MetricName(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => {
                f.write_str("decoder.config must be one ebpf_exporter config document (a mapping)")
            }
            Self::NoMetrics => f.write_str(
                "neither metrics nor tracing are defined: decoder.config must hold an \
                 ebpf_exporter config with metrics.counters or metrics.histograms",
            ),
            Self::Field { path, message } if path.is_empty() || path == "." => f.write_str(message),
            Self::Field { path, message } => write!(f, "{path}: {message}"),
            Self::Missing(field) => write!(f, "lacks {field}"),
            Self::NotSupported(feature) => write!(f, "{feature} not supported yet"),
            Self::AgentsPart { field, spec } => write!(
                f,
                "{field} is run by the agent, not the decoder: put it in {spec} \
                 (`bpfhost ebpf-exporter` and `bpfhost convert ebpf-exporter` do)"
            ),
            Self::UnknownDecoder { name, known } => write!(
                f,
                "unknown decoder `{name}`: expected one of {}",
                known.join(", ")
            ),
            Self::Decoder { decoder, message } => write!(f, "decoder `{decoder}`: {message}"),
            Self::NoDecoders => f.write_str("no decoders set"),
            Self::ZeroSize => f.write_str("size is zero or not set"),
            Self::NoBucketLabel => {
                f.write_str("a histogram needs at least one label: the last one is the bucket")
            }
            Self::BucketType(t) => write!(
                f,
                "unknown bucket_type `{t}`: expected exp2, exp2zero, linear or fixed"
            ),
            Self::Buckets(why) => f.write_str(why),
            Self::MetricName(name) => write!(
                f,
                "`{name}` is not a valid Prometheus metric name (set bpfhost.prefix to change \
                 the prefix)"
            ),
        }
    }
}
