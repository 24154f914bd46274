//! `perf_event_array` counters: each record of the perf event array named
//! after the counter is one event, its bytes the labels; the counter of
//! that label set goes up by one. Every `flush_interval` all the counter's
//! series are dropped.
//!
//! As `ebpf_exporter`'s `exporter/perf_event_array.go` does: a record is
//! cut to the labels' sizes and paddings (the kernel pads perf records to
//! 8 bytes), then decoded by the labels' decoders as a map key is; a label
//! set a `regexp` drops is not counted; a record that does not decode is
//! not counted and is reported (upstream logs it and counts it in
//! `ebpf_exporter_decoder_errors_total`). Upstream resets on a ticker
//! started with the exporter; here the reset happens at the first batch or
//! scrape at least an interval after the last one, which the first call
//! starts.

use bpfhost_plugin_sdk::state::CounterSet;
use bpfhost_plugin_sdk::{Error, Events, FamilyId, Output, Result, SourceId};

use crate::collect::Work;
use crate::config::{Flush, Metric};
use crate::labels::{self, Decoded, LabelError, Sink};

/// One `perf_event_array` counter's source and counts.
#[derive(Debug)]
pub struct EventCounter {
    source: SourceId,
    /// The flush interval in nanoseconds (never 0).
    interval: u64,
    /// When the series were last dropped; `None` before the first call.
    last_flush: Option<u64>,
    counts: CounterSet,
    values: Values,
}

impl EventCounter {
    pub fn new(source: SourceId, flush: Flush) -> Self {
        Self {
            source,
            interval: u64::try_from(flush.interval.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
            last_flush: None,
            counts: CounterSet::new(),
            values: Values::default(),
        }
    }

    /// The event source [`Spec::events`](bpfhost_plugin_sdk::Spec::events)
    /// gave the counter.
    pub fn source(&self) -> SourceId {
        self.source
    }

    /// Drops every series when an interval has passed since the last
    /// flush (the first call only starts the clock). `now` is the host's
    /// `CLOCK_MONOTONIC` time of the batch or scrape.
    pub fn flush(&mut self, now: u64) {
        match self.last_flush {
            None => self.last_flush = Some(now),
            Some(last) if now.saturating_sub(last) >= self.interval => {
                self.counts.clear();
                self.last_flush = Some(now);
            }
            Some(_) => {}
        }
    }

    /// Counts the records of a batch. Records that do not decode are left
    /// out and, once the others are counted, reported in one error naming
    /// the counter, how many failed and the first reason.
    pub fn count(
        &mut self,
        metric: &mut Metric,
        events: &Events<'_>,
        work: &mut Work,
    ) -> Result<()> {
        let now = events.now();
        self.flush(now);
        let size = labels::key_size(&metric.labels);
        let mut failed = 0usize;
        let mut first: Option<LabelError> = None;
        for record in events.records() {
            let record = record?;
            // The kernel's padding (and anything else past the labels).
            let raw = &record[..size.min(record.len())];
            self.values.clear();
            let decoded = labels::decode(
                &mut metric.labels,
                raw,
                false,
                &mut work.scratch,
                &mut work.lookups,
                &mut self.values,
            );
            match decoded {
                Ok(Decoded::Kept { .. }) => self.counts.inc(&self.values.labels(), now),
                Ok(Decoded::Skipped) => {}
                Err(error) => {
                    failed += 1;
                    first.get_or_insert(error);
                }
            }
        }
        match first {
            None => Ok(()),
            Some(error) => Err(Error::Failed(format!(
                "counter `{}`: {failed} of {} records were not counted: {}",
                metric.map,
                events.len(),
                record_error(&error)
            ))),
        }
    }

    /// Flushes if due, then emits every series into `family`.
    pub fn emit(&mut self, out: &mut Output, family: FamilyId, now: u64) {
        self.flush(now);
        self.counts.emit(out, family, now);
    }
}

/// [`LabelError::KeySize`] speaks of a map key; a record shorter than the
/// labels is what it means here.
fn record_error(error: &LabelError) -> String {
    match error {
        LabelError::KeySize { key, labels, .. } => format!(
            "a record of {key} bytes is shorter than the labels' sizes and paddings \
             ({labels} bytes)"
        ),
        LabelError::Step { .. } => error.to_string(),
    }
}

/// One record's label values, back to back, and where each ends.
#[derive(Debug, Default)]
struct Values {
    text: String,
    ends: Vec<usize>,
}

impl Values {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    fn labels(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let value = &self.text[start..end];
                start = end;
                value
            })
            .collect()
    }
}

impl Sink for Values {
    fn buffer(&mut self, _: usize) -> &mut String {
        &mut self.text
    }

    fn end(&mut self, _: usize) {
        self.ends.push(self.text.len());
    }
}
