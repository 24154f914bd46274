use super::*;

fn family(name: &str, metric_type: MetricType, labels: &[&str]) -> Arc<Family> {
    Arc::new(Family {
        name: name.into(),
        help: "h".into(),
        metric_type,
        unit: String::new(),
        labels: labels.iter().map(|&l| l.into()).collect(),
        buckets: if metric_type == MetricType::Histogram {
            vec![1.0, 2.0]
        } else {
            vec![]
        },
    })
}

fn spec(families: Vec<Arc<Family>>) -> Result<Declaration, SpecError> {
    check_spec(
        Declaration {
            families,
            maps: vec![],
            events: vec![],
        },
        &OutputBounds::default(),
    )
}

#[test]
fn a_family_with_more_labels_than_allowed_is_refused() {
    let labels: Vec<String> = (0..5).map(|i| format!("l{i}")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let declared = Declaration {
        families: vec![family("wide", MetricType::Gauge, &labels)],
        maps: vec![],
        events: vec![],
    };
    let bounds = OutputBounds {
        max_labels: 4,
        ..OutputBounds::default()
    };
    let err = check_spec(declared.clone(), &bounds).expect_err("too wide");
    assert_eq!(
        err.to_string(),
        "family `wide`: declares 5 labels, more than the 4 allowed"
    );
    assert!(check_spec(declared, &OutputBounds::default()).is_ok());
}

#[test]
fn names_follow_prometheus_rules() {
    for ok in ["a", "_a", "a:b_c9", "ns:sub"] {
        assert!(is_metric_name(ok), "{ok}");
    }
    for bad in ["", "0a", "a-b", "a b", "é"] {
        assert!(!is_metric_name(bad), "{bad}");
    }
    assert!(is_label_name("pid_2"));
    assert!(!is_label_name("a:b"));
}

#[test]
fn invalid_or_reserved_declarations_are_rejected_with_the_reason() {
    let cases = [
        (
            family("0-not a metric", MetricType::Gauge, &[]),
            "family 0: `0-not a metric` is not a valid metric name",
        ),
        (
            family("bpfhost_x", MetricType::Gauge, &[]),
            "family `bpfhost_x`: the `bpfhost_` prefix is reserved for the agent's own metrics",
        ),
        (
            family("x", MetricType::Gauge, &["bad-label"]),
            "family `x`: `bad-label` is not a valid label name",
        ),
        (
            family("x", MetricType::Gauge, &["le"]),
            "family `x`: label `le` is reserved",
        ),
        (
            family("x", MetricType::Gauge, &["node"]),
            "family `x`: label `node` is reserved",
        ),
        (
            family("x", MetricType::Gauge, &["__name__"]),
            "family `x`: label `__name__` is reserved",
        ),
        (
            family("x", MetricType::Gauge, &["a", "a"]),
            "family `x`: label `a` is declared twice",
        ),
    ];
    for (f, message) in cases {
        assert_eq!(spec(vec![f]).expect_err(message).to_string(), message);
    }
}

#[test]
fn names_promtool_lints_are_rejected() {
    let cases = [
        (
            family("rule:level", MetricType::Gauge, &[]),
            "should not contain ':'",
        ),
        (family("fooBar", MetricType::Gauge, &[]), "snake_case"),
        (family("x", MetricType::Gauge, &["podName"]), "snake_case"),
        (
            family("queue_gauge", MetricType::Gauge, &[]),
            "should not include their type",
        ),
        (
            family("latency_milliseconds", MetricType::Histogram, &[]),
            "base units",
        ),
        (
            family("latency_ms", MetricType::Histogram, &[]),
            "abbreviated units",
        ),
        (
            family("requests_count", MetricType::Gauge, &[]),
            "_bucket, _sum or _count",
        ),
    ];
    for (f, rule) in cases {
        let err = spec(vec![f]).expect_err(rule).to_string();
        assert!(err.contains(rule) && err.contains("promtool"), "{err}");
    }
}

#[test]
fn families_whose_samples_would_clash_are_rejected() {
    let err = spec(vec![
        family("req", MetricType::Counter, &[]),
        family("req_total", MetricType::Gauge, &[]),
    ])
    .expect_err("clash");
    assert_eq!(
        err.to_string(),
        "families `req` and `req_total` both expose `req_total`"
    );
    let err = spec(vec![
        family("h", MetricType::Histogram, &[]),
        family("h_created", MetricType::Gauge, &[]),
    ])
    .expect_err("clash");
    assert!(err.to_string().contains("both expose `h_created`"), "{err}");
}

#[test]
fn missing_help_gets_a_generic_text() {
    let mut f = (*family("x", MetricType::Gauge, &[])).clone();
    f.help = " ".into();
    let checked = spec(vec![Arc::new(f)]).expect("valid");
    assert_eq!(
        checked.families[0].help,
        "x (the decoder gave no help text)"
    );
}

#[test]
fn counters_must_be_finite_and_non_negative_and_histograms_cumulative() {
    use MetricType::{Counter, Gauge, Histogram};
    assert!(value_is_valid(Counter, &Value::Number(0.0)));
    assert!(!value_is_valid(Counter, &Value::Number(f64::NAN)));
    assert!(!value_is_valid(Counter, &Value::Number(-1.0)));
    assert!(!value_is_valid(Counter, &Value::Number(f64::INFINITY)));
    assert!(value_is_valid(Gauge, &Value::Number(-1.0)));
    let h = |buckets: Vec<u64>, count| Value::Histogram {
        buckets,
        sum: 1.0,
        count,
    };
    assert!(value_is_valid(Histogram, &h(vec![1, 3], 3)));
    assert!(
        !value_is_valid(Histogram, &h(vec![5, 3], 5)),
        "not cumulative"
    );
    assert!(
        !value_is_valid(Histogram, &h(vec![1, 2], 1)),
        "+Inf below the last bucket"
    );
}
