//! Events through the whole agent: ring buffer and perf event array
//! records read as they arrive, handed to 0.3.0 decoders in batches,
//! counted into metrics; drops counted by reason; bad sources and
//! trapping handlers reported, the rest unaffected.

use bpfhost::testing::netns::{Veth, listen_in, run};
use bpfhost::testing::{artifact, require_kernel};

use super::support::{
    Agent, ManifestDir, Scrape, running_true, scrape_until, scrape_until_within, sh,
};

const EXECS: &str = "process_execs_total";

fn received(s: &Scrape, exporter: &str, source: &str) -> f64 {
    s.value_or_zero(
        "bpfhost_events_received_total",
        &[("exporter", exporter), ("source", source)],
    )
}

fn dropped(s: &Scrape, exporter: &str, source: &str, reason: &str) -> f64 {
    s.value_or_zero(
        "bpfhost_events_dropped_total",
        &[
            ("exporter", exporter),
            ("source", source),
            ("reason", reason),
        ],
    )
}

/// An exporter of the execs object whose decoder is the hostile fixture
/// taking the `execs` ring buffer (records of 20 bytes) with records of at
/// least `min` bytes, `config` added to its settings.
fn hostile_execs(name: &str, min: u32, config: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  \
         object: {{path: {object}}}\n  \
         decoder:\n    path: {decoder}\n    \
         config: {{prefix: {prefix}, events: execs, minRecordSize: {min}{config}}}\n",
        prefix = name.replace('-', "_"),
        object = artifact("bpf/execs.bpf.o").display(),
        decoder = artifact("plugins/hostile.wasm").display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
#[expect(
    clippy::await_holding_lock,
    reason = "held on purpose across the scrapes: other tests' threads wait to run `true`"
)]
async fn three_hundred_runs_of_true_are_exactly_three_hundred_execs() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("execs.yaml")]).await;
    scrape_until(&agent, "the execs exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "execs")]) == Some(1.0)
    })
    .await;
    // No other test runs `true` meanwhile.
    let _true = running_true();
    // Records reach the decoder within a batch delay (10 ms) of the exec:
    // let any in flight land before taking the baseline.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = agent.scrape().await;
    let trues = |s: &Scrape| s.value_or_zero(EXECS, &[("comm", "true")]);
    sh("for i in $(seq 300); do /bin/true; done");
    let after = scrape_until(&agent, "300 more execs of true", |s| {
        trues(s) >= trues(&before) + 300.0
    })
    .await;
    // And not one more, once everything in flight has landed.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let settled = agent.scrape().await;
    assert_eq!(trues(&settled), trues(&before) + 300.0, "{}", settled.body);
    // `seq` ran once, the shell once: their commands are counted too.
    assert!(settled.value_or_zero(EXECS, &[("comm", "seq")]) >= 1.0);
    assert!(
        received(&settled, "execs", "execs") >= received(&before, "execs", "execs") + 302.0,
        "{}",
        settled.body
    );
    for reason in ["queue_full", "decoder_down", "decoder_error", "too_short"] {
        assert_eq!(dropped(&settled, "execs", "execs", reason), 0.0, "{reason}");
    }
    assert!(
        settled
            .body
            .lines()
            .any(|l| l == "# TYPE process_execs_total counter"),
        "{}",
        after.body
    );
    settled.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_slow_handler_drops_and_counts_every_record_it_cannot_take() {
    require_kernel();
    let dir = ManifestDir::new();
    // Every batch costs the handler ~80 ms (320M iterations at ~0.25 ns):
    // far slower than a shell starting processes, which fills a batch
    // every 10 ms, so the queue (64 batches) fills.
    let slow = dir.write(
        "slow.yaml",
        &hostile_execs(
            "slow-events",
            20,
            ", fault: slow, phase: events, spin: 320000000",
        ),
    );
    let agent = Agent::start(&[&slow]).await;
    scrape_until(&agent, "the slow exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "slow-events")]) == Some(1.0)
    })
    .await;
    sh("for i in $(seq 3000); do /bin/echo >/dev/null; done");
    // Every record is either handled (counted by the decoder) or dropped
    // (counted by the agent), exactly, once the queue has drained.
    let handled = |s: &Scrape| s.value_or_zero("slow_events_ok", &[("kind", "events")]);
    let accounted = |s: &Scrape| {
        let dropped: f64 = ["queue_full", "decoder_down", "decoder_error", "too_short"]
            .iter()
            .map(|r| dropped(s, "slow-events", "execs", r))
            .sum();
        handled(s) + dropped
    };
    // Draining a full queue takes 64 batch calls: ~5 s on an idle machine,
    // several times that on a loaded one.
    let drained = std::time::Duration::from_secs(90);
    let settled = scrape_until_within(&agent, "every record accounted for", drained, |s| {
        let got = received(s, "slow-events", "execs");
        got >= 3000.0 && (accounted(s) - got).abs() < 0.5
    })
    .await;
    assert!(
        dropped(&settled, "slow-events", "execs", "queue_full") > 0.0,
        "the queue overflowed:\n{}",
        settled.body
    );
    assert!(handled(&settled) > 0.0, "{}", settled.body);
    settled.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
