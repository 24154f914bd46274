//! Starting and stopping the agent: manifests are loaded and exporters set
//! up before the port is bound; on cancellation the agent reports itself
//! not ready, stops accepting, lets scrapes in flight finish (bounded),
//! stops the reconcilers and unloads every exporter, within
//! [`SHUTDOWN_BOUND`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent::setup::KernelSetup;
use crate::agent::{Agent, ExtraFamilies, FileReconciler, ManifestSource, SlotStatus};
use crate::cluster::KubeConfig;
use crate::decoder::wasm::Runtime;
use crate::lookup::{CacheBounds, Lookups, Roots};
use crate::manifest::Builtins;
use crate::web::{TlsListener, Web};

/// Validated configuration of `bpfhost run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Manifest files and directories (file mode).
    pub manifests: Vec<PathBuf>,
    /// File mode: read the manifests from here instead of `manifests`.
    pub source: Option<ManifestSource>,
    /// Kubernetes mode: watch `BpfExporter`s instead of files.
    pub kube: Option<KubeConfig>,
    pub listen: SocketAddr,
    pub node_name: String,
    /// How often manifest files (and the files they reference) are rescanned.
    pub rescan: Duration,
    /// Where compiled decoder components are kept; `None` compiles at
    /// every load.
    pub cache_dir: Option<PathBuf>,
    /// Serve `/debug/dump/{exporter}` (raw map contents).
    pub enable_dump: bool,
    /// The kubelet's log directory (`/var/log`), read by the `pod` lookup.
    pub kubelet_log_dir: PathBuf,
    /// TLS, basic auth and headers (`--web.config.file`); `None` serves
    /// plain HTTP.
    pub web_config: Option<PathBuf>,
    /// Where `decoder.builtin` components are read from; `None` for
    /// [`Builtins::default_dir`].
    pub builtin_dir: Option<PathBuf>,
    /// Where the metrics are served besides `/metrics`.
    pub metrics_path: String,
    /// Families served beside the agent's own.
    pub extra_families: Option<Arc<dyn ExtraFamilies>>,
    /// File mode: refuse to start when an exporter fails to load.
    pub strict: bool,
    /// Refuse objects and decoders whose source pins no `sha256`.
    pub require_digests: bool,
}

impl Default for RunConfig {
    /// `bpfhost run`'s defaults, with no manifests.
    fn default() -> Self {
        Self {
            manifests: Vec::new(),
            source: None,
            kube: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 9387)),
            node_name: crate::cli::hostname(),
            rescan: DEFAULT_RESCAN,
            cache_dir: Some(PathBuf::from("/var/cache/bpfhost")),
            enable_dump: false,
            kubelet_log_dir: PathBuf::from("/var/log"),
            web_config: None,
            builtin_dir: None,
            metrics_path: METRICS_PATH.to_owned(),
            extra_families: None,
            strict: false,
            require_digests: false,
        }
    }
}

/// Default of [`RunConfig::rescan`].
pub const DEFAULT_RESCAN: Duration = Duration::from_secs(2);

/// How long a stop may take, from the signal to the process's exit; the
/// `DaemonSet`'s `terminationGracePeriodSeconds` leaves room above it.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(5);

/// How long scrapes in flight get to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(2);
/// How long the reconcilers get to finish a pass once shutdown starts.
const STOP_RECONCILERS: Duration = Duration::from_secs(1);

