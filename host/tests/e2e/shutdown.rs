//! Stopping: the agent binary, sent SIGTERM with 50 exporters loaded and a
//! decoder stuck in a loop in the middle of a scrape, exits 0 within
//! `SHUTDOWN_BOUND`, after unloading everything.

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bpfhost::app::SHUTDOWN_BOUND;
use bpfhost::testing::{artifact, require_kernel};

use super::support::{ManifestDir, free_port, request, try_raw};

const EXPORTERS: usize = 50;

/// The agent binary as a child process, killed if the test fails first.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exporter(name: &str, config: &str, limits: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  object: {{path: {}}}\n  decoder:\n    path: {}\n    config: {config}\n    limits: {{{limits}}}\n",
        artifact("bpf/writes.bpf.o").display(),
        artifact("plugins/hostile.wasm").display(),
    )
}

fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    try_raw(addr, request(addr, path, &[]).as_bytes())
        .ok()
        .map(|s| (s.status, s.body))
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn sigterm_with_a_stuck_decoder_exits_cleanly_within_the_bound() {
    require_kernel();
    let dir = ManifestDir::new();
    for i in 0..EXPORTERS {
        dir.write(
            &format!("e{i:02}.yaml"),
            &exporter(&format!("e{i:02}"), &format!("{{prefix: e{i:02}}}"), ""),
        );
    }
    // Stuck for a minute in every decode: longer than any drain.
    dir.write(
        "stuck.yaml",
        &exporter("stuck", "{prefix: stuck, fault: loop}", "timeout: 1m"),
    );
    let cache = tempfile::tempdir().expect("tempdir");
    let addr = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_bpfhost"))
        .args(["run", "--node-name", "shutdown-test", "--listen"])
        .arg(addr.to_string())
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--manifests")
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the agent starts");
    let mut agent = Spawned(child);

    let started = Instant::now();
    while get(addr, "/readyz").map(|(status, _)| status) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the agent never became ready"
        );
        assert!(
            agent.0.try_wait().expect("wait").is_none(),
            "the agent exited"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, status) = get(addr, "/status").expect("status");
    assert_eq!(
        status.matches("\"running\"").count(),
        EXPORTERS + 1,
        "{status}"
    );

    // A scrape that reaches the stuck decoder and waits on it.
    let scrape = std::thread::spawn(move || get(addr, "/metrics"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !scrape.is_finished(),
        "the scrape should be stuck in the decoder"
    );

    let signalled = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe {
        libc::kill(
            libc::pid_t::try_from(agent.0.id()).expect("pid"),
            libc::SIGTERM,
        )
    };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    let exit = loop {
        if let Some(exit) = agent.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            signalled.elapsed() < SHUTDOWN_BOUND + Duration::from_secs(5),
            "still running long after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    let mut log = String::new();
    agent
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read the log");
    assert!(exit.success(), "exit {exit}; log:\n{log}");
    assert!(took <= SHUTDOWN_BOUND, "took {took:?}; log:\n{log}");
    assert!(
        log.contains("unloading exporters")
            && log.contains(&format!("exporters={}", EXPORTERS + 1)),
        "{log}"
    );
    eprintln!("stopped in {took:?}");
    // The port is closed: the agent is gone, not wedged.
    assert!(get(addr, "/healthz").is_none());
    let _ = scrape.join();
}
