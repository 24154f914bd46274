//! The container image `cargo xtask image` builds (`cargo xtask test`
//! builds it first as root, and names it in `BPFHOST_IMAGE`): its labels,
//! its `--version`, and the demo exporters served from it under podman,
//! scraped from the host, then a clean stop.

use std::process::Command;
use std::time::{Duration, Instant};

use bpfhost::testing::{artifacts_dir, require_kernel};

use super::support::{ManifestDir, free_port, request, run_ok, sh, try_raw};

/// podman as it works on these VMs: crun fails on hybrid cgroups.
fn podman() -> Command {
    let mut cmd = Command::new("podman");
    cmd.args(["--runtime", "runc", "--cgroup-manager", "cgroupfs"]);
    cmd
}

fn image() -> String {
    let image = std::env::var("BPFHOST_IMAGE")
        .unwrap_or_else(|_| concat!("localhost/bpfhost:", env!("CARGO_PKG_VERSION")).to_owned());
    let exists = podman()
        .args(["image", "exists", &image])
        .status()
        .unwrap_or_else(|e| panic!("podman (Debian package podman) must be installed: {e}"));
    assert!(
        exists.success(),
        "image {image} not found: build it with `cargo xtask image` (cargo xtask test does as root)"
    );
    image
}

/// `podman run` with the limits this VM's runc needs.
fn podman_run() -> Command {
    let mut cmd = podman();
    cmd.args([
        "run",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ]);
    cmd
}

/// A container removed when the test ends, however it ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "--force", &self.0]).output();
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn the_image_carries_its_version_and_labels() {
    require_kernel();
    let image = image();
    let labels: serde_json::Value = serde_json::from_str(&run_ok(podman().args([
        "image",
        "inspect",
        "--format",
        "{{json .Labels}}",
        &image,
    ])))
    .expect("labels as JSON");
    let label = |name: &str| {
        labels[format!("org.opencontainers.image.{name}")]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(label("version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        label("licenses").as_deref(),
        Some("Apache-2.0 AND GPL-2.0-only")
    );
    let revision = label("revision").unwrap_or_default();
    assert!(
        revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()),
        "revision label: {revision:?}"
    );
    assert!(label("source").is_some_and(|s| !s.is_empty()));

    let version = run_ok(podman_run().args(["--rm", &image, "--version"]));
    assert_eq!(
        version.trim(),
        format!("bpfhost {} (commit {revision})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn the_image_serves_the_demo_exporters_and_stops_cleanly() {
    require_kernel();
    let image = image();
    let dir = ManifestDir::new();
    // The manifests name artifacts by absolute path: mount both at the same
    // paths inside, canonical (a `..` cannot resolve in the container).
    let artifacts = artifacts_dir().canonicalize().expect("artifacts");
    for example in ["writes.yaml", "packets.yaml"] {
        let path = dir.example(example);
        let text = std::fs::read_to_string(&path).expect("read manifest");
        let text = text.replace(
            &artifacts_dir().display().to_string(),
            &artifacts.display().to_string(),
        );
        std::fs::write(&path, text).expect("write manifest");
    }
    let addr = free_port();
    let name = format!("bpfhost-e2e-{}", std::process::id());
    let mount = |path: &std::path::Path| format!("{0}:{0}:ro", path.display());
    run_ok(
        podman()
            .args([
                "run",
                "--detach",
                "--name",
                &name,
                "--privileged",
                "--network",
                "host",
            ])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(["--volume", "/sys/kernel/tracing:/sys/kernel/tracing"])
            .args(["--volume", "/sys/fs/bpf:/sys/fs/bpf"])
            .args(["--volume", &mount(&artifacts)])
            .args(["--volume", &mount(dir.path())])
            .arg(&image)
            .args(["run", "--no-cache", "--node-name", "image-test", "--listen"])
            .arg(addr.to_string())
            .arg("--manifests")
            .arg(dir.path()),
    );
    let container = Container(name);

    // Writes count once the container's agent has attached its programs.
    let started = Instant::now();
    while try_raw(addr, request(addr, "/readyz", &[]).as_bytes())
        .map(|r| r.status)
        .ok()
        != Some(200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the container never became ready; its log:\n{}",
            logs(&container.0)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let pid = sh("i=0; while [ $i -lt 100 ]; do echo x; i=$((i+1)); done >/dev/null").to_string();
    let scrape = loop {
        let scrape = try_raw(addr, request(addr, "/metrics", &[]).as_bytes()).ok();
        if let Some(scrape) = scrape.filter(|s| {
            s.value("write_syscalls_total", &[("pid", &pid), ("comm", "sh")])
                .is_some()
        }) {
            break scrape;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the container never served the writes of pid {pid}; its log:\n{}",
            logs(&container.0)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let writes = scrape.value(
        "write_syscalls_total",
        &[("pid", &pid), ("comm", "sh"), ("node", "image-test")],
    );
    assert!(writes.is_some_and(|w| w >= 100.0), "{writes:?}");
    assert!(scrape.body.contains("ip_packets_total{"), "{}", scrape.body);
    for exporter in ["writes", "packets"] {
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", exporter)]),
            Some(1.0),
            "{exporter}"
        );
    }
    scrape.assert_promtool_accepts();

    run_ok(podman().args(["stop", "--time", "10", &container.0]));
    let exit = run_ok(podman().args(["inspect", "--format", "{{.State.ExitCode}}", &container.0]));
    assert_eq!(exit.trim(), "0", "log:\n{}", logs(&container.0));
}

fn logs(container: &str) -> String {
    podman()
        .args(["logs", container])
        .output()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default()
}
