//! Decoders built by earlier SDK releases serve through the whole agent
//! exactly as the current release's do: `plugins/fixtures/released/<WIT
//! version>/packets.wasm`, committed as the 0.2.0 and 0.2.1 SDKs built
//! them, each in its own agent (they declare the same family) beside the
//! current `packets` example, over the same BPF program and packets.

use std::path::Path;

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, Scrape, udp_and_tcp_on_loopback};

const N: u32 = 100;

/// The packets example with the decoder a released SDK built.
fn released_manifest(dir: &ManifestDir, version: &str) -> std::path::PathBuf {
    let decoder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/fixtures/released")
        .join(version)
        .join("packets.wasm");
    assert!(decoder.exists(), "{} is committed", decoder.display());
    dir.write(
        "packets.yaml",
        &format!(
            "apiVersion: bpfhost.dev/v1alpha1
kind: BpfExporter
metadata:
  name: packets
spec:
  object:
    path: {}
  decoder:
    path: {}
",
            artifact("bpf/packets.bpf.o").display(),
            decoder.display()
        ),
    )
}

/// The `ip_packets_total` HELP and TYPE lines.
fn meta(scrape: &Scrape) -> Vec<&str> {
    scrape
        .body
        .lines()
        .filter(|l| {
            l.starts_with("# HELP ip_packets_total ") || l.starts_with("# TYPE ip_packets_total ")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn decoders_built_for_wit_0_2_0_and_0_2_1_serve_beside_the_current_one() {
    require_kernel();
    let mut agents = Vec::new();
    for version in ["current", "0.2.0", "0.2.1"] {
        let dir = ManifestDir::new();
        let manifest = if version == "current" {
            dir.example("packets.yaml")
        } else {
            released_manifest(&dir, version)
        };
        let agent = Agent::start(&[&manifest]).await;
        let before = agent.scrape().await;
        agents.push((version, agent, before, dir));
    }

    udp_and_tcp_on_loopback(N);

    let mut metas = Vec::new();
    for (version, agent, before, _) in &agents {
        let after = agent.scrape().await;
        assert_eq!(
            after.value("bpfhost_exporter_up", &[("exporter", "packets")]),
            Some(1.0),
            "{version}:\n{}",
            after.body
        );
        for protocol in ["UDP", "TCP"] {
            let labels = [("protocol", protocol)];
            let rise = after.value_or_zero("ip_packets_total", &labels)
                - before.value_or_zero("ip_packets_total", &labels);
            assert!(
                rise >= f64::from(N),
                "{version}: {protocol} rose by {rise}, expected at least {N}:\n{}",
                after.body
            );
        }
        after.assert_promtool_accepts();
        metas.push(meta(&after).join("\n"));
    }
    assert_eq!(metas[0].lines().count(), 2, "{}", metas[0]);
    assert!(
        metas.iter().all(|m| *m == metas[0]),
        "HELP and TYPE differ: {metas:?}"
    );
    for (_, agent, _, _) in agents {
        agent.stop().await;
    }
}
