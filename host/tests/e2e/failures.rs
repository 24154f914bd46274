//! Bad input costs only itself: every failure is reported clearly and the
//! healthy exporter keeps serving.

use base64::Engine as _;
use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, get};

fn exporter(name: &str, object: &str, decoder: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  object: {object}\n  decoder: {decoder}\n"
    )
}

fn path_source(rel: &str) -> String {
    format!("{{path: {}}}", artifact(rel).display())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn every_bad_exporter_is_reported_and_the_good_one_keeps_serving() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    let writes_wasm = path_source("plugins/writes.wasm");
    let writes_elf = path_source("bpf/writes.bpf.o");
    let garbage = base64::engine::general_purpose::STANDARD.encode(b"\x7fELF but not really");
    dir.write(
        "broken-elf.yaml",
        &exporter(
            "broken-elf",
            &format!("{{inline: {garbage}}}"),
            &writes_wasm,
        ),
    );
    dir.write(
        "rejected.yaml",
        &exporter(
            "rejected",
            &path_source("bpf/fixtures/verifier_reject.bpf.o"),
            &writes_wasm,
        ),
    );
    dir.write(
        "bad-decoder.yaml",
        &exporter("bad-decoder", &writes_elf, "{inline: AGFzbQEAAAA=}"),
    );
    dir.write(
        "unknown-field.yaml",
        &exporter("unknown-field", &writes_elf, &writes_wasm).replace("  object:", "  objcet:"),
    );
    dir.write(
        "two-sources.yaml",
        &exporter(
            "two-sources",
            &format!("{{path: x.o, inline: {garbage}}}"),
            &writes_wasm,
        ),
    );
    dir.write(
        "missing-file.yaml",
        &exporter("missing-file", "{path: does-not-exist.bpf.o}", &writes_wasm),
    );
    dir.write(
        "bad-base64.yaml",
        &exporter("bad-base64", "{inline: '!!not base64!!'}", &writes_wasm),
    );

    let agent = Agent::start(&[dir.path()]).await;
    let scrape = agent.scrape().await;
    assert_eq!(scrape.status, 200);
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "writes")]),
        Some(1.0),
        "{}",
        scrape.body
    );
    assert!(
        scrape.body.contains("write_syscalls_total{"),
        "{}",
        scrape.body
    );
    for failed in ["broken-elf", "rejected", "bad-decoder"] {
        assert_eq!(
            scrape.value("bpfhost_exporter_up", &[("exporter", failed)]),
            Some(0.0),
            "{failed}:\n{}",
            scrape.body
        );
    }
    scrape.assert_promtool_accepts();

    let status = get(agent.addr(), "/status", None).await.body;
    for expected in [
        "broken-elf",
        "verifier",
        "bad-decoder",
        "unknown field `objcet`",
        "exactly one of",
        "does-not-exist.bpf.o",
        "bad-base64",
    ] {
        assert!(
            status.contains(expected),
            "/status lacks {expected:?}:\n{status}"
        );
    }
    agent.stop().await;
}
