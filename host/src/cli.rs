//! Command-line flags, parsed once and validated into typed configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::{LogFilter, LogFormat};

/// bpfhost: eBPF maps decoded by sandboxed wasm plugins, served to Prometheus.
#[derive(Debug, Parser)]
#[command(name = "bpfhost", version = crate::version::LONG, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as `text` (for people) or `json` (one object per line,
    /// for log pipelines); on standard error.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
    /// What to log: a level (error, warn, info, debug, trace) or
    /// `RUST_LOG`-style directives (`info,bpfhost::cluster=debug`).
    /// `RUST_LOG` overrides it when set.
    #[arg(long, global = true, default_value = "info", value_name = "FILTER")]
    pub log_level: LogFilter,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the exporters of `BpfExporter` manifests and serve /metrics.
    Run(RunArgs),
    /// Check manifests (syntax, fields, sources) without loading anything.
    Validate(ValidateArgs),
    /// Work on decoder plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print the `BpfExporter` `CustomResourceDefinition` as YAML.
    Crd,
    /// Pack an ELF object and a decoder into a ready `BpfExporter` manifest.
    Pack(PackArgs),
    /// Drop-in for `cloudflare/ebpf_exporter`: its flags, configs and objects,
    /// its series.
    EbpfExporter(EbpfExporterArgs),
    /// Turn other tools' configs into `BpfExporter` manifests.
    #[command(subcommand)]
    Convert(ConvertCommand),
}

/// Flags of `bpfhost ebpf-exporter`: `ebpf_exporter`'s own, then bpfhost's.
#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "ebpf_exporter's switches, each its own flag"
)]
pub struct EbpfExporterArgs {
    /// Config dir path: `<name>.yaml` and `<name>.bpf.o` per config.
    #[arg(long = "config.dir", value_name = "DIR")]
    pub config_dir: PathBuf,
    /// Comma separated names of configs to load.
    #[arg(long = "config.names", value_name = "NAMES")]
    pub config_names: String,
    /// Check whether configs load and attach, and exit.
    #[arg(long = "config.check")]
    pub config_check: bool,
    /// Refuse to start unless every config loads and attaches.
    #[arg(long = "config.strict")]
    pub config_strict: bool,
    /// Log at debug level (unless `RUST_LOG` says otherwise).
    #[arg(long)]
    pub debug: bool,
    /// The address to listen on for HTTP requests.
    #[arg(
        long = "web.listen-address",
        default_value = ":9435",
        value_name = "ADDR"
    )]
    pub listen_address: String,
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    pub telemetry_path: String,
    /// Only `all` (the default): bpfhost keeps the capabilities it starts with.
    /// TLS, basic auth and headers: ebpf_exporter's (exporter-toolkit's)
    /// `--web.config.file`, the same format.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    #[arg(long = "capabilities.keep", default_value = "all", value_name = "CAPS")]
    pub capabilities_keep: String,
    /// Only the kernel's own BTF (empty, the default, or /sys/kernel/btf/vmlinux).
    #[arg(long = "btf.path", default_value = "", value_name = "FILE")]
    pub btf_path: String,
    /// Not supported; refused with the reason.
    #[arg(long = "log.no-timestamps", hide = true)]
    pub log_no_timestamps: bool,
    /// Not supported; refused with the reason.
    #[arg(long = "config.skip-cache-size", hide = true, value_name = "N")]
    pub skip_cache_size: Option<String>,
    /// bpfhost: directory of the built-in decoders (see `bpfhost run --help`).
    #[arg(long, value_name = "DIR")]
    pub builtin_dir: Option<PathBuf>,
    /// bpfhost: node name for the `node` label; defaults to the host name.
    #[arg(long, env = "NODE_NAME", value_name = "NAME")]
    pub node_name: Option<String>,
}

