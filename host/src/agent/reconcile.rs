//! Bringing the running exporters in line with a desired set of manifests.
//!
//! One core serves both modes. A pass takes the desired set ([`Loaded`]:
//! manifests, the `ConfigMap`s they read, and errors), fingerprints each
//! exporter (its spec and the bytes of its object and decoder) and acts on
//! the difference: new exporters are loaded, changed ones reloaded (the new
//! version is loaded before the old one is dropped; a failed reload keeps
//! the old version serving and reports the error), vanished ones unloaded.
//!
//! File mode ([`FileReconciler`]) builds the set from the manifest files at
//! start and then on a fixed rescan interval; Kubernetes mode
//! ([`crate::cluster`]) builds it from the watched resources and reads each
//! exporter's [`Outcome`] back for its status.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use super::setup::{KernelSetup, Setup, SetupError};
use super::{Agent, ProgramState, ProgramStatus};
use crate::manifest::{self, Builtins, ConfigMaps, Loaded, Manifest, ManifestError};

/// Where setting up an exporter failed, in the order setup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The resource itself is invalid (Kubernetes mode).
    Manifest,
    /// Reading, compiling or starting the decoder, or its families.
    Decoder,
    /// Reading or loading the ELF object (the verifier among others), or
    /// finding the maps the decoder reads.
    Object,
    /// Attaching the loaded programs.
    Attach,
}

/// Why an exporter is not running as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub stage: Stage,
    /// The error chain, in one line per cause.
    pub message: String,
    /// The end of the verifier log when the verifier rejected a program.
    pub verifier_log: Option<String>,
    /// Whether an earlier version keeps serving meanwhile.
    pub previous_serving: bool,
    /// A more precise reason for the failed condition than its stage's
    /// (`DigestMismatch`).
    pub reason: Option<&'static str>,
}

/// The result of the last attempt to run an exporter as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded and serving. `failed` names the programs that did not attach
    /// (only under `attachPolicy: BestEffort`), with their errors.
    Running {
        failed: Vec<ProgramStatus>,
    },
    Failed(Failure),
}

impl Outcome {
    /// Running with every program attached.
    pub fn running() -> Self {
        Self::Running { failed: Vec::new() }
    }
}

impl Failure {
    fn from_setup(error: &SetupError, previous_serving: bool) -> Self {
        let (stage, verifier_log) = match error {
            SetupError::DecoderSource(_)
            | SetupError::Decoder(_)
            | SetupError::FamilyCollision { .. } => (Stage::Decoder, None),
            SetupError::ObjectSource(_)
            | SetupError::MissingMap { .. }
            | SetupError::Map(_)
            | SetupError::CgroupIdMap(_)
            | SetupError::Events(_) => (Stage::Object, None),
            SetupError::Load(e) if e.is_attach() => (Stage::Attach, None),
            SetupError::Load(e) => (Stage::Object, e.verifier_log_tail().map(str::to_owned)),
        };
        let reason = match error {
            SetupError::DecoderSource(ManifestError::DigestMismatch { .. })
            | SetupError::ObjectSource(ManifestError::DigestMismatch { .. }) => {
                Some("DigestMismatch")
            }
            SetupError::DecoderSource(ManifestError::DigestRequired { .. })
            | SetupError::ObjectSource(ManifestError::DigestRequired { .. }) => {
                Some("DigestRequired")
            }
            _ => None,
        };
        Self {
            stage,
            message: crate::error_chain(error),
            verifier_log,
            previous_serving,
            reason,
        }
    }
}

/// What the last pass did about one exporter.
#[derive(Debug)]
struct Applied {
    print: u64,
    outcome: Outcome,
}

/// Keeps an [`Agent`] in line with desired sets of manifests.
#[derive(Debug)]
pub struct Reconciler {
    agent: Arc<Agent>,
    setup: Arc<dyn Setup>,
    /// What each exporter was last loaded (or failed) from, and how.
    applied: BTreeMap<String, Applied>,
}

impl Reconciler {
    /// A reconciler feeding `agent` with exporters from `setup`.
    pub fn new(agent: Arc<Agent>, setup: Arc<dyn Setup>) -> Self {
        Self {
            agent,
            setup,
            applied: BTreeMap::new(),
        }
    }