#[expect(
    clippy::await_holding_lock,
    reason = "held on purpose across the scrapes: other tests' threads wait to run `true`"
)]
async fn a_handler_trapping_on_every_batch_is_counted_and_costs_no_other_exporter() {
    require_kernel();
    let dir = ManifestDir::new();
    let trapping = dir.write(
        "trapping.yaml",
        &hostile_execs("trapping-events", 20, ", fault: panic, phase: events"),
    );
    // Wants 64-byte records of a 20-byte ring buffer.
    let too_short = dir.write("short.yaml", &hostile_execs("short-events", 64, ""));
    // Declares `counts`, a hash map of the writes object, as its source.
    let wrong_source = dir.write(
        "wrong.yaml",
        &format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: wrong-source}}\nspec:\n  \
             object: {{path: {object}}}\n  \
             decoder:\n    path: {decoder}\n    \
             config: {{prefix: wrong, events: writes_by_process}}\n",
            object = artifact("bpf/writes.bpf.o").display(),
            decoder = artifact("plugins/hostile.wasm").display(),
        ),
    );
    let execs = dir.example("execs.yaml");
    let agent = Agent::start(&[&trapping, &too_short, &wrong_source, &execs]).await;
    let up = scrape_until(&agent, "execs and the trapping exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "execs")]) == Some(1.0)
            && s.value("bpfhost_exporter_up", &[("exporter", "trapping-events")]) == Some(1.0)
    })
    .await;
    assert_eq!(
        up.value("bpfhost_exporter_up", &[("exporter", "wrong-source")]),
        Some(0.0),
        "{}",
        up.body
    );
    let status = super::support::get(agent.addr(), "/status", None).await;
    assert!(
        status.body.contains("writes_by_process")
            && status
                .body
                .contains("not a ring buffer or perf event array"),
        "{}",
        status.body
    );
    let _true = running_true();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = agent.scrape().await;
    let trues = |s: &Scrape| s.value_or_zero(EXECS, &[("comm", "true")]);
    let lost = |s: &Scrape| {
        dropped(s, "trapping-events", "execs", "decoder_error")
            + dropped(s, "trapping-events", "execs", "decoder_down")
    };
    sh("for i in $(seq 50); do /bin/true; sleep 0.01; done");
    let short = |s: &Scrape| dropped(s, "short-events", "execs", "too_short");
    let after = scrape_until(&agent, "the trapping handler's loss counted", |s| {
        trues(s) >= trues(&before) + 50.0
            && lost(s) >= lost(&before) + 50.0
            && short(s) >= short(&before) + 50.0
    })
    .await;
    assert_eq!(
        after.value_or_zero("short_events_ok", &[("kind", "events")]),
        0.0,
        "no record reached the decoder"
    );
    assert!(
        after.value_or_zero(
            "bpfhost_plugin_traps_total",
            &[("exporter", "trapping-events"), ("kind", "unreachable")]
        ) >= 1.0,
        "{}",
        after.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let settled = agent.scrape().await;
    assert_eq!(trues(&settled), trues(&before) + 50.0, "{}", settled.body);
    // It is reported, up or down as its restarts go, not gone.
    assert!(
        settled
            .value("bpfhost_exporter_up", &[("exporter", "trapping-events")])
            .is_some(),
        "{}",
        settled.body
    );
    settled.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn tcp_retransmits_yaml_counts_a_connection_whose_segments_are_dropped() {
    use std::io::Write as _;

    require_kernel();
    let veth = Veth::create("bpfhrtx", 178);
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("tcp-retransmits.yaml")]).await;
    scrape_until(&agent, "the tcp-retransmits exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "tcp-retransmits")]) == Some(1.0)
    })
    .await;
    let server_ip: std::net::Ipv4Addr = veth.peer_ip.parse().expect("peer ip");
    let server = listen_in(veth.netns(), server_ip);
    let mut client =
        std::net::TcpStream::connect_timeout(&server, std::time::Duration::from_secs(5))
            .expect("connect");
    client.write_all(&[1; 1000]).expect("send before the drop");
    // No netem in this kernel: a firewall rule in the namespace drops the
    // connection's segments until the client has retransmitted.
    let dport = server.port().to_string();
    let iptables = |action: &str| {
        run(&[
            "ip",
            "netns",
            "exec",
            veth.netns(),
            "iptables",
            action,
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &dport,
            "-j",
            "DROP",
        ]);
    };
    iptables("-A");
    client.write_all(&[2; 1000]).expect("send into the drop");
    let sport = client
        .local_addr()
        .expect("client address")
        .port()
        .to_string();
    let labels = [
        ("saddr", "10.178.0.1"),
        ("sport", sport.as_str()),
        ("daddr", "10.178.0.2"),
        ("dport", dport.as_str()),
    ];
    let counted = scrape_until(&agent, "a retransmit of the connection", |s| {
        s.value("tcp_retransmits_total", &labels).unwrap_or(0.0) >= 1.0
    })
    .await;
    iptables("-D");
    drop(client);
    assert!(
        received(&counted, "tcp-retransmits", "retransmits")
            >= counted
                .value("tcp_retransmits_total", &labels)
                .unwrap_or(0.0),
        "{}",
        counted.body
    );
    assert_eq!(
        dropped(&counted, "tcp-retransmits", "retransmits", "kernel_lost"),
        0.0
    );
    counted.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn an_exporter_with_a_backlog_unloads_without_working_through_it() {
    require_kernel();
    let dir = ManifestDir::new();
    // ~80 ms a batch: a backlog of 64 batches would take ~5 s to work off.
    let slow = dir.write(
        "slow.yaml",
        &hostile_execs(
            "backlog-events",
            20,
            ", fault: slow, phase: events, spin: 320000000",
        ),
    );
    let agent = Agent::start(&[&slow]).await;
    scrape_until(&agent, "the slow exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "backlog-events")]) == Some(1.0)
    })
    .await;
    sh("for i in $(seq 1500); do /bin/echo >/dev/null; done");
    let backlog = agent.scrape().await;
    assert!(
        dropped(&backlog, "backlog-events", "execs", "queue_full") > 0.0,
        "the queue is full:\n{}",
        backlog.body
    );
    // Unloading stops the pump after the call in progress (and the agent
    // stops within its 5 s budget), instead of handing it ~5 s of backlog.
    let started = std::time::Instant::now();
    agent.stop().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "stopping took {:?}",
        started.elapsed()
    );
}