/// `bpfhost convert` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConvertCommand {
    /// Print `BpfExporter` manifests for `ebpf_exporter` configs, run by the
    /// built-in `ebpf-exporter` decoder.
    EbpfExporter(ConvertEbpfExporterArgs),
}

/// Flags of `bpfhost convert ebpf-exporter`.
#[derive(Debug, Args)]
pub struct ConvertEbpfExporterArgs {
    /// Config dir path: `<name>.yaml` and `<name>.bpf.o` per config.
    #[arg(long = "config.dir", value_name = "DIR")]
    pub config_dir: PathBuf,
    /// Comma separated names of configs to convert.
    #[arg(long = "config.names", value_name = "NAMES")]
    pub config_names: String,
    /// Namespace of the resources; none by default.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Put each object in a `ConfigMap` (`binaryData`) instead of inline base64.
    #[arg(long)]
    pub configmap: bool,
}

/// Flags of `bpfhost run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Manifest files or directories of them (`*.yaml`, `*.yml`), rescanned
    /// for changes.
    #[arg(long, num_args = 1.., required_unless_present = "kube", value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Kubernetes mode: run the `BpfExporter`s that select this node
    /// (in-cluster service account, or the kubeconfig) instead of files.
    #[arg(long, conflicts_with = "manifests")]
    pub kube: bool,
    /// Kubernetes mode: label selector of the `ConfigMap`s that
    /// `configMapKeyRef` sources may read; empty watches every `ConfigMap`.
    /// File mode ignores it.
    #[arg(long, default_value = crate::cluster::DEFAULT_CONFIG_MAP_SELECTOR, value_name = "SELECTOR")]
    pub configmap_selector: String,
    /// Kubernetes mode: run only the `BpfExporter`s of these namespaces
    /// (comma-separated; default: every namespace). Exporters elsewhere get
    /// a status entry saying why; `ConfigMap`s are watched only here.
    #[arg(long, value_delimiter = ',', requires = "kube", value_name = "NS,...")]
    pub namespaces: Vec<String>,
    /// Kubernetes mode: the directory on the node that `path` sources are
    /// opened in (no absolute path, `..` or symlink leads out of it);
    /// without it, `path` sources are refused.
    #[arg(long, requires = "kube", value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
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
    /// Refuse every object and decoder whose source does not pin its bytes
    /// with `sha256` (`bpfhost pack` writes them).
    #[arg(long)]
    pub require_digests: bool,
    /// TLS, basic auth and response headers, in the Prometheus
    /// exporter-toolkit's web config format (the file node_exporter's
    /// `--web.config.file` reads); re-read when it or its files change.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Serve `/debug/dump/EXPORTER`: an exporter's raw maps as a dump for
    /// `bpfhost plugin test`. Map contents can be sensitive.
    #[arg(long)]
    pub enable_dump: bool,
    /// Directory of the built-in decoders (`decoder: {builtin: NAME}` reads
    /// `DIR/NAME.wasm`). Default: `<executable's dir>/../share/bpfhost/decoders`
    /// when it exists, else the development build's `target/artifacts/plugins`
    /// (`$BPFHOST_ARTIFACTS/plugins` when set).
    #[arg(long, value_name = "DIR")]
    pub builtin_dir: Option<PathBuf>,
}

/// Flags of `bpfhost plugin`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Run a decoder on a recorded map dump and print its exposition; or,
    /// without a decoder, run a project's own native tests.
    Test(PluginTestArgs),
    /// Start a decoder project from the template (Rust, Python, JavaScript
    /// or C): decoder, native unit test, BPF program, manifest and a map
    /// dump to test it with.
    New(PluginNewArgs),
    /// Build a decoder project into a component the agent loads (no
    /// wasm-tools needed). Rust: `cargo build --release --target
    /// wasm32-unknown-unknown`, then the module is wrapped in-process;
    /// Python, JavaScript, C: their toolchains, against the project's `wit/`.
    Build(PluginBuildArgs),
}

