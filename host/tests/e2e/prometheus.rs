//! A real Prometheus server (Debian's 2.42) scrapes the agent and ingests
//! the demo series: the final word on "output Prometheus accepts".

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, try_get};

/// Prometheus, killed on drop.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Self {
        Self::scraping(target, "")
    }

    /// Prometheus scraping `target` as job `bpfhost` every second, with
    /// `extra` (YAML lines indented for the job, e.g. `scheme: https`)
    /// added to the job.
    pub fn scraping(target: SocketAddr, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: bpfhost\n    static_configs: [{{targets: ['{target}']}}]\n{extra}"
            ),
        )
        .expect("write config");
        // Let the OS pick a free port for Prometheus's own web listener.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian package prometheus) must be installed");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Polls an instant query until `accept` holds on its JSON result, for at
    /// most `limit`. Prometheus scrapes on its own clock, so this waits on an
    /// external system rather than racing our own code.
    pub async fn wait_for(
        &self,
        query: &str,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> String {
        let started = Instant::now();
        let path = format!("/api/v1/query?query={}", encode(query));
        loop {
            // Connection errors while Prometheus starts read as "not yet".
            let body = try_get(self.addr, &path, None)
                .await
                .map(|r| r.body)
                .unwrap_or_default();
            if accept(&body) {
                return body;
            }
            assert!(
                started.elapsed() < limit,
                "prometheus never answered {query} as expected; last answer: {body}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_real_prometheus_ingests_both_demos() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("packets.yaml");
    dir.example("writes.yaml");
    let agent = Agent::start(&[dir.path()]).await;
    let prometheus = Prometheus::start(agent.addr());
    let limit = Duration::from_mins(1);

    prometheus
        .wait_for("up{job=\"bpfhost\"}", limit, |b| {
            b.contains("\"value\":[") && b.contains("\"1\"]")
        })
        .await;
    let writes = prometheus
        .wait_for(
            "count(write_syscalls_total{node=\"test-node\"})",
            limit,
            |b| b.contains("\"value\":["),
        )
        .await;
    assert!(writes.contains("\"status\":\"success\""), "{writes}");
    prometheus
        .wait_for("bpfhost_exporter_up{exporter=\"packets\"}", limit, |b| {
            b.contains("\"1\"]")
        })
        .await;
    // Nothing was dropped at ingestion.
    prometheus
        .wait_for(
            "scrape_samples_post_metric_relabeling{job=\"bpfhost\"}",
            limit,
            |b| b.contains("\"value\":["),
        )
        .await;
    agent.stop().await;
}
