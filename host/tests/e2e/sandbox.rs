//! The sandbox under load and over time: concurrent scrapes share one
//! collection, a scrape answers within Prometheus' timeout, per-exporter
//! limits apply, and a decoder that is fixed gets its series back.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, Scrape, raw, request, scrape_until};

/// A `BpfExporter` running the hostile decoder on the writes demo object.
fn hostile(name: &str, config: &str, limits: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  object: {{path: {}}}\n  decoder:\n    path: {}\n    config: {config}\n    limits: {{{limits}}}\n",
        artifact("bpf/writes.bpf.o").display(),
        artifact("plugins/hostile.wasm").display(),
    )
}

/// Spin iterations of the slow decoder: a few hundred milliseconds per call
/// here, well inside the 2 s deadline.
const SLOW_SPIN: u64 = 300_000_000;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn sixteen_concurrent_scrapes_share_one_collection() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    dir.write(
        "slow.yaml",
        &hostile(
            "slow",
            &format!(r#"{{"prefix":"slow","fault":"slow","spin":{SLOW_SPIN}}}"#),
            "",
        ),
    );
    let agent = Agent::start(&[dir.path()]).await;
    let calls = |s: &Scrape| s.value("slow_ok", &[("kind", "calls")]);
    let before = calls(&agent.scrape().await).expect("slow exporter serves");

    let addr = agent.addr();
    let scrapes = tokio::task::spawn_blocking(move || {
        let start = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    let scrape = raw(addr, request(addr, "/metrics", &[]).as_bytes());
                    (scrape, began.elapsed())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("scrape thread"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("scrapes");

    let mut seen = BTreeSet::new();
    let mut slowest = Duration::ZERO;
    for (scrape, took) in &scrapes {
        assert_eq!(scrape.status, 200, "{}", scrape.body);
        scrape.assert_promtool_accepts();
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", "writes")]),
            Some(1.0)
        );
        let n = calls(scrape).unwrap_or_else(|| panic!("slow series missing:\n{}", scrape.body));
        seen.insert(n as u64);
        slowest = slowest.max(*took);
    }
    let after = calls(&agent.scrape().await).expect("slow exporter serves");
    let call = agent
        .scrape()
        .await
        .value(
            "bpfhost_plugin_call_duration_seconds_sum",
            &[("exporter", "slow")],
        )
        .unwrap_or_default()
        / (after + 1.0);
    eprintln!(
        "16 concurrent scrapes: {} plugin run(s) (calls seen {seen:?}), slowest answer {slowest:?}, one call ~{call:.3} s",
        seen.len()
    );
    // Every run served at least one scrape (none ran for nobody), the final
    // scrape ran once more, and 16 scrapes arriving together shared runs.
    assert_eq!(after as usize - before as usize - 1, seen.len(), "{seen:?}");
    assert!(seen.len() <= 3, "16 scrapes caused {} runs", seen.len());
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_scrape_answers_within_prometheus_timeout_and_limits_apply_per_exporter() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    let looping = |prefix: &str| format!(r#"{{"prefix":"{prefix}","fault":"loop"}}"#);
    dir.write(
        "loop-short.yaml",
        &hostile("loop-short", &looping("short"), "timeout: 100ms"),
    );
    dir.write(
        "loop-long.yaml",
        &hostile("loop-long", &looping("long"), "timeout: 5s"),
    );
    let agent = Agent::start(&[dir.path()]).await;
    let addr = agent.addr();

    let began = Instant::now();
    let scrape = tokio::task::spawn_blocking(move || {
        let headers = [("X-Prometheus-Scrape-Timeout-Seconds", "1")];
        raw(addr, request(addr, "/metrics", &headers).as_bytes())
    })
    .await
    .expect("scrape");
    let answered = began.elapsed();
    eprintln!("scrape with a 1 s timeout answered in {answered:?}");
    assert!(answered < Duration::from_millis(2500), "{answered:?}");
    assert_eq!(scrape.status, 200);
    scrape.assert_promtool_accepts();
    let up = |s: &Scrape, e: &str| s.value("bpfhost_exporter_up", &[("exporter", e)]);
    assert_eq!(up(&scrape, "writes"), Some(1.0), "{}", scrape.body);
    assert_eq!(up(&scrape, "loop-short"), Some(0.0));
    assert_eq!(up(&scrape, "loop-long"), Some(0.0));
    let timeouts =
        |s: &Scrape, e: &str| s.value("bpfhost_exporter_scrape_timeouts_total", &[("exporter", e)]);
    assert_eq!(timeouts(&scrape, "loop-long"), Some(1.0), "{}", scrape.body);
    assert_eq!(
        timeouts(&scrape, "loop-short"),
        Some(0.0),
        "trapped in time"
    );
    let traps = |s: &Scrape, e: &str| {
        s.value_or_zero(
            "bpfhost_plugin_traps_total",
            &[("exporter", e), ("kind", "timeout")],
        )
    };
    assert!(traps(&scrape, "loop-short") >= 1.0, "{}", scrape.body);

    // The long loop's collection went on; its own 5 s deadline stops it.
    let later = scrape_until(&agent, "the long loop trapped", |s| {
        traps(s, "loop-long") >= 1.0
    })
    .await;
    let stopped_after = later.value_or_zero(
        "bpfhost_plugin_call_duration_seconds_sum",
        &[("exporter", "loop-long")],
    );
    let short_call = later.value_or_zero(
        "bpfhost_plugin_call_duration_seconds_sum",
        &[("exporter", "loop-short")],
    );
    eprintln!(
        "endless loop stopped after {short_call:.3} s (timeout: 100ms) and {stopped_after:.3} s (timeout: 5s)"
    );
    assert!((4.9..8.0).contains(&stopped_after), "{stopped_after}");
    assert!(short_call < 1.0, "{short_call}");
    assert_eq!(up(&later, "writes"), Some(1.0));
    later.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_faulty_decoder_replaced_by_a_good_one_gets_its_series_back() {
    require_kernel();
    let dir = ManifestDir::new();
    let panicking = hostile("mended", r#"{"prefix":"mended","fault":"panic"}"#, "");
    dir.write("mended.yaml", &panicking);
    let agent = Agent::start(&[dir.path()]).await;
    let scrape = agent.scrape().await;
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "mended")]),
        Some(0.0)
    );
    assert!(scrape.value("mended_ok", &[]).is_none(), "{}", scrape.body);

    dir.write(
        "mended.yaml",
        &hostile("mended", r#"{"prefix":"mended"}"#, ""),
    );
    let scrape = scrape_until(&agent, "the mended decoder's series", |s| {
        s.value("mended_ok", &[("kind", "fine")]) == Some(1.0)
    })
    .await;
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "mended")]),
        Some(1.0)
    );
    scrape.assert_promtool_accepts();
    agent.stop().await;
}
