//! The plugin author's loop: a dump recorded from a live exporter, run
//! offline through `bpfhost plugin test`, gives the series the agent serves.

use std::process::Command;

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, get, run_ok, scrape_until, sh};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_dump_recorded_live_replays_offline_to_the_same_series() {
    require_kernel();
    let dir = ManifestDir::new();
    let manifest = dir.example("writes.yaml");
    let agent = Agent::start(&[&manifest]).await;
    let pid = sh("for i in 1 2 3 4 5 6 7; do echo x; done >/dev/null").to_string();

    let live = agent.scrape().await;
    let series = [("pid", pid.as_str()), ("comm", "sh")];
    let served = live
        .value("write_syscalls_total", &series)
        .unwrap_or_else(|| panic!("live series missing:\n{}", live.body));

    let dump = get(agent.addr(), "/debug/dump/writes", None).await;
    assert_eq!(dump.status, 200, "{}", dump.body);
    assert_eq!(
        get(agent.addr(), "/debug/dump/nosuch", None).await.status,
        404
    );
    let dump_path = dir.write("writes.dump.json", &dump.body);
    agent.stop().await;

    let body = run_ok(
        Command::new(env!("CARGO_BIN_EXE_bpfhost"))
            .args(["plugin", "test"])
            .arg(artifact("plugins/writes.wasm"))
            .arg("--dump")
            .arg(&dump_path),
    );
    let offline = super::support::Scrape {
        status: 200,
        content_type: String::new(),
        body,
    };
    assert_eq!(
        offline.value("write_syscalls_total", &series),
        Some(served),
        "offline:\n{}",
        offline.body
    );
    offline.assert_promtool_accepts();
}

/// A plugin author's first ten minutes, outside this repository and with no
/// wasm-tools: `plugin new --lang LANG`, the project's native tests
/// (`plugin test`), `plugin build`, the template's BPF program compiled as
/// its header says, and the agent serving the new decoder's series for the
/// process that made the events.
async fn a_template_project_serves_its_metrics(lang: &str) {
    require_kernel();
    let scratch = tempfile::tempdir().expect("tempdir");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bpfhost = |args: &[&str]| {
        run_ok(
            Command::new(env!("CARGO_BIN_EXE_bpfhost"))
                .args(args)
                .env("PATH", path_without_wasm_tools())
                // Kept between runs, so only the first compiles the SDK.
                .env(
                    "CARGO_TARGET_DIR",
                    bpfhost::testing::artifacts_dir().join("../template-e2e"),
                ),
        )
    };
    let sdk = repo.join("plugin-sdk");
    let parent = scratch.path().to_str().expect("utf-8 path");
    bpfhost(&[
        "plugin",
        "new",
        "opens",
        "--lang",
        lang,
        "--dir",
        parent,
        "--sdk",
        sdk.to_str().expect("utf-8"),
    ]);
    let crate_dir = scratch.path().join("opens");
    let dir = crate_dir.to_str().expect("utf-8");
    bpfhost(&["plugin", "test", "--dir", dir]);
    let component = crate_dir.join("opens.wasm");
    let printed = bpfhost(&[
        "plugin",
        "build",
        "--dir",
        dir,
        "-o",
        component.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        printed.lines().last(),
        component.to_str(),
        "the last line names the component"
    );

    let include = artifact("include/vmlinux.h");
    run_ok(
        Command::new("clang")
            .args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I"])
            .arg(include.parent().expect("include dir"))
            .arg("-I/usr/include/x86_64-linux-gnu")
            .args(["-c", "opens.bpf.c", "-o", "opens.bpf.o"])
            .current_dir(&crate_dir),
    );

    let agent = Agent::start(&[&crate_dir.join("manifest.yaml")]).await;
    // A redirection on a builtin opens the file in the shell itself.
    let pid = sh("for i in 1 2 3 4 5; do : </dev/null; done").to_string();
    let scrape = scrape_until(&agent, "the template's series", |s| {
        s.value("opens_events_total", &[("pid", &pid)]).is_some()
    })
    .await;
    // Five redirections, plus whatever the shell opened as it started.
    let opens = scrape.value("opens_events_total", &[("pid", &pid)]);
    assert!(opens.is_some_and(|n| n >= 5.0), "{lang}: {}", scrape.body);
    scrape.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_template_crate_built_outside_the_repository_serves_its_metrics() {
    a_template_project_serves_its_metrics("rust").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_python_template_project_serves_its_metrics() {
    a_template_project_serves_its_metrics("python").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_javascript_template_project_serves_its_metrics() {
    a_template_project_serves_its_metrics("javascript").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_c_template_project_serves_its_metrics() {
    a_template_project_serves_its_metrics("c").await;
}

/// `$PATH` without any directory that holds a `wasm-tools`.
fn path_without_wasm_tools() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| !dir.join("wasm-tools").exists())
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}
