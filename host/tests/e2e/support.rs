//! Fixtures: manifests pointing at built artifacts, a started agent, an HTTP
//! scrape and a tiny exposition reader.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use bpfhost::app::{self, App, RunConfig};
use bpfhost::testing::artifact;
use tokio_util::sync::CancellationToken;

/// Held by every test that runs `/bin/true` while it does, so that a test
/// counting the exec events of `true` (`events.rs`) counts only its own.
pub fn running_true() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// [`sh`] for a script that runs `/bin/true`, holding [`running_true`].
pub fn sh_running_true(script: &str) -> u32 {
    let _true = running_true();
    sh(script)
}

/// Runs `script` with `/bin/sh -c` to completion and returns the shell's
/// pid, the process whose events the BPF programs saw.
pub fn sh(script: &str) -> u32 {
    let child = Command::new("/bin/sh")
        .args(["-c", script])
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let out = child.wait_with_output().expect("sh runs");
    assert!(
        out.status.success(),
        "sh -c {script:?} failed: {}",
        out.status
    );
    pid
}

/// Runs `command` to completion and returns its standard output; panics
/// with its standard error when it fails.
pub fn run_ok(command: &mut Command) -> String {
    let out = command.output().expect("the command starts");
    stdout_of_success(command, out)
}

/// Like [`run_ok`], killing the command and panicking when it takes longer
/// than `deadline`.
pub fn run_ok_within(command: &mut Command, deadline: Duration) -> String {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let out = output_within(child, deadline, &format!("{command:?}"));
    stdout_of_success(command, out)
}

