use std::process::ExitCode;

use bpfhost::app::{self, RunConfig};
use bpfhost::cli::{Cli, Command, ConvertCommand, EbpfExporterArgs, PluginCommand, hostname};
use bpfhost::cluster::KubeConfig;
use clap::Parser;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    // `bpfhost ebpf-exporter --debug` logs at debug, as ebpf_exporter does.
    let level = cli.command.log_level().unwrap_or(cli.log_level.clone());
    bpfhost::logging::init(cli.log_format, &level, cli.command.node_name().as_deref());
    let result = match cli.command {
        Command::Run(args) => {
            let node_name = args.node_name.unwrap_or_else(hostname);
            run(&RunConfig {
                manifests: args.manifests,
                kube: args.kube.then(|| KubeConfig {
                    config_map_selector: Some(args.configmap_selector),
                    scope: bpfhost::cluster::Scope::only(args.namespaces),
                    source_dir: args.source_dir,
                    ..KubeConfig::new(node_name.clone())
                }),
                listen: args.listen,
                node_name,
                rescan: app::DEFAULT_RESCAN,
                cache_dir: (!args.no_cache).then_some(args.cache_dir),
                enable_dump: args.enable_dump,
                kubelet_log_dir: args.kubelet_log_dir,
                web_config: args.web_config_file,
                builtin_dir: args.builtin_dir,
                require_digests: args.require_digests,
                ..RunConfig::default()
            })
        }
        Command::Validate(args) => app::validate(&args.manifests),
        Command::Plugin(PluginCommand::Test(args)) => app::plugin_test(&args),
        Command::Plugin(PluginCommand::New(args)) => app::plugin_new(&args),
        Command::Plugin(PluginCommand::Build(args)) => app::plugin_build(&args),
        Command::Crd => {
            print!("{}", bpfhost::manifest::crd_yaml());
            Ok(())
        }
        Command::Pack(args) => bpfhost::pack::pack(&args.into())
            .map(|yaml| print!("{yaml}"))
            .map_err(Into::into),
        Command::EbpfExporter(args) => ebpf_exporter(&args),
        Command::Convert(ConvertCommand::EbpfExporter(args)) => {
            bpfhost::ebpf_exporter::ConfigSet::new(args.config_dir, &args.config_names)
                .map_err(anyhow::Error::from)
                .and_then(|configs| {
                    Ok(bpfhost::ebpf_exporter::convert(
                        &configs,
                        args.namespace.as_deref(),
                        args.configmap,
                    )?)
                })
                .map(|yaml| print!("{yaml}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            bpfhost::logging::fatal(e.as_ref());
            ExitCode::FAILURE
        }
    }
}

/// Two glibc defaults make a scraped agent's RSS creep; both are tuned
/// unless the environment sets them (BENCHMARKS.md has the measurements):
///
/// - Collections run on tokio's blocking threads, and glibc gives threads
///   their own malloc arenas, each keeping a scrape's worth of freed memory:
///   RSS stepped up 43 MiB whenever a collection landed on a new thread
///   (100k series), and stays flat with one arena, at the same scrape time.
/// - glibc raises its mmap threshold to the size of every large block freed,
///   so after the first scrape a decode's large buffers (its output, the
///   series of a family) come from the heap, whose freed holes other
///   allocations then pin: RSS grew ~1 MiB per 250 scrapes. A fixed
///   threshold keeps them in mappings returned to the system when freed, at
///   a page fault per 4 KiB touched (the scrape times in BENCHMARKS.md
///   include it).
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD: libc::c_int = 256 << 10;
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: only tunes the allocator; no other thread runs yet.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        }
    }
}

/// `bpfhost ebpf-exporter`: check the configs, or serve them.
fn ebpf_exporter(args: &EbpfExporterArgs) -> anyhow::Result<()> {
    let dropin = bpfhost::ebpf_exporter::DropIn::from_args(args)?;
    if dropin.check {
        dropin.check()
    } else {
        run(&dropin.run_config())
    }
}

fn run(config: &RunConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        // Installed before anything starts: a SIGTERM that arrives while the
        // exporters load (or right after "serving") is a clean shutdown,
        // not the default action's abrupt exit.
        let mut signals = Signals::install();
        let shutdown = CancellationToken::new();
        let app = app::start(config, shutdown.clone()).await?;
        tokio::select! {
            () = signals.recv() => tracing::info!("shutting down"),
            () = shutdown.cancelled() => {}
        }
        shutdown.cancel();
        app.join().await
    });
    // A decoder call stuck until its deadline (up to a minute) runs on a
    // blocking thread that must not hold the exit up; exiting ends it.
    runtime.shutdown_timeout(SHUTDOWN_SLACK);
    result
}

/// What is left of [`app::SHUTDOWN_BOUND`] for the runtime's own threads.
const SHUTDOWN_SLACK: std::time::Duration = std::time::Duration::from_millis(500);

/// SIGTERM and SIGINT, handled from the moment they are installed.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Takes over SIGTERM and SIGINT; one that cannot be installed keeps
    /// its default action.
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// Waits for either signal (received since `install`, or later).
    async fn recv(&mut self) {
        async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(self.term.as_mut()) => {}
            () = next(self.int.as_mut()) => {}
        }
    }
}
