//! The plugin author's loop: a dump recorded from a live exporter, run
//! offline through `bpfhost plugin test`, gives the series the agent serves.

use std::process::Command;

use bpfhost::testing::{artifact, kernel_available};

use super::support::{Agent, ManifestDir, get};

#[tokio::test(flavor = "multi_thread")]
async fn a_dump_recorded_live_replays_offline_to_the_same_series() {
    if !kernel_available("a_dump_recorded_live_replays_offline_to_the_same_series") {
        return;
    }
    let dir = ManifestDir::new();
    let manifest = dir.example("writes.yaml");
    let agent = Agent::start(&[&manifest]).await;
    let child = Command::new("/bin/sh")
        .args(["-c", "for i in 1 2 3 4 5 6 7; do echo x; done >/dev/null"])
        .spawn()
        .expect("spawn sh");
    let pid = child.id().to_string();
    assert!(child.wait_with_output().expect("sh").status.success());

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

    let out = Command::new(env!("CARGO_BIN_EXE_bpfhost"))
        .args(["plugin", "test"])
        .arg(artifact("plugins/writes.wasm"))
        .arg("--dump")
        .arg(&dump_path)
        .output()
        .expect("bpfhost plugin test runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline = super::support::Scrape {
        status: 200,
        content_type: String::new(),
        body: String::from_utf8(out.stdout).expect("utf-8"),
    };
    assert_eq!(
        offline.value("write_syscalls_total", &series),
        Some(served),
        "offline:\n{}",
        offline.body
    );
    offline.assert_promtool_accepts();
}
