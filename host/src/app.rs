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
use crate::agent::{Agent, FileReconciler};
use crate::cluster::KubeConfig;
use crate::decoder::wasm::Runtime;
use crate::lookup::{CacheBounds, Lookups, Roots};
use crate::web::{TlsListener, Web};

/// Validated configuration of `bpfhost run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Manifest files and directories (file mode).
    pub manifests: Vec<PathBuf>,
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
    let agent = Arc::new(Agent::new(config.node_name.clone()));
    let watcher = match &config.kube {
        // The controller loads exporters once the API has been listed; the
        // port serves /healthz meanwhile.
        Some(kube) => {
            let client = kube::Client::try_default()
                .await
                .map_err(StartError::Kube)?;
            let setup = Arc::new(KernelSetup {
                runtime: runtime.clone(),
            });
            tokio::spawn(crate::cluster::run(
                client,
                kube.clone(),
                agent.clone(),
                setup,
                shutdown.clone(),
            ))
        }
        None => watch_files(config, &agent, &runtime, &shutdown).await?,
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
    let router = crate::server::router(agent.clone(), options);
    let router = crate::web::layer(router, web.clone());
    let server = if web.uses_tls() {
        let listener = TlsListener::spawn(listener, web, shutdown.clone()).map_err(|source| {
            StartError::Bind {
                addr: config.listen,
                source,
            }
        })?;
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    } else {
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    };
    Ok(App {
        addr,
        agent,
        server,
        watcher,
        _runtime: runtime,
    })
}

/// File mode: the first pass completes before the port is bound, then the
/// files are rescanned every `config.rescan`.
async fn watch_files(
    config: &RunConfig,
    agent: &Arc<Agent>,
    runtime: &Arc<Runtime>,
    shutdown: &CancellationToken,
) -> Result<JoinHandle<()>, StartError> {
    let reconciler = FileReconciler::new(config.manifests.clone(), agent.clone(), runtime.clone());
    let mut reconciler = tokio::task::spawn_blocking(move || {
        let mut reconciler = reconciler;
        reconciler.reconcile();
        reconciler
    })
    .await
    .map_err(StartError::Setup)?;
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
/// would serve; dropped series are listed on stderr.
pub fn plugin_test(args: &crate::cli::PluginTestArgs) -> anyhow::Result<()> {
    let format = if args.openmetrics {
        crate::exposition::Format::OpenMetrics
    } else {
        crate::exposition::Format::Text
    };
    let rendered =
        crate::offline::run_files(&args.decoder, &args.dump, args.config.as_deref(), format)
            .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &rendered.exposition)?;
    for (reason, n) in &rendered.dropped {
        eprintln!("dropped {n} series: {reason}");
    }
    Ok(())
}

/// `bpfhost plugin new`: creates the crate and says what to do next.
pub fn plugin_new(args: &crate::cli::PluginNewArgs) -> anyhow::Result<()> {
    let dir = crate::template::create(&args.name, &args.dir, args.sdk.as_deref())
        .map_err(|e| anyhow::anyhow!(crate::error_chain(&e)))?;
    println!("created {}", dir.display());
    println!("next: cd {}", dir.display());
    println!("      cargo test                      # native unit test");
    println!("      bpfhost plugin build -o {}.wasm", args.name);
    println!(
        "      bpfhost plugin test {}.wasm --dump testdata/dump.json",
        args.name
    );
    println!("      (plugin-sdk/README.md has the whole loop)");
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
