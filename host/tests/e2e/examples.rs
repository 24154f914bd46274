//! The examples in `crd/examples/`, each on the real kernel: drive the
//! events, scrape, check values and labels, and promtool.

use std::net::{Ipv6Addr, TcpListener, TcpStream};
use std::process::Command;

use bpfhost::testing::kernel_available;

use super::support::{Agent, ManifestDir, Scrape, scrape_until};

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

/// Observations in the bucket whose bound is nearest `bound`.
fn in_bucket(scrape: &Scrape, name: &str, bound: f64) -> f64 {
    let all = buckets(scrape, name);
    let i = all
        .iter()
        .position(|(le, _)| (le / bound - 1.0).abs() < 1e-6)
        .unwrap_or_else(|| panic!("no bucket le={bound}:\n{}", scrape.body));
    all[i].1 - if i == 0 { 0.0 } else { all[i - 1].1 }
}

#[tokio::test(flavor = "multi_thread")]
async fn sleep_latency_is_an_exp2_histogram_in_seconds() {
    if !kernel_available("sleep_latency_is_an_exp2_histogram_in_seconds") {
        return;
    }
    let dir = ManifestDir::new();
    let agent = Agent::start(&[&dir.example("sleep-latency.yaml")]).await;
    let name = "sleep_duration_seconds";
    // A 20 ms sleep lands in slot 25: [2^24, 2^25) ns, bound 2^25 ns.
    let bound = 2f64.powi(25) * 1e-9;
    let before = agent.scrape().await;
    let count = |s: &Scrape| s.value_or_zero(&format!("{name}_count"), &[]);
    let sum = |s: &Scrape| s.value_or_zero(&format!("{name}_sum"), &[]);

    let status = Command::new("/bin/sh")
        .args(["-c", "for i in 1 2 3 4 5; do sleep 0.02; done"])
        .status()
        .expect("sh");
    assert!(status.success());

    let after = scrape_until(&agent, "five 20 ms sleeps", |s| {
        count(s) >= count(&before) + 5.0
    })
    .await;
    assert!(
        in_bucket(&after, name, bound) >= in_bucket(&before, name, bound) + 5.0,
        "{}",
        after.body
    );
    assert!(sum(&after) >= sum(&before) + 0.1, "{}", after.body);
    let all = buckets(&after, name);
    assert_eq!(all.len(), 41, "40 slots and +Inf");
    assert_eq!(all.last().map(|b| b.1), Some(count(&after)));
    after.assert_promtool_accepts();
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_connects_are_counted_by_destination_address_and_port() {
    if !kernel_available("tcp_connects_are_counted_by_destination_address_and_port") {
        return;
    }
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
async fn context_switches_are_served_per_cpu() {
    if !kernel_available("context_switches_are_served_per_cpu") {
        return;
    }
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
    let status = Command::new("/bin/sh")
        .args(["-c", "for i in 1 2 3 4 5; do sleep 0.01; done"])
        .status()
        .expect("sh");
    assert!(status.success());
    let scrape = scrape_until(&agent, "context switches", |s| total(s) >= before + 10.0).await;
    scrape.assert_promtool_accepts();
    agent.stop().await;
}
