//! The streaming encoder.

use super::Format;
use super::escape;
use crate::metrics::{FamilySamples, Labels, MetricType, Value};

/// Writes families into a response body in one format. Constant labels
/// (the agent's `node`) follow each series' own labels.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    format: Format,
    const_labels: &'a [(&'a str, &'a str)],
}

impl<'a> Encoder<'a> {
    /// Starts encoding into `out`.
    pub fn new(
        out: &'a mut Vec<u8>,
        format: Format,
        const_labels: &'a [(&'a str, &'a str)],
    ) -> Self {
        Self {
            out,
            format,
            const_labels,
        }
    }

    /// Appends one family: metadata, then every series.
    pub fn family(&mut self, samples: &FamilySamples) {
        let family = &samples.family;
        let base = match family.metric_type {
            MetricType::Counter => family.name.strip_suffix("_total").unwrap_or(&family.name),
            _ => family.name.as_str(),
        };
        let openmetrics = self.format == Format::OpenMetrics;
        let total = if family.metric_type == MetricType::Counter && !openmetrics {
            "_total"
        } else {
            ""
        };
        let kind = match family.metric_type {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        };
        if !family.help.is_empty() {
            self.line_start(b"# HELP ", base, total);
            self.out.push(b' ');
            escape::help(self.out, &family.help, openmetrics);
            self.out.push(b'\n');
        }
        self.line_start(b"# TYPE ", base, total);
        self.out.push(b' ');
        self.out.extend_from_slice(kind.as_bytes());
        self.out.push(b'\n');
        if openmetrics && !family.unit.is_empty() && base.ends_with(&format!("_{}", family.unit)) {
            self.line_start(b"# UNIT ", base, "");
            self.out.push(b' ');
            self.out.extend_from_slice(family.unit.as_bytes());
            self.out.push(b'\n');
        }
        for series in &samples.series {
            match &series.value {
                Value::Number(v) => {
                    let suffix = if family.metric_type == MetricType::Counter {
                        "_total"
                    } else {
                        ""
                    };
                    self.sample_start(base, suffix, &family.labels, &series.labels, None);
                    escape::float(self.out, *v);
                    self.out.push(b'\n');
                }
                Value::Histogram {
                    buckets,
                    sum,
                    count,
                } => {
                    for (bound, cumulative) in family.buckets.iter().zip(buckets) {
                        self.sample_start(
                            base,
                            "_bucket",
                            &family.labels,
                            &series.labels,
                            Some(*bound),
                        );
                        escape::count(self.out, *cumulative);
                        self.out.push(b'\n');
                    }
                    self.sample_start(
                        base,
                        "_bucket",
                        &family.labels,
                        &series.labels,
                        Some(f64::INFINITY),
                    );
                    escape::count(self.out, *count);
                    self.out.push(b'\n');
                    self.sample_start(base, "_sum", &family.labels, &series.labels, None);
                    escape::float(self.out, *sum);
                    self.out.push(b'\n');
                    self.sample_start(base, "_count", &family.labels, &series.labels, None);
                    escape::count(self.out, *count);
                    self.out.push(b'\n');
                }
            }
        }
    }

    /// Ends the exposition (`# EOF` for `OpenMetrics`).
    pub fn finish(self) {
        if self.format == Format::OpenMetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
    }

    fn line_start(&mut self, prefix: &[u8], name: &str, suffix: &str) {
        self.out.extend_from_slice(prefix);
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(suffix.as_bytes());
    }

    /// Writes `name{labels} ` up to the value.
    fn sample_start(
        &mut self,
        base: &str,
        suffix: &str,
        names: &[String],
        values: &Labels,
        le: Option<f64>,
    ) {
        self.out.extend_from_slice(base.as_bytes());
        self.out.extend_from_slice(suffix.as_bytes());
        let pairs = names
            .iter()
            .map(String::as_str)
            .zip(values)
            .chain(self.const_labels.iter().copied());
        let mut first = true;
        for (name, value) in pairs {
            self.out.push(if first { b'{' } else { b',' });
            first = false;
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape::label_value(self.out, value);
            self.out.push(b'"');
        }
        if let Some(le) = le {
            self.out
                .extend_from_slice(if first { b"{le=\"" } else { b",le=\"" });
            escape::bound(self.out, le);
            self.out.push(b'"');
            first = false;
        }
        if !first {
            self.out.push(b'}');
        }
        self.out.push(b' ');
    }
}

#[cfg(test)]
mod tests;
