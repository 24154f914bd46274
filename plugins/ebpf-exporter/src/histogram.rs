//! `ebpf_exporter`'s histogram bucket layouts: which bucket numbers a map
//! holds, the upper bound each stands for, and where the sum is.
//!
//! A histogram's map is keyed by its labels and, last, the bucket number;
//! each value counts the observations in that bucket. `exp2`, `exp2zero`
//! and `linear` buckets are numbered `bucket_min..=bucket_max`, `fixed`
//! ones by `bucket_keys`. The key one past the last bucket
//! (`bucket_max + 1`, or the last bucket key + 1) holds the sum of the
//! observed values, and is optional. Bounds and sum are multiplied by
//! `bucket_multiplier` (1 when absent or 0). Missing buckets count 0, so
//! every series has every bound.

use crate::problem::Problem;

/// Most buckets a histogram may have: each is a bound in every series.
const MAX_BUCKETS: i64 = 4096;

/// A histogram's buckets, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    numbering: Numbering,
    multiplier: f64,
    /// The Prometheus upper bound of each bucket, ascending.
    bounds: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Numbering {
    /// Buckets `min..=max`.
    Range { min: i64, max: i64 },
    /// Buckets numbered by the keys, ascending.
    Keys(Vec<f64>),
}

/// What a bucket number found in a key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The bucket with this index in [`Layout::bounds`].
    Bucket(usize),
    /// The sum of the observed values.
    Sum,
    /// Neither: `ebpf_exporter` ignores it.
    Outside,
}

impl Layout {
    /// The layout the histogram's config fields describe.
    pub fn new(
        bucket_type: &str,
        min: i64,
        max: i64,
        multiplier: f64,
        keys: Vec<f64>,
    ) -> Result<Self, Problem> {
        let multiplier = if multiplier == 0.0 { 1.0 } else { multiplier };
        let (numbering, bounds): (Numbering, Vec<f64>) = match bucket_type {
            "exp2" | "exp2zero" | "linear" => {
                if max == min {
                    return Err(Problem::Buckets(format!(
                        "histogram buckets have zero size: [bucket_min .. bucket_max] = \
                         [{min} .. {max}]"
                    )));
                }
                if max < min {
                    return Err(Problem::Buckets(format!(
                        "bucket_max ({max}) is below bucket_min ({min})"
                    )));
                }
                if max.saturating_sub(min) >= MAX_BUCKETS {
                    return Err(Problem::Buckets(format!(
                        "[bucket_min .. bucket_max] = [{min} .. {max}] is more than \
                         {MAX_BUCKETS} buckets"
                    )));
                }
                let bound: fn(f64) -> f64 = match bucket_type {
                    "exp2" => f64::exp2,
                    "exp2zero" => |i| if i == 0.0 { 0.0 } else { (i - 1.0).exp2() },
                    _ => |i| i,
                };
                let bounds = (min..=max).map(|i| bound(i as f64) * multiplier).collect();
                (Numbering::Range { min, max }, bounds)
            }
            "fixed" => {
                if keys.is_empty() {
                    return Err(Problem::Buckets(
                        "histogram buckets have zero size: len(bucket_keys) = 0".into(),
                    ));
                }
                if keys.len() > MAX_BUCKETS as usize {
                    return Err(Problem::Buckets(format!(
                        "bucket_keys has more than {MAX_BUCKETS} keys"
                    )));
                }
                if !keys.windows(2).all(|w| w[0] < w[1]) {
                    return Err(Problem::Buckets(
                        "bucket_keys must be in ascending order, without repeats".into(),
                    ));
                }
                let bounds = keys.iter().map(|k| k * multiplier).collect();
                (Numbering::Keys(keys), bounds)
            }
            other => return Err(Problem::BucketType(other.to_owned())),
        };
        if let Some(i) = (0..bounds.len())
            .find(|&i| !bounds[i].is_finite() || (i > 0 && bounds[i - 1] >= bounds[i]))
        {
            let after = match i {
                0 => String::new(),
                _ => format!(", after {}", show(bounds[i - 1])),
            };
            return Err(Problem::Buckets(format!(
                "bucket bounds must be finite and ascending: bucket {i} has bound {}{after}",
                show(bounds[i])
            )));
        }
        Ok(Self {
            numbering,
            multiplier,
            bounds,
        })
    }

    /// The upper bound of every bucket, ascending, as the family declares
    /// them.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// What bucket number `bucket` (the decoded last label) stands for.
    pub fn slot(&self, bucket: u64) -> Slot {
        match &self.numbering {
            Numbering::Range { min, max } => {
                let (b, min, max) = (i128::from(bucket), i128::from(*min), i128::from(*max));
                if (min..=max).contains(&b) {
                    Slot::Bucket((b - min) as usize)
                } else if b == max + 1 {
                    Slot::Sum
                } else {
                    Slot::Outside
                }
            }
            #[expect(
                clippy::float_cmp,
                reason = "`ebpf_exporter` keys its buckets by the number as a float, exactly"
            )]
            Numbering::Keys(keys) => {
                let b = bucket as f64;
                match keys.binary_search_by(|k| k.total_cmp(&b)) {
                    Ok(i) => Slot::Bucket(i),
                    Err(_) if keys.last().is_some_and(|last| last + 1.0 == b) => Slot::Sum,
                    Err(_) => Slot::Outside,
                }
            }
        }
    }

    /// What bounds and the sum are multiplied by.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }
}

/// A bound for messages: huge ones in exponent form.
fn show(bound: f64) -> String {
    if bound.abs() >= 1e16 {
        format!("{bound:e}")
    } else {
        bound.to_string()
    }
}

#[cfg(test)]
mod tests;
