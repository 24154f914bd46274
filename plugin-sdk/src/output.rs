use crate::FamilyId;

/// A counter or gauge value for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index of the family in declaration order.
    pub family: u32,
    /// Label values, in the family's label order.
    pub labels: Vec<String>,
    /// The value.
    pub value: f64,
}

/// One histogram series: cumulative bucket counts (one per declared bound),
/// sum and count (the `+Inf` bucket).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    /// Index of the family in declaration order.
    pub family: u32,
    /// Label values, in the family's label order.
    pub labels: Vec<String>,
    /// Cumulative count at each declared bound.
    pub buckets: Vec<u64>,
    /// Sum of the observed values.
    pub sum: f64,
    /// Number of observations: the `+Inf` bucket.
    pub count: u64,
}

/// The rows one decode produces, in compact form: each row points at a
/// family declared in [`Spec`](crate::Spec).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Counter and gauge rows.
    pub samples: Vec<Sample>,
    /// Histogram rows.
    pub histograms: Vec<HistogramSample>,
}

impl Output {
    /// Emits a counter or gauge value. Label values follow the family's
    /// label names in order.
    pub fn sample(&mut self, family: FamilyId, labels: &[&str], value: f64) {
        self.samples.push(Sample {
            family: family.0,
            labels: labels.iter().map(|&l| l.to_owned()).collect(),
            value,
        });
    }

    /// Emits one sample in each of several families that share their label
    /// values: the numbers of one struct value, e.g.
    /// `out.row(&[&pid], [(self.packets, p), (self.bytes, b)])`.
    pub fn row<const N: usize>(&mut self, labels: &[&str], values: [(FamilyId, f64); N]) {
        for (family, value) in values {
            self.sample(family, labels, value);
        }
    }

    /// Emits a histogram from cumulative bucket counts (see
    /// [`Histograms`](crate::Histograms) to build them from BPF slots).
    pub fn histogram(
        &mut self,
        family: FamilyId,
        labels: &[&str],
        buckets: Vec<u64>,
        sum: f64,
        count: u64,
    ) {
        self.histograms.push(HistogramSample {
            family: family.0,
            labels: labels.iter().map(|&l| l.to_owned()).collect(),
            buckets,
            sum,
            count,
        });
    }
}
