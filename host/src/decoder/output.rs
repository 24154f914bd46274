//! Turning a decoder's compact rows into series grouped by family.

use crate::metrics::{FamilySamples, MetricType, Series, Value};

use super::DecoderSpec;

/// The series of one decode, grouped by family in declaration order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collection {
    pub families: Vec<FamilySamples>,
    /// Rows dropped because they did not fit their family (unknown family,
    /// wrong number of labels, wrong type, wrong bucket count).
    pub invalid_rows: u64,
}

/// One compact row as a decoder returns it.
#[derive(Debug)]
pub struct Row {
    pub family: u32,
    pub labels: Vec<String>,
    pub value: Value,
}

/// Groups rows by family, dropping (and counting) rows that do not match the
/// family they name.
pub fn assemble(spec: &DecoderSpec, rows: impl IntoIterator<Item = Row>) -> Collection {
    let mut families: Vec<FamilySamples> = spec
        .families
        .iter()
        .map(|family| FamilySamples {
            family: family.clone(),
            series: Vec::new(),
        })
        .collect();
    let mut invalid_rows = 0;
    for row in rows {
        let Some(target) = families.get_mut(row.family as usize) else {
            invalid_rows += 1;
            continue;
        };
        let family = &target.family;
        let fits = row.labels.len() == family.labels.len()
            && match &row.value {
                Value::Number(_) => family.metric_type != MetricType::Histogram,
                Value::Histogram { buckets, .. } => {
                    family.metric_type == MetricType::Histogram
                        && buckets.len() == family.buckets.len()
                }
            };
        if fits {
            target.series.push(Series {
                labels: row.labels,
                value: row.value,
            });
        } else {
            invalid_rows += 1;
        }
    }
    Collection {
        families,
        invalid_rows,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Family;

    fn spec() -> DecoderSpec {
        let family = |name: &str, metric_type, labels: &[&str], buckets: Vec<f64>| {
            Arc::new(Family {
                name: name.into(),
                help: String::new(),
                metric_type,
                unit: String::new(),
                labels: labels.iter().map(|&l| l.into()).collect(),
                buckets,
            })
        };
        DecoderSpec {
            families: vec![
                family("c", MetricType::Counter, &["a"], vec![]),
                family("h", MetricType::Histogram, &[], vec![1.0, 2.0]),
            ],
            maps: vec![],
        }
    }

    #[test]
    fn groups_rows_and_drops_those_that_do_not_fit() {
        let hist = |n: usize| Value::Histogram {
            buckets: vec![1; n],
            sum: 1.0,
            count: 1,
        };
        let rows = vec![
            Row {
                family: 0,
                labels: vec!["x".into()],
                value: Value::Number(1.0),
            },
            Row {
                family: 1,
                labels: vec![],
                value: hist(2),
            },
            Row {
                family: 2,
                labels: vec![],
                value: Value::Number(1.0),
            },
            Row {
                family: 0,
                labels: vec![],
                value: Value::Number(1.0),
            },
            Row {
                family: 0,
                labels: vec!["y".into()],
                value: hist(2),
            },
            Row {
                family: 1,
                labels: vec![],
                value: hist(3),
            },
            Row {
                family: 1,
                labels: vec![],
                value: Value::Number(1.0),
            },
        ];
        let c = assemble(&spec(), rows);
        assert_eq!(c.invalid_rows, 5);
        assert_eq!(c.families[0].series.len(), 1);
        assert_eq!(c.families[0].series[0].labels, ["x"]);
        assert_eq!(c.families[1].series.len(), 1);
    }
}
