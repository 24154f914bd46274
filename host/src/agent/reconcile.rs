//! Bringing the running exporters in line with the manifests on disk.
//!
//! Each pass loads every manifest, fingerprints each exporter (its spec and
//! the bytes of its object and decoder) and acts on the difference: new
//! exporters are loaded, changed ones reloaded (the new version is loaded
//! before the old one is dropped; a failed reload keeps the old version
//! serving and reports the error), vanished ones unloaded. File mode calls
//! [`Reconciler::reconcile`] at start and then on a fixed rescan interval.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use super::Agent;
use super::setup::load_exporter;
use crate::decoder::wasm::Runtime;
use crate::manifest::{self, ConfigMaps, Manifest};

/// Keeps an [`Agent`] in line with a set of manifest paths.
#[derive(Debug)]
pub struct Reconciler {
    paths: Vec<PathBuf>,
    agent: Arc<Agent>,
    runtime: Arc<Runtime>,
    /// Fingerprint of what each exporter was last loaded (or failed) from.
    applied: BTreeMap<String, u64>,
}

impl Reconciler {
    /// A reconciler for `paths` feeding `agent`.
    pub fn new(paths: Vec<PathBuf>, agent: Arc<Agent>, runtime: Arc<Runtime>) -> Self {
        Self {
            paths,
            agent,
            runtime,
            applied: BTreeMap::new(),
        }
    }

    /// One pass: load, reload and unload so the agent matches the files.
    pub fn reconcile(&mut self) {
        let loaded = manifest::load_paths(&self.paths);
        for error in &loaded.errors {
            tracing::error!(%error, "invalid manifest");
        }
        self.agent
            .set_manifest_errors(loaded.errors.iter().map(ToString::to_string).collect());
        let mut wanted = BTreeSet::new();
        for manifest in &loaded.exporters {
            let name = manifest.name().to_owned();
            let print = fingerprint(manifest, &loaded.config_maps);
            if self.applied.get(&name) != Some(&print) {
                self.apply(manifest, &loaded.config_maps);
                self.applied.insert(name.clone(), print);
            }
            wanted.insert(name);
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

    fn apply(&self, manifest: &Manifest, config_maps: &ConfigMaps) {
        let name = manifest.name();
        let previous = self.agent.slot(name).filter(|slot| slot.is_running());
        match load_exporter(manifest, config_maps, &self.runtime, &self.agent) {
            Ok(exporter) => {
                let programs = exporter.programs_attached();
                let old = self.agent.insert(exporter);
                let verb = if old.is_some() { "reloaded" } else { "loaded" };
                tracing::info!(exporter = %name, programs, "exporter {verb}");
                // The old version detaches here, after the new one is serving.
                drop(old);
            }
            Err(error) => {
                let message = crate::error_chain(&error);
                if let Some(running) = previous {
                    tracing::error!(exporter = %name, error = %message, "reload failed; the previous version keeps serving");
                    running.set_reload_error(Some(message));
                } else {
                    tracing::error!(exporter = %name, error = %message, "exporter failed to load");
                    self.agent.insert_failed(name, message);
                }
            }
        }
    }
}

/// Hashes what an exporter is made of; unreadable sources hash as their
/// error, so fixing them counts as a change.
fn fingerprint(manifest: &Manifest, config_maps: &ConfigMaps) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&manifest.exporter.spec)
        .unwrap_or_default()
        .hash(&mut hasher);
    for bytes in [
        manifest.object_bytes(config_maps),
        manifest.decoder_bytes(config_maps),
    ] {
        match bytes {
            Ok(b) => b.hash(&mut hasher),
            Err(e) => e.to_string().hash(&mut hasher),
        }
    }
    hasher.finish()
}
