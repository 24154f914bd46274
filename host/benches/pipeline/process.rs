//! The agent binary as users run it: start-up time and memory with ten
//! exporters, each a real object (`bpf/bench/flows.bpf.c`) with the wasm
//! `flows` decoder.

use std::collections::HashSet;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bpfhost::testing::artifact;

use crate::fixture::{self, Kind};
use crate::http::Client;

const BPF_MAP_GET_NEXT_ID: libc::c_long = 12;
const BPF_MAP_GET_FD_BY_ID: libc::c_long = 14;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

/// A running `bpfhost run` with `exporters` flow exporters.
pub struct AgentProcess {
    child: Child,
    pub addr: SocketAddr,
    pub startup: Duration,
    _dir: tempfile::TempDir,
}

/// Writes one manifest per exporter, each with its own metric name.
fn manifests(exporters: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let object = artifact("bpf/bench/flows.bpf.o");
    let decoder = artifact("plugins/flows.wasm");
    for i in 0..exporters {
        let yaml = format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata:\n  name: flows-{i}\n\
             spec:\n  object:\n    path: {}\n  globals:\n    count_traffic: 0\n  decoder:\n    \
             path: {}\n    config: {{metric: flows{i}_packets}}\n",
            object.display(),
            decoder.display()
        );
        std::fs::write(dir.path().join(format!("flows-{i}.yaml")), yaml).expect("write manifest");
    }
    dir
}

/// Whether a socket listens on `addr` (an IPv4 address), per /proc/net/tcp.
fn listening(addr: SocketAddr) -> bool {
    let wanted = format!(":{:04X} ", addr.port());
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = fields.next().unwrap_or_default();
            let state = fields.nth(1).unwrap_or_default();
            format!("{local} ").ends_with(&wanted) && state == "0A"
        })
    })
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr")
}

