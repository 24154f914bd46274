//! Families a compatibility mode serves beside the agent's own, such as
//! `bpfhost ebpf-exporter`'s `ebpf_exporter_*` built-in metrics.

use super::self_metrics::{ExporterReport, SelfMetrics};
use crate::metrics::FamilySamples;

/// Renders extra families at every scrape from what the agent knows about
/// its exporters: the scrape's reports (programs, up) and the counters
/// accumulated across collections.
pub trait ExtraFamilies: Send + Sync + std::fmt::Debug {
    /// The families for one scrape; `reports` are sorted by exporter name.
    fn render(&self, reports: &[ExporterReport], counters: &SelfMetrics) -> Vec<FamilySamples>;
}
