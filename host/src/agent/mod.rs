//! The agent: a set of exporters, collected at every scrape and served over
//! HTTP.
//!
//! An [`Exporter`] is one loaded `BpfExporter`: its kernel objects, one
//! [`MapSource`](crate::maps::MapSource) per map the decoder reads, and the
//! decoder. The [`Agent`] holds every exporter by name, including those that
//! failed to load, so a failure shows up in self-metrics instead of taking
//! the others down.

mod call_size;
mod collect;
mod events;
mod exporter;
mod extra;
mod programs;
mod readiness;
mod reconcile;
mod registry;
mod self_metrics;
pub mod setup;
mod shared_decoder;
#[cfg(test)]
mod tests;

pub use collect::Scrape;
pub use events::SourceReport;
pub use exporter::{CollectError, Exporter};
pub use extra::ExtraFamilies;
pub use programs::{KernelObject, ProgramState, ProgramStatus, program_statuses};
pub use readiness::{Readiness, ReadyState};
pub use reconcile::{Failure, FileReconciler, ManifestSource, Outcome, Reconciler, Stage};
pub use registry::{Agent, Slot, SlotStatus};
pub use self_metrics::{ExporterReport, SelfMetrics, family, series};
