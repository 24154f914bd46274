use std::fmt;

use crate::FamilyId;

/// A counter or gauge value for one series, copied out of an [`Output`]
/// (see [`Output::samples`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index of the family in declaration order.
    pub family: u32,
    /// Label values, in the family's label order.
    pub labels: Vec<String>,
    /// The value.
    pub value: f64,
}

/// One histogram series, copied out of an [`Output`] (see
/// [`Output::histograms`]): cumulative bucket counts (one per declared
/// bound), sum and count (the `+Inf` bucket).
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
///
/// Rows are written with [`sample`](Self::sample), [`row`](Self::row) and
/// [`histogram`](Self::histogram). Label values are copied into one
/// buffer for the whole output rather than a `String` each, so a row costs
/// no allocation, and the buffer is handed to the agent as it is.
#[derive(Clone, Default)]
pub struct Output {
    /// Every label value, back to back.
    pub(crate) text: String,
    /// Where each value ends in `text`.
    pub(crate) ends: Vec<u32>,
    pub(crate) samples: Vec<SampleRow>,
    pub(crate) histograms: Vec<HistogramRow>,
}

/// A row's label values: `count` values from value number `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) first: u32,
    pub(crate) count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleRow {
    pub(crate) family: u32,
    pub(crate) labels: Span,
    pub(crate) value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramRow {
    pub(crate) family: u32,
    pub(crate) labels: Span,
    pub(crate) buckets: Vec<u64>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

impl Output {
    /// Emits a counter or gauge value. Label values follow the family's
    /// label names in order.
    pub fn sample(&mut self, family: FamilyId, labels: &[&str], value: f64) {
        let labels = self.labels(labels.iter().copied());
        self.samples.push(SampleRow {
            family: family.0,
            labels,
            value,
        });
    }

    /// Emits one sample in each of several families that share their label
    /// values: the numbers of one struct value, e.g.
    /// `out.row(&[&pid], [(self.packets, p), (self.bytes, b)])`. The
    /// values are stored once for all of them.
    pub fn row<const N: usize>(&mut self, labels: &[&str], values: [(FamilyId, f64); N]) {
        let labels = self.labels(labels.iter().copied());
        for (family, value) in values {
            self.samples.push(SampleRow {
                family: family.0,
                labels,
                value,
            });
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
        let labels = self.labels(labels.iter().copied());
        self.histograms.push(HistogramRow {
            family: family.0,
            labels,
            buckets,
            sum,
            count,
        });
    }

    /// Makes room for `rows` more counter or gauge rows.
    pub fn reserve(&mut self, rows: usize) {
        self.samples.reserve(rows);
    }

    /// Rows emitted so far, counters and gauges plus histograms.
    pub fn len(&self) -> usize {
        self.samples.len() + self.histograms.len()
    }

    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counter and gauge rows emitted so far, borrowed.
    pub fn sample_views(&self) -> impl ExactSizeIterator<Item = SampleView<'_>> {
        self.samples.iter().map(|s| SampleView {
            family: s.family,
            labels: self.values(s.labels),
            value: s.value,
        })
    }

    /// The histogram rows emitted so far, borrowed.
    pub fn histogram_views(&self) -> impl ExactSizeIterator<Item = HistogramView<'_>> {
        self.histograms.iter().map(|h| HistogramView {
            family: h.family,
            labels: self.values(h.labels),
            buckets: &h.buckets,
            sum: h.sum,
            count: h.count,
        })
    }

    /// The counter and gauge rows emitted so far, copied out (for tests:
    /// `assert_eq!(out.samples()[0].labels, ["42"])`).
    pub fn samples(&self) -> Vec<Sample> {
        self.sample_views()
            .map(|s| Sample {
                family: s.family,
                labels: s.labels.to_vec(),
                value: s.value,
            })
            .collect()
    }

    /// The histogram rows emitted so far, copied out (for tests).
    pub fn histograms(&self) -> Vec<HistogramSample> {
        self.histogram_views()
            .map(|h| HistogramSample {
                family: h.family,
                labels: h.labels.to_vec(),
                buckets: h.buckets.to_vec(),
                sum: h.sum,
                count: h.count,
            })
            .collect()
    }

    /// Appends label values; the span that refers to them.
    pub(crate) fn labels<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> Span {
        let first = self.ends.len();
        for value in values {
            self.text.push_str(value);
            self.ends.push(self.text.len() as u32);
        }
        Span {
            first: first as u32,
            count: (self.ends.len() - first) as u32,
        }
    }

    /// Appends a value written with `write!` (numbers need no `String`).
    pub(crate) fn push_value(&mut self, value: impl fmt::Display) {
        use fmt::Write as _;
        let _ = write!(self.text, "{value}");
        self.ends.push(self.text.len() as u32);
    }

    pub(crate) fn push_sample(&mut self, family: FamilyId, labels: Span, value: f64) {
        self.samples.push(SampleRow {
            family: family.0,
            labels,
            value,
        });
    }

    fn values(&self, span: Span) -> LabelValues<'_> {
        let first = span.first as usize;
        let ends = &self.ends[first..first + span.count as usize];
        let start = if first == 0 {
            0
        } else {
            self.ends[first - 1] as usize
        };
        LabelValues {
            text: &self.text,
            start,
            ends,
        }
    }
}

