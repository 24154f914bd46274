//! Host lookups through the whole agent: a manifest grants lookups to a
//! decoder, the decoder's labels carry the answers, and a Rust decoder
//! (which imports only the lookups it calls) that calls an ungranted one is
//! refused with the grant to add.

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, get};

/// The lookups probe on the writes demo object, granted `lookups`.
fn probe(name: &str, config: &str, lookups: &str) -> String {
    with_plugin("lookups-probe", name, config, lookups)
}

/// Decoder `plugin` on the writes demo object, granted `lookups`.
fn with_plugin(plugin: &str, name: &str, config: &str, lookups: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n  object: {{path: {}}}\n  decoder:\n    path: {}\n    config: {config}\n    lookups: {lookups}\n",
        artifact("bpf/writes.bpf.o").display(),
        artifact(&format!("plugins/{plugin}.wasm")).display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn granted_lookups_label_series_and_ungranted_ones_are_refused_by_name() {
    require_kernel();
    let dir = ManifestDir::new();
    // This machine's first block device, and PCI ids from its pci.ids.
    let partitions = std::fs::read_to_string("/proc/partitions").expect("/proc/partitions");
    let device: Vec<&str> = partitions
        .lines()
        .skip(2)
        .find_map(|l| Some(l.split_whitespace().collect()).filter(|f: &Vec<_>| f.len() == 4))
        .expect("a block device");
    let config = format!(
        r#"{{"syscalls": [257], "errnos": [2], "ifindexes": [1], "devices": [[{}, {}]],
            "pci_vendors": [32902], "pci_subclasses": [[12, 3]]}}"#,
        device[0], device[1]
    );
    dir.write(
        "granted.yaml",
        &probe(
            "granted",
            &config,
            "[ksym, cgroup, pod, ifname, comm, syscall, errno, majorminor, pci]",
        ),
    );
    // Calls `process-name` (and imports only it) without the `comm` grant.
    dir.write(
        "stingy.yaml",
        &with_plugin(
            "lookups-comm",
            "stingy",
            r#"{"pids": [1]}"#,
            "[syscall, errno]",
        ),
    );
    let agent = Agent::start(&[dir.path()]).await;
    let scrape = agent.scrape().await;
    for (lookup, key, name) in [
        ("syscall", "257", "openat"),
        ("errno", "2", "ENOENT"),
        ("ifname", "1", "lo"),
        (
            "majorminor",
            &format!("{}:{}", device[0], device[1]),
            device[3],
        ),
        ("pci_vendor", "8086", "Intel Corporation"),
        ("pci_subclass", "0c03", "USB controller"),
        ("pci_ids", "", "yes"),
    ] {
        assert_eq!(
            scrape.value(
                "probe_name",
                &[("lookup", lookup), ("key", key), ("name", name)]
            ),
            Some(1.0),
            "{lookup} {key}:\n{}",
            scrape.body
        );
    }
    assert_eq!(
        scrape.value("bpfhost_exporter_up", &[("exporter", "stingy")]),
        Some(0.0),
        "{}",
        scrape.body
    );
    scrape.assert_promtool_accepts();
    let status = get(agent.addr(), "/status", None).await.body;
    assert!(
        status.contains("add `comm` (for process-name) to `decoder.lookups`"),
        "/status names the missing grants:\n{status}"
    );
    agent.stop().await;
}
