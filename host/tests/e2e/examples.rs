//! The examples in `crd/examples/`, each on the real kernel: drive the
//! events, scrape, check values and labels, and promtool.

use std::net::{Ipv6Addr, TcpListener, TcpStream};

use bpfhost::testing::require_kernel;

use super::support::{Agent, ManifestDir, Scrape, scrape_until, sh};

/// `(le, cumulative count)` of every bucket of a histogram series.
fn buckets(scrape: &Scrape, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{");
    scrape
        .body
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let le = rest.split("le=\"").nth(1)?.split('"').next()?;
            let value = rest.rsplit(' ').next()?.parse().ok()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, value))
        })
        .collect()
}

/// The cumulative count of the bucket whose bound is `bound`.
fn cumulative(scrape: &Scrape, name: &str, bound: f64) -> f64 {
    buckets(scrape, name)
        .iter()
        .find(|(le, _)| (le / bound - 1.0).abs() < 1e-6)
        .unwrap_or_else(|| panic!("no bucket le={bound}:\n{}", scrape.body))
        .1
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn sleep_latency_is_an_exp2_histogram_in_seconds() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("sleep-latency.yaml")]).await;
    let name = "sleep_duration_seconds";
    // A 20 ms sleep lands in slot 25, [2^24, 2^25) ns, or later when the
    // machine is busy and it wakes late; never at or below 2^24 ns.
    let floor = 2f64.powi(24) * 1e-9;
    let before = agent.scrape().await;
    let count = |s: &Scrape| s.value_or_zero(&format!("{name}_count"), &[]);
    let sum = |s: &Scrape| s.value_or_zero(&format!("{name}_sum"), &[]);

    sh("for i in 1 2 3 4 5; do sleep 0.02; done");

    let after = scrape_until(&agent, "five 20 ms sleeps", |s| {
        count(s) >= count(&before) + 5.0
    })
    .await;
    let above = |s: &Scrape| count(s) - cumulative(s, name, floor);
    assert!(above(&after) >= above(&before) + 5.0, "{}", after.body);
    assert!(sum(&after) >= sum(&before) + 0.1, "{}", after.body);
    let all = buckets(&after, name);
    assert_eq!(all.len(), 41, "40 slots and +Inf");
    assert_eq!(all.last().map(|b| b.1), Some(count(&after)));
    after.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn tcp_connects_are_counted_by_destination_address_and_port() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("tcp-connects.yaml")]).await;
    let v4 = TcpListener::bind("127.0.0.1:0").expect("listen on 127.0.0.1");
    let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).expect("listen on ::1");
    let (p4, p6) = (
        v4.local_addr().expect("addr").port().to_string(),
        v6.local_addr().expect("addr").port().to_string(),
    );
    tokio::task::spawn_blocking(move || {
        for _ in 0..20 {
            drop(TcpStream::connect(v4.local_addr().expect("addr")).expect("connect v4"));
        }
        for _ in 0..5 {
            drop(TcpStream::connect(v6.local_addr().expect("addr")).expect("connect v6"));
        }
    })
    .await
    .expect("connects");

    let series4 = [
        ("family", "ipv4"),
        ("daddr", "127.0.0.1"),
        ("dport", p4.as_str()),
    ];
    let series6 = [("family", "ipv6"), ("daddr", "::1"), ("dport", p6.as_str())];
    let scrape = scrape_until(&agent, "25 connects", |s| {
        s.value("tcp_connects_total", &series4) == Some(20.0)
            && s.value("tcp_connects_total", &series6) == Some(5.0)
    })
    .await;
    scrape.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn context_switches_are_served_per_cpu() {
    require_kernel();
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("cpu-switches.yaml")]).await;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let total = |s: &Scrape| {
        (0..cpus)
            .map(|cpu| {
                s.value("context_switches_total", &[("cpu", &cpu.to_string())])
                    .unwrap_or_else(|| panic!("no series for cpu {cpu}:\n{}", s.body))
            })
            .sum::<f64>()
    };
    let before = total(&agent.scrape().await);
    sh("for i in 1 2 3 4 5; do sleep 0.01; done");
    let scrape = scrape_until(&agent, "context switches", |s| total(s) >= before + 10.0).await;
    scrape.assert_promtool_accepts();
    agent.stop().await;
}