/// Flags of `bpfhost plugin new`.
#[derive(Debug, Args)]
pub struct PluginNewArgs {
    /// The plugin's name (lowercase, digits and `-`).
    pub name: String,
    /// Where to create `NAME/`.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Path of bpfhost's `plugin-sdk` as the new `Cargo.toml` should name
    /// it; defaults to `../../plugin-sdk` (right inside `plugins/`). Rust only.
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
    /// The decoder's language.
    #[arg(long, value_enum, default_value_t = crate::plugin_language::Language::Rust)]
    pub lang: crate::plugin_language::Language,
}

/// Flags of `bpfhost plugin build`.
#[derive(Debug, Args)]
pub struct PluginBuildArgs {
    /// The decoder project's directory.
    #[arg(long, default_value = ".", value_name = "PROJECT")]
    pub dir: PathBuf,
    /// Where to write the component; default for Rust: beside the module,
    /// as `<target>/wasm32-unknown-unknown/release/<lib>.component.wasm`;
    /// for the other languages `PROJECT/<its name>.wasm`.
    #[arg(short = 'o', long = "output", value_name = "OUT.wasm")]
    pub output: Option<PathBuf>,
}

/// Flags of `bpfhost plugin test`.
#[derive(Debug, Args)]
pub struct PluginTestArgs {
    /// The decoder component (`.wasm`). Without it, the native tests of the
    /// project in `--dir` run instead (`cargo test`, `python3 -m unittest`,
    /// `node --test`, or the C test program built with gcc).
    #[arg(value_name = "DECODER", requires = "dump")]
    pub decoder: Option<PathBuf>,
    /// A map dump, as `GET /debug/dump/EXPORTER` returns it.
    #[arg(long, value_name = "FILE", requires = "decoder")]
    pub dump: Option<PathBuf>,
    /// Without DECODER: the project whose native tests run.
    #[arg(
        long,
        default_value = ".",
        value_name = "PROJECT",
        conflicts_with = "decoder"
    )]
    pub dir: PathBuf,
    /// The decoder's config (YAML or JSON), as `decoder.config` would hold it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print `OpenMetrics` instead of the Prometheus text format.
    #[arg(long)]
    pub openmetrics: bool,
}

/// Flags of `bpfhost validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
}

/// Flags of `bpfhost pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The eBPF ELF object.
    #[arg(long, value_name = "FILE")]
    pub object: PathBuf,
    /// The wasm decoder component.
    #[arg(long, value_name = "FILE")]
    pub decoder: PathBuf,
    /// YAML or JSON file for `spec.decoder.config`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Resource name; defaults to the object's file name without `.bpf.o`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Namespace of the resources; none by default.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Put the bytes in a `ConfigMap` (`binaryData`) instead of inline base64.
    #[arg(long)]
    pub configmap: bool,
}

impl From<PackArgs> for crate::pack::PackOptions {
    fn from(args: PackArgs) -> Self {
        Self {
            object: args.object,
            decoder: args.decoder,
            config: args.config,
            name: args.name,
            namespace: args.namespace,
            config_map: args.configmap,
        }
    }
}

impl Command {
    /// The node an agent command runs as (for every log line); `None`
    /// for the commands that run no agent.
    pub fn node_name(&self) -> Option<String> {
        let given = match self {
            Command::Run(args) => &args.node_name,
            Command::EbpfExporter(args) => &args.node_name,
            _ => return None,
        };
        Some(given.clone().unwrap_or_else(hostname))
    }

    /// The log level the command itself asks for: `debug` for
    /// `bpfhost ebpf-exporter --debug` (`RUST_LOG` still wins).
    pub fn log_level(&self) -> Option<crate::logging::LogFilter> {
        match self {
            Command::EbpfExporter(args) if args.debug => "debug".parse().ok(),
            _ => None,
        }
    }
}

/// This machine's host name, for the default node name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