impl AgentProcess {
    /// Starts the agent and waits until `/healthz` answers: the agent binds
    /// its port only after every exporter is loaded. `extra` are further
    /// `bpfhost run` arguments (e.g. a compile cache, once there is one).
    pub fn start(bin: &Path, exporters: usize, extra: &[&str]) -> Self {
        let dir = manifests(exporters);
        let addr = free_port();
        let started = Instant::now();
        let child = Command::new(bin)
            .arg("run")
            .arg("--manifests")
            .arg(dir.path())
            .arg("--listen")
            .arg(addr.to_string())
            .args(["--node-name", "bench"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut agent = Self {
            child,
            addr,
            startup: Duration::ZERO,
            _dir: dir,
        };
        // Polling /proc rather than connecting: every connection attempt
        // would be a new flow in the exporters' maps.
        while !listening(addr) {
            assert!(
                agent.child.try_wait().expect("child status").is_none(),
                "the agent exited during start-up"
            );
            assert!(
                started.elapsed() < Duration::from_mins(5),
                "agent start-up timed out"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        agent.startup = started.elapsed();
        Client::new(addr).get("/healthz");
        let status = {
            let mut c = Client::new(addr);
            c.get("/status");
            String::from_utf8_lossy(&c.body).into_owned()
        };
        assert_eq!(
            status.matches("\"running\"").count(),
            exporters,
            "every exporter runs: {status}"
        );
        agent
    }

    /// Resident and peak resident memory between scrapes, in bytes: the
    /// agent may still be dropping the last scrape's buffers when its
    /// response has arrived, so this waits a moment first.
    pub fn settled_rss(&self) -> (u64, u64) {
        std::thread::sleep(Duration::from_millis(200));
        self.rss()
    }

    /// Resident and peak resident memory, in bytes.
    pub fn rss(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id().cast_signed(), libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn bpf(cmd: libc::c_long, attr: &mut [u8; 64]) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a valid, zero-padded `bpf_attr` of the given size.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Ids of every BPF map in the system.
pub fn map_ids() -> HashSet<u32> {
    let mut ids = HashSet::new();
    let mut id = 0u32;
    loop {
        let mut attr = [0u8; 64];
        attr[..4].copy_from_slice(&id.to_ne_bytes());
        if bpf(BPF_MAP_GET_NEXT_ID, &mut attr).is_err() {
            return ids;
        }
        id = u32::from_ne_bytes(attr[4..8].try_into().expect("4 bytes"));
        ids.insert(id);
    }
}

/// A map's fd and name, by id.
fn open_map(id: u32) -> io::Result<(OwnedFd, String)> {
    let mut attr = [0u8; 64];
    attr[..4].copy_from_slice(&id.to_ne_bytes());
    let fd = bpf(BPF_MAP_GET_FD_BY_ID, &mut attr)?;
    // SAFETY: the kernel just returned this fd to us.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut info = [0u8; 80];
    let mut attr = [0u8; 64];
    attr[..4].copy_from_slice(&(fd_raw(&fd)).to_ne_bytes());
    attr[4..8].copy_from_slice(&(info.len() as u32).to_ne_bytes());
    attr[8..16].copy_from_slice(&(info.as_mut_ptr() as u64).to_ne_bytes());
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    let name = &info[24..40];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok((fd, String::from_utf8_lossy(&name[..end]).into_owned()))
}

fn fd_raw(fd: &OwnedFd) -> u32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd() as u32
}

/// Fills every `flows` map created since `before` with `entries` flows;
/// returns how many maps it filled.
pub fn fill_new_flow_maps(before: &HashSet<u32>, entries: u32) -> usize {
    let mut filled = 0;
    for id in map_ids().difference(before) {
        if let Ok((fd, name)) = open_map(*id)
            && name == "flows"
        {
            fixture::fill(std::os::fd::AsFd::as_fd(&fd), Kind::PerCpuHash, 0..entries);
            filled += 1;
        }
    }
    filled
}

/// Start-up and memory of the agent process.
#[derive(Debug, Default)]
pub struct AgentReport {
    pub exporters: usize,
    pub entries: u32,
    /// Start-up rows: a label (`cold`) and its timings.
    pub startups: Vec<(&'static str, crate::stats::Samples)>,
    pub rss_idle: u64,
    /// RSS after 2, 10, 100, ... scrapes.
    pub rss: Vec<(usize, u64)>,
    pub rss_end: u64,
    pub peak: u64,
    pub scrapes: usize,
    pub scrape: crate::stats::Samples,
    pub series: (usize, usize),
}

pub fn series(body: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#") && !l.starts_with(b"bpfhost_"))
        .count()
}

/// Starts the agent `runs` times with `extra` arguments; returns the
/// timings and the last agent, still running.
fn startups(
    settings: &crate::Settings,
    extra: &[&str],
) -> (crate::stats::Samples, AgentProcess, HashSet<u32>) {
    let bin = Path::new(env!("CARGO_BIN_EXE_bpfhost"));
    let mut samples = crate::stats::Samples::default();
    loop {
        let before = map_ids();
        let agent = AgentProcess::start(bin, settings.exporters, extra);
        samples.push(agent.startup);
        if samples.len() >= settings.startups {
            return (samples, agent, before);
        }
    }
}

/// Start-up time (warm: compiled components read from the cache; cold:
/// every component compiled at start), memory idle, after a warm-up and
/// after `settings.scrapes` scrapes.
pub fn measure(settings: &crate::Settings) -> AgentReport {
    eprintln!("agent process: {} exporters", settings.exporters);
    let cache = tempfile::tempdir().expect("cache dir");
    let cache_args = ["--cache-dir", cache.path().to_str().expect("utf-8 path")];
    // The first start fills the cache; the timed ones read it.
    drop(AgentProcess::start(
        Path::new(env!("CARGO_BIN_EXE_bpfhost")),
        settings.exporters,
        &cache_args,
    ));
    let (warm, warm_agent, _) = startups(settings, &cache_args);
    drop(warm_agent);
    let (cold, agent, before) = startups(settings, &["--no-cache"]);
    std::thread::sleep(Duration::from_millis(500));
    let (rss_idle, _) = agent.rss();
    let filled = fill_new_flow_maps(&before, settings.agent_entries);
    assert_eq!(filled, settings.exporters, "one flows map per exporter");
    let mut client = Client::new(agent.addr);
    let mut report = AgentReport {
        exporters: settings.exporters,
        entries: settings.agent_entries,
        startups: vec![("cold", cold), ("warm cache", warm)],
        rss_idle,
        scrapes: settings.scrapes,
        ..AgentReport::default()
    };
    for i in 0..settings.scrapes {
        let started = Instant::now();
        client.get("/metrics");
        report.scrape.push(started.elapsed());
        if i == 0 {
            report.series.0 = series(&client.body);
        }
        if [2, 10, 100, 250, 500, 750].contains(&(i + 1)) || i + 1 == settings.scrapes {
            report.rss.push((i + 1, agent.settled_rss().0));
        }
    }
    report.series.1 = series(&client.body);
    (report.rss_end, report.peak) = agent.settled_rss();
    report
}
