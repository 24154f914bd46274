use clap::Parser as _;

use super::*;
use crate::cli::{Cli, Command};

/// `bpfhost ebpf-exporter` with `flags` after `--config.dir DIR`.
fn parse(dir: &Path, flags: &[&str]) -> Result<DropIn, FlagError> {
    let mut command_line = vec!["bpfhost", "ebpf-exporter", "--config.dir"];
    let dir = dir.display().to_string();
    command_line.push(&dir);
    command_line.extend(flags);
    let cli = Cli::try_parse_from(command_line).expect("clap accepts the flags");
    let Command::EbpfExporter(args) = cli.command else {
        panic!("not the ebpf-exporter command");
    };
    DropIn::from_args(&args)
}

#[test]
fn ebpf_exporters_flags_and_defaults_carry_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dropin = parse(dir.path(), &["--config.names=timers,kfree_skb"]).expect("valid");
    assert_eq!(dropin.listen, "0.0.0.0:9435".parse().expect("addr"));
    assert_eq!(dropin.metrics_path, "/metrics");
    assert!(!dropin.check && !dropin.strict && !dropin.debug);
    let names: Vec<String> = dropin
        .configs
        .names()
        .into_iter()
        .map(|n| n.config)
        .collect();
    assert_eq!(names, ["timers", "kfree_skb"]);

    let dropin = parse(
        dir.path(),
        &[
            "--config.names",
            "timers",
            "--config.strict",
            "--config.check",
            "--debug",
            "--web.listen-address=127.0.0.1:9999",
            "--web.telemetry-path=/ebpf",
            "--capabilities.keep=all",
            "--btf.path=/sys/kernel/btf/vmlinux",
            "--web.config.file=/etc/ebpf_exporter/web.yml",
        ],
    )
    .expect("valid");
    assert_eq!(dropin.listen, "127.0.0.1:9999".parse().expect("addr"));
    assert!(dropin.check && dropin.strict && dropin.debug);
    let config = dropin.run_config();
    assert_eq!(config.metrics_path, "/ebpf");
    assert!(config.strict);
    assert_eq!(
        config.web_config.as_deref(),
        Some(Path::new("/etc/ebpf_exporter/web.yml"))
    );
    assert!(config.extra_families.is_some());
    assert!(config.source.is_some());
}

#[test]
fn flags_bpfhost_cannot_honour_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |flags: &[&str]| {
        let mut all = vec!["--config.names=timers"];
        all.extend(flags);
        parse(dir.path(), &all).expect_err("refused").to_string()
    };
    assert!(refused(&["--capabilities.keep=none"]).starts_with("--capabilities.keep=none: "));
    assert!(refused(&["--btf.path=/tmp/x.btf"]).starts_with("--btf.path=/tmp/x.btf: "));
    assert_eq!(
        refused(&["--web.listen-address=fd://0"]),
        "--web.listen-address: `fd://0`: systemd socket activation is not supported yet"
    );
    assert_eq!(
        refused(&["--web.telemetry-path=metrics"]),
        "--web.telemetry-path: `metrics` must start with `/`"
    );
    assert!(refused(&["--log.no-timestamps"]).starts_with("--log.no-timestamps: not supported"));
    assert!(refused(&["--config.skip-cache-size=10"]).starts_with("--config.skip-cache-size: "));
    let missing = dir.path().join("nope");
    assert_eq!(
        parse(&missing, &["--config.names=a"])
            .expect_err("no dir")
            .to_string(),
        format!("--config.dir: {} is not a directory", missing.display())
    );
}

#[test]
fn debug_raises_the_default_log_level() {
    let argv = [
        "bpfhost",
        "ebpf-exporter",
        "--config.dir=.",
        "--config.names=a",
    ];
    let quiet = Cli::try_parse_from(argv).expect("parses");
    assert_eq!(quiet.command.log_level(), None);
    let debug = Cli::try_parse_from(argv.into_iter().chain(["--debug"])).expect("parses");
    assert_eq!(debug.command.log_level(), "debug".parse().ok());
}
