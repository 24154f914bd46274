//! Collecting every exporter for one scrape.

use std::sync::PoisonError;
use std::time::Instant;

use super::exporter::CollectError;
use super::registry::{Agent, SlotState};
use super::self_metrics::ExporterReport;
use crate::decoder::DecodeError;
use crate::metrics::FamilySamples;

/// The result of one collection: exporter families then self-metrics.
#[derive(Debug, Default)]
pub struct Scrape {
    pub families: Vec<FamilySamples>,
}

impl Agent {
    /// Collects every exporter. A failing exporter contributes no series and
    /// is reported down; the others are unaffected.
    pub fn collect(&self) -> Scrape {
        let mut families = Vec::new();
        let slots = self.slots();
        let mut reports = Vec::with_capacity(slots.len());
        for slot in &slots {
            let started = Instant::now();
            let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut report = ExporterReport::new(slot.name());
            if let SlotState::Running {
                exporter,
                last_error,
            } = &mut *state
            {
                report.programs_attached = exporter.programs_attached();
                report.quarantined = exporter.decoder().quarantined();
                match exporter.collect() {
                    Ok(collection) => {
                        report.up = true;
                        report.dropped = collection.dropped;
                        families.extend(collection.families);
                        *last_error = None;
                    }
                    Err(e) => {
                        if let CollectError::Decode(DecodeError::Trap { kind, .. }) = &e {
                            report.trap = Some(*kind);
                        }
                        let message = crate::error_chain(&e);
                        tracing::warn!(exporter = %slot.name(), error = %message, "collection failed");
                        report.decode_error = true;
                        *last_error = Some(message);
                    }
                }
                report.map_entries = exporter
                    .map_entries()
                    .map(|(m, n)| (m.to_owned(), n))
                    .collect();
            }
            report.duration = started.elapsed();
            reports.push(report);
        }
        let manifest_errors = self.manifest_errors().len();
        let mut self_metrics = self
            .self_metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        families.extend(self_metrics.record(&reports, manifest_errors));
        Scrape { families }
    }
}
