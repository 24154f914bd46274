//! The examples that name what programs record with the agent's lookups:
//! syscall numbers to names, and cgroup ids to Kubernetes pods.

use std::path::{Path, PathBuf};
use std::process::Command;

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, scrape_until, sh};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn syscalls_are_counted_by_name() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("syscalls.yaml")]).await;
    sh("for i in $(seq 50); do echo x; done > /dev/null");
    let scrape = scrape_until(&agent, "write and openat by name", |s| {
        s.value_or_zero("syscalls_total", &[("syscall", "write")]) >= 50.0
            && s.value_or_zero("syscalls_total", &[("syscall", "openat")]) >= 1.0
    })
    .await;
    assert!(
        !scrape.body.contains("syscall=\"nr_"),
        "every syscall named:\n{}",
        scrape.body
    );
    scrape.assert_promtool_accepts();
    agent.stop().await;
}

/// Cgroups created under the v2 hierarchy, removed (leaf first) on drop.
struct Cgroups(Vec<PathBuf>);

impl Cgroups {
    fn create(root: &Path, relative: &str) -> Self {
        let mut made = Vec::new();
        let mut path = root.to_path_buf();
        for part in relative.split('/') {
            path.push(part);
            if !path.exists() {
                std::fs::create_dir(&path)
                    .unwrap_or_else(|e| panic!("creating cgroup {}: {e}", path.display()));
                made.push(path.clone());
            }
        }
        Self(made)
    }

    fn leaf(&self) -> &Path {
        self.0.last().expect("a cgroup")
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            if let Err(e) = std::fs::remove_dir(dir) {
                eprintln!("cannot remove cgroup {}: {e}", dir.display());
            }
        }
    }
}

const UID: &str = "0e6a1c7d-2f4b-4e8a-9b1c-aabbccddeeff";
const ID: &str = "d00dfeed0123456789abcdef0123456789abcdef0123456789abcdef01234567";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn writes_from_a_pod_cgroup_carry_namespace_pod_and_container() {
    require_kernel();
    let root = bpfhost::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
    // A private parent keeps the test away from a real kubelet's cgroups.
    let cgroups = Cgroups::create(
        &root,
        &format!(
            "bpfhost-e2e-{}/kubepods.slice/kubepods-besteffort.slice/\
             kubepods-besteffort-pod{}.slice/cri-containerd-{ID}.scope",
            std::process::id(),
            UID.replace('-', "_")
        ),
    );
    // What the kubelet keeps in /var/log for this pod.
    let logs = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(logs.path().join(format!("pods/shop_cart-7f9c_{UID}/app")))
        .expect("pod log dir");
    std::fs::create_dir_all(logs.path().join("containers")).expect("container log dir");
    std::fs::write(
        logs.path()
            .join(format!("containers/cart-7f9c_shop_app-{ID}.log")),
        "",
    )
    .expect("container log");

    let dir = ManifestDir::new();
    let manifest = dir.example("pod-writes.yaml");
    let log_dir = logs.path().to_path_buf();
    let agent = Agent::start_with(&[&manifest], |c| c.kubelet_log_dir = log_dir).await;

    // A shell moves itself into the container's cgroup, then writes.
    let procs = cgroups.leaf().join("cgroup.procs");
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && for i in $(seq 30); do echo x; done > /dev/null",
            procs.display()
        ))
        .status()
        .expect("sh");
    assert!(status.success());

    let pod = [
        ("namespace", "shop"),
        ("pod", "cart-7f9c"),
        ("container", "app"),
    ];
    let scrape = scrape_until(&agent, "the pod's writes", |s| {
        s.value_or_zero("pod_write_syscalls_total", &pod) >= 30.0
    })
    .await;
    scrape.assert_promtool_accepts();
    agent.stop().await;
    drop(cgroups);
}