/// Errors starting the agent. Exporter failures are not among them: those
/// are reported per exporter while the others serve.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the wasm engine")]
    Engine(#[source] wasmtime::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("exporter setup task failed")]
    Setup(#[source] tokio::task::JoinError),
    #[error("cannot configure the Kubernetes client (in-cluster service account or kubeconfig)")]
    Kube(#[source] kube::Error),
    #[error("--web.config.file")]
    Web(#[source] crate::web::WebConfigError),
    #[error("{} exporter(s) failed to load: {}", .failed.len(), .failed.join("; "))]
    Strict { failed: Vec<String> },
}

/// A started agent.
#[derive(Debug)]
pub struct App {
    addr: SocketAddr,
    agent: Arc<Agent>,
    server: JoinHandle<std::io::Result<()>>,
    watcher: JoinHandle<()>,
    /// Owns the engine's epoch ticker; outlives every decoder.
    _runtime: Arc<Runtime>,
}

/// Loads every manifest, sets up the exporters, binds and starts serving.
pub async fn start(config: &RunConfig, shutdown: CancellationToken) -> Result<App, StartError> {
    let web = Arc::new(match &config.web_config {
        Some(path) => Web::load(path).map_err(StartError::Web)?,
        None => Web::plain(),
    });
    let (runtime, setup) = kernel_setup(config)?;
    let agent = Arc::new(Agent::new(config.node_name.clone()));
    if let Some(extra) = &config.extra_families {
        agent.set_extra_families(extra.clone());
    }
    let watcher = match &config.kube {
        // The controller loads exporters once the API has been listed; the
        // port serves /healthz meanwhile.
        Some(kube) => {
            let client = kube::Client::try_default()
                .await
                .map_err(StartError::Kube)?;
            tokio::spawn(crate::cluster::run(
                client,
                kube.clone(),
                agent.clone(),
                Arc::new(setup),
                shutdown.clone(),
            ))
        }
        None => watch_files(config, &agent, setup, &shutdown).await?,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    tracing::info!(
        %addr,
        tls = web.uses_tls(),
        exporters = agent.slots().len(),
        "serving /metrics"
    );
    let options = crate::server::Options {
        enable_dump: config.enable_dump,
    };
    let mut router = crate::server::router(agent.clone(), options);
    if config.metrics_path != METRICS_PATH {
        router = alias(router, &config.metrics_path, METRICS_PATH);
    }
    let router = crate::web::layer(router, web.clone());
    let server = if web.uses_tls() {
        let listener = TlsListener::spawn(listener, web, shutdown.clone()).map_err(|source| {
            StartError::Bind {
                addr: config.listen,
                source,
            }
        })?;
        serve(listener, router, shutdown)
    } else {
        serve(listener, router, shutdown)
    };
    Ok(App {
        addr,
        agent,
        server,
        watcher,
        _runtime: runtime,
    })
}

/// The wasm runtime (with its component cache and host lookups) and the
/// setup that turns manifests into exporters.
fn kernel_setup(config: &RunConfig) -> Result<(Arc<Runtime>, KernelSetup), StartError> {
    let mut runtime = Runtime::new().map_err(StartError::Engine)?;
    if let Some(dir) = &config.cache_dir
        && let Err(e) = runtime.enable_cache(dir)
    {
        // Only start-up time suffers: every load compiles.
        tracing::warn!(error = %crate::error_chain(&e), "component cache disabled");
    }
    runtime.set_lookups(Lookups::new(
        Roots::default().with_kubelet_logs(&config.kubelet_log_dir),
        CacheBounds::default(),
    ));
    let runtime = Arc::new(runtime);
    let setup = KernelSetup {
        runtime: runtime.clone(),
        builtins: Builtins::new(
            config
                .builtin_dir
                .clone()
                .unwrap_or_else(Builtins::default_dir),
        ),
        require_digests: config.require_digests,
    };
    Ok((runtime, setup))
}

/// The path the server router serves metrics on.
const METRICS_PATH: &str = "/metrics";

/// Serves `router`'s `to` at `from` as well.
fn alias(router: axum::Router, from: &str, to: &'static str) -> axum::Router {
    use tower::ServiceExt as _;
    let target = router.clone();
    router.route(
        from,
        axum::routing::get(move |mut request: axum::extract::Request| async move {
            *request.uri_mut() = axum::http::Uri::from_static(to);
            target.oneshot(request).await
        }),
    )
}

/// The file-mode manifest source of `config`.
fn manifest_source(config: &RunConfig) -> ManifestSource {
    config
        .source
        .clone()
        .unwrap_or_else(|| ManifestSource::paths(config.manifests.clone()))
}

/// What kept exporters from loading: manifest errors, then failed
/// exporters (`name: error`).
fn failed(agent: &Agent) -> Vec<String> {
    let mut failed = agent.manifest_errors();
    for status in agent.slots().iter().map(|slot| slot.status()) {
        if status.state == "failed" {
            let error = status.error.unwrap_or_default();
            failed.push(format!("{}: {error}", status.name));
        }
    }
    failed
}

/// Serves `router` on `listener` (plain or TLS) until `shutdown`, then
/// lets the requests in flight finish (bounded by [`App::join`]).
fn serve<L>(
    listener: L,
    router: axum::Router,
    shutdown: CancellationToken,
) -> JoinHandle<std::io::Result<()>>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    })
}

/// File mode: the first pass completes before the port is bound, then the
/// files are rescanned every `config.rescan`.
async fn watch_files(
    config: &RunConfig,
    agent: &Arc<Agent>,
    setup: KernelSetup,
    shutdown: &CancellationToken,
) -> Result<JoinHandle<()>, StartError> {
    let reconciler = FileReconciler::new(manifest_source(config), agent.clone(), setup);
    let mut reconciler = tokio::task::spawn_blocking(move || {
        let mut reconciler = reconciler;
        reconciler.reconcile();
        reconciler
    })
    .await
    .map_err(StartError::Setup)?;
    if config.strict {
        let failed = failed(agent);
        if !failed.is_empty() {
            return Err(StartError::Strict { failed });
        }
    }
    agent.readiness().set_ready();
    let (shutdown, rescan) = (shutdown.clone(), config.rescan);
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(rescan);
        tick.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            reconciler = match tokio::task::spawn_blocking(move || {
                reconciler.reconcile();
                reconciler
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %crate::error_chain(&e), "manifest rescan failed; no more rescans");
                    break;
                }
            };
        }
    }))
}

