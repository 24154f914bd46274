//! Decoders in other languages serve the same series as their Rust
//! counterparts: the Python `writes-py`, the JavaScript `writes-js` and the
//! C `writes-c` next to the Rust `writes`, each in its own agent (they declare the same
//! family) on the same BPF program, scraped after the same processes wrote
//! known numbers of times.

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, Scrape, scrape_until, sh};

/// `(HELP, TYPE)` lines and the value for each given pid (comm `sh`).
fn seen(scrape: &Scrape, pids: &[String]) -> (Vec<String>, Vec<Option<f64>>) {
    let meta = scrape
        .body
        .lines()
        .filter(|l| {
            l.starts_with("# HELP write_syscalls_total")
                || l.starts_with("# TYPE write_syscalls_total")
        })
        .map(str::to_owned)
        .collect();
    let values = pids
        .iter()
        .map(|pid| scrape.value("write_syscalls_total", &[("pid", pid), ("comm", "sh")]))
        .collect();
    (meta, values)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn python_javascript_and_c_writes_decoders_serve_what_the_rust_one_serves() {
    require_kernel();
    let mut agents = Vec::new();
    for (language, example) in [
        ("Rust", "writes.yaml"),
        ("Python", "languages/writes-py.yaml"),
        ("JavaScript", "languages/writes-js.yaml"),
        ("C", "languages/writes-c.yaml"),
    ] {
        let dir = ManifestDir::new();
        let agent = Agent::start(&[&dir.example(example)]).await;
        agents.push((language, agent, dir));
    }

    // Three processes, each writing a known number of times and exiting:
    // their counts no longer change, whenever each agent reads them.
    let writes = [7, 50, 123];
    let pids: Vec<String> = writes
        .iter()
        .map(|n| {
            sh(&format!(
                "i=0; while [ $i -lt {n} ]; do echo x; i=$((i+1)); done >/dev/null"
            ))
            .to_string()
        })
        .collect();
    let expected: Vec<Option<f64>> = writes.iter().map(|&n| Some(f64::from(n))).collect();
    let mut answers = Vec::new();
    for (language, agent, _) in &agents {
        let scrape = scrape_until(agent, "the three processes' writes", |s| {
            seen(s, &pids).1.iter().all(Option::is_some)
        })
        .await;
        scrape.assert_promtool_accepts();
        let answer = seen(&scrape, &pids);
        // Each `sh` writes `n` lines; its own start-up writes nothing.
        assert_eq!(answer.1, expected, "{language}:\n{}", scrape.body);
        answers.push((language, answer));
    }
    let (_, rust) = &answers[0];
    for (language, answer) in &answers[1..] {
        assert_eq!(answer, rust, "{language} serves what Rust serves");
    }
    assert_eq!(rust.0.len(), 2, "HELP and TYPE: {:?}", rust.0);
}
