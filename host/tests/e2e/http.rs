//! The HTTP surface: content negotiation, health, garbage requests.

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, get, raw};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn text_by_default_openmetrics_when_asked_health_and_garbage() {
    require_kernel();
    let dir = ManifestDir::new();
    let manifest = dir.example("writes.yaml");
    let agent = Agent::start(&[&manifest]).await;

    let text = get(agent.addr(), "/metrics", None).await;
    assert_eq!(
        text.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(!text.body.contains("# EOF"));

    let om = get(agent.addr(), "/metrics", Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(
        om.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert!(
        om.body.contains("# TYPE write_syscalls counter"),
        "{}",
        om.body
    );

    let health = get(agent.addr(), "/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let addr = agent.addr();
    let garbage =
        tokio::task::spawn_blocking(move || raw(addr, b"\x00\x01NOT HTTP AT ALL\r\n\r\n"))
            .await
            .expect("garbage task");
    assert_eq!(garbage.status, 400);
    // The agent still serves after the garbage.
    assert_eq!(get(agent.addr(), "/healthz", None).await.status, 200);
    agent.stop().await;
}
