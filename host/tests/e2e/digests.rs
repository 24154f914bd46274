//! Pinned sources: an object whose bytes do not hash to its `sha256` is
//! refused with `DigestMismatch` while a correctly pinned one serves, and
//! `--require-digests` refuses an unpinned one.

use bpfhost::manifest::sha256_hex;
use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, get};

fn exporter(
    name: &str,
    prefix: &str,
    object_sha256: Option<&str>,
    decoder_sha256: Option<&str>,
) -> String {
    let pin = |digest: Option<&str>| digest.map_or_else(String::new, |d| format!(", sha256: {d}"));
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  \
         object: {{path: {}{}}}\n  decoder: {{path: {}{}, config: {{prefix: {prefix}}}}}\n",
        artifact("bpf/writes.bpf.o").display(),
        pin(object_sha256),
        artifact("plugins/hostile.wasm").display(),
        pin(decoder_sha256),
    )
}

fn digest_of(rel: &str) -> String {
    sha256_hex(&std::fs::read(artifact(rel)).expect("artifact"))
}

async fn status_of(agent: &Agent) -> serde_json::Value {
    let body = get(agent.addr(), "/status", None).await.body;
    serde_json::from_str(&body).expect("status JSON")
}

fn exporter_status<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["exporters"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no exporter {name} in {status}"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn only_bytes_that_match_their_pinned_digest_load() {
    require_kernel();
    let (object, decoder) = (
        digest_of("bpf/writes.bpf.o"),
        digest_of("plugins/hostile.wasm"),
    );
    // The digest of other bytes: what a swapped file would be checked against.
    let other = sha256_hex(b"the reviewed object");
    let dir = ManifestDir::new();
    dir.write(
        "pinned.yaml",
        &exporter("pinned", "pinned", Some(&object), Some(&decoder)),
    );
    dir.write(
        "swapped.yaml",
        &exporter("swapped", "swapped", Some(&other), Some(&decoder)),
    );
    dir.write(
        "swapped-decoder.yaml",
        &exporter("swapped-decoder", "sd", Some(&object), Some(&other)),
    );
    let agent = Agent::start(&[dir.path()]).await;

    let status = status_of(&agent).await;
    assert_eq!(
        exporter_status(&status, "pinned")["state"],
        "running",
        "{status}"
    );
    for (name, field) in [
        ("swapped", "spec.object.sha256"),
        ("swapped-decoder", "spec.decoder.sha256"),
    ] {
        let entry = exporter_status(&status, name);
        assert_eq!(entry["state"], "failed", "{entry}");
        let error = entry["error"].as_str().unwrap_or_default();
        assert!(error.contains(field) && error.contains(&other), "{error}");
    }
    let scrape = agent.scrape().await;
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "pinned")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "swapped")]),
        Some(0.0)
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn require_digests_refuses_unpinned_sources() {
    require_kernel();
    let (object, decoder) = (
        digest_of("bpf/writes.bpf.o"),
        digest_of("plugins/hostile.wasm"),
    );
    let dir = ManifestDir::new();
    dir.write(
        "pinned.yaml",
        &exporter("pinned", "pinned", Some(&object), Some(&decoder)),
    );
    dir.write(
        "unpinned.yaml",
        &exporter("unpinned", "unpinned", None, Some(&decoder)),
    );
    let agent = Agent::start_with(&[dir.path()], |config| config.require_digests = true).await;
    let status = status_of(&agent).await;
    assert_eq!(
        exporter_status(&status, "pinned")["state"],
        "running",
        "{status}"
    );
    let unpinned = exporter_status(&status, "unpinned");
    assert_eq!(unpinned["state"], "failed", "{unpinned}");
    let error = unpinned["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("spec.object.sha256") && error.contains("--require-digests"),
        "{error}"
    );
    agent.stop().await;
}
