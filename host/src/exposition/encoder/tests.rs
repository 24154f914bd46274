use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::*;
use crate::metrics::{Family, Series};

fn family(
    name: &str,
    help: &str,
    metric_type: MetricType,
    labels: &[&str],
    series: Vec<Series>,
) -> FamilySamples {
    FamilySamples {
        family: Arc::new(Family {
            name: name.into(),
            help: help.into(),
            metric_type,
            unit: if name.ends_with("_seconds") {
                "seconds".into()
            } else {
                String::new()
            },
            labels: labels.iter().map(|&l| l.into()).collect(),
            buckets: if metric_type == MetricType::Histogram {
                vec![0.005, 0.1, 1.0]
            } else {
                vec![]
            },
        }),
        series,
    }
}

fn number(labels: &[&str], v: f64) -> Series {
    Series {
        labels: Labels::new(labels),
        value: Value::Number(v),
    }
}

fn sample_families() -> Vec<FamilySamples> {
    vec![
        family(
            "ip_packets",
            "IP packets by protocol",
            MetricType::Counter,
            &["protocol"],
            vec![number(&["TCP"], 1542.0), number(&["UDP"], 18.0)],
        ),
        family(
            "queue_depth",
            "Help with \\ backslash, \"quotes\"\nand a newline",
            MetricType::Gauge,
            &["queue", "path"],
            vec![
                number(&["a\"b", "C:\\dir\nx"], 0.5),
                number(&["empty", ""], -2.0),
            ],
        ),
        family(
            "write_latency_seconds",
            "Write latency",
            MetricType::Histogram,
            &["op"],
            vec![Series {
                labels: Labels::from(["write"]),
                value: Value::Histogram {
                    buckets: vec![1, 5, 9],
                    sum: 2.75,
                    count: 10,
                },
            }],
        ),
        family(
            "already_total",
            "Counter declared with its suffix",
            MetricType::Counter,
            &[],
            vec![number(&[], f64::NAN)],
        ),
        family("nothing_yet", "No series", MetricType::Gauge, &[], vec![]),
    ]
}

fn render(format: Format) -> String {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, format, &[("node", "n1")]);
    for f in &sample_families() {
        encoder.family(f);
    }
    encoder.finish();
    String::from_utf8(out).expect("utf-8")
}

/// Compares with `testdata/NAME`; `BLESS=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/exposition/testdata")
        .join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual).expect("bless golden file");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with BLESS=1", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs from the golden file (BLESS=1 to update)"
    );
}

#[test]
fn text_format_matches_golden() {
    golden("all-types.txt", &render(Format::Text));
}

#[test]
fn openmetrics_format_matches_golden() {
    let om = render(Format::OpenMetrics);
    golden("all-types.om.txt", &om);
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE ip_packets counter\n"));
    assert!(om.contains("ip_packets_total{protocol=\"TCP\",node=\"n1\"} 1542\n"));
    assert!(om.contains("# UNIT write_latency_seconds seconds\n"));
}

#[test]
fn promtool_accepts_the_text_format() {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is required in CI: {e}"
            );
            eprintln!(
                "\n*** SKIPPED promtool_accepts_the_text_format: promtool not installed ({e}) ***\n"
            );
            return;
        }
    };
    let text = render(Format::Text);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
