use std::process::ExitCode;

use bpfhost::app::{self, RunConfig};
use bpfhost::cli::{Cli, Command, PluginCommand, hostname};
use bpfhost::cluster::KubeConfig;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Run(args) => {
            let node_name = args.node_name.unwrap_or_else(hostname);
            run(&RunConfig {
                manifests: args.manifests,
                kube: args.kube.then(|| KubeConfig {
                    config_map_selector: Some(args.configmap_selector),
                    ..KubeConfig::new(node_name.clone())
                }),
                listen: args.listen,
                node_name,
                rescan: app::DEFAULT_RESCAN,
                cache_dir: (!args.no_cache).then_some(args.cache_dir),
                enable_dump: args.enable_dump,
                kubelet_log_dir: args.kubelet_log_dir,
            })
        }
        Command::Validate(args) => app::validate(&args.manifests),
        Command::Plugin(PluginCommand::Test(args)) => app::plugin_test(&args),
        Command::Plugin(PluginCommand::New(args)) => app::plugin_new(&args),
        Command::Crd => {
            print!("{}", bpfhost::manifest::crd_yaml());
            Ok(())
        }
        Command::Pack(args) => bpfhost::pack::pack(&args.into())
            .map(|yaml| print!("{yaml}"))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bpfhost: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Collections run on tokio's blocking threads, and glibc gives threads
/// their own malloc arenas, each keeping a scrape's worth of freed memory:
/// the benchmark measured RSS stepping up 43 MiB whenever a collection
/// landed on a new thread (100k series), and flat with one arena, at the
/// same scrape time (BENCHMARKS.md). `MALLOC_ARENA_MAX` still overrides.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: only tunes the allocator; no other thread runs yet.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}

fn run(config: &RunConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let app = app::start(config, shutdown.clone()).await?;
        tokio::select! {
            () = wait_for_signal() => tracing::info!("shutting down"),
            () = shutdown.cancelled() => {}
        }
        shutdown.cancel();
        app.join().await
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
