//! Turning a decoder's compact rows into series grouped by family.

use crate::metrics::{FamilySamples, Labels, MetricType, Series, Value};

use super::Declaration;
use super::validate::{DropReason, OutputBounds, value_is_valid};

/// The series of one decode, grouped by family in declaration order, each
/// family's series sorted by labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collection {
    pub families: Vec<FamilySamples>,
    /// Series dropped, by reason (indexed like [`DropReason::ALL`]).
    pub dropped: [u64; DropReason::ALL.len()],
}

impl Collection {
    /// Series dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize]
    }
}

/// One compact row as a decoder returns it.
#[derive(Debug)]
pub struct Row {
    pub family: u32,
    pub labels: Labels,
    pub value: Value,
}

/// Groups rows by family. Rows that do not fit their family, carry values
/// invalid for its type, break a bound or repeat a label set are dropped
/// and counted; the first of duplicate series is kept.
pub fn assemble(
    spec: &Declaration,
    rows: impl IntoIterator<Item = Row>,
    bounds: OutputBounds,
) -> Collection {
    let mut families: Vec<FamilySamples> = spec
        .families
        .iter()
        .map(|family| FamilySamples {
            family: family.clone(),
            series: Vec::new(),
        })
        .collect();
    let mut dropped = [0u64; DropReason::ALL.len()];
    let mut kept = 0usize;
    let mut bytes = 0usize;
    for row in rows {
        let verdict = families
            .get(row.family as usize)
            .map_or(Err(DropReason::Malformed), |target| {
                check(&target.family, &row, bounds)
            });
        let size = families
            .get(row.family as usize)
            .map_or(0, |target| exposed_size(&target.family, &row));
        let verdict = verdict.and_then(|()| {
            if kept >= bounds.max_series {
                Err(DropReason::TooManySeries)
            } else if bytes + size > bounds.max_bytes {
                Err(DropReason::TooManyBytes)
            } else {
                Ok(())
            }
        });
        match verdict {
            Ok(()) => {
                kept += 1;
                bytes += size;
                families[row.family as usize].series.push(Series {
                    labels: row.labels,
                    value: row.value,
                });
            }
            Err(reason) => dropped[reason as usize] += 1,
        }
    }
    for family in &mut families {
        // Stable: of equal label sets the first returned stays first.
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let before = family.series.len();
        family
            .series
            .dedup_by(|later, earlier| later.labels == earlier.labels);
        dropped[DropReason::Duplicate as usize] += (before - family.series.len()) as u64;
    }
    Collection { families, dropped }
}

/// What a row costs in the exposition, roughly: one sample line per value
/// (histograms have one per bucket plus sum and count), each carrying the
/// name and every label pair.
fn exposed_size(family: &crate::metrics::Family, row: &Row) -> usize {
    let pairs: usize = family
        .labels
        .iter()
        .zip(&row.labels)
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum();
    let lines = match &row.value {
        Value::Number(_) => 1,
        Value::Histogram { buckets, .. } => buckets.len() + 3,
    };
    lines * (family.name.len() + pairs + 32)
}

fn check(
    family: &crate::metrics::Family,
    row: &Row,
    bounds: OutputBounds,
) -> Result<(), DropReason> {
    let fits = row.labels.len() == family.labels.len()
        && match &row.value {
            Value::Number(_) => family.metric_type != MetricType::Histogram,
            Value::Histogram { buckets, .. } => {
                family.metric_type == MetricType::Histogram && buckets.len() == family.buckets.len()
            }
        };
    if !fits {
        return Err(DropReason::Malformed);
    }
    if !value_is_valid(family.metric_type, &row.value) {
        return Err(DropReason::InvalidValue);
    }
    if row
        .labels
        .iter()
        .any(|l| l.len() > bounds.max_label_value_bytes)
    {
        return Err(DropReason::LabelTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Family;

    fn counter_rows(rows: &[(&str, f64)]) -> Vec<Row> {
        rows.iter()
            .map(|(l, v)| Row {
                family: 0,
                labels: Labels::from([*l]),
                value: Value::Number(*v),
            })
            .collect()
    }

    #[test]
    fn invalid_values_long_labels_duplicates_and_excess_are_dropped_and_counted() {
        let bounds = OutputBounds {
            max_series: 4,
            max_label_value_bytes: 8,
            ..OutputBounds::default()
        };
        let rows = counter_rows(&[
            ("b", 1.0),
            ("a", 2.0),
            ("b", 3.0),
            ("nan", f64::NAN),
            ("neg", -1.0),
            ("waytoolonglabel", 1.0),
            ("c", 1.0),
            ("d", 1.0),
            ("e", 1.0),
        ]);
        let c = assemble(&spec(), rows, bounds);
        let kept: Vec<(&str, &Value)> = c.families[0]
            .series
            .iter()
            .map(|s| (&s.labels[0], &s.value))
            .collect();
        assert_eq!(
            kept,
            [
                ("a", &Value::Number(2.0)),
                ("b", &Value::Number(1.0)),
                ("c", &Value::Number(1.0))
            ]
        );
        assert_eq!(c.dropped(DropReason::InvalidValue), 2);
        assert_eq!(c.dropped(DropReason::LabelTooLong), 1);
        assert_eq!(c.dropped(DropReason::Duplicate), 1);
        assert_eq!(c.dropped(DropReason::TooManySeries), 2);
    }

    #[test]
    fn series_past_the_bytes_bound_are_dropped_and_counted() {
        let rows = counter_rows(&[("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0)]);
        let one = exposed_size(&spec().families[0], &rows[0]);
        let bounds = OutputBounds {
            max_bytes: 2 * one + one / 2,
            ..OutputBounds::default()
        };
        let c = assemble(&spec(), rows, bounds);
        assert_eq!(c.families[0].series.len(), 2);
        assert_eq!(c.dropped(DropReason::TooManyBytes), 2);
    }

    fn spec() -> Declaration {
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
        Declaration {
            families: vec![
                family("c", MetricType::Counter, &["a"], vec![]),
                family("h", MetricType::Histogram, &[], vec![1.0, 2.0]),
            ],
            maps: vec![],
            events: vec![],
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
                labels: Labels::from(["x"]),
                value: Value::Number(1.0),
            },
            Row {
                family: 1,
                labels: Labels::default(),
                value: hist(2),
            },
            Row {
                family: 2,
                labels: Labels::default(),
                value: Value::Number(1.0),
            },
            Row {
                family: 0,
                labels: Labels::default(),
                value: Value::Number(1.0),
            },
            Row {
                family: 0,
                labels: Labels::from(["y"]),
                value: hist(2),
            },
            Row {
                family: 1,
                labels: Labels::default(),
                value: hist(3),
            },
            Row {
                family: 1,
                labels: Labels::default(),
                value: Value::Number(1.0),
            },
        ];
        let c = assemble(&spec(), rows, OutputBounds::default());
        assert_eq!(c.dropped(DropReason::Malformed), 5);
        assert_eq!(c.families[0].series.len(), 1);
        assert_eq!(c.families[0].series[0].labels, ["x"]);
        assert_eq!(c.families[1].series.len(), 1);
    }
}
