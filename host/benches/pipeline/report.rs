//! The printed tables and the verdict on each target.

use crate::events::EventCost;
use crate::fixture::Kind;
use crate::process::AgentReport;
use crate::stages::Results;
use crate::stats::{Samples, Table, duration, mib, ratio, size};
use crate::{Settings, alloc};

/// One case's timings.
#[derive(Debug)]
pub struct CaseRun {
    pub kind: Kind,
    pub entries: u32,
    pub results: Results,
    /// Why the wasm decoder could not decode this case.
    pub wasm_error: Option<String>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Runs {
    pub pipeline: Vec<CaseRun>,
    pub allocations: alloc::Report,
    pub agent: AgentReport,
    pub events: Vec<EventCost>,
    pub generic: crate::generic::Report,
}

fn pair(table: &mut Table, case: (&str, &str, &str), a: (&str, &Samples), b: (&str, &Samples)) {
    if b.1.len() == 0 {
        table.row(vec![
            case.0.into(),
            case.1.into(),
            case.2.into(),
            a.0.into(),
            duration(a.1.min()),
            duration(a.1.median()),
            b.0.into(),
            "n/a".into(),
            "n/a (1)".into(),
            "n/a".into(),
        ]);
        return;
    }
    let r = ratio(a.1.median(), b.1.median());
    let r_min = ratio(a.1.min(), b.1.min());
    table.row(vec![
        case.0.into(),
        case.1.into(),
        case.2.into(),
        a.0.into(),
        duration(a.1.min()),
        duration(a.1.median()),
        b.0.into(),
        duration(b.1.min()),
        duration(b.1.median()),
        format!("{r:.2}x"),
        format!("{r_min:.2}x"),
    ]);
}

fn pipeline(runs: &Runs) {
    let mut t = Table::new(&[
        "entries",
        "map",
        "stage",
        "A",
        "min",
        "median",
        "B",
        "min",
        "median",
        "B/A median",
        "B/A min",
    ]);
    for run in &runs.pipeline {
        let (n, k, r) = (size(run.entries), run.kind.name(), &run.results);
        pair(
            &mut t,
            (&n, k, "map dump"),
            ("batch", &r.dump_batch),
            ("iterate", &r.dump_iterate),
        );
        pair(
            &mut t,
            (&n, k, "decode"),
            ("native", &r.decode_native),
            ("wasm", &r.decode_wasm),
        );
        t.row(vec![
            n.clone(),
            k.into(),
            "encode (text)".into(),
            "-".into(),
            duration(r.encode.min()),
            duration(r.encode.median()),
        ]);
        pair(
            &mut t,
            (&n, k, "scrape over HTTP"),
            ("native", &r.scrape_native),
            ("wasm", &r.scrape_wasm),
        );
    }
    t.print();
    for run in runs.pipeline.iter().filter(|r| r.wasm_error.is_some()) {
        println!(
            "(1) {} {}: the wasm decoder fails: {}",
            size(run.entries),
            run.kind.name(),
            run.wasm_error.as_deref().unwrap_or_default()
        );
    }
}

fn allocations(a: &alloc::Report) {
    println!(
        "\nAllocations per scrape ({} entries, {}; process-wide, counted by the bench's global allocator):",
        size(a.entries),
        a.kind
    );
    let mut t = Table::new(&["stage", "", "", "allocations", "per entry", "bytes"]);
    let per = |c: alloc::Counted| format!("{:.2}", c.allocations as f64 / f64::from(a.entries));
    for (name, c) in [
        ("map dump (batch)", a.read),
        ("decode, wasm (host side) + assemble", a.decode_wasm),
        ("decode, native (incl. the decoder's own)", a.decode_native),
        ("encode", a.encode),
        ("whole HTTP scrape, wasm", a.scrape),
    ] {
        t.row(vec![
            name.into(),
            String::new(),
            String::new(),
            c.allocations.to_string(),
            per(c),
            mib(c.bytes),
        ]);
    }
    if let Some((entries, c)) = a.small_scrape.filter(|(n, _)| *n < a.entries) {
        let slope = (a.scrape.allocations as f64 - c.allocations as f64)
            / (f64::from(a.entries) - f64::from(entries));
        let fixed = c.allocations as f64 - slope * f64::from(entries);
        t.row(vec![
            format!("whole HTTP scrape, wasm, {} entries", size(entries)),
            String::new(),
            String::new(),
            c.allocations.to_string(),
            format!("{:.2}", c.allocations as f64 / f64::from(entries)),
            mib(c.bytes),
        ]);
        t.print();
        println!("=> {slope:.2} allocations per series plus {fixed:.0} per scrape");
    } else {
        t.print();
    }
}

fn agent(a: &AgentReport) {
    println!(
        "\nAgent process (`bpfhost run`, {} build): {} exporters (bpf/bench/flows.bpf.o + flows.wasm)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        a.exporters
    );
    let mut t = Table::new(&["measurement", "", "", "min", "median"]);
    for (label, s) in &a.startups {
        t.row(vec![
            format!("start-up to /healthz, {} exporters ({label})", a.exporters),
            String::new(),
            String::new(),
            duration(s.min()),
            duration(s.median()),
        ]);
    }
    t.row(vec![
        format!("scrape, {} series", a.series.1),
        String::new(),
        String::new(),
        duration(a.scrape.min()),
        duration(a.scrape.median()),
    ]);
    t.print();
    let mut m = Table::new(&["memory", "", "", "RSS"]);
    let mut rows = vec![("idle, exporters loaded, maps empty".to_owned(), a.rss_idle)];
    for (scrapes, rss) in &a.rss {
        rows.push((
            format!("after {scrapes} scrapes ({} entries per map)", a.entries),
            *rss,
        ));
    }
    rows.push(("peak (VmHWM)".to_owned(), a.peak));
    for (label, v) in rows {
        m.row(vec![label, String::new(), String::new(), mib(v)]);
    }
    m.print();
    println!(
        "series served: {} at the first scrape, {} at the last",
        a.series.0, a.series.1
    );
}

fn events(events: &[EventCost]) {
    println!(
        "\nPer-event cost of the example programs (ns per call, loop with and without the program attached):"
    );
    let mut t = Table::new(&[
        "program",
        "workload",
        "",
        "off min",
        "off median",
        "on min",
        "on median",
        "added (min)",
        "added (median)",
    ]);
    for e in events {
        let added = e.on.median().saturating_sub(e.off.median());
        let added_min = e.on.min().saturating_sub(e.off.min());
        t.row(vec![
            e.name.into(),
            e.workload.into(),
            String::new(),
            duration(e.off.min()),
            duration(e.off.median()),
            duration(e.on.min()),
            duration(e.on.median()),
            duration(added_min),
            duration(added),
        ]);
    }
    t.print();
}

/// The case the targets are judged on: 100k entries, else the largest.
fn target_case(runs: &Runs, kind: Kind) -> Option<&CaseRun> {
    let of_kind = || {
        runs.pipeline
            .iter()
            .filter(move |r| r.kind == kind && r.wasm_error.is_none())
    };
    of_kind()
        .find(|r| r.entries == 100_000)
        .or_else(|| of_kind().max_by_key(|r| r.entries))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn targets(runs: &Runs, quick: bool) {
    println!(
        "\nTargets{}:",
        if quick {
            " (quick run: debug build, small sizes; not judged)"
        } else {
            ""
        }
    );
    for kind in Kind::ALL {
        let Some(CaseRun {
            entries: n,
            results: r,
            ..
        }) = target_case(runs, kind)
        else {
            continue;
        };
        // Judged on both estimators: the median of rounds and the minimum
        // (what each side costs when nothing else on the machine runs).
        let both =
            |a: &Samples, b: &Samples| (ratio(a.median(), b.median()), ratio(a.min(), b.min()));
        let scrape = both(&r.scrape_native, &r.scrape_wasm);
        let decode = both(&r.decode_native, &r.decode_wasm);
        let dump = both(&r.dump_batch, &r.dump_iterate);
        println!(
            "- {} {}: scrape wasm/native {:.2}x median, {:.2}x min (target <= 1.3x: {}; decode alone \
             {:.2}x / {:.2}x); batch dump {:.1}x / {:.1}x faster than iteration (target >= 5x: {})",
            size(*n),
            kind.name(),
            scrape.0,
            scrape.1,
            verdict(scrape.0.max(scrape.1) <= 1.3),
            decode.0,
            decode.1,
            dump.0,
            dump.1,
            verdict(dump.0.min(dump.1) >= 5.0)
        );
    }
    let (median, min) = runs.generic.ratios();
    println!(
        "- {} writes_by_process: generic ebpf_exporter decoder / hand-written {:.2}x median, \
         {:.2}x min (target <= 1.5x: {})",
        size(crate::generic::ENTRIES),
        median,
        min,
        verdict(median.max(min) <= 1.5)
    );
    let a = &runs.agent;
    // The first scrapes grow the snapshot buffers, the plugins' memories and
    // the allocator's arenas; growth after that would be a leak.
    let warm = a
        .rss
        .iter()
        .find(|(n, _)| *n >= a.scrapes / 10)
        .or(a.rss.first());
    if let Some(&(warm_at, warm)) = warm {
        let growth = a.rss_end as f64 - warm as f64;
        println!(
            "- RSS after {} scrapes vs after {warm_at}: {:+.1} MiB ({:+.2}%; target: no growth, judged as < 1%: {})",
            a.scrapes,
            growth / f64::from(1u32 << 20),
            100.0 * growth / (warm as f64).max(1.0),
            verdict(growth < 0.01 * warm as f64)
        );
    }
}

/// Prints every table, then the targets.
pub fn print(settings: &Settings, runs: &Runs) {
    println!(
        "\nbpfhost pipeline benchmark: {} rounds, {} CPUs, times per operation (min and median of rounds)\n",
        settings.rounds,
        crate::fixture::possible_cpus()
    );
    pipeline(runs);
    allocations(&runs.allocations);
    agent(&runs.agent);
    events(&runs.events);
    runs.generic.print();
    targets(runs, settings.quick);
}
