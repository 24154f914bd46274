//! File mode reconciles: adding, editing and deleting a manifest loads,
//! reloads and unloads its exporter with no restart.

use std::process::Command;
use std::time::{Duration, Instant};

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, Scrape, get, scrape_until};

fn manifest(decoder: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: watched}}\nspec:\n  object: {{path: {}}}\n  decoder: {decoder}\n",
        artifact("bpf/fixtures/tracepoint.bpf.o").display()
    )
}

fn hostile(prefix: &str) -> String {
    format!(
        "{{path: {}, config: {{prefix: {prefix}}}}}",
        artifact("plugins/hostile.wasm").display()
    )
}

/// Names of the BPF programs loaded in the kernel.
fn kernel_programs() -> String {
    let out = Command::new("bpftool")
        .args(["prog", "show"])
        .output()
        .expect("bpftool runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn adding_editing_and_deleting_a_manifest_loads_reloads_and_unloads() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[dir.path()]).await;
    let first = |s: &Scrape| s.value("first_ok", &[("kind", "fine")]) == Some(1.0);

    dir.write("watched.yaml", &manifest(&hostile("first")));
    scrape_until(&agent, "the added exporter", first).await;
    assert!(kernel_programs().contains("fx_tp"), "program attached");

    dir.write("watched.yaml", &manifest(&hostile("second")));
    let scrape = scrape_until(&agent, "the edited decoder's family", |s| {
        s.value("second_ok", &[("kind", "fine")]) == Some(1.0)
    })
    .await;
    assert!(
        !first(&scrape),
        "the old family is gone after the reload:\n{}",
        scrape.body
    );

    // A bad edit keeps the last good version serving and says why.
    dir.write("watched.yaml", &manifest("{inline: AGFzbQEAAAA=}"));
    let started = Instant::now();
    let status = loop {
        let status = get(agent.addr(), "/status", None).await.body;
        if status.contains("reload_error") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no reload error in /status:\n{status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The smallest core module: not a component.
    assert!(
        status.contains("not a component but a core wasm module"),
        "{status}"
    );
    let scrape = agent.scrape().await;
    assert_eq!(
        scrape.value("second_ok", &[("kind", "fine")]),
        Some(1.0),
        "{}",
        scrape.body
    );
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "watched")]),
        Some(1.0)
    );

    std::fs::remove_file(dir.path().join("watched.yaml")).expect("delete manifest");
    let scrape = scrape_until(&agent, "the deleted exporter gone", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "watched")])
            .is_none()
    })
    .await;
    assert!(scrape.value("second_ok", &[]).is_none(), "{}", scrape.body);
    // The kernel frees programs in deferred work once the last fd closes.
    let started = Instant::now();
    while kernel_programs().contains("fx_tp") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the deleted exporter's programs are still loaded:\n{}",
            kernel_programs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scrape.assert_promtool_accepts();
    agent.stop().await;
}
