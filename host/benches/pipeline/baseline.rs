//! This build's agent against another build's (`--baseline BIN`, e.g. the
//! release binary of an earlier commit): start-up and a 100k-series scrape,
//! the two measured alternately in one run, so the ratio survives a noisy
//! machine. The baseline must take the same `bpfhost run` flags and load
//! the same `flows` object and decoder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::http::Client;
use crate::process::{AgentProcess, fill_new_flow_maps, map_ids};
use crate::stats::{Samples, Table, duration};

/// Scrapes timed per start of each agent.
const SCRAPES_PER_ROUND: usize = 10;

/// One agent binary's figures.
#[derive(Debug, Default)]
struct Side {
    cold: Samples,
    warm: Samples,
    scrape: Samples,
    series: usize,
}

/// What [`measure`] found, this build being A and the baseline B.
#[derive(Debug)]
pub struct Comparison {
    baseline: PathBuf,
    exporters: usize,
    entries: u32,
    this: Side,
    base: Side,
}

/// Starts `bin` cold and warm, fills its maps, times its scrapes.
fn round(bin: &Path, settings: &crate::Settings, cache: &Path, side: &mut Side) {
    let cache_args = ["--cache-dir", cache.to_str().expect("utf-8 path")];
    side.warm
        .push(AgentProcess::start(bin, settings.exporters, &cache_args).startup);
    let before = map_ids();
    let agent = AgentProcess::start(bin, settings.exporters, &["--no-cache"]);
    side.cold.push(agent.startup);
    let filled = fill_new_flow_maps(&before, settings.agent_entries);
    assert_eq!(filled, settings.exporters, "one flows map per exporter");
    let mut client = Client::new(agent.addr);
    client.get("/metrics");
    for _ in 0..SCRAPES_PER_ROUND {
        let started = Instant::now();
        client.get("/metrics");
        side.scrape.push(started.elapsed());
    }
    side.series = crate::process::series(&client.body);
}

/// Runs both agents `rounds` times, alternating which goes first.
pub fn measure(settings: &crate::Settings, baseline: &Path) -> Comparison {
    let this = Path::new(env!("CARGO_BIN_EXE_bpfhost"));
    eprintln!("agent against baseline {}", baseline.display());
    let caches = (
        tempfile::tempdir().expect("cache dir"),
        tempfile::tempdir().expect("cache dir"),
    );
    // Fill both compile caches before anything is timed.
    drop(AgentProcess::start(
        this,
        settings.exporters,
        &["--cache-dir", caches.0.path().to_str().expect("utf-8")],
    ));
    drop(AgentProcess::start(
        baseline,
        settings.exporters,
        &["--cache-dir", caches.1.path().to_str().expect("utf-8")],
    ));
    let mut comparison = Comparison {
        baseline: baseline.to_path_buf(),
        exporters: settings.exporters,
        entries: settings.agent_entries,
        this: Side::default(),
        base: Side::default(),
    };
    for r in 0..settings.startups.max(3) {
        if r % 2 == 0 {
            round(this, settings, caches.0.path(), &mut comparison.this);
            round(baseline, settings, caches.1.path(), &mut comparison.base);
        } else {
            round(baseline, settings, caches.1.path(), &mut comparison.base);
            round(this, settings, caches.0.path(), &mut comparison.this);
        }
    }
    comparison
}

fn row(t: &mut Table, what: &str, a: &Samples, b: &Samples) {
    let ratio = |x: Duration, y: Duration| format!("{:.2}x", x.as_secs_f64() / y.as_secs_f64());
    t.row(vec![
        what.into(),
        duration(a.min()),
        duration(a.median()),
        duration(b.min()),
        duration(b.median()),
        ratio(a.median(), b.median()),
        ratio(a.min(), b.min()),
    ]);
}

/// Prints the comparison: this build (A) against the baseline (B).
pub fn print(c: &Comparison) {
    println!(
        "\nThis build (A) against the baseline (B) {}: {} exporters, {} entries a map, alternating",
        c.baseline.display(),
        c.exporters,
        c.entries
    );
    let mut t = Table::new(&[
        "measurement",
        "A min",
        "A median",
        "B min",
        "B median",
        "A/B median",
        "A/B min",
    ]);
    row(
        &mut t,
        "start-up to listening, cold",
        &c.this.cold,
        &c.base.cold,
    );
    row(
        &mut t,
        "start-up to listening, warm cache",
        &c.this.warm,
        &c.base.warm,
    );
    let scrape = format!("scrape, {} series (B: {})", c.this.series, c.base.series);
    row(&mut t, &scrape, &c.this.scrape, &c.base.scrape);
    t.print();
}
