//! `bpfhost ebpf-exporter`, the drop-in for `cloudflare/ebpf_exporter`, as
//! its users run it: the binary with `ebpf_exporter`'s flags, a config
//! directory of `<name>.yaml` beside `<name>.bpf.o`, scraped over HTTP.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bpfhost::testing::{artifact, artifacts_dir, require_kernel};

use super::support::{Scrape, get, sh, sh_running_true};

mod cgroups;
mod examples;
mod program_stats;

/// An `ebpf_exporter` config for `bpf/syscalls.bpf.c`'s per-CPU map of
/// `u32` syscall numbers to `u64` counts.
const SYSCALLS: &str = "\
metrics:
  counters:
    - name: syscalls_by_nr
      help: System calls by name
      labels:
        - name: syscall
          size: 4
          decoders:
            - name: uint
            - name: syscall
";

/// An `ebpf_exporter` config for `bpf/ebpf-exporter/sleeps.bpf.c`: a
/// histogram and a counter labelled by kernel symbol.
const SLEEPS: &str = "\
metrics:
  counters:
    - name: timer_starts_total
      help: Timers fired in the kernel
      labels:
        - name: function
          size: 8
          decoders:
            - name: ksym
  histograms:
    - name: nanosleep_latency_seconds
      help: Latency of clock_nanosleep
      bucket_type: exp2zero
      bucket_min: 0
      bucket_max: 26
      bucket_multiplier: 0.000001
      labels:
        - name: bucket
          size: 4
          decoders:
            - name: uint
";

/// A config dir with `syscalls` and `broken` (both on the syscalls
/// object) and `sleeps`.
fn config_dir() -> tempfile::TempDir {
    // The same with a misspelt decoder.
    let broken = SYSCALLS.replace(
        "            - name: syscall\n",
        "            - name: syscal\n",
    );
    write_configs(&[
        ("syscalls", SYSCALLS, "syscalls"),
        ("broken", &broken, "syscalls"),
        ("sleeps", SLEEPS, "ebpf-exporter/sleeps"),
    ])
}

/// A config dir of `(name, yaml, object)`: `<name>.yaml` beside a copy of
/// the artifact `bpf/<object>.bpf.o` as `<name>.bpf.o`.
fn write_configs(configs: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, yaml, object) in configs {
        std::fs::write(dir.path().join(format!("{name}.yaml")), yaml).expect("write config");
        std::fs::copy(
            artifact(&format!("bpf/{object}.bpf.o")),
            dir.path().join(format!("{name}.bpf.o")),
        )
        .expect("copy object");
    }
    dir
}

/// `bpfhost ebpf-exporter --config.dir DIR` with `flags`.
fn command(dir: &Path, flags: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bpfhost"));
    command
        .arg("ebpf-exporter")
        .arg(format!("--config.dir={}", dir.display()))
        .args(flags)
        .arg("--builtin-dir")
        .arg(artifacts_dir().join("plugins"));
    command
}