fn stdout_of_success(command: &Command, out: Output) -> String {
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A loopback address with a port free at the time of the call, for an
/// agent started as a separate process.
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Waits for `child` and collects the output it still pipes; kills it and
/// panics when it has not exited after `deadline`.
pub fn output_within(child: Child, deadline: Duration, what: &str) -> Output {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    if let Ok(out) = rx.recv_timeout(deadline) {
        return out.expect("waiting for the child");
    }
    // SAFETY: signals only the child this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    panic!("{what} did not finish within {deadline:?}");
}

/// A directory of manifests for one test.
pub struct ManifestDir {
    pub dir: tempfile::TempDir,
}

impl ManifestDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` with `content`.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write manifest");
        path
    }

    /// Copies one of `crd/examples/` with its artifact paths made absolute,
    /// so the test exercises the shipped example as written.
    pub fn example(&self, name: &str) -> PathBuf {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crd/examples");
        let text = std::fs::read_to_string(examples.join(name)).expect("read example");
        // `path: ../../target/artifacts/X` (or deeper, from a subfolder).
        let text = text
            .lines()
            .map(|line| {
                let artifact_path = line.split_once("path: ").and_then(|(indent, path)| {
                    let rel = path
                        .trim_start_matches("../")
                        .strip_prefix("target/artifacts/")?;
                    Some(format!("{indent}path: {}", artifact(rel).display()))
                });
                artifact_path.unwrap_or_else(|| line.to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file = Path::new(name).file_name().expect("a file name");
        self.write(&file.to_string_lossy(), &text)
    }
}

/// A running agent, stopped on drop.
pub struct Agent {
    pub app: Option<App>,
    shutdown: CancellationToken,
}

impl Agent {
    pub async fn start(manifests: &[&Path]) -> Self {
        Self::start_with(manifests, |_| {}).await
    }

    /// Starts with the test defaults, changed by `configure`.
    pub async fn start_with(manifests: &[&Path], configure: impl FnOnce(&mut RunConfig)) -> Self {
        let shutdown = CancellationToken::new();
        let mut config = RunConfig {
            manifests: manifests.iter().map(|p| p.to_path_buf()).collect(),
            kube: None,
            listen: "127.0.0.1:0".parse().expect("addr"),
            node_name: "test-node".into(),
            rescan: std::time::Duration::from_millis(200),
            cache_dir: None,
            enable_dump: true,
            kubelet_log_dir: "/var/log".into(),
            ..RunConfig::default()
        };
        configure(&mut config);
        let app = app::start(&config, shutdown.clone())
            .await
            .expect("agent starts");
        Self {
            app: Some(app),
            shutdown,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.app.as_ref().expect("running").local_addr()
    }

    /// Scrapes `/metrics` with the default Accept header of Prometheus 2.
    pub async fn scrape(&self) -> Scrape {
        get(self.addr(), "/metrics", None).await
    }

    /// Stops the agent and checks that it is released, and with it every
    /// exporter's kernel objects (collections still running hold it until
    /// their plugin call returns).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(app) = self.app.take() {
            let agent = std::sync::Arc::downgrade(app.agent());
            app.join().await.expect("clean shutdown");
            let started = std::time::Instant::now();
            while agent.upgrade().is_some() {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "the stopped agent is never released"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An HTTP response.
pub struct Scrape {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// A plain HTTP/1.1 GET over a real TCP connection.
pub async fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> Scrape {
    try_get(addr, path, accept).await.expect("http get")
}

/// Like [`get`], returning connection errors.
pub async fn try_get(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> std::io::Result<Scrape> {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    let request = request(addr, path, &headers);
    tokio::task::spawn_blocking(move || try_raw(addr, request.as_bytes()))
        .await
        .expect("http task")
}

/// A GET request with extra headers, as raw bytes for [`raw`].
pub fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let extra = headers
        .iter()
        .fold(String::new(), |mut out, (name, value)| {
            let _ = write!(out, "{name}: {value}\r\n");
            out
        });
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n")
}

/// Scrapes until `done` holds, for at most 20 s: the agent rescans files on
/// its own clock.
pub async fn scrape_until(agent: &Agent, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    scrape_until_within(agent, what, Duration::from_secs(20), done).await
}

/// [`scrape_until`] for at most `limit`.
pub async fn scrape_until_within(
    agent: &Agent,
    what: &str,
    limit: Duration,
    done: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let started = std::time::Instant::now();
    loop {
        let scrape = agent.scrape().await;
        if done(&scrape) {
            return scrape;
        }
        assert!(
            started.elapsed() < limit,
            "never saw {what}:\n{}",
            scrape.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends raw bytes and parses the response.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Scrape {
    try_raw(addr, request).expect("http exchange")
}

/// Like [`raw`], with the connection's errors returned.
pub fn try_raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Scrape> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {text:?}"),
        )
    };
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    Ok(Scrape {
        status,
        content_type,
        body: body.to_owned(),
    })
}

impl Scrape {
    /// The value of the sample `name` whose labels include all of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.body.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (label_text, value) = match rest.strip_prefix('{') {
                Some(r) => r.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            labels
                .iter()
                .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.split_whitespace().next()?.parse().ok())?
        })
    }

    /// Like [`Scrape::value`], treating a missing series as 0.
    pub fn value_or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// Runs `promtool check metrics` on the body and panics with its output
    /// when it finds a problem.
    pub fn assert_promtool_accepts(&self) {
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (Debian package prometheus) must be installed");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(self.body.as_bytes())
            .expect("feed promtool");
        let out = child.wait_with_output().expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool check metrics rejected the scrape:\n{}{}\n--- scrape ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.body
        );
    }
}

/// Sets `kernel.bpf_stats_enabled` for the test and restores it on drop.
/// Tests that enable it take turns: one restoring the old value must not
/// turn it off under another.
pub struct BpfStats {
    before: String,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl BpfStats {
    const PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";

    pub fn enable() -> Self {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = std::fs::read_to_string(Self::PATH).expect("read bpf_stats_enabled");
        std::fs::write(Self::PATH, "1").expect("enable bpf stats");
        Self {
            before,
            _turn: turn,
        }
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, self.before.trim());
    }
}

/// `n` UDP datagrams and `n` TCP connections (opened and closed) over
/// 127.0.0.1: at least `n` packets of each protocol.
pub fn udp_and_tcp_on_loopback(n: u32) {
    use std::net::{TcpListener, TcpStream, UdpSocket};
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    for _ in 0..n {
        sender
            .send_to(b"ping", receiver.local_addr().expect("addr"))
            .expect("send udp");
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    for _ in 0..n {
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        drop((client, server));
    }
}