impl App {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The running agent.
    pub fn agent(&self) -> &Arc<Agent> {
        &self.agent
    }

    /// Stops the agent once the shutdown token has fired: waits for the
    /// server to drain (scrapes in flight get [`DRAIN`], then are cut), for
    /// the reconcilers to stop, and unloads every exporter. A decoder call
    /// still running (one stuck until its deadline) keeps its exporter
    /// until it returns or the process exits, which releases its kernel
    /// objects either way.
    pub async fn join(self) -> anyhow::Result<()> {
        self.agent.readiness().set_draining();
        let served = bounded(self.server, DRAIN, "scrapes in flight").await;
        bounded(self.watcher, STOP_RECONCILERS, "the reconciler").await;
        let slots = self.agent.clear();
        tracing::info!(exporters = slots.len(), "unloading exporters");
        let started = std::time::Instant::now();
        if tokio::task::spawn_blocking(move || unload(slots))
            .await
            .is_err()
        {
            tracing::error!("unloading exporters failed");
        }
        tracing::info!(took = ?started.elapsed(), "exporters unloaded");
        match served {
            Some(result) => result.map_err(Into::into),
            None => Ok(()),
        }
    }
}

/// Drops the exporters' slots on several threads: detaching a tracing
/// program waits for an RCU grace period (tens of milliseconds), which one
/// by one adds up to seconds for 50 exporters.
fn unload(slots: Vec<Arc<crate::agent::Slot>>) {
    const THREADS: usize = 8;
    let per_thread = slots.len().div_ceil(THREADS).max(1);
    let mut slots = slots;
    std::thread::scope(|scope| {
        while !slots.is_empty() {
            let batch: Vec<_> = slots.drain(..per_thread.min(slots.len())).collect();
            scope.spawn(move || drop(batch));
        }
    });
}

/// Waits up to `limit` for `task`; past it the task is aborted and `None`
/// returned. A task that failed is logged and `None` returned too.
async fn bounded<T>(mut task: JoinHandle<T>, limit: Duration, what: &str) -> Option<T> {
    match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            tracing::error!(%error, "{what}: task failed during shutdown");
            None
        }
        Err(_) => {
            tracing::warn!(limit = ?limit, "{what}: not finished in time; abandoned");
            task.abort();
            None
        }
    }
}

