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

#[cfg(test)]
mod tests {
    use crate::{MapSnapshot, MapType, Maps, Output, Reader, Spec};

    /// One struct value feeds two counters and a gauge:
    /// `struct { __u64 packets; __u64 bytes; __s32 queued; }` per ifindex.
    #[test]
    fn one_struct_row_feeds_several_families() {
        let mut spec = Spec::default();
        let packets = spec.counter("rx_packets", "Packets", &["ifindex"]);
        let bytes = spec.counter("rx_bytes", "Bytes", &["ifindex"]);
        let queued = spec.gauge("rx_queued_packets", "Packets queued", &["ifindex"]);
        let mut value = 10u64.to_le_bytes().to_vec();
        value.extend_from_slice(&1500u64.to_le_bytes());
        value.extend_from_slice(&(-1i32).to_le_bytes());
        value.extend_from_slice(&[0; 4]); // tail padding to 8
        let snapshot =
            MapSnapshot::new("rx", MapType::Hash, 4, 24).entry(&2u32.to_le_bytes(), &value);
        let snapshots = [snapshot];
        let maps = Maps::new(&snapshots);

        let mut out = Output::default();
        for entry in maps.get("rx").unwrap().entries() {
            let ifindex = Reader::key(entry.key).u32().unwrap().to_string();
            let mut v = Reader::value(entry.value);
            let (p, b, q) = (v.u64().unwrap(), v.u64().unwrap(), v.i32().unwrap());
            out.row(
                &[&ifindex],
                [
                    (packets, p as f64),
                    (bytes, b as f64),
                    (queued, f64::from(q)),
                ],
            );
        }
        let rows: Vec<(u32, &str, f64)> = out
            .samples
            .iter()
            .map(|s| (s.family, s.labels[0].as_str(), s.value))
            .collect();
        assert_eq!(rows, [(0, "2", 10.0), (1, "2", 1500.0), (2, "2", -1.0)]);
    }
}
