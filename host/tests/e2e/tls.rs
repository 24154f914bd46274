//! `--web.config.file`: a real Prometheus scrapes the agent over HTTPS with
//! basic auth, and with mutual TLS; what should be refused is; a rotated
//! certificate is served without a restart. Certificates come from the
//! `openssl` command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bpfhost::testing::require_kernel;

use super::prometheus::Prometheus;
use super::support::{Agent, ManifestDir, run_ok};

/// A CA and the certificates it signed, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=bpfhost test CA",
        ]);
        pki.issue(
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.issue("client", "extendedKeyUsage=clientAuth\n");
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path()),
        )
    }

    /// `NAME.key` and `NAME.crt`, signed by the CA, with `extensions`.
    fn issue(&self, name: &str, extensions: &str) {
        std::fs::write(self.path(&format!("{name}.ext")), extensions).expect("write ext");
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            &format!("{name}.crt"),
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }

    /// The serial of the certificate the server at `addr` presents.
    fn served_serial(&self, addr: std::net::SocketAddr) -> String {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &addr.to_string(), "-CAfile"])
            .arg(self.path("ca.crt"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl s_client");
        let pem = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut child = Command::new("openssl")
            .args(["x509", "-noout", "-serial"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("openssl x509");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), pem.as_bytes())
            .expect("feed openssl");
        let out = child.wait_with_output().expect("openssl x509");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn file_serial(&self, cert: &Path) -> String {
        run_ok(
            Command::new("openssl")
                .args(["x509", "-noout", "-serial", "-in"])
                .arg(cert),
        )
        .trim()
        .to_owned()
    }
}

/// `curl`'s HTTP status for `url` with `args` ("000" when no HTTP answer).
fn curl(url: &str, args: &[&str]) -> String {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn agent_with(web_config: &Path) -> (ManifestDir, Agent) {
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    let path = web_config.to_owned();
    let agent = Agent::start_with(&[dir.path()], move |config| {
        config.web_config = Some(path);
    })
    .await;
    (dir, agent)
}

async fn scraped_by_prometheus(prometheus: &Prometheus) {
    let limit = Duration::from_mins(1);
    prometheus
        .wait_for("up{job=\"bpfhost\"}", limit, |b| b.contains("\"1\"]"))
        .await;
    prometheus
        .wait_for("count(write_syscalls_total)", limit, |b| {
            b.contains("\"value\":[")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn https_with_basic_auth_admits_prometheus_and_refuses_the_rest() {
    require_kernel();
    let pki = Pki::new();
    let hash = bcrypt::hash("scrape-secret", 6).expect("bcrypt");
    let web = pki.path("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config: {{cert_file: server.crt, key_file: server.key}}\n\
             basic_auth_users: {{prometheus: '{hash}'}}\n\
             http_server_config: {{headers: {{Strict-Transport-Security: max-age=31536000}}}}\n"
        ),
    )
    .expect("write web config");
    let (_dir, agent) = agent_with(&web).await;
    let https = format!("https://127.0.0.1:{}/metrics", agent.addr().port());
    let ca = pki.path("ca.crt");
    let ca = ca.to_str().expect("utf-8 path");
    assert_eq!(curl(&https, &["--cacert", ca]), "401", "no credentials");
    assert_eq!(
        curl(&https, &["--cacert", ca, "--user", "prometheus:wrong"]),
        "401"
    );
    assert_eq!(
        curl(&https, &["--cacert", ca, "--user", "someone:scrape-secret"]),
        "401"
    );
    assert_eq!(
        curl(
            &https,
            &["--cacert", ca, "--user", "prometheus:scrape-secret"]
        ),
        "200"
    );
    let http = format!("http://127.0.0.1:{}/metrics", agent.addr().port());
    assert_ne!(
        curl(&http, &["--user", "prometheus:scrape-secret"]),
        "200",
        "plain HTTP"
    );
    // Probes need no credentials.
    let healthz = format!("https://127.0.0.1:{}/healthz", agent.addr().port());
    assert_eq!(curl(&healthz, &["--cacert", ca]), "200");

    let prometheus = Prometheus::scraping(
        agent.addr(),
        &format!(
            "    scheme: https\n    tls_config: {{ca_file: {ca}}}\n    basic_auth: {{username: prometheus, password: scrape-secret}}\n"
        ),
    );
    scraped_by_prometheus(&prometheus).await;

    // Rotation: a new certificate in place of the old one is served on
    // new connections without a restart.
    let before = pki.served_serial(agent.addr());
    assert_eq!(before, pki.file_serial(&pki.path("server.crt")));
    pki.issue(
        "server",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    let rotated = pki.file_serial(&pki.path("server.crt"));
    assert_ne!(before, rotated);
    let started = Instant::now();
    while pki.served_serial(agent.addr()) != rotated {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the new certificate is never served"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        curl(
            &https,
            &["--cacert", ca, "--user", "prometheus:scrape-secret"]
        ),
        "200"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn mutual_tls_admits_only_clients_with_a_certificate_of_the_ca() {
    require_kernel();
    let pki = Pki::new();
    let web = pki.path("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS12\n",
    )
    .expect("write web config");
    let (_dir, agent) = agent_with(&web).await;
    let https = format!("https://127.0.0.1:{}/metrics", agent.addr().port());
    let path = |name: &str| pki.path(name).to_str().expect("utf-8 path").to_owned();
    let (ca, cert, key) = (path("ca.crt"), path("client.crt"), path("client.key"));
    assert_eq!(
        curl(&https, &["--cacert", &ca]),
        "000",
        "no client certificate"
    );
    // A certificate from another CA.
    let stranger = Pki::new();
    let (other_cert, other_key) = (
        stranger
            .path("client.crt")
            .to_str()
            .expect("utf-8")
            .to_owned(),
        stranger
            .path("client.key")
            .to_str()
            .expect("utf-8")
            .to_owned(),
    );
    assert_eq!(
        curl(
            &https,
            &["--cacert", &ca, "--cert", &other_cert, "--key", &other_key]
        ),
        "000",
        "a certificate of another CA"
    );
    assert_eq!(
        curl(&https, &["--cacert", &ca, "--cert", &cert, "--key", &key]),
        "200"
    );

    let prometheus = Prometheus::scraping(
        agent.addr(),
        &format!(
            "    scheme: https\n    tls_config: {{ca_file: {ca}, cert_file: {cert}, key_file: {key}}}\n"
        ),
    );
    scraped_by_prometheus(&prometheus).await;
    agent.stop().await;
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn credentials_never_reach_the_log() {
    require_kernel();
    let pki = Pki::new();
    let hash = bcrypt::hash("log-secret", 4).expect("bcrypt");
    let web = pki.path("web.yml");
    let config = format!(
        "tls_server_config: {{cert_file: server.crt, key_file: server.key}}\n\
         basic_auth_users: {{prometheus: '{hash}'}}\n"
    );
    std::fs::write(&web, &config).expect("write web config");
    let manifests = tempfile::tempdir().expect("tempdir");
    let addr = super::support::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_bpfhost"))
        .args(["run", "--log-level", "trace", "--no-cache", "--listen"])
        .arg(addr.to_string())
        .arg("--web.config.file")
        .arg(&web)
        .arg("--manifests")
        .arg(manifests.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the agent starts");
    let url = format!("https://127.0.0.1:{}/metrics", addr.port());
    let ca = pki.path("ca.crt");
    let ca = ca.to_str().expect("utf-8 path");
    let started = Instant::now();
    while curl(&url, &["--cacert", ca, "--user", "prometheus:log-secret"]) != "200" {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the agent never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        curl(&url, &["--cacert", ca, "--user", "prometheus:wrong-secret"]),
        "401"
    );
    // A broken edit is reported, without quoting what it holds.
    std::fs::write(&web, config.replace("server.key", "no-such.key")).expect("edit");
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(
        curl(&url, &["--cacert", ca, "--user", "prometheus:log-secret"]),
        "200"
    );
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(
            libc::pid_t::try_from(child.id()).expect("pid"),
            libc::SIGTERM,
        )
    };
    let out = super::support::output_within(child, Duration::from_secs(10), "the agent");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("web config change ignored"), "{log}");
    for secret in ["log-secret", "wrong-secret", hash.as_str()] {
        assert!(!log.contains(secret), "{secret:?} reached the log:\n{log}");
    }
}
