//! Collecting every exporter for one scrape.

use std::sync::Mutex;
use std::time::Instant;

use super::exporter::Exporter;
use super::self_metrics::{ExporterReport, SelfMetrics};
use crate::metrics::FamilySamples;

/// One exporter slot: running, or failed with the reason.
#[derive(Debug)]
pub struct Slot {
    name: String,
    state: Mutex<SlotState>,
}

#[derive(Debug)]
enum SlotState {
    Running {
        exporter: Box<Exporter>,
        last_error: Option<String>,
    },
    Failed(String),
}

/// An exporter's state, for the status endpoint and logs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlotStatus {
    pub name: String,
    /// `running` or `failed`.
    pub state: &'static str,
    /// Why loading failed, or why the last collection failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Slot {
    /// The exporter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exporter's current state.
    pub fn status(&self) -> SlotStatus {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (state, error) = match &*state {
            SlotState::Running { last_error, .. } => ("running", last_error.clone()),
            SlotState::Failed(e) => ("failed", Some(e.clone())),
        };
        SlotStatus {
            name: self.name.clone(),
            state,
            error,
        }
    }
}

/// Everything served by the agent.
#[derive(Debug)]
pub struct Agent {
    node: String,
    slots: Vec<Slot>,
    /// Manifest documents that could not be parsed into an exporter.
    manifest_errors: Vec<String>,
    self_metrics: Mutex<SelfMetrics>,
}

/// The result of one collection: exporter families then self-metrics.
#[derive(Debug, Default)]
pub struct Scrape {
    pub families: Vec<FamilySamples>,
}

impl Agent {
    /// An agent on node `node` with no exporters.
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            slots: Vec::new(),
            manifest_errors: Vec::new(),
            self_metrics: Mutex::new(SelfMetrics::default()),
        }
    }

    /// The node name every series is labelled with.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Adds a running exporter.
    pub fn add(&mut self, exporter: Exporter) {
        self.slots.push(Slot {
            name: exporter.name().to_owned(),
            state: Mutex::new(SlotState::Running {
                exporter: Box::new(exporter),
                last_error: None,
            }),
        });
    }

    /// Records an exporter that failed to load; it is reported down.
    pub fn add_failed(&mut self, name: impl Into<String>, error: impl Into<String>) {
        self.slots.push(Slot {
            name: name.into(),
            state: Mutex::new(SlotState::Failed(error.into())),
        });
    }

    /// Records a manifest document that did not yield an exporter.
    pub fn add_manifest_error(&mut self, error: impl Into<String>) {
        self.manifest_errors.push(error.into());
    }

    /// Manifest documents that did not yield an exporter.
    pub fn manifest_errors(&self) -> &[String] {
        &self.manifest_errors
    }

    /// The exporter slots.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Collects every exporter. A failing exporter contributes no series and
    /// is reported down; the others are unaffected.
    pub fn collect(&self) -> Scrape {
        let mut families = Vec::new();
        let mut reports = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let started = Instant::now();
            let mut state = slot
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut report = ExporterReport::new(&slot.name);
            match &mut *state {
                SlotState::Running {
                    exporter,
                    last_error,
                } => {
                    report.programs_attached = exporter.programs_attached();
                    match exporter.collect() {
                        Ok(collection) => {
                            report.up = true;
                            report.invalid_rows = collection.invalid_rows;
                            families.extend(collection.families);
                            *last_error = None;
                        }
                        Err(e) => {
                            tracing::warn!(exporter = %slot.name, error = %e, "collection failed");
                            report.decode_error = true;
                            *last_error = Some(e.to_string());
                        }
                    }
                    report.map_entries = exporter
                        .map_entries()
                        .map(|(m, n)| (m.to_owned(), n))
                        .collect();
                }
                SlotState::Failed(_) => {}
            }
            report.duration = started.elapsed();
            reports.push(report);
        }
        let mut self_metrics = self
            .self_metrics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        families.extend(self_metrics.record(&reports, self.manifest_errors.len()));
        Scrape { families }
    }
}
