//! Command-line flags, parsed once and validated into typed configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// bpfhost: eBPF maps decoded by sandboxed wasm plugins, served to Prometheus.
#[derive(Debug, Parser)]
#[command(name = "bpfhost", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the exporters of `BpfExporter` manifests and serve /metrics.
    Run(RunArgs),
    /// Check manifests (syntax, fields, sources) without loading anything.
    Validate(ValidateArgs),
}

/// Flags of `bpfhost run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Manifest files or directories of them (`*.yaml`, `*.yml`).
    #[arg(long, num_args = 1.., required = true, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Address to serve /metrics, /healthz and /status on.
    #[arg(long, default_value = "0.0.0.0:9387", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Node name for the `node` label; defaults to the host name.
    #[arg(long, env = "NODE_NAME", value_name = "NAME")]
    pub node_name: Option<String>,
    /// Directory for compiled decoder components, so restarts skip
    /// compilation. Must be writable by the agent alone.
    #[arg(long, default_value = "/var/cache/bpfhost", value_name = "DIR")]
    pub cache_dir: PathBuf,
    /// Compile decoder components at every load; keep nothing on disk.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// The kubelet's log directory (with `pods/` and `containers/`), where
    /// the `pod` lookup finds pod names, namespaces and container names.
    #[arg(long, default_value = "/var/log", value_name = "DIR")]
    pub kubelet_log_dir: PathBuf,
}

/// Flags of `bpfhost validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
}

/// This machine's host name, for the default node name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
