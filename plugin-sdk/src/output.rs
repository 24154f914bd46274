use crate::FamilyId;

/// A counter or gauge value for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub family: u32,
    pub labels: Vec<String>,
    pub value: f64,
}

/// One histogram series: cumulative bucket counts (one per declared bound),
/// sum and count (the `+Inf` bucket).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub family: u32,
    pub labels: Vec<String>,
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

/// The rows one decode produces, in compact form: each row points at a
/// family declared in [`Spec`](crate::Spec).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub samples: Vec<Sample>,
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

    /// Emits a histogram from cumulative bucket counts.
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
