//! One wasmtime [`Engine`] for the whole agent and the epoch ticker that
//! enforces call deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use std::path::Path;

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use super::cache::{CacheError, Compiled, ComponentCache};
use super::language::SourceLanguage;
use super::restart::RestartPolicy;
use crate::decoder::validate::OutputBounds;
use crate::lookup::{Budget, Grants, Lookups};

/// How often the epoch advances; deadlines are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a single call (`init` or `decode`) may run.
    pub deadline: Duration,
    /// Largest linear memory the plugin may grow to.
    pub memory_bytes: usize,
    /// Bounds on each collection's output.
    pub output: OutputBounds,
    /// Pacing of restarts after traps.
    pub restart: RestartPolicy,
    /// Host lookups the plugin may call; none by default.
    pub lookups: Grants,
    /// Lookups the plugin may import without being granted them: those of
    /// a built-in decoder, trusted as the agent is, whose calls to the
    /// ungranted ones answer none. None by default: every import needs
    /// its grant.
    pub importable: Grants,
    /// What one collection (or `init`) may spend on lookups.
    pub lookup_budget: Budget,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            output: OutputBounds::default(),
            restart: RestartPolicy::default(),
            lookups: Grants::NONE,
            importable: Grants::NONE,
            lookup_budget: Budget::default(),
        }
    }
}

impl Limits {
    /// The defaults for the component `wasm`, by the language it was
    /// written in ([`SourceLanguage`]): interpreted Python and JavaScript
    /// get more memory and time than compiled code. The manifest's
    /// `decoder.limits` apply over these; the choice is logged.
    pub fn for_component(wasm: &[u8]) -> Self {
        let language = SourceLanguage::of(wasm);
        let limits = Self {
            deadline: language.default_deadline(),
            memory_bytes: language.default_memory_bytes(),
            ..Self::default()
        };
        tracing::info!(
            %language,
            memory_bytes = limits.memory_bytes,
            deadline = ?limits.deadline,
            "decoder limits: the defaults of its language (the manifest's decoder.limits override them)"
        );
        limits
    }

    /// The deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}

/// The shared engine plus its epoch ticker thread. The ticker outlives the
/// `Runtime` as long as a decoder loaded from it does: a call running when
/// the agent drops the runtime (a decoder spinning in a loop, say) still
/// reaches its deadline, instead of spinning on a frozen epoch forever.
#[derive(Debug)]
pub struct Runtime {
    engine: Engine,
    cache: Option<ComponentCache>,
    lookups: Arc<Lookups>,
    stop: Arc<AtomicBool>,
    /// Held by every decoder loaded from this runtime and by the ticker,
    /// which stops once `stop` is set and it holds the last reference
    /// (`None` only while the runtime drops).
    decoders: Option<Arc<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// Set to 1, the agent writes `/tmp/perf-PID.map` for `perf` to name the
/// decoders' compiled functions.
pub const PERFMAP_ENV: &str = "BPFHOST_WASM_PERFMAP";

/// Maximum wasm stack of a plugin call.
const MAX_WASM_STACK: usize = 512 << 10;

impl Runtime {
    /// Creates the engine (component model, epoch interruption, bounded
    /// stack) and starts the epoch ticker.
    pub fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK);
        if std::env::var_os(PERFMAP_ENV).is_some_and(|v| v == "1") {
            // For plugin authors profiling a decoder: `perf record` then
            // names the functions of the compiled wasm.
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let stop = Arc::new(AtomicBool::new(false));
        let decoders = Arc::new(());
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            let decoders = decoders.clone();
            std::thread::Builder::new()
                .name("wasm-epoch".into())
                .spawn(move || {
                    // Once stopped, any reference besides the ticker's is a
                    // decoder whose calls may still be running.
                    while !stop.load(Ordering::Relaxed) || Arc::strong_count(&decoders) > 1 {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })?
        };
        Ok(Self {
            engine,
            cache: None,
            lookups: Arc::default(),
            stop,
            decoders: Some(decoders),
            ticker: Some(ticker),
        })
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A token a decoder holds for as long as it may call into wasm: the
    /// epoch keeps ticking while any is held.
    pub(super) fn ticking(&self) -> Arc<()> {
        self.decoders.clone().unwrap_or_default()
    }

    /// The host lookups decoders loaded from now on share; the real
    /// system's by default.
    pub fn lookups(&self) -> Arc<Lookups> {
        self.lookups.clone()
    }

    /// Serves decoders loaded from now on with `lookups` (tests point them
    /// at temp dirs; the agent at a configured pod log directory).
    pub fn set_lookups(&mut self, lookups: Lookups) {
        self.lookups = Arc::new(lookups);
    }

    /// Keeps compiled components under `root`, so later loads of the same
    /// component (in this process or after a restart) skip compilation.
    pub fn enable_cache(&mut self, root: &Path) -> Result<(), CacheError> {
        self.cache = Some(ComponentCache::open(root, &self.engine)?);
        Ok(())
    }

    /// Compiles a component, or reads it from the cache.
    pub fn compile(&self, wasm: &[u8]) -> wasmtime::Result<(Component, Compiled)> {
        match &self.cache {
            Some(cache) => cache.load(&self.engine, wasm),
            None => Ok((Component::new(&self.engine, wasm)?, Compiled::Miss)),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let Some(decoders) = self.decoders.take() else {
            return;
        };
        // The ticker now holds one reference and each loaded decoder one.
        let idle = Arc::strong_count(&decoders) <= 2;
        drop(decoders);
        // With no decoder left the ticker stops at its next tick; otherwise
        // it runs on until the last one goes (joining could wait on a
        // decoder this thread drops later).
        if idle && let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}
