//! The set of exporters an agent serves, changed at run time by the
//! reconciler (file watch or Kubernetes) while scrapes go on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::watch;

use super::exporter::Exporter;
use super::extra::ExtraFamilies;
use super::programs::ProgramStatus;
use super::readiness::Readiness;
use super::self_metrics::{ExporterReport, SelfMetrics};
use crate::decoder::validate::exposed_names;
use crate::maps::MapError;
use crate::maps::dump::Dump;
use crate::metrics::{Family, FamilySamples};
use crate::sys::{lock, read, write};

/// One exporter by name: running, or failed with the reason.
#[derive(Debug)]
pub struct Slot {
    name: String,
    pub(super) state: Mutex<SlotState>,
    /// Why the last attempt to replace a running exporter failed; the old
    /// version keeps serving meanwhile.
    reload_error: Mutex<Option<String>>,
    /// The collection under way, shared by concurrent scrapes.
    pub(super) inflight: Mutex<Option<Flight>>,
}

#[derive(Debug)]
pub(super) enum SlotState {
    Running {
        exporter: Box<Exporter>,
        last_error: Option<String>,
        /// Series the last collection served (none when it failed).
        series: Option<usize>,
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
    /// Why the last reload failed while the previous version kept running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
    /// Every program of a running exporter's object and where it stands:
    /// `attached`, `unattached`, `failed` (with its error) or `disabled`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<ProgramStatus>,
    /// Programs attached, while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programs_attached: Option<usize>,
    /// Series the last collection served; absent before the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<usize>,
}

/// One exporter's collection: its series and how it went.
#[derive(Debug)]
pub struct Collected {
    pub families: Vec<FamilySamples>,
    pub report: ExporterReport,
}

/// A collection in flight; `None` until it is done.
pub(super) type Flight = watch::Receiver<Option<Arc<Collected>>>;

impl Slot {
    fn new(name: String, state: SlotState) -> Self {
        Self {
            name,
            state: Mutex::new(state),
            reload_error: Mutex::new(None),
            inflight: Mutex::new(None),
        }
    }

    /// The exporter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the exporter is loaded and serving.
    pub fn is_running(&self) -> bool {
        matches!(*lock(&self.state), SlotState::Running { .. })
    }

    /// Records a failed reload; the running version stays.
    pub fn set_reload_error(&self, error: Option<String>) {
        *lock(&self.reload_error) = error;
    }

    /// The exporter's current state.
    pub fn status(&self) -> SlotStatus {
        let (state, error, programs, programs_attached, series) = match &*lock(&self.state) {
            SlotState::Running {
                exporter,
                last_error,
                series,
            } => (
                "running",
                last_error.clone(),
                exporter.programs().to_vec(),
                Some(exporter.programs_attached()),
                *series,
            ),
            SlotState::Failed(e) => ("failed", Some(e.clone()), Vec::new(), None, None),
        };
        SlotStatus {
            name: self.name.clone(),
            state,
            error,
            reload_error: lock(&self.reload_error).clone(),
            programs,
            programs_attached,
            series,
        }
    }
}

/// Everything served by the agent.
#[derive(Debug)]
pub struct Agent {
    node: String,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    /// Manifest documents that could not be parsed into an exporter.
    manifest_errors: RwLock<Vec<String>>,
    pub(super) self_metrics: Mutex<SelfMetrics>,
    /// Families served beside the agent's own (a compatibility mode's).
    extra: OnceLock<Arc<dyn ExtraFamilies>>,
    readiness: Readiness,
}

impl Agent {
    /// An agent on node `node` with no exporters.
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            slots: RwLock::default(),
            manifest_errors: RwLock::default(),
            self_metrics: Mutex::default(),
            extra: OnceLock::new(),
            readiness: Readiness::default(),
        }
    }

    /// Serves `extra`'s families in every scrape, after the agent's own.
    /// Only the first call takes effect.
    pub fn set_extra_families(&self, extra: Arc<dyn ExtraFamilies>) {
        let _ = self.extra.set(extra);
    }

    /// The families served beside the agent's own, if any.
    pub(super) fn extra_families(&self) -> Option<&Arc<dyn ExtraFamilies>> {
        self.extra.get()
    }

    /// Whether the agent is ready to be scraped (`/readyz`).
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// The node name every series is labelled with.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Adds or replaces a running exporter. The replaced slot is returned so
    /// the caller decides when the old version goes (dropping it unloads it,
    /// after any collection still using it).
    pub fn insert(&self, exporter: Exporter) -> Option<Arc<Slot>> {
        let name = exporter.name().to_owned();
        let slot = Slot::new(
            name.clone(),
            SlotState::Running {
                exporter: Box::new(exporter),
                last_error: None,
                series: None,
            },
        );
        self.put(name, slot)
    }

    /// Adds or replaces an exporter that failed to load; it is reported down.
    pub fn insert_failed(
        &self,
        name: impl Into<String>,
        error: impl Into<String>,
    ) -> Option<Arc<Slot>> {
        let name = name.into();
        let slot = Slot::new(name.clone(), SlotState::Failed(error.into()));
        self.put(name, slot)
    }

    fn put(&self, name: String, slot: Slot) -> Option<Arc<Slot>> {
        write(&self.slots).insert(name, Arc::new(slot))
    }

    /// Removes an exporter; returns its slot (dropping it unloads it).
    pub fn remove(&self, name: &str) -> Option<Arc<Slot>> {
        write(&self.slots).remove(name)
    }

    /// Removes every exporter and returns their slots (dropping them
    /// unloads them), for shutdown.
    pub fn clear(&self) -> Vec<Arc<Slot>> {
        std::mem::take(&mut *write(&self.slots))
            .into_values()
            .collect()
    }

    /// One exporter's slot.
    pub fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        read(&self.slots).get(name).cloned()
    }

    /// Every slot, by name.
    pub fn slots(&self) -> Vec<Arc<Slot>> {
        read(&self.slots).values().cloned().collect()
    }

    /// A sample name that `families` would expose and that an exporter other
    /// than `exporter` already exposes, with that exporter's name.
    pub fn family_conflict(
        &self,
        exporter: &str,
        families: &[Arc<Family>],
    ) -> Option<(String, String)> {
        let wanted: Vec<String> = families.iter().flat_map(|f| exposed_names(f)).collect();
        for slot in self.slots() {
            if slot.name() == exporter {
                continue;
            }
            if let SlotState::Running {
                exporter: other, ..
            } = &*lock(&slot.state)
            {
                let taken = other.spec().families.iter().flat_map(|f| exposed_names(f));
                for name in taken {
                    if wanted.contains(&name) {
                        return Some((name, slot.name().to_owned()));
                    }
                }
            }
        }
        None
    }

    /// Reads the maps of a running exporter as a dump; `None` when no
    /// exporter of that name is running.
    pub fn dump(&self, name: &str) -> Option<Result<Dump, MapError>> {
        let slot = self.slot(name)?;
        let mut state = lock(&slot.state);
        let SlotState::Running { exporter, .. } = &mut *state else {
            return None;
        };
        Some(
            exporter
                .read_maps()
                .map(|maps| Dump::from_snapshots(Some(name), &maps)),
        )
    }

    /// Replaces the list of manifest documents that did not yield an exporter.
    pub fn set_manifest_errors(&self, errors: Vec<String>) {
        *write(&self.manifest_errors) = errors;
    }

    /// Manifest documents that did not yield an exporter.
    pub fn manifest_errors(&self) -> Vec<String> {
        read(&self.manifest_errors).clone()
    }
}
