//! Starting and stopping the agent: manifests are loaded and exporters set
//! up before the port is bound; the server drains on cancellation.

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
}

/// Default of [`RunConfig::rescan`].
pub const DEFAULT_RESCAN: Duration = Duration::from_secs(2);

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
    tracing::info!(%addr, exporters = agent.slots().len(), "serving /metrics");
    let options = crate::server::Options {
        enable_dump: config.enable_dump,
    };
    let router = crate::server::router(agent.clone(), options);
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    });
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

    /// Waits for the server to drain after the shutdown token fires.
    pub async fn join(self) -> anyhow::Result<()> {
        self.server.await??;
        self.watcher.await?;
        Ok(())
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
