//! The example programs of `bpf/ebpf-exporter/` under `bpfhost
//! ebpf-exporter`, each with a config shaped like `ebpf_exporter`'s own
//! examples: every declared family served with its label names, and counts
//! that follow generated load (exactly where the load is exact).

use std::net::UdpSocket;

use bpfhost::testing::require_kernel;

use super::super::support::{Scrape, get};
use super::{assert_label_names, first_scrape, free_addr, spawn, write_configs};

/// Syscalls by name, failures by name and errno (`syscall_errors.bpf.c`).
const SYSCALL_ERRORS: &str = "\
metrics:
  counters:
    - name: syscalls_total
      help: System calls entered, by name
      labels:
        - name: syscall
          size: 4
          decoders:
            - name: uint
            - name: syscall
    - name: syscall_errors_total
      help: System calls that failed, by name and errno
      labels:
        - name: syscall
          size: 4
          decoders:
            - name: uint
            - name: syscall
        - name: errno
          size: 4
          decoders:
            - name: uint
            - name: errno
";

/// IPv4 packets on `lo` by destination, port and protocol (`xdp_ports.bpf.c`).
const XDP_PORTS: &str = "\
metrics:
  counters:
    - name: xdp_packets_total
      help: Packets arriving on lo by destination, port and protocol
      labels:
        - name: daddr
          size: 4
          decoders:
            - name: inet_ip
        - name: dst_port
          size: 2
          decoders:
            - name: uint
        - name: protocol
          size: 1
          decoders:
            - name: uint
            - name: static_map
              static_map:
                1: icmp
                6: tcp
                17: udp
        - name: ip_version
          size: 1
          decoders:
            - name: uint
";

/// Softirq handler run time by kind, exp2 microseconds
/// (`softirq_latency.bpf.c`).
const SOFTIRQ_LATENCY: &str = "\
metrics:
  histograms:
    - name: softirq_service_seconds
      help: Time softirq handlers ran, by kind
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 20
      bucket_multiplier: 0.000001
      labels:
        - name: kind
          size: 4
          decoders:
            - name: uint
            - name: static_map
              static_map:
                0: hi
                1: timer
                2: net_tx
                3: net_rx
                4: block
                5: irq_poll
                6: tasklet
                7: sched
                8: hrtimer
                9: rcu
        - name: bucket
          size: 4
          decoders:
            - name: uint
";

/// A pid no process has: `kill(2)` on it fails with `ESRCH`.
const NO_SUCH_PID: libc::pid_t = 0x3f_fff0;

#[tokio::test]
#[ignore = "needs root and a BPF-capable kernel"]
async fn example_programs_serve_their_families_and_follow_load() {
    require_kernel();
    let dir = write_configs(&[
        (
            "syscall_errors",
            SYSCALL_ERRORS,
            "ebpf-exporter/syscall_errors",
        ),
        ("xdp_ports", XDP_PORTS, "ebpf-exporter/xdp_ports"),
        (
            "softirq_latency",
            SOFTIRQ_LATENCY,
            "ebpf-exporter/softirq_latency",
        ),
    ]);
    let addr = free_addr();
    let mut agent = spawn(
        dir.path(),
        &[
            "--config.names=syscall_errors,xdp_ports,softirq_latency",
            &format!("--web.listen-address={addr}"),
        ],
    );
    let before = first_scrape(addr, "/metrics", &mut agent).await;
    for config in ["syscall_errors", "xdp_ports", "softirq_latency"] {
        assert_eq!(
            before.value("ebpf_exporter_enabled_configs", &[("name", config)]),
            Some(1.0),
            "{config} did not load:\n{}",
            before.body
        );
    }

    // Exact load: nine kill(2) calls that fail with ESRCH, seven UDP
    // datagrams to a port of ours on 127.0.0.1.
    let failed = (0..9)
        // SAFETY: kill with signal 0 only checks the pid.
        .filter(|_| unsafe { libc::kill(NO_SUCH_PID, 0) } != 0)
        .count();
    assert_eq!(failed, 9, "pid {NO_SUCH_PID} exists");
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("addr").port().to_string();
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for _ in 0..7 {
        sender
            .send_to(b"bpfhost", receiver.local_addr().expect("addr"))
            .expect("send");
    }
    let after = get(addr, "/metrics", None).await;

    let delta = |family: &str, labels: &[(&str, &str)]| {
        after.value_or_zero(family, labels) - before.value_or_zero(family, labels)
    };
    let esrch = [("syscall", "kill"), ("errno", "ESRCH")];
    assert_eq!(
        delta("ebpf_exporter_syscall_errors_total", &esrch),
        9.0,
        "{}",
        after.body
    );
    assert!(
        delta("ebpf_exporter_syscalls_total", &[("syscall", "kill")]) >= 9.0,
        "{}",
        after.body
    );
    let udp = [
        ("daddr", "127.0.0.1"),
        ("dst_port", port.as_str()),
        ("protocol", "udp"),
        ("ip_version", "4"),
    ];
    assert_eq!(
        delta("ebpf_exporter_xdp_packets_total", &udp),
        7.0,
        "{}",
        after.body
    );

    for (family, labels) in [
        ("ebpf_exporter_syscalls_total", &["syscall"][..]),
        ("ebpf_exporter_syscall_errors_total", &["syscall", "errno"]),
        (
            "ebpf_exporter_xdp_packets_total",
            &["daddr", "dst_port", "protocol", "ip_version"],
        ),
        ("ebpf_exporter_softirq_service_seconds", &["kind"]),
    ] {
        assert_label_names(&after, family, labels);
    }
    assert_exp2_softirqs(&before, &after);
    after.assert_promtool_accepts();
}

/// Softirqs ran (timers fire on an idle machine too), and the histogram
/// has the exp2 bounds 1 us .. 2^20 us.
fn assert_exp2_softirqs(before: &Scrape, after: &Scrape) {
    let family = "ebpf_exporter_softirq_service_seconds";
    let total = |s: &Scrape| -> f64 {
        s.body
            .lines()
            .filter(|l| l.starts_with(&format!("{family}_count{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        total(after) > total(before),
        "no softirq runs:\n{}",
        after.body
    );
    let kind = after
        .body
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(&format!("{family}_count{{kind=\""))?;
            rest.split('"').next()
        })
        .expect("a kind");
    let bounds: Vec<String> = after
        .body
        .lines()
        .filter(|l| l.starts_with(&format!("{family}_bucket{{kind=\"{kind}\"")))
        .filter_map(|l| Some(l.split("le=\"").nth(1)?.split('"').next()?.to_owned()))
        .collect();
    let expected: Vec<String> = (0..=20)
        .map(|b| format!("{}", f64::from(1u32 << b) * 0.000_001))
        .chain(std::iter::once("+Inf".to_owned()))
        .collect();
    assert_eq!(bounds.len(), expected.len(), "{bounds:?}");
    for (got, want) in bounds.iter().zip(&expected) {
        let close = got == want
            || got
                .parse::<f64>()
                .ok()
                .zip(want.parse::<f64>().ok())
                .is_some_and(|(g, w)| (g - w).abs() <= w * 1e-9);
        assert!(close, "bound {got}, expected {want}: {bounds:?}");
    }
    assert!(
        after
            .value(&format!("{family}_sum"), &[("kind", kind)])
            .is_some(),
        "{}",
        after.body
    );
}