    /// One pass: load, reload and unload so the agent runs `desired`.
    ///
    /// `invalid` names exporters whose resource exists but failed
    /// validation, with the reason: a running version of one keeps serving
    /// (a bad edit must not take it down) and the failure is recorded.
    pub fn apply(&mut self, desired: &Loaded, invalid: &BTreeMap<String, String>) {
        for error in &desired.errors {
            tracing::error!(%error, "invalid manifest");
        }
        let mut manifest_errors: Vec<String> =
            desired.errors.iter().map(ToString::to_string).collect();
        manifest_errors.extend(invalid.values().cloned());
        self.agent.set_manifest_errors(manifest_errors);
        let mut wanted = BTreeSet::new();
        for manifest in &desired.exporters {
            let name = manifest.name().to_owned();
            let print = fingerprint(manifest, &desired.config_maps, self.setup.builtins());
            if self.applied.get(&name).map(|a| a.print) != Some(print) {
                let outcome = self.load(manifest, &desired.config_maps);
                self.applied
                    .insert(name.clone(), Applied { print, outcome });
            }
            wanted.insert(name);
        }
        for (name, message) in invalid {
            let previous_serving = self.agent.slot(name).is_some_and(|s| s.is_running());
            if !previous_serving {
                self.agent.insert_failed(name.clone(), message.clone());
            }
            // Fingerprint 0: the next valid spec always counts as a change.
            let outcome = Outcome::Failed(Failure {
                stage: Stage::Manifest,
                message: message.clone(),
                verifier_log: None,
                previous_serving,
                reason: None,
            });
            self.applied
                .insert(name.clone(), Applied { print: 0, outcome });
            wanted.insert(name.clone());
        }
        let gone: Vec<String> = self
            .applied
            .keys()
            .filter(|name| !wanted.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.applied.remove(&name);
            if self.agent.remove(&name).is_some() {
                tracing::info!(exporter = %name, "exporter unloaded");
            }
        }
    }

    /// The result of the last attempt to run exporter `name`, while the
    /// desired set has it.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.applied.get(name).map(|a| &a.outcome)
    }

    fn load(&self, manifest: &Manifest, config_maps: &ConfigMaps) -> Outcome {
        let name = manifest.name();
        let previous = self.agent.slot(name).filter(|slot| slot.is_running());
        match self.setup.load(manifest, config_maps, &self.agent) {
            Ok(exporter) => {
                let programs = exporter.programs_attached();
                let failed = exporter
                    .programs()
                    .iter()
                    .filter(|p| p.state == ProgramState::Failed)
                    .cloned()
                    .collect();
                let old = self.agent.insert(exporter);
                let verb = if old.is_some() { "reloaded" } else { "loaded" };
                tracing::info!(exporter = %name, programs, "exporter {verb}");
                // The old version detaches here, after the new one is serving.
                drop(old);
                Outcome::Running { failed }
            }
            Err(error) => {
                let failure = Failure::from_setup(&error, previous.is_some());
                if let Some(running) = previous {
                    tracing::error!(exporter = %name, error = %failure.message, "reload failed; the previous version keeps serving");
                    running.set_reload_error(Some(failure.message.clone()));
                } else {
                    tracing::error!(exporter = %name, error = %failure.message, "exporter failed to load");
                    self.agent.insert_failed(name, failure.message.clone());
                }
                Outcome::Failed(failure)
            }
        }
    }
}

/// Where file mode's desired set comes from, read again at every pass:
/// manifest files, or manifests a compatibility mode builds from its own
/// config files (`bpfhost ebpf-exporter`).
#[derive(Clone)]
pub struct ManifestSource {
    what: String,
    read: Arc<dyn Fn() -> Loaded + Send + Sync>,
}

impl ManifestSource {
    /// The manifests of files and directories of them.
    pub fn paths(paths: Vec<PathBuf>) -> Self {
        let what = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Self::new(what, move || manifest::load_paths(&paths))
    }

    /// The manifests `read` returns; `what` describes them for logs.
    pub fn new(what: impl Into<String>, read: impl Fn() -> Loaded + Send + Sync + 'static) -> Self {
        Self {
            what: what.into(),
            read: Arc::new(read),
        }
    }

    /// Reads the desired set now.
    pub fn read(&self) -> Loaded {
        (self.read)()
    }
}

impl std::fmt::Debug for ManifestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ManifestSource").field(&self.what).finish()
    }
}

/// File mode: the desired set is what the manifest files say.
#[derive(Debug)]
pub struct FileReconciler {
    source: ManifestSource,
    core: Reconciler,
}

impl FileReconciler {
    /// A reconciler for the manifests of `source` feeding `agent`.
    pub fn new(source: ManifestSource, agent: Arc<Agent>, setup: KernelSetup) -> Self {
        Self {
            source,
            core: Reconciler::new(agent, Arc::new(setup)),
        }
    }

    /// One pass: reads every manifest and applies them.
    pub fn reconcile(&mut self) {
        let loaded = self.source.read();
        self.core.apply(&loaded, &BTreeMap::new());
    }
}

/// Hashes what an exporter is made of; unreadable sources hash as their
/// error, so fixing them counts as a change.
fn fingerprint(manifest: &Manifest, config_maps: &ConfigMaps, builtins: &Builtins) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&manifest.exporter.spec)
        .unwrap_or_default()
        .hash(&mut hasher);
    for bytes in [
        manifest.object_bytes(config_maps),
        manifest.decoder_bytes(config_maps, builtins),
    ] {
        match bytes {
            Ok(b) => b.hash(&mut hasher),
            Err(e) => e.to_string().hash(&mut hasher),
        }
    }
    // Never 0, which marks an invalid resource.
    hasher.finish().max(1)
}
