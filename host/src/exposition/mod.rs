//! Prometheus text 0.0.4 and OpenMetrics 1.0 encoding.
//!
//! (Skeleton: the encoder lands with the exposition work.)

/// The exposition format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    Text,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}
