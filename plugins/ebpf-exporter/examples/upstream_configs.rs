//! Runs `init` on every config of a checkout of `ebpf_exporter`'s
//! `examples/`: each one must either start or be refused for a feature this
//! decoder does not support yet, never for anything else.
//!
//! ```sh
//! cargo run -p bpfhost-plugin-ebpf-exporter --example upstream_configs -- \
//!     <ebpf_exporter checkout>/examples
//! ```
//!
//! Not a test: the configs live in another repository, which CI does not
//! have (v2.5.1-100-g3b8f4d7 on 2026-12-04: 35 of 43 start, among them
//! `biolatency` and `pci` with `majorminor` and `pci_*` decoders and
//! `oomkill` with its `perf_event_array` counter; the 8 others name
//! `tracing`, `cgroup_id_map` or `kaddrs`).

use std::process::ExitCode;

use bpfhost_plugin_ebpf_exporter::EbpfExporter;
use bpfhost_plugin_sdk::{Config, Decoder as _, Spec};

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: upstream_configs <ebpf_exporter checkout>/examples");
        return ExitCode::from(2);
    };
    let mut paths: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect(),
        Err(e) => {
            eprintln!("{dir}: {e}");
            return ExitCode::from(2);
        }
    };
    paths.sort();
    let (mut started, mut unsupported, mut broken) = (0, 0, 0);
    for path in paths {
        let json = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|yaml| {
                serde_yaml::from_str::<serde_json::Value>(&yaml).map_err(|e| e.to_string())
            });
        let result = json.and_then(|json| {
            EbpfExporter::init(&Config::new(json.to_string()), &mut Spec::default())
                .map(drop)
                .map_err(|e| e.to_string())
        });
        match &result {
            Ok(()) => started += 1,
            Err(message) if message.contains("not supported yet") => unsupported += 1,
            Err(_) => broken += 1,
        }
        println!("{}: {}", path.display(), result_text(&result));
    }
    println!("{started} start, {unsupported} name an unsupported feature, {broken} fail otherwise");
    if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn result_text(result: &Result<(), String>) -> &str {
    match result {
        Ok(()) => "ok",
        Err(message) => message,
    }
}
