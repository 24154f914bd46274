//! Programs through the whole agent: libbpf-style overrides (`maps:`,
//! `autoload: false`), the attach policy, and the per-program self-metrics
//! (`bpfhost_program_attached`, `_info`, `_runs_total`, `_run_seconds_total`).

use std::process::Command;

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, BpfStats, ManifestDir, get, run_ok, scrape_until, sh};

/// An exporter of `bpf/fixtures/best_effort.bpf.o` (the writes example's map
/// and program, plus a kprobe on a function no kernel has) with the writes
/// decoder, and `extra` spec lines.
fn best_effort(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  \
         object: {{path: {}}}\n  decoder: {{path: {}}}\n{extra}",
        artifact("bpf/fixtures/best_effort.bpf.o").display(),
        artifact("plugins/writes.wasm").display(),
    )
}

/// The agent's `/status` document.
async fn status(agent: &Agent) -> serde_json::Value {
    let body = get(agent.addr(), "/status", None).await.body;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn best_effort_serves_what_attached_and_names_what_did_not() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.write(
        "be.yaml",
        &best_effort("be", "  attachPolicy: BestEffort\n"),
    );
    let agent = Agent::start(&[dir.path()]).await;
    sh("for i in 1 2 3; do echo x > /dev/null; done");
    let scrape = scrape_until(&agent, "write counts", |s| {
        s.body.contains("write_syscalls_total{")
    })
    .await;
    let be = |program: &str| {
        scrape.value(
            "bpfhost_program_attached",
            &[("exporter", "be"), ("program", program)],
        )
    };
    assert_eq!(be("fx_be_writes"), Some(1.0), "{}", scrape.body);
    assert_eq!(be("fx_be_missing"), Some(0.0), "{}", scrape.body);
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "be")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.value("bpfhost_exporter_programs_attached", &[("exporter", "be")]),
        Some(1.0)
    );
    scrape.assert_promtool_accepts();

    let status = status(&agent).await;
    let exporter = &status["exporters"][0];
    assert_eq!(exporter["state"], "running", "{status}");
    let programs = exporter["programs"].as_array().expect("programs listed");
    let missing = programs
        .iter()
        .find(|p| p["name"] == "fx_be_missing")
        .expect("the failed program is listed");
    assert_eq!(missing["state"], "failed", "{status}");
    let error = missing["error"].as_str().expect("with its error");
    assert!(
        error.starts_with("program fx_be_missing:") && error.contains("bpfhost_no_such_function"),
        "{error}"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn all_or_nothing_fails_the_exporter_on_one_missing_attach_point() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.write("strict.yaml", &best_effort("strict", ""));
    let agent = Agent::start(&[dir.path()]).await;
    let scrape = agent.scrape().await;
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "strict")]),
        Some(0.0),
        "{}",
        scrape.body
    );
    assert!(
        !scrape.body.contains("bpfhost_program_attached{"),
        "a failed exporter has no programs:\n{}",
        scrape.body
    );
    let status = status(&agent).await;
    let exporter = &status["exporters"][0];
    assert_eq!(exporter["state"], "failed", "{status}");
    let error = exporter["error"].as_str().expect("error");
    assert!(error.contains("program fx_be_missing"), "{error}");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn program_info_and_run_counts_are_scraped_with_overrides_applied() {
    require_kernel();
    let stats = BpfStats::enable();
    let dir = ManifestDir::new();
    dir.write(
        "stats.yaml",
        &best_effort(
            "stats",
            "  programs: [{name: fx_be_missing, autoload: false}]\n  \
             maps: {writes_by_process: {maxEntries: 512}}\n",
        ),
    );
    let agent = Agent::start(&[dir.path()]).await;
    let runs = |s: &super::support::Scrape| {
        s.value_or_zero(
            "bpfhost_program_runs_total",
            &[("exporter", "stats"), ("program", "fx_be_writes")],
        )
    };
    sh("for i in 1 2 3; do echo x > /dev/null; done");
    let scrape = scrape_until(&agent, "runs counted", |s| runs(s) > 0.0).await;
    assert!(
        scrape.value(
            "bpfhost_program_run_seconds_total",
            &[("exporter", "stats"), ("program", "fx_be_writes")]
        ) > Some(0.0),
        "{}",
        scrape.body
    );
    let info = scrape
        .body
        .lines()
        .find(|l| l.starts_with("bpfhost_program_info{") && l.contains("program=\"fx_be_writes\""))
        .unwrap_or_else(|| panic!("no program_info for fx_be_writes:\n{}", scrape.body));
    let label = |name: &str| {
        let start = info.find(&format!("{name}=\"")).expect("label") + name.len() + 2;
        info[start..].split('"').next().expect("value").to_owned()
    };
    assert_eq!(label("type"), "tracepoint", "{info}");
    let tag = label("tag");
    assert!(
        tag.len() == 16
            && tag
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{info}"
    );
    // bpftool agrees on the id and the tag.
    let shown =
        run_ok(Command::new("bpftool").args(["prog", "show", "id", &label("id"), "--json"]));
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("bpftool json");
    assert_eq!(shown["tag"], tag.as_str());
    assert_eq!(shown["name"], "fx_be_writes");
    // Left out by `autoload: false`: neither loaded nor reported attached.
    assert!(
        !scrape.body.contains("program=\"fx_be_missing\""),
        "{}",
        scrape.body
    );
    scrape.assert_promtool_accepts();

    // The override reached the kernel: the map is 512 entries, not 10240.
    let maps = run_ok(Command::new("bpftool").args(["map", "show", "--json"]));
    let maps: serde_json::Value = serde_json::from_str(&maps).expect("bpftool json");
    let sizes: Vec<&serde_json::Value> = maps
        .as_array()
        .expect("map list")
        .iter()
        .filter(|m| m["name"] == "writes_by_proce")
        .map(|m| &m["max_entries"])
        .collect();
    assert!(sizes.contains(&&serde_json::json!(512)), "{sizes:?}");
    agent.stop().await;
    drop(stats);
}
