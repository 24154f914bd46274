//! Turning manifests into running exporters.
//!
//! The decoder is started first: it is cheap, has no kernel side effects and
//! tells which maps to read. Only then is the object loaded and attached.

use super::{Agent, Exporter, KernelObject, ProgramState, program_statuses};
use crate::cgroup_id_map::{CgroupIdMap, CgroupIdMapError};
use crate::decoder::Decoder as _;
use crate::decoder::wasm::{self, Limits, Runtime, WasmDecoder};
use crate::events::EventsError;
use crate::loader::{self, LoadRequest, LoadedObject};
use crate::manifest::{
    Builtins, CgroupIdMapSpec, ConfigMaps, DecoderLimits, Manifest, ManifestError,
};
use crate::maps::{BpfCommand, KernelMap, MapError, MapSource};

/// Why an exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `spec.decoder` could not be read.
    #[error(transparent)]
    DecoderSource(ManifestError),
    /// `spec.object` could not be read.
    #[error(transparent)]
    ObjectSource(ManifestError),
    #[error(transparent)]
    Decoder(#[from] wasm::PluginLoadError),
    #[error(transparent)]
    Load(#[from] loader::LoadError),
    #[error("the decoder asks for map {map}, which the object does not have (it has: {available})")]
    MissingMap { map: String, available: String },
    #[error(transparent)]
    Map(#[from] MapError),
    #[error("the decoder's `{family}` is already served by exporter {exporter}")]
    FamilyCollision { family: String, exporter: String },
    #[error(transparent)]
    CgroupIdMap(#[from] CgroupIdMapError),
    /// An event source is missing, of the wrong type, or cannot be read.
    #[error(transparent)]
    Events(#[from] EventsError),
}

/// How the reconciler turns a manifest into a running exporter: the seam in
/// front of the kernel and the wasm runtime, so the reconcile logic can be
/// tested with fake exporters.
pub trait Setup: Send + Sync + std::fmt::Debug {
    /// Sets up the exporter of `manifest`; its families must not collide
    /// with those `agent` serves.
    fn load(
        &self,
        manifest: &Manifest,
        config_maps: &ConfigMaps,
        agent: &Agent,
    ) -> Result<Exporter, SetupError>;

    /// Where `decoder.builtin` components are read from; none by default.
    fn builtins(&self) -> &Builtins {
        const NONE: &Builtins = &Builtins::none();
        NONE
    }
}

/// The real [`Setup`]: wasm decoders in `runtime`, objects in the kernel.
#[derive(Debug, Clone)]
pub struct KernelSetup {
    pub runtime: std::sync::Arc<Runtime>,
    /// The built-in decoder directory.
    pub builtins: Builtins,
    /// `--require-digests`: refuse sources that pin no SHA-256.
    pub require_digests: bool,
}

impl Setup for KernelSetup {
    fn load(
        &self,
        manifest: &Manifest,
        config_maps: &ConfigMaps,
        agent: &Agent,
    ) -> Result<Exporter, SetupError> {
        if self.require_digests {
            // Neither the decoder nor the object is read unpinned.
            manifest
                .require_digests()
                .map_err(SetupError::ObjectSource)?;
        }
        load_exporter(manifest, config_maps, &self.builtins, &self.runtime, agent)
    }

    fn builtins(&self) -> &Builtins {
        &self.builtins
    }
}

/// Sets up one exporter: decoder, object, programs, map sources. Its
/// families must not collide with those of the exporters `agent` runs.
pub fn load_exporter(
    manifest: &Manifest,
    config_maps: &ConfigMaps,
    builtins: &Builtins,
    runtime: &Runtime,
    agent: &Agent,
) -> Result<Exporter, SetupError> {
    let name = &manifest.exporter.metadata.name;
    let spec = &manifest.exporter.spec;
    let wasm = manifest
        .decoder_bytes(config_maps, builtins)
        .map_err(SetupError::DecoderSource)?;
    let mut limits = limits(&wasm, spec.decoder.limits.as_ref());
    limits.lookups = manifest.granted_lookups().into_iter().collect();
    limits.importable = manifest.importable_lookups().iter().copied().collect();
    // What the decoder writes to stdout/stderr is logged in this span.
    let decoder = tracing::info_span!("decoder", exporter = %name)
        .in_scope(|| WasmDecoder::load(runtime, &wasm, &manifest.decoder_config_json(), limits))?;
    if let Some((family, exporter)) = agent.family_conflict(name, &decoder.spec().families) {
        return Err(SetupError::FamilyCollision { family, exporter });
    }
    let elf = manifest
        .object_bytes(config_maps)
        .map_err(SetupError::ObjectSource)?;
    let mut object = loader::load(&LoadRequest {
        exporter: name,
        elf: &elf,
        globals: &spec.globals,
        programs: &spec.programs,
        maps: &spec.maps,
        attach_policy: spec.attach_policy,
    })?;
    let sources = if decoder.spec().maps.is_empty() && !decoder.spec().events.is_empty() {
        // A decoder fed by events lists the maps it also reads, if any.
        Vec::new()
    } else {
        map_sources(&object, &decoder.spec().maps)?
    };
    let event_maps = decoder
        .spec()
        .events
        .iter()
        .map(|source| object.take_event_map(&source.map))
        .collect::<Result<Vec<_>, _>>()?;
    let cgroup_ids = spec
        .cgroup_id_map
        .as_ref()
        .map(|cgroups| start_cgroup_id_map(cgroups, &object))
        .transpose()?;
    let programs = program_statuses(&object);
    for failed in programs.iter().filter(|p| p.state == ProgramState::Failed) {
        tracing::warn!(exporter = %name, program = %failed.name, error = failed.error.as_deref().unwrap_or_default(), "program not attached; attachPolicy BestEffort runs the others");
    }
    let mut exporter = Exporter::new(
        name.clone(),
        Some(Box::new(Kept { cgroup_ids, object })),
        sources,
        Box::new(decoder),
        0,
    )
    .with_programs(programs);
    exporter.start_events(event_maps)?;
    Ok(exporter)
}

/// What an exporter keeps in the kernel: its object and the cgroup id map
/// kept for it (stopped before the object unloads: fields drop in order).
struct Kept {
    cgroup_ids: Option<CgroupIdMap>,
    object: LoadedObject,
}

impl KernelObject for Kept {
    fn program_stats(&self) -> Vec<crate::loader::ProgramStats> {
        self.object.program_stats()
    }

    fn cgroup_id_map_errors(&self) -> Option<(String, u64)> {
        let map = self.cgroup_ids.as_ref()?;
        Some((map.map().to_owned(), map.errors()))
    }
}

/// Fills `spec.map` of `object` with the matching cgroups and keeps it so.
fn start_cgroup_id_map(
    spec: &CgroupIdMapSpec,
    object: &LoadedObject,
) -> Result<CgroupIdMap, CgroupIdMapError> {
    let fd = object
        .any_map_fd(&spec.map)
        .ok_or_else(|| CgroupIdMapError::NoSuchMap {
            map: spec.map.clone(),
            available: object.map_names().join(", "),
        })?;
    CgroupIdMap::start(spec, fd, None)
}

/// The sandbox and output limits: the defaults for the component's
/// language, overridden by the manifest.
fn limits(wasm: &[u8], overrides: Option<&DecoderLimits>) -> Limits {
    // Defaults by the component's language (an interpreter needs more).
    let mut limits = Limits::for_component(wasm);
    let Some(o) = overrides else {
        return limits;
    };
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if let Some(t) = o.timeout {
        limits.deadline = t.0;
    }
    if let Some(m) = o.memory {
        limits.memory_bytes = size(m.0);
    }
    let bounds = &mut limits.output;
    for (value, field) in [
        (o.max_series, &mut bounds.max_series),
        (o.max_labels, &mut bounds.max_labels),
        (o.max_label_value_bytes, &mut bounds.max_label_value_bytes),
        (o.max_bytes.map(|q| q.0), &mut bounds.max_bytes),
    ] {
        if let Some(v) = value {
            *field = size(v);
        }
    }
    limits
}

/// One source per requested map (every readable map when none is named).
fn map_sources(
    object: &LoadedObject,
    wanted: &[String],
) -> Result<Vec<Box<dyn MapSource>>, SetupError> {
    let available = || {
        object
            .maps()
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen: Vec<_> = if wanted.is_empty() {
        object.maps().iter().collect()
    } else {
        wanted
            .iter()
            .map(|w| {
                object.map(w).ok_or_else(|| SetupError::MissingMap {
                    map: w.clone(),
                    available: available(),
                })
            })
            .collect::<Result<_, _>>()?
    };
    chosen
        .into_iter()
        .map(|m| {
            let fd = m.fd.try_clone().map_err(|source| MapError::Syscall {
                map: m.name.clone(),
                command: BpfCommand::DupFd,
                source,
            })?;
            Ok(Box::new(KernelMap::new(m.name.clone(), fd)?) as Box<dyn MapSource>)
        })
        .collect()
}
