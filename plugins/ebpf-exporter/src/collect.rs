//! One scrape of one metric: read its map, decode and aggregate its label
//! sets, emit its series.

use bpfhost_plugin_sdk::{Error, FamilyId, MapView, Maps, Output, Result};

use crate::config::{Label, Metric};
use crate::decoders::text::parse_go_uint;
use crate::decoders::{Lookups, Scratch};
use crate::histogram::{Layout, Slot};
use crate::labels::{self, Decoded, KeyShape, LabelError, Sink};
use crate::series::Table;

/// Buffers and caches kept from one scrape to the next, so a scrape
/// allocates only when a map has grown.
#[derive(Debug, Default)]
pub struct Work {
    pub lookups: Lookups,
    pub scratch: Scratch,
    table: Table,
    /// A per-CPU key with its CPU number appended.
    key: Vec<u8>,
    /// A histogram's decoded bucket label.
    bucket: String,
    /// Per series: a counter's value, or a histogram's bucket counts and
    /// sum (`bounds + 1` numbers).
    values: Vec<f64>,
}

impl Work {
    /// A counter: one sample per distinct label set, the values of the
    /// entries (and CPUs) that share it summed.
    pub fn counter(
        &mut self,
        metric: &mut Metric,
        family: FamilyId,
        maps: &Maps<'_>,
        out: &mut Output,
    ) -> Result<()> {
        let map = map_of(metric, maps)?;
        let shape = KeyShape::new(metric, &map);
        self.table.reset(metric.labels.len());
        self.values.clear();
        let Self {
            lookups,
            table,
            scratch,
            key,
            values,
            ..
        } = self;
        shape
            .walk(&map, key, |raw, value| {
                let decoded = labels::decode(
                    &mut metric.labels,
                    raw,
                    shape.with_cpu(),
                    scratch,
                    lookups,
                    table,
                )?;
                let series = match decoded {
                    Decoded::Skipped => {
                        table.discard();
                        return Ok(());
                    }
                    Decoded::Kept { distinct: true } => table.commit_new(),
                    Decoded::Kept { distinct: false } => table.commit(),
                };
                match values.get_mut(series) {
                    Some(total) => *total += value,
                    None => values.push(value),
                }
                Ok(())
            })
            .map_err(|e| label_error("counter", &metric.map, &e))?;

        out.reserve(self.table.len());
        let mut labels = Vec::with_capacity(metric.labels.len());
        for (series, value) in self.values.iter().enumerate() {
            self.table.values(series, &mut labels);
            out.sample(family, &labels, *value);
        }
        Ok(())
    }

    /// A histogram: the last label is the bucket number; the others make
    /// the series, each with every bucket of the layout, cumulative.
    pub fn histogram(
        &mut self,
        metric: &mut Metric,
        family: FamilyId,
        maps: &Maps<'_>,
        out: &mut Output,
    ) -> Result<()> {
        let map = map_of(metric, maps)?;
        let shape = KeyShape::new(metric, &map);
        let Metric {
            map: name,
            labels,
            histogram: Some(layout),
            ..
        } = metric
        else {
            return Ok(());
        };
        self.fill_histogram(name, labels, layout, shape, &map)?;

        let buckets = layout.bounds().len();
        let mut values = Vec::with_capacity(labels.len());
        for (series, row) in self.values.chunks_exact(buckets + 1).enumerate() {
            self.table.values(series, &mut values);
            let mut count = 0u64;
            let cumulative = row[..buckets]
                .iter()
                .map(|&n| {
                    count = count.wrapping_add(n as u64);
                    count
                })
                .collect();
            let sum = (row[buckets] as u64) as f64 * layout.multiplier();
            out.histogram(family, &values, cumulative, sum, count);
        }
        Ok(())
    }

    /// Aggregates the histogram's map: per series, the count of each
    /// bucket and the sum.
    fn fill_histogram(
        &mut self,
        name: &str,
        labels: &mut [Label],
        layout: &Layout,
        shape: KeyShape,
        map: &MapView<'_>,
    ) -> Result<()> {
        let width = labels.len() - 1;
        let stride = layout.bounds().len() + 1;
        self.table.reset(width);
        self.values.clear();
        let Self {
            lookups,
            table,
            scratch,
            key,
            bucket,
            values,
        } = self;
        shape.walk(map, key, |raw, value| {
            bucket.clear();
            let mut sink = HistogramSink {
                table,
                bucket,
                width,
            };
            let decoded =
                labels::decode(labels, raw, shape.with_cpu(), scratch, lookups, &mut sink)
                    .map_err(|e| label_error("histogram", name, &e))?;
            if decoded == Decoded::Skipped {
                table.discard();
                return Ok(());
            }
            let Some(number) = parse_go_uint(bucket.as_bytes()) else {
                return Err(Error::Failed(format!(
                    "histogram `{name}`: bucket label `{}` decoded to {:?}, which is not an \
                     unsigned integer",
                    labels[width].name, bucket
                )));
            };
            let series = table.commit();
            if values.len() == series * stride {
                values.resize(values.len() + stride, 0.0);
            }
            let row = &mut values[series * stride..(series + 1) * stride];
            match layout.slot(number) {
                Slot::Bucket(i) => row[i] += value,
                Slot::Sum => row[stride - 1] += value,
                Slot::Outside => {}
            }
            Ok(())
        })
    }
}

impl Sink for Table {
    fn buffer(&mut self, _: usize) -> &mut String {
        self.value_buffer()
    }

    fn end(&mut self, _: usize) {
        self.end_value();
    }
}

/// A histogram's labels go to the table, the last (the bucket) apart.
struct HistogramSink<'a> {
    table: &'a mut Table,
    bucket: &'a mut String,
    width: usize,
}

impl Sink for HistogramSink<'_> {
    fn buffer(&mut self, index: usize) -> &mut String {
        if index < self.width {
            self.table.value_buffer()
        } else {
            self.bucket
        }
    }

    fn end(&mut self, index: usize) {
        if index < self.width {
            self.table.end_value();
        }
    }
}

/// The metric's map, checked to hold `u64` values.
fn map_of<'m>(metric: &Metric, maps: &Maps<'m>) -> Result<MapView<'m>> {
    let context =
        |message: String| Error::BadMap(format!("{} `{}`: {message}", metric.kind(), metric.map));
    let map = maps.get(&metric.map).map_err(|e| match e {
        Error::BadMap(message) => context(message),
        other => other,
    })?;
    let value_size = map.snapshot().value_size;
    if value_size != 8 {
        return Err(context(format!(
            "value size for map `{}` is not expected 8 bytes (u64), it is {value_size} bytes",
            metric.map
        )));
    }
    Ok(map)
}

fn label_error(kind: &str, name: &str, error: &LabelError) -> Error {
    let message = format!("{kind} `{name}`: {error}");
    match error {
        LabelError::KeySize { .. } => Error::BadMap(message),
        LabelError::Step { .. } => Error::Failed(message),
    }
}