impl PartialEq for Output {
    /// Equal when the same rows were emitted, however their labels are stored.
    fn eq(&self, other: &Self) -> bool {
        self.sample_views().eq(other.sample_views())
            && self.histogram_views().eq(other.histogram_views())
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("samples", &self.sample_views().collect::<Vec<_>>())
            .field("histograms", &self.histogram_views().collect::<Vec<_>>())
            .finish()
    }
}

/// A counter or gauge row of an [`Output`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleView<'a> {
    /// Index of the family in declaration order.
    pub family: u32,
    /// Label values, in the family's label order.
    pub labels: LabelValues<'a>,
    /// The value.
    pub value: f64,
}

/// A histogram row of an [`Output`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramView<'a> {
    /// Index of the family in declaration order.
    pub family: u32,
    /// Label values, in the family's label order.
    pub labels: LabelValues<'a>,
    /// Cumulative count at each declared bound.
    pub buckets: &'a [u64],
    /// Sum of the observed values.
    pub sum: f64,
    /// Number of observations: the `+Inf` bucket.
    pub count: u64,
}

/// The label values of one row, borrowed from its [`Output`].
#[derive(Clone, Copy)]
pub struct LabelValues<'a> {
    text: &'a str,
    /// Where the first value starts.
    start: usize,
    /// Where each value ends in `text`.
    ends: &'a [u32],
}

impl<'a> LabelValues<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Value `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        let end = *self.ends.get(index)? as usize;
        let start = match index {
            0 => self.start,
            _ => self.ends[index - 1] as usize,
        };
        Some(&self.text[start..end])
    }

    /// The values in order.
    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter {
            text: self.text,
            start: self.start,
            ends: self.ends.iter(),
        }
    }

    /// The values as `String`s.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl<'a> IntoIterator for LabelValues<'a> {
    type Item = &'a str;
    type IntoIter = LabelIter<'a>;

    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &LabelValues<'a> {
    type Item = &'a str;
    type IntoIter = LabelIter<'a>;

    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

/// The values of [`LabelValues`], in order.
#[derive(Debug, Clone)]
pub struct LabelIter<'a> {
    text: &'a str,
    start: usize,
    ends: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = *self.ends.next()? as usize;
        let value = &self.text[self.start..end];
        self.start = end;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for LabelIter<'_> {}

impl fmt::Debug for LabelValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for LabelValues<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for LabelValues<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for LabelValues<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for LabelValues<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
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
            .sample_views()
            .map(|s| (s.family, s.labels.get(0).unwrap(), s.value))
            .collect();
        assert_eq!(rows, [(0, "2", 10.0), (1, "2", 1500.0), (2, "2", -1.0)]);
        assert_eq!(out.ends.len(), 1, "the row's label is stored once");
    }

    #[test]
    fn label_values_of_many_rows_share_one_buffer() {
        let mut spec = Spec::default();
        let flows = spec.counter("flows", "Flows", &["src", "port"]);
        let sizes = spec.histogram("sizes", "Sizes", &["dev"], &[1.0, 2.0]);
        let mut out = Output::default();
        out.sample(flows, &["10.0.0.1", "443"], 1.0);
        out.histogram(sizes, &["é"], vec![1, 2], 3.0, 2);
        out.sample(flows, &["", "80"], 2.0);
        assert_eq!(out.len(), 3);
        let samples = out.samples();
        assert_eq!(samples[0].labels, ["10.0.0.1", "443"]);
        assert_eq!(samples[1].labels, ["", "80"]);
        assert_eq!(out.histograms()[0].labels, ["é"]);
        assert_eq!(out.text, "10.0.0.1443é80");
        assert_eq!(out.ends, [8, 11, 13, 13, 15]);
        let view = out.sample_views().nth(1).unwrap();
        assert_eq!(view.labels, ["", "80"]);
        assert_eq!(view.labels.iter().len(), 2);
        assert_eq!(format!("{:?}", view.labels), r#"["", "80"]"#);

        let mut same = Output::default();
        same.sample(flows, &["10.0.0.1", "443"], 1.0);
        same.sample(flows, &["", "80"], 2.0);
        same.histogram(sizes, &["é"], vec![1, 2], 3.0, 2);
        assert_eq!(out, same, "equal rows, whatever the order of their labels");
    }
}
