//! Hostile decoders cost only their own series: the healthy demo exporter
//! is served, correct and promtool-clean in the same scrape.

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, Scrape, get, sh};

/// (case, decoder config, whether the exporter may still be up with only
/// its valid series left, `decoder.limits` overrides)
const CASES: &[(&str, &str, bool, &str)] = &[
    ("endless_loop", r#"{"fault":"loop"}"#, false, ""),
    ("memory_bomb", r#"{"fault":"memory-bomb"}"#, false, ""),
    ("deep_recursion", r#"{"fault":"recursion"}"#, false, ""),
    ("guest_panic", r#"{"fault":"panic"}"#, false, ""),
    ("plugin_error", r#"{"fault":"error"}"#, false, ""),
    ("million_rows", r#"{"fault":"huge-output"}"#, true, ""),
    // The same answer with a larger memory cap and a bytes bound: the
    // plugin finishes, and what exceeds 1 MiB of exposition is dropped.
    (
        "million_rows_bounded",
        r#"{"fault":"huge-output"}"#,
        true,
        "memory: 512Mi, maxBytes: 1Mi, timeout: 20s",
    ),
    ("huge_labels", r#"{"fault":"huge-labels"}"#, true, ""),
    ("bad_names", r#"{"fault":"bad-names"}"#, false, ""),
    (
        "reserved_labels",
        r#"{"fault":"reserved-labels"}"#,
        false,
        "",
    ),
    ("duplicates", r#"{"fault":"duplicates"}"#, true, ""),
    ("nan_values", r#"{"fault":"nan-counters"}"#, true, ""),
    (
        "broken_buckets",
        r#"{"fault":"broken-histogram"}"#,
        true,
        "",
    ),
    // Built for WASI: reads files, the environment, the network, writes
    // 10 MB to stdout; it gets nothing and serves what it saw.
    ("wasi_escape", "{}", true, "timeout: 20s"),
];

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn manifest(case: &str, config: &str, limits: &str) -> String {
    let prefix = format!("h_{case}");
    let config = config.replacen('{', &format!("{{\"prefix\":\"{prefix}\","), 1);
    let plugin = if case == "wasi_escape" {
        "plugins/wasi-escape.wasm"
    } else {
        "plugins/hostile.wasm"
    };
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {}}}\nspec:\n  object: {{path: {}}}\n  decoder:\n    path: {}\n    config: {config}\n    limits: {{{limits}}}\n",
        case.replace('_', "-"),
        artifact("bpf/writes.bpf.o").display(),
        artifact(plugin).display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn hostile_decoders_cost_only_their_own_series() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    for (case, config, _, limits) in CASES {
        dir.write(&format!("{case}.yaml"), &manifest(case, config, limits));
    }
    // A second exporter declaring the demo's own family, loaded after it
    // (files load in name order), is refused.
    dir.write(
        "zz-collision.yaml",
        &std::fs::read_to_string(dir.path().join("writes.yaml"))
            .expect("writes manifest")
            .replace("name: writes", "name: collision"),
    );
    let rss_before = rss_kib();
    let agent = Agent::start(&[dir.path()]).await;

    let pid = sh("i=0; while [ $i -lt 50 ]; do echo x; i=$((i+1)); done >/dev/null").to_string();

    for round in 0..3 {
        let scrape = agent.scrape().await;
        assert_eq!(scrape.status, 200);
        let writes = scrape
            .value("write_syscalls_total", &[("pid", &pid), ("comm", "sh")])
            .unwrap_or_else(|| panic!("round {round}: healthy series missing:\n{}", scrape.body));
        assert!(writes >= 50.0, "round {round}: {writes}");
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", "writes")]),
            Some(1.0)
        );
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", "collision")]),
            Some(0.0)
        );
        scrape.assert_promtool_accepts();
        if round == 2 {
            report(&agent, &scrape).await;
        }
    }
    let dropped = agent.scrape().await;
    for (case, reason) in [
        ("duplicates", "duplicate"),
        ("nan-values", "invalid_value"),
        ("broken-buckets", "invalid_value"),
        ("huge-labels", "label_too_long"),
        ("million-rows-bounded", "too_many_bytes"),
    ] {
        let n = dropped.value_or_zero(
            "bpfhost_exporter_dropped_series_total",
            &[("exporter", case), ("reason", reason)],
        );
        assert!(
            n > 0.0,
            "{case}: nothing dropped for {reason}:\n{}",
            dropped.body
        );
    }
    for (case, kind) in [
        ("endless-loop", "timeout"),
        ("memory-bomb", "memory"),
        ("guest-panic", "unreachable"),
    ] {
        let traps = dropped.value_or_zero(
            "bpfhost_plugin_traps_total",
            &[("exporter", case), ("kind", kind)],
        );
        assert!(
            traps >= 1.0,
            "{case}: no {kind} trap counted:\n{}",
            dropped.body
        );
    }
    for attempt in bpfhost::testing::WASI_ESCAPES {
        let denied = dropped.body.lines().any(|l| {
            l.starts_with("h_wasi_escape_attempt{")
                && l.contains(&format!("attempt=\"{attempt}\""))
                && l.contains("outcome=\"denied")
        });
        assert!(
            denied,
            "the WASI guest's {attempt} is denied:\n{}",
            dropped.body
        );
    }
    assert_eq!(
        dropped.value(
            "bpfhost_exporter_up",
            &[("exporter", "million-rows-bounded")]
        ),
        Some(1.0),
        "bounded by bytes, the million-row plugin still serves"
    );
    eprintln!(
        "agent RSS before {} KiB, after {} KiB",
        rss_before,
        rss_kib()
    );
    agent.stop().await;
}

/// Prints the per-case table and checks that faulty cases are down and
/// stopped in bounded time.
async fn report(agent: &Agent, scrape: &Scrape) {
    eprintln!(
        "\n{:<22} {:>4} {:>12} {:>10}  outcome",
        "case", "up", "collect (s)", "wasm MiB"
    );
    for (case, _, may_be_up, _) in CASES {
        let exporter = case.replace('_', "-");
        let up = scrape.value("bpfhost_exporter_up", &[("exporter", &exporter)]);
        let took = scrape.value_or_zero(
            "bpfhost_exporter_collect_duration_seconds",
            &[("exporter", &exporter)],
        );
        assert!(took < 10.0, "{case} ran {took}s");
        if !may_be_up {
            assert_eq!(up, Some(0.0), "{case} should be down:\n{}", scrape.body);
        }
        let outcome = match up {
            Some(1.0) => "up, invalid series dropped".to_owned(),
            _ => exporter_error(agent, &exporter)
                .await
                .chars()
                .take(100)
                .collect(),
        };
        let memory = scrape
            .value("bpfhost_plugin_memory_bytes", &[("exporter", &exporter)])
            .map_or_else(|| "-".to_owned(), |b| format!("{:.1}", b / 1_048_576.0));
        eprintln!(
            "{case:<22} {:>4} {took:>12.4} {memory:>10}  {outcome}",
            up.unwrap_or(-1.0)
        );
    }
}

/// The error `/status` gives for one exporter.
async fn exporter_error(agent: &Agent, exporter: &str) -> String {
    let status = get(agent.addr(), "/status", None).await.body;
    let status: serde_json::Value = serde_json::from_str(&status).expect("status is JSON");
    status["exporters"]
        .as_array()
        .expect("exporters")
        .iter()
        .find(|e| e["name"] == exporter)
        .and_then(|e| e["error"].as_str())
        .unwrap_or("(no error)")
        .to_owned()
}

/// Each case alone in its own agent, for the cost table: outcome, time to
/// stop the plugin, and the test process's RSS before the agent starts,
/// after two scrapes, and after the agent stopped.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn each_hostile_case_alone_costs_bounded_time_and_memory() {
    require_kernel();
    eprintln!(
        "\n{:<22} {:>4} {:>10} {:>11} {:>11} {:>11}",
        "case", "up", "stop (s)", "RSS before", "RSS loaded", "RSS after"
    );
    for (case, config, may_be_up, limits) in CASES {
        let dir = ManifestDir::new();
        dir.write(&format!("{case}.yaml"), &manifest(case, config, limits));
        let exporter = case.replace('_', "-");
        let before = rss_kib();
        let agent = Agent::start(&[dir.path()]).await;
        let mut slowest = 0.0f64;
        let mut up = None;
        for _ in 0..2 {
            let scrape = agent.scrape().await;
            assert_eq!(scrape.status, 200);
            scrape.assert_promtool_accepts();
            up = scrape.value("bpfhost_exporter_up", &[("exporter", &exporter)]);
            slowest = slowest.max(scrape.value_or_zero(
                "bpfhost_exporter_collect_duration_seconds",
                &[("exporter", &exporter)],
            ));
        }
        let loaded = rss_kib();
        agent.stop().await;
        if !may_be_up {
            assert_eq!(up, Some(0.0), "{case} should be down");
        }
        assert!(slowest < 10.0, "{case} ran {slowest}s");
        eprintln!(
            "{case:<22} {:>4} {slowest:>10.3} {:>8} KiB {:>7} KiB {:>7} KiB",
            up.unwrap_or(-1.0),
            before,
            loaded,
            rss_kib()
        );
    }
}
