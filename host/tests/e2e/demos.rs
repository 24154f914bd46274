//! The two kube-bpf demos, done better, on the real kernel.

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, sh, udp_and_tcp_on_loopback};

const N: u32 = 200;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn writes_demo_counts_a_process_writes_by_pid_and_comm() {
    require_kernel();
    let dir = ManifestDir::new();
    let manifest = dir.example("writes.yaml");
    let agent = Agent::start(&[&manifest]).await;

    // A shell whose builtin `echo` makes exactly one write(2) per line.
    let pid = sh(&format!(
        "i=0; while [ $i -lt {N} ]; do echo x; i=$((i+1)); done >/dev/null"
    ))
    .to_string();

    let scrape = agent.scrape().await;
    assert_eq!(scrape.status, 200);
    let writes = scrape
        .value(
            "write_syscalls_total",
            &[("pid", &pid), ("comm", "sh"), ("node", "test-node")],
        )
        .unwrap_or_else(|| {
            panic!(
                "no write_syscalls_total series for pid {pid}:\n{}",
                scrape.body
            )
        });
    assert!(
        writes >= f64::from(N),
        "pid {pid} made {N} writes, counted {writes}"
    );
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "writes")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.value(
            "bpfhost_exporter_programs_attached",
            &[("exporter", "writes")]
        ),
        Some(1.0)
    );
    scrape.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn packets_demo_counts_udp_and_tcp_by_protocol_name() {
    require_kernel();
    let dir = ManifestDir::new();
    let manifest = dir.example("packets.yaml");
    let agent = Agent::start(&[&manifest]).await;
    let before = agent.scrape().await;

    udp_and_tcp_on_loopback(N);

    let after = agent.scrape().await;
    for protocol in ["UDP", "TCP"] {
        let labels = [("protocol", protocol), ("node", "test-node")];
        let rise = after.value_or_zero("ip_packets_total", &labels)
            - before.value_or_zero("ip_packets_total", &labels);
        assert!(
            rise >= f64::from(N),
            "{protocol} rose by {rise}, expected at least {N}:\n{}",
            after.body
        );
    }
    assert_eq!(
        after.value("bpfhost_exporter_up", &[("exporter", "packets")]),
        Some(1.0)
    );
    after.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn both_demos_serve_side_by_side_from_the_examples_directory() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("packets.yaml");
    dir.example("writes.yaml");
    let agent = Agent::start(&[dir.path()]).await;
    let scrape = agent.scrape().await;
    for exporter in ["packets", "writes"] {
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", exporter)]),
            Some(1.0),
            "{exporter} is not up:\n{}",
            scrape.body
        );
    }
    assert!(
        scrape.body.contains("# TYPE write_syscalls_total counter"),
        "{}",
        scrape.body
    );
    assert!(
        scrape.body.contains("# TYPE ip_packets_total counter"),
        "{}",
        scrape.body
    );
    scrape.assert_promtool_accepts();
    agent.stop().await;
}
