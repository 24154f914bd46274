//! The agent's log as an operator's pipeline reads it: the `bpfhost`
//! binary run with `--log-format`, its standard error piped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bpfhost::testing::{artifact, require_kernel};
use serde_json::Value;

use super::support::{ManifestDir, get, output_within};

/// How long the agent may take to start serving, and to stop.
const DEADLINE: Duration = Duration::from_secs(30);

/// The `bpfhost run` binary on `manifests`, its standard error read line
/// by line.
struct Process {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    fn run(manifests: &Path, format: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bpfhost"))
            .args(["run", "--listen", "127.0.0.1:0", "--no-cache"])
            .args(["--node-name", "test-node", "--log-format", format])
            .arg("--manifests")
            .arg(manifests)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            // A terminal type that supports colour: only the pipe may keep
            // escapes out.
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bpfhost starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `done`, and returns it.
    fn wait_for(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if done(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!("never logged {what}:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    /// Sends SIGTERM, checks the agent exits 0, and returns every line
    /// it logged.
    fn stop(mut self) -> Vec<String> {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: signals only the child this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        let status = output_within(self.child, DEADLINE, "the agent stopping").status;
        // The reader ends with the pipe.
        self.seen.extend(self.lines.iter());
        assert!(
            status.success(),
            "the agent exited with {status}:\n{}",
            self.seen.join("\n")
        );
        self.seen
    }
}

/// The address the agent logged it serves on.
fn serving_addr(line: &str) -> SocketAddr {
    let addr = match serde_json::from_str::<Value>(line) {
        Ok(event) => event["addr"].as_str().map(str::to_owned),
        Err(_) => line.split_once("addr=").map(|(_, rest)| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        }),
    };
    addr.and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// A manifest whose object file is missing: an error logged, no kernel
/// needed.
fn write_missing(dir: &ManifestDir) {
    dir.write(
        "missing.yaml",
        &format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: missing}}\n\
             spec:\n  object: {{path: does-not-exist.bpf.o}}\n  decoder: {{path: {}}}\n",
            artifact("plugins/writes.wasm").display()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn json_logs_parse_line_by_line() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    dir.example("packets.yaml");
    // base64 of "\x7fELF but not really": fails to load, an error event.
    dir.write(
        "broken.yaml",
        &format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: broken}}\n\
             spec:\n  object: {{inline: f0VMRiBidXQgbm90IHJlYWxseQ==}}\n  decoder: {{path: {}}}\n",
            artifact("plugins/writes.wasm").display()
        ),
    );
    write_missing(&dir);
    let mut agent = Process::run(dir.path(), "json");
    let serving = agent.wait_for("serving /metrics", |l| l.contains("serving /metrics"));
    let scrape = get(serving_addr(&serving), "/metrics", None).await;
    assert_eq!(scrape.status, 200);
    let lines = agent.stop();

    let events: Vec<Value> = lines
        .iter()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            for field in ["timestamp", "level", "target", "message"] {
                assert!(
                    event[field].as_str().is_some_and(|v| !v.is_empty()),
                    "no {field} in {line}"
                );
            }
            // A log pipeline gathers many nodes: each line says whose.
            assert_eq!(event["node"], "test-node", "{line}");
            event
        })
        .collect();
    let find = |message: &str| {
        events
            .iter()
            .find(|e| e["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} event in:\n{}", lines.join("\n")))
    };
    let serving = find("serving /metrics");
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["target"], "bpfhost::app");
    assert_eq!(serving["exporters"], 4, "fields are top-level: {serving}");
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["message"] == "exporter failed to load")
        .collect();
    for (exporter, says) in [("broken", "ELF"), ("missing", "does-not-exist.bpf.o")] {
        let event = failed
            .iter()
            .find(|e| e["exporter"] == exporter)
            .unwrap_or_else(|| panic!("no load failure of {exporter}:\n{}", lines.join("\n")));
        assert_eq!(event["level"], "ERROR", "{event}");
        assert!(
            event["error"].as_str().is_some_and(|e| e.contains(says)),
            "{event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_to_a_pipe_have_no_colour_and_one_line_per_event() {
    let dir = ManifestDir::new();
    write_missing(&dir);
    let mut agent = Process::run(dir.path(), "text");
    let serving = agent.wait_for("serving /metrics", |l| l.contains("serving /metrics"));
    assert_eq!(
        get(serving_addr(&serving), "/metrics", None).await.status,
        200
    );
    let lines = agent.stop();
    let log = lines.join("\n");
    assert!(!log.contains("\x1b["), "colour escapes in a pipe:\n{log}");
    for line in &lines {
        // Each event starts with its timestamp: no line continues another.
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "not an event line: {line:?}\n{log}"
        );
    }
    assert!(
        lines.iter().any(
            |l| l.contains(" ERROR ") && l.contains("exporter failed to load exporter=missing")
        ),
        "{log}"
    );
    assert!(lines.iter().any(|l| l.contains(" INFO ")), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_wasi_decoders_output_is_logged_under_its_exporter_capped() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.write(
        "escape.yaml",
        &format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: escape}}\n\
             spec:\n  object: {{path: {}}}\n  decoder: {{path: {}, limits: {{timeout: 20s}}}}\n",
            artifact("bpf/writes.bpf.o").display(),
            artifact("plugins/wasi-escape.wasm").display()
        ),
    );
    let mut agent = Process::run(dir.path(), "json");
    let serving = agent.wait_for("serving /metrics", |l| l.contains("serving /metrics"));
    let scrape = get(serving_addr(&serving), "/metrics", None).await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .body
            .contains("wasi_escape_attempt{attempt=\"stdout_10mb\",outcome=\"allowed\""),
        "{}",
        scrape.body
    );
    let lines = agent.stop();
    let events: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["span"]["exporter"] == "escape")
        .collect();
    let stderr: Vec<&Value> = events.iter().filter(|e| e["stream"] == "stderr").collect();
    assert_eq!(stderr.len(), 1, "{}", lines.join("\n"));
    assert_eq!(stderr[0]["level"], "WARN");
    assert_eq!(
        stderr[0]["message"],
        "decoder: wasi-escape: a line on stderr"
    );
    let stdout_bytes: usize = events
        .iter()
        .filter(|e| e["stream"] == "stdout" && e["dropped_bytes"].is_null())
        .map(|e| {
            e["message"]
                .as_str()
                .map_or(0, |m| m.len() - "decoder: ".len() + 1)
        })
        .sum();
    let dropped: u64 = events
        .iter()
        .filter(|e| e["stream"] == "stdout")
        .filter_map(|e| e["dropped_bytes"].as_u64())
        .sum();
    eprintln!("stdout: {stdout_bytes} bytes logged, {dropped} dropped");
    // 16 KiB a second: the 10 MB are written in far fewer than 64 seconds.
    assert!(
        stdout_bytes > 0 && stdout_bytes < 1 << 20,
        "logged {stdout_bytes}"
    );
    // The guest writes 100-byte lines, as many as fit in 10 MiB.
    assert_eq!(
        stdout_bytes as u64 + dropped,
        (10 << 20) / 100 * 100,
        "every byte is logged or counted dropped"
    );
}