/// `bpfhost ebpf-exporter` with `flags`, its output discarded, killed when
/// the test ends.
fn spawn(dir: &Path, flags: &[&str]) -> Running {
    Running(
        command(dir, flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bpfhost starts"),
    )
}

/// Every sample of `family` (its buckets, sum and count for a histogram)
/// carries exactly `labels`, the agent's `node` and, on buckets, `le`.
fn assert_label_names(scrape: &Scrape, family: &str, labels: &[&str]) {
    let samples: Vec<&str> = scrape
        .body
        .lines()
        .filter(|l| {
            l.strip_prefix(family).is_some_and(|rest| {
                ["{", "_bucket{", "_sum{", "_count{"]
                    .iter()
                    .any(|p| rest.starts_with(p))
            })
        })
        .collect();
    assert!(!samples.is_empty(), "{family} not served:\n{}", scrape.body);
    for sample in samples {
        let text = sample.split('{').nth(1).and_then(|r| r.split('}').next());
        let mut names: Vec<&str> = text
            .unwrap_or_default()
            .split("\",")
            .filter_map(|pair| pair.split('=').next())
            .collect();
        names.sort_unstable();
        let mut expected = labels.to_vec();
        expected.push("node");
        if sample.contains("_bucket{") {
            expected.push("le");
        }
        expected.sort_unstable();
        assert_eq!(names, expected, "{sample}");
    }
}

/// The count of `histogram`'s buckets with upper bounds in `(low, high]`
/// (cumulative buckets, so the upper one less the lower one).
fn in_range(scrape: &Scrape, histogram: &str, low: f64, high: f64) -> f64 {
    let prefix = format!("{histogram}_bucket{{");
    let mut below = 0.0;
    let mut upto = 0.0;
    for line in scrape.body.lines().filter(|l| l.starts_with(&prefix)) {
        let le = line
            .split("le=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|le| le.parse::<f64>().ok());
        let count = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let (Some(le), Some(count)) = (le, count) {
            if le <= low {
                below = f64::max(below, count);
            }
            if le <= high {
                upto = f64::max(upto, count);
            }
        }
    }
    upto - below
}

/// A free local port.
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Kills the agent when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scrapes `path` until it answers, for at most 60 s.
async fn first_scrape(addr: SocketAddr, path: &str, agent: &mut Running) -> Scrape {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = agent.0.try_wait() {
            panic!("bpfhost ebpf-exporter exited early: {status}");
        }
        if let Ok(scrape) = super::support::try_get(addr, path, None).await {
            return scrape;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "bpfhost ebpf-exporter never served {path}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs root and a BPF-capable kernel"]
async fn serves_ebpf_exporter_configs_and_its_builtin_metrics() {
    require_kernel();
    let dir = config_dir();
    let addr = free_addr();
    let mut agent = spawn(
        dir.path(),
        &[
            "--config.names=syscalls,broken,sleeps",
            &format!("--web.listen-address={addr}"),
            "--web.telemetry-path=/ebpf",
        ],
    );
    let before = first_scrape(addr, "/ebpf", &mut agent).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let family = "ebpf_exporter_syscalls_by_nr_total";
    let execs = |s: &Scrape| s.value_or_zero(family, &[("syscall", "execve")]);
    sh_running_true(
        "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; sleep 0.02; sleep 0.02; sleep 0.02",
    );
    let after = get(addr, "/ebpf", None).await;
    assert!(
        execs(&after) >= execs(&before) + 10.0,
        "execve went from {} to {}:\n{}",
        execs(&before),
        execs(&after),
        after.body
    );
    assert!(
        after
            .body
            .contains("# HELP ebpf_exporter_syscalls_by_nr_total System calls by name"),
        "{}",
        after.body
    );

    // The histogram: three 20 ms sleeps more in the bucket (16.384 ms,
    // 32.768 ms], exp2zero of microseconds.
    let histogram = "ebpf_exporter_nanosleep_latency_seconds";
    let sleeps = |s: &Scrape| in_range(s, histogram, 0.016, 0.033);
    assert!(
        sleeps(&after) >= sleeps(&before) + 3.0,
        "20 ms sleeps went from {} to {}:\n{}",
        sleeps(&before),
        sleeps(&after),
        after.body
    );
    assert!(
        after.value(&format!("{histogram}_sum"), &[]) >= Some(0.06),
        "{}",
        after.body
    );
    // Timers by kernel symbol: the `ksym` lookup granted to the builtin.
    let timers: Vec<&str> = after
        .body
        .lines()
        .filter(|l| l.starts_with("ebpf_exporter_timer_starts_total{function=\""))
        .collect();
    assert!(!timers.is_empty(), "no timer starts:\n{}", after.body);
    assert!(
        timers.iter().any(|l| !l.contains("unknown_addr")),
        "no timer function resolved: {timers:#?}"
    );

    // ebpf_exporter's own series: the loaded config is enabled, with its
    // program attached; the broken one is not, and counts from 0.
    assert_eq!(
        after.value("ebpf_exporter_enabled_configs", &[("name", "syscalls")]),
        Some(1.0)
    );
    assert_eq!(
        after.value("ebpf_exporter_enabled_configs", &[("name", "broken")]),
        None
    );
    let info = after
        .body
        .lines()
        .find(|l| l.starts_with("ebpf_exporter_ebpf_program_info{config=\"syscalls\""))
        .unwrap_or_else(|| panic!("no program info:\n{}", after.body));
    assert!(info.contains("program=\"count_syscall\""), "{info}");
    let id = info
        .split("id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an id label");
    assert!(id.parse::<u32>().is_ok_and(|id| id > 0), "{info}");
    assert_eq!(
        after.value("ebpf_exporter_ebpf_program_attached", &[("id", id)]),
        Some(1.0)
    );
    for config in ["syscalls", "broken"] {
        assert_eq!(
            after.value("ebpf_exporter_decoder_errors_total", &[("config", config)]),
            Some(0.0),
            "{config}"
        );
    }
    assert_eq!(
        after.value("bpfhost_exporter_up", &[("exporter", "broken")]),
        Some(0.0)
    );
    after.assert_promtool_accepts();
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn check_and_strict_name_the_bad_config_file() {
    require_kernel();
    let dir = config_dir();
    let out = command(
        dir.path(),
        &["--config.names=syscalls,broken,missing", "--config.check"],
    )
    .output()
    .expect("bpfhost runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the check passed:\n{stdout}");
    let file = |name: &str| dir.path().join(name).display().to_string();
    assert!(
        stdout.contains(&format!("ok: {}", file("syscalls.yaml"))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("error: {}: ", file("broken.yaml")))
            && stdout.contains("unknown decoder `syscal`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("error: {}: does not exist", file("missing.yaml"))),
        "{stdout}"
    );

    let addr = free_addr();
    let out = command(
        dir.path(),
        &[
            "--config.names=syscalls,broken",
            "--config.strict",
            &format!("--web.listen-address={addr}"),
        ],
    )
    .output()
    .expect("bpfhost runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "strict mode served:\n{stderr}");
    assert!(
        stderr.contains("1 exporter(s) failed to load: broken: "),
        "{stderr}"
    );
}

/// An `ebpf_exporter` config for `bpf/fixtures/devices.bpf.c`: kernel
/// stacks and block devices, through the `ksym` and `majorminor` lookups.
const DEVICES: &str = "\
metrics:
  counters:
    - name: kernel_stacks_total
      help: clock_nanosleep calls by kernel stack
      labels:
        - name: stack
          size: 64
          decoders:
            - name: kstack
    - name: block_requests_total
      help: Block requests issued by device
      labels:
        - name: device
          size: 4
          decoders:
            - name: majorminor
";

#[tokio::test]
#[ignore = "needs root and a BPF-capable kernel"]
async fn kstack_and_majorminor_name_real_stacks_and_disks() {
    require_kernel();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("devices.yaml"), DEVICES).expect("write config");
    std::fs::copy(
        artifact("bpf/fixtures/devices.bpf.o"),
        dir.path().join("devices.bpf.o"),
    )
    .expect("copy object");
    // The block devices the kernel lists, by name.
    let partitions = std::fs::read_to_string("/proc/partitions").expect("/proc/partitions");
    let disks: Vec<&str> = partitions
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    let addr = free_addr();
    let mut agent = Running(
        command(
            dir.path(),
            &[
                "--config.names=devices",
                "--config.strict",
                &format!("--web.listen-address={addr}"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bpfhost starts"),
    );
    let before = first_scrape(addr, "/metrics", &mut agent).await;
    assert_eq!(before.status, 200, "{}", before.body);
    // Writes that bypass the page cache reach the disk as block requests
    // (the temp dir is on a disk; the device itself may not be readable).
    let file = dir.path().join("blocks");
    sh(&format!(
        "sleep 0.01; sleep 0.01; sleep 0.01; \
         dd if=/dev/zero of={} bs=4k count=16 oflag=direct,dsync 2>/dev/null",
        file.display()
    ));
    let after = get(addr, "/metrics", None).await;
    let requests: f64 = disks
        .iter()
        .map(|disk| after.value_or_zero("ebpf_exporter_block_requests_total", &[("device", disk)]))
        .sum();
    assert!(
        requests >= 16.0,
        "16 direct writes, {requests} requests on devices named as in /proc/partitions \
         ({disks:?}):\n{}",
        after.body
    );
    assert!(
        !after.body.contains("device=\"unknown:"),
        "every device is named:\n{}",
        after.body
    );
    // Stacks are frames joined by newlines (`\n` in the exposition).
    let sleeps: f64 = after
        .body
        .lines()
        .filter(|l| l.starts_with("ebpf_exporter_kernel_stacks_total{stack=\""))
        .filter(|l| l.contains("\\ndo_syscall_64\\n"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        sleeps >= 3.0,
        "three sleeps with named frames:\n{}",
        after.body
    );
    after.assert_promtool_accepts();
}
