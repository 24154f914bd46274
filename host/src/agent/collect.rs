//! Collecting exporters for a scrape.
//!
//! Each exporter is collected on its own blocking task, and concurrent
//! scrapes share that collection: while one runs, a second scrape waits for
//! the same result instead of starting another, so a plugin never runs twice
//! at once and 16 simultaneous scrapes cost one collection. A scrape with a
//! budget (Prometheus' `X-Prometheus-Scrape-Timeout-Seconds`) answers when
//! the budget runs out with the exporters that finished; the others are
//! reported down in that scrape; their collection goes on, and a scrape that
//! arrives meanwhile shares it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::exporter::CollectError;
use super::registry::{Agent, Collected, Flight, Slot, SlotState};
use super::self_metrics::ExporterReport;
use crate::decoder::DecodeError;
use crate::metrics::FamilySamples;
use crate::sys::lock;

/// The result of one scrape: exporter families, then self-metrics.
#[derive(Debug, Default)]
pub struct Scrape {
    exporters: Vec<Arc<Collected>>,
    own: Vec<FamilySamples>,
}

impl Scrape {
    /// Every family of the scrape, exporters first (by exporter name), then
    /// the agent's own.
    pub fn families(&self) -> impl Iterator<Item = &FamilySamples> {
        self.exporters
            .iter()
            .flat_map(|o| &o.families)
            .chain(&self.own)
    }
}

impl Slot {
    /// Collects this exporter now, on the calling thread.
    fn collect_now(&self) -> Collected {
        let started = Instant::now();
        let mut state = lock(&self.state);
        let mut report = ExporterReport::new(self.name());
        let mut families = Vec::new();
        if let SlotState::Running {
            exporter,
            last_error,
            series,
        } = &mut *state
        {
            report.loaded = true;
            report.programs_attached = exporter.programs_attached();
            report.programs = exporter.programs().to_vec();
            report.program_stats = exporter.program_stats();
            match exporter.collect() {
                Ok(collection) => {
                    report.up = true;
                    report.dropped = collection.dropped;
                    families = collection.families;
                    *series = Some(families.iter().map(|f| f.series.len()).sum());
                    *last_error = None;
                }
                Err(e) => {
                    if let CollectError::Decode(DecodeError::Trap { kind, .. }) = &e {
                        report.trap = Some(*kind);
                    }
                    let message = crate::error_chain(&e);
                    tracing::warn!(exporter = %self.name(), error = %message, "collection failed");
                    report.decode_error = true;
                    *series = Some(0);
                    *last_error = Some(message);
                }
            }
            report.decode_duration = exporter.last_decode();
            {
                let decoder = exporter.decoder();
                report.quarantined = decoder.quarantined();
                report.memory_bytes = decoder.memory_bytes();
            }
            (report.events, report.event_traps) = exporter.event_report();
            report.cgroup_id_map = exporter.cgroup_id_map_errors();
            report.map_entries = exporter
                .map_entries()
                .map(|(m, n)| (m.to_owned(), n))
                .collect();
        }
        report.duration = started.elapsed();
        Collected { families, report }
    }
}

/// Clears a slot's in-flight marker when its collection ends, even by panic.
struct Landing(Arc<Slot>);

impl Drop for Landing {
    fn drop(&mut self) {
        *lock(&self.0.inflight) = None;
    }
}

impl Agent {
    /// Collects every exporter on the calling thread, one after another.
    /// A failing exporter contributes no series and is reported down; the
    /// others are unaffected.
    pub fn collect(&self) -> Scrape {
        let exporters = self
            .slots()
            .iter()
            .map(|slot| Arc::new(self.collect_slot(slot)))
            .collect();
        self.scrape(exporters, &[])
    }

    /// Collects every exporter for one scrape, sharing collections already
    /// in flight. With a `budget`, answers when it runs out: exporters not
    /// done by then are down in this scrape. Needs a Tokio runtime.
    pub async fn collect_within(self: &Arc<Self>, budget: Option<Duration>) -> Scrape {
        let deadline = budget.map(|b| tokio::time::Instant::now() + b);
        let flights: Vec<_> = self
            .slots()
            .into_iter()
            .map(|slot| {
                let flight = self.join_or_start(&slot);
                (slot, flight)
            })
            .collect();
        let mut exporters = Vec::with_capacity(flights.len());
        let mut late = Vec::new();
        for (slot, mut flight) in flights {
            let done = flight.wait_for(Option::is_some);
            let landed = match deadline {
                Some(at) => tokio::time::timeout_at(at, done).await.ok(),
                None => Some(done.await),
            };
            match landed {
                Some(Ok(collected)) => {
                    if let Some(collected) = collected.as_ref() {
                        exporters.push(collected.clone());
                    }
                }
                // The collection task died (a panic): report it down.
                Some(Err(_)) => exporters.push(Arc::new(Collected {
                    families: Vec::new(),
                    report: ExporterReport::new(slot.name()),
                })),
                None => late.push(slot.name().to_owned()),
            }
        }
        if !late.is_empty() {
            tracing::warn!(exporters = ?late, "scrape budget ran out; reporting these exporters down in this scrape");
        }
        self.scrape(exporters, &late)
    }

    /// The collection of `slot` in flight, or a new one.
    pub(super) fn join_or_start(self: &Arc<Self>, slot: &Arc<Slot>) -> Flight {
        let mut inflight = lock(&slot.inflight);
        if let Some(flight) = &*inflight {
            return flight.clone();
        }
        let (tx, rx) = watch::channel(None);
        *inflight = Some(rx.clone());
        drop(inflight);
        let (agent, landing) = (self.clone(), Landing(slot.clone()));
        // Map reads and plugin calls block: keep them off the async workers.
        tokio::task::spawn_blocking(move || {
            let collected = Arc::new(agent.collect_slot(&landing.0));
            // Later scrapes start a fresh collection; those already waiting
            // get this one.
            drop(landing);
            let _ = tx.send(Some(collected));
        });
        rx
    }

    /// Collects one slot and folds its report into the self-metrics, once
    /// per collection however many scrapes share it.
    fn collect_slot(&self, slot: &Slot) -> Collected {
        let collected = slot.collect_now();
        lock(&self.self_metrics).observe(&collected.report);
        collected
    }

    /// Assembles a scrape; `late` exporters are reported down in it.
    fn scrape(&self, exporters: Vec<Arc<Collected>>, late: &[String]) -> Scrape {
        let mut reports: Vec<ExporterReport> = exporters.iter().map(|o| o.report.clone()).collect();
        let mut self_metrics = lock(&self.self_metrics);
        for name in late {
            self_metrics.timed_out(name);
            reports.push(ExporterReport::new(name));
        }
        reports.sort_by(|a, b| a.exporter.cmp(&b.exporter));
        let mut own = self_metrics.render(&reports, self.manifest_errors().len());
        if let Some(extra) = self.extra_families() {
            own.extend(extra.render(&reports, &self_metrics));
        }
        Scrape { exporters, own }
    }
}
