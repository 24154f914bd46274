//! A decoder component instantiated in its own [`Store`].

mod imports;

pub use imports::{WIT_ACCEPTED, WIT_VERSION};

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Component, Linker};

use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::{WasiCtxView, WasiView};

use super::bindings::types as wit;
use super::convert;
use super::limiter::Limiter;
use super::lookups::{self, LookupSession};
use super::restart::Restarts;
use super::runtime::{Limits, Runtime};
use super::wasi::GuestWasi;
use super::world::{Version, World};
use crate::decoder::validate::{DropReason, SpecError, check_spec};
use crate::decoder::{
    Collection, Declaration, DecodeError, Decoder, EventBatch, TrapKind, assemble,
};
use crate::lookup::{Lookup, Lookups};
use crate::maps::MapSnapshot;
use crate::sys::monotonic_ns;

/// Errors starting a decoder component.
#[derive(Debug, thiserror::Error)]
pub enum PluginLoadError {
    #[error("not a valid decoder component")]
    Compile(#[source] wasmtime::Error),
    #[error(
        "not a component but a core wasm module (WASI 0.1, \"preview 1\", or no WASI): build the \
         decoder as a component (wasm32-wasip2, componentize-py, componentize-js, or wrap the \
         module with `bpfhost plugin build`)"
    )]
    CoreModule,
    #[error(
        "the decoder imports what the agent does not offer (decoders get the bpfhost lookups and \
         a WASI 0.2 that grants nothing): {}",
        .0.join(", ")
    )]
    Imports(Vec<String>),
    #[error("the decoder imports a WASI release the agent does not link: {}", .0.join("; "))]
    Wasi(Vec<String>),
    #[error(
        "the decoder calls lookups its manifest does not grant; add {} to `decoder.lookups`",
        not_granted(.0)
    )]
    NotGranted(Vec<Lookup>),
    #[error(
        "the decoder was built for bpfhost:decoder@{found} (it imports {import}); this agent \
         accepts bpfhost:decoder@{accepted}: rebuild it with the plugin SDK of this release",
        accepted = imports::WIT_ACCEPTED.join(", @")
    )]
    WitVersion { found: String, import: String },
    #[error("cannot instantiate the decoder")]
    Instantiate(#[source] wasmtime::Error),
    #[error("decoder init failed")]
    Init(#[source] DecodeError),
    #[error("decoder declared an unusable family")]
    Spec(#[source] SpecError),
}

/// `` `pod` (for pod-of-cgroup), `comm` (for process-name) ``.
fn not_granted(lookups: &[Lookup]) -> String {
    lookups
        .iter()
        .map(|l| format!("`{l}` (for {})", l.wit_functions().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per-store host state.
struct State {
    limiter: Limiter,
    lookups: LookupSession,
    wasi: GuestWasi,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi.view()
    }
}

/// What every instance of one decoder is started with.
struct Setup {
    engine: Engine,
    /// Keeps the epoch ticking while this decoder may run (`Runtime`).
    _ticking: Arc<()>,
    component: Component,
    /// The world the component was built for.
    world: Version,
    linker: Linker<State>,
    lookups: Arc<Lookups>,
    config_json: String,
    limits: Limits,
}

/// A running instance: its store and the typed exports.
struct Live {
    store: Store<State>,
    world: World,
}

/// A wasm decoder. A trap discards the instance; the next call starts a
/// fresh one from the compiled component.
pub struct WasmDecoder {
    setup: Setup,
    spec: Declaration,
    live: Option<Live>,
    restarts: Restarts,
}

impl std::fmt::Debug for WasmDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmDecoder")
            .field("limits", &self.setup.limits)
            .field("spec", &self.spec)
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl WasmDecoder {
    /// Compiles `wasm`, checks its imports against the lookups
    /// `limits.lookups` grants, instantiates it and calls `init`.
    pub fn load(
        runtime: &Runtime,
        wasm: &[u8],
        config_json: &str,
        limits: Limits,
    ) -> Result<Self, PluginLoadError> {
        if wasmparser::Parser::is_core_wasm(wasm) {
            return Err(PluginLoadError::CoreModule);
        }
        let engine = runtime.engine().clone();
        let started = Instant::now();
        let (component, compiled) = runtime.compile(wasm).map_err(PluginLoadError::Compile)?;
        tracing::debug!(?compiled, elapsed = ?started.elapsed(), "decoder component ready");
        let imported =
            imports::check(&engine, &component, limits.lookups.union(limits.importable))?;
        let mut linker = Linker::new(&engine);
        lookups::add_to_linker(&mut linker, |state: &mut State| &mut state.lookups)
            .map_err(PluginLoadError::Instantiate)?;
        if imported.wasi {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
                .map_err(PluginLoadError::Instantiate)?;
        }
        let setup = Setup {
            engine,
            _ticking: runtime.ticking(),
            component,
            world: imported.world,
            linker,
            lookups: runtime.lookups(),
            config_json: config_json.to_owned(),
            limits,
        };
        let (live, spec) = setup.start()?;
        Ok(Self {
            setup,
            spec,
            live: Some(live),
            restarts: Restarts::new(limits.restart),
        })
    }

    /// Whether an instance is running (false after a trap until the next call).
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }
}

impl Setup {
    /// A fresh instance, initialized.
    fn start(&self) -> Result<(Live, Declaration), PluginLoadError> {
        let limits = self.limits;
        let state = State {
            limiter: Limiter::new(limits.memory_bytes),
            lookups: LookupSession::new(self.lookups.clone(), limits.lookups, limits.lookup_budget),
            wasi: GuestWasi::new(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(limits.deadline_ticks());
        // Lifting decode's answer is charged to wasmtime's hostcall fuel, 128 MiB
        // a call by default whatever the memory cap: the benchmark found 1M
        // series refused by it. Let the plugin's own memory cap bound it.
        store.set_hostcall_fuel(limits.memory_bytes.saturating_mul(4));
        // The linker offers only the lookups and WASI 0.2 (granting nothing):
        // `load` refused components that import anything else.
        let world = World::instantiate(self.world, &mut store, &self.component, &self.linker)
            .map_err(PluginLoadError::Instantiate)?;
        let init = world.call_init(&mut store, &self.config_json);
        store.data_mut().wasi.end_of_call();
        let spec = init
            .map_err(|e| PluginLoadError::Init(trap(&e)))?
            .map_err(|e| PluginLoadError::Init(convert::plugin_error(e)))?;
        let spec =
            check_spec(convert::spec(spec), &limits.output).map_err(PluginLoadError::Spec)?;
        Ok((Live { store, world }, spec))
    }
}

/// Classifies a wasmtime call error.
fn trap(error: &wasmtime::Error) -> DecodeError {
    let kind = match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TrapKind::Timeout,
        Some(Trap::StackOverflow) => TrapKind::StackOverflow,
        Some(Trap::UnreachableCodeReached) => TrapKind::Unreachable,
        // A Rust guest's shadow stack lives in linear memory: overflowing it
        // faults there before the wasm stack runs out.
        Some(Trap::MemoryOutOfBounds) => TrapKind::OutOfBounds,
        Some(Trap::AllocationTooLarge) => TrapKind::Memory,
        _ if format!("{error:#}").contains("forcing trap when growing memory") => TrapKind::Memory,
        _ => TrapKind::Other,
    };
    // The root cause says what happened ("wasm trap: interrupt"); the wasm
    // backtrace in between is noise in logs and status.
    DecodeError::Trap {
        kind,
        message: error.root_cause().to_string(),
    }
}

impl Decoder for WasmDecoder {
    fn spec(&self) -> &Declaration {
        &self.spec
    }

    fn quarantined(&self) -> bool {
        self.restarts.quarantined()
    }

    fn memory_bytes(&self) -> Option<u64> {
        let live = self.live.as_ref()?;
        Some(live.store.data().limiter.memory_bytes() as u64)
    }

    fn decode(&mut self, maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        let deadline = self.setup.limits.deadline_ticks();
        let live = self.live()?;
        live.store.set_epoch_deadline(deadline);
        live.store.data_mut().lookups.reset();
        let mut snapshots = convert::take_snapshots(maps);
        let result = live
            .world
            .call_decode(&mut live.store, &mut snapshots, monotonic_ns());
        live.store.data_mut().wasi.end_of_call();
        convert::restore_snapshots(maps, snapshots);
        let output = self.outcome(result)?;
        let mut rows = convert::Rows::new(output);
        let mut collection = assemble(&self.spec, &mut rows, self.setup.limits.output);
        collection.dropped[DropReason::Malformed as usize] += rows.malformed;
        Ok(collection)
    }

    fn on_events(&mut self, batch: &mut EventBatch) -> Result<(), DecodeError> {
        let deadline = self.setup.limits.deadline_ticks();
        let live = self.live()?;
        live.store.set_epoch_deadline(deadline);
        live.store.data_mut().lookups.reset();
        let records = wit::EventBatch {
            source: batch.source,
            records: batch.records,
            data: std::mem::take(&mut batch.data),
            now: monotonic_ns(),
        };
        let result = live.world.call_on_events(&mut live.store, &records);
        live.store.data_mut().wasi.end_of_call();
        batch.data = records.data;
        self.outcome(result)
    }
}

impl WasmDecoder {
    /// The running instance, restarted first if a trap discarded the last
    /// one (unless the restart policy says to wait).
    fn live(&mut self) -> Result<&mut Live, DecodeError> {
        if self.live.is_none() {
            self.restarts.check(Instant::now()).map_err(not_running)?;
            let (live, spec) = self.setup.start().map_err(|e| {
                self.restarts.on_trap(Instant::now());
                not_running(e.to_string())
            })?;
            if spec != self.spec {
                return Err(not_running(
                    "the restarted decoder declared different families",
                ));
            }
            self.live = Some(live);
        }
        self.live.as_mut().ok_or_else(|| not_running("no instance"))
    }

    /// Accounts for a call's result: a trap discards the instance.
    fn outcome<T>(&mut self, result: super::world::Call<T>) -> Result<T, DecodeError> {
        match result {
            Ok(Ok(value)) => {
                self.restarts.on_success();
                Ok(value)
            }
            Ok(Err(e)) => Err(convert::plugin_error(e)),
            Err(e) => {
                self.live = None;
                self.restarts.on_trap(Instant::now());
                Err(trap(&e))
            }
        }
    }
}

fn not_running(reason: impl Into<String>) -> DecodeError {
    DecodeError::NotRunning {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod lookup_tests;

#[cfg(test)]
mod compat_tests;

#[cfg(test)]
mod events_tests;