/// What [`check`] found.
#[derive(Debug)]
pub struct Checked {
    /// Each exporter's state after loading and one collection.
    pub exporters: Vec<SlotStatus>,
    /// Manifests that did not become an exporter.
    pub manifest_errors: Vec<String>,
}

/// Loads every exporter of `config` once (file mode), collects each once,
/// and unloads them. Serves nothing.
pub fn check(config: &RunConfig) -> Result<Checked, StartError> {
    let (_runtime, setup) = kernel_setup(config)?;
    let agent = Arc::new(Agent::new(config.node_name.clone()));
    FileReconciler::new(manifest_source(config), agent.clone(), setup).reconcile();
    // A collection finds what only the maps tell: a key layout the config
    // does not match.
    drop(agent.collect());
    Ok(Checked {
        exporters: agent.slots().iter().map(|slot| slot.status()).collect(),
        manifest_errors: agent.manifest_errors(),
    })
}

/// `bpfhost validate`: parses and checks manifests, loads nothing.
pub fn validate(paths: &[PathBuf]) -> anyhow::Result<()> {
    let loaded = crate::manifest::load_paths(paths);
    for manifest in &loaded.exporters {
        println!("ok: {} ({})", manifest.name(), manifest.location);
    }
    for error in &loaded.errors {
        println!("error: {error}");
    }
    anyhow::ensure!(
        loaded.errors.is_empty(),
        "{} manifest error(s)",
        loaded.errors.len()
    );
    Ok(())
}

/// `bpfhost plugin test`: runs a decoder on a map dump and prints what it
/// would serve; dropped series are listed on stderr. Without a decoder,
/// runs the native tests of the project in `--dir`.
pub fn plugin_test(args: &crate::cli::PluginTestArgs) -> anyhow::Result<()> {
    let (Some(decoder), Some(dump)) = (&args.decoder, &args.dump) else {
        let language = crate::plugin_language::test(&args.dir)
            .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
        eprintln!("the {language} decoder's native tests passed");
        return Ok(());
    };
    let format = if args.openmetrics {
        crate::exposition::Format::OpenMetrics
    } else {
        crate::exposition::Format::Text
    };
    let rendered = crate::offline::run_files(decoder, dump, args.config.as_deref(), format)
        .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &rendered.exposition)?;
    for (reason, n) in &rendered.dropped {
        eprintln!("dropped {n} series: {reason}");
    }
    Ok(())
}

/// `bpfhost plugin new`: creates the project and says what to do next.
pub fn plugin_new(args: &crate::cli::PluginNewArgs) -> anyhow::Result<()> {
    use crate::plugin_language::Language;
    let dir = crate::template::create(&args.name, &args.dir, args.sdk.as_deref(), args.lang)
        .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
    println!("created {} ({})", dir.display(), args.lang);
    println!("next: cd {}", dir.display());
    println!("      bpfhost plugin test             # native unit test");
    println!("      bpfhost plugin build -o {}.wasm", args.name);
    println!(
        "      bpfhost plugin test {}.wasm --dump testdata/dump.json",
        args.name
    );
    let guide = match args.lang {
        Language::Rust => "plugin-sdk/README.md",
        Language::Python => "plugin-sdk/guides/python.md",
        Language::Javascript => "plugin-sdk/guides/javascript.md",
        Language::C => "plugin-sdk/guides/c.md",
    };
    println!("      ({guide} has the whole loop)");
    Ok(())
}

/// `bpfhost plugin build`: builds the component and prints its path (the
/// last line of output, for scripts).
pub fn plugin_build(args: &crate::cli::PluginBuildArgs) -> anyhow::Result<()> {
    let out = crate::plugin_build::build(&args.dir, args.output.as_deref())
        .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
    println!("{}", out.display());
    Ok(())
}
