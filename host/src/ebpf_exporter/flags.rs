//! `ebpf_exporter`'s flags, checked once and turned into the agent's
//! [`RunConfig`]. A flag bpfhost cannot honour is refused by name with the
//! reason, never silently ignored.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::RunConfig;
use super::builtin_metrics::BuiltinMetrics;
use super::configs::{ConfigSet, NamesError};
use crate::agent::ManifestSource;
use crate::cli::EbpfExporterArgs;

/// The kernel's own BTF, the only one the loader reads.
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// A flag bpfhost refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlagError {
    #[error(transparent)]
    Names(#[from] NamesError),
    #[error("--config.dir: {} is not a directory", .0.display())]
    ConfigDir(PathBuf),
    #[error("--web.listen-address: `{value}`: {reason}")]
    ListenAddress { value: String, reason: String },
    #[error("--web.telemetry-path: `{0}` must start with `/`")]
    TelemetryPath(String),
    #[error(
        "--capabilities.keep={0}: dropping capabilities is not supported yet; bpfhost keeps \
         the capabilities it is started with (start it with only those it needs)"
    )]
    Capabilities(String),
    #[error(
        "--btf.path={0}: an external BTF file is not supported yet; bpfhost loads objects \
         against the kernel's own BTF ({KERNEL_BTF})"
    )]
    BtfPath(String),
    #[error("--{flag}: not supported: {why}")]
    NotSupported {
        flag: &'static str,
        why: &'static str,
    },
}

/// `bpfhost ebpf-exporter`'s settings, checked.
#[derive(Debug, Clone)]
pub struct DropIn {
    pub configs: ConfigSet,
    pub listen: SocketAddr,
    pub metrics_path: String,
    /// `--config.check`: load, report and exit.
    pub check: bool,
    /// `--config.strict`: every config must load.
    pub strict: bool,
    /// `--debug`: log at debug level.
    pub debug: bool,
    pub builtin_dir: Option<PathBuf>,
    pub node_name: String,
    /// `--web.config.file`: TLS, basic auth and headers.
    pub web_config: Option<PathBuf>,
}

impl DropIn {
    /// Checks `args`; the first flag bpfhost cannot honour is an error.
    pub fn from_args(args: &EbpfExporterArgs) -> Result<Self, FlagError> {
        if args.log_no_timestamps {
            return Err(FlagError::NotSupported {
                flag: "log.no-timestamps",
                why: "log lines are formatted by bpfhost; set RUST_LOG for their level",
            });
        }
        if args.skip_cache_size.is_some() {
            return Err(FlagError::NotSupported {
                flag: "config.skip-cache-size",
                why: "bpfhost bounds its lookup caches itself",
            });
        }
        if args.capabilities_keep != "all" {
            return Err(FlagError::Capabilities(args.capabilities_keep.clone()));
        }
        if !(args.btf_path.is_empty() || Path::new(&args.btf_path) == Path::new(KERNEL_BTF)) {
            return Err(FlagError::BtfPath(args.btf_path.clone()));
        }
        if !args.telemetry_path.starts_with('/') {
            return Err(FlagError::TelemetryPath(args.telemetry_path.clone()));
        }
        if !args.config_dir.is_dir() {
            return Err(FlagError::ConfigDir(args.config_dir.clone()));
        }
        Ok(Self {
            configs: ConfigSet::new(args.config_dir.clone(), &args.config_names)?
                .strict(args.config_strict),
            listen: listen_address(&args.listen_address)?,
            metrics_path: args.telemetry_path.clone(),
            check: args.config_check,
            strict: args.config_strict,
            debug: args.debug,
            builtin_dir: args.builtin_dir.clone(),
            node_name: args.node_name.clone().unwrap_or_else(crate::cli::hostname),
            web_config: args.web_config_file.clone(),
        })
    }

    /// The agent's configuration: the configs as the only manifests, the
    /// built-in metrics beside the agent's own.
    pub fn run_config(&self) -> RunConfig {
        let configs = self.configs.clone();
        let what = format!("ebpf_exporter configs in {}", configs.dir().display());
        RunConfig {
            source: Some(ManifestSource::new(what, move || configs.load())),
            listen: self.listen,
            node_name: self.node_name.clone(),
            builtin_dir: self.builtin_dir.clone(),
            metrics_path: self.metrics_path.clone(),
            extra_families: Some(Arc::new(BuiltinMetrics::new(self.configs.names()))),
            strict: self.strict,
            web_config: self.web_config.clone(),
            ..RunConfig::default()
        }
    }
}

/// Go's listen address: `:9435` is every interface; `fd://N` (systemd
/// socket activation) is not supported.
fn listen_address(value: &str) -> Result<SocketAddr, FlagError> {
    let error = |reason: &str| FlagError::ListenAddress {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.starts_with("fd://") {
        return Err(error("systemd socket activation is not supported yet"));
    }
    let full = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_owned(),
    };
    full.to_socket_addrs()
        .map_err(|e| error(&e.to_string()))?
        .next()
        .ok_or_else(|| error("resolves to no address"))
}

impl DropIn {
    /// `--config.check`: loads every config (decoder, object, attach),
    /// reads its maps once and unloads it; prints one line per config,
    /// naming the config file of a failure, and fails when any failed.
    pub fn check(&self) -> anyhow::Result<()> {
        let checked = crate::app::check(&self.run_config())?;
        for error in &checked.manifest_errors {
            println!("error: {error}");
        }
        let mut failed = checked.manifest_errors.len();
        for status in &checked.exporters {
            let file = self.configs.names().into_iter().find_map(|n| {
                (n.exporter == status.name)
                    .then(|| self.configs.dir().join(format!("{}.yaml", n.config)))
            });
            let file = file.map_or_else(|| status.name.clone(), |f| f.display().to_string());
            match &status.error {
                None => println!("ok: {file}"),
                Some(error) => {
                    failed += 1;
                    println!("error: {file}: {error}");
                }
            }
        }
        anyhow::ensure!(failed == 0, "{failed} config(s) failed the check");
        println!("Config check successful");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
