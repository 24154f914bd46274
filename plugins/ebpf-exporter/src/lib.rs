//! A decoder that runs a [cloudflare/ebpf_exporter] config unchanged: the
//! counters and histograms of its `metrics` section, with the series
//! `ebpf_exporter` v2.5 would export for the same maps.
//!
//! # Use
//!
//! `bpfhost ebpf-exporter --config.dir DIR --config.names NAME,...` runs
//! `ebpf_exporter`'s configs with this decoder as they are (README.md, its
//! section on coming from `ebpf_exporter`); `bpfhost convert ebpf-exporter`
//! prints the manifests it builds. By hand: put the content of `ebpf_exporter`'s
//! `<name>.yaml` under the manifest's `decoder.config` and load
//! `<name>.bpf.o`, the same object `ebpf_exporter` loads. The agent ships
//! this decoder as the built-in `ebpf-exporter`:
//!
//! ```yaml
//! apiVersion: bpfhost.dev/v1alpha1
//! kind: BpfExporter
//! metadata: {name: timers}
//! spec:
//!   object: {path: timers.bpf.o}
//!   decoder:
//!     builtin: ebpf-exporter      # granted the lookups its config needs, see below
//!     config:                     # timers.yaml, as it is
//!       metrics:
//!         counters:
//!           - name: timer_starts_total
//!             help: Timers fired in the kernel
//!             labels:
//!               - name: function
//!                 size: 8
//!                 decoders:
//!                   - name: ksym
//!       # bpfhost:                # optional, not `ebpf_exporter`'s
//!       #   prefix: ebpf_exporter_
//! ```
//!
//! # What it reads
//!
//! Each counter and histogram reads the BPF map of its `name` and declares
//! the family `ebpf_exporter_<name>` (another prefix with
//! `bpfhost.prefix`, which may be empty) with its `help`. Every map value is
//! a `u64` (another value size is an error naming the metric).
//!
//! - **Labels** split the key: each takes `size` bytes, then skips
//!   `padding` bytes, and the sizes and paddings must add up to the key
//!   size. A label's `decoders` turn its bytes into its value, each one
//!   reading what the one before made: `uint`, `string`, `hex`, `inet_ip`,
//!   `dname`, `static_map` (with `allow_unknown`), `regexp` (no match drops
//!   the whole label set), `errno`, `syscall`, `ifname`, `ksym`, `kstack`,
//!   `cgroup`, `majorminor`, `pci_vendor`, `pci_device`, `pci_class` and
//!   `pci_subclass`. Unknown names print as `ebpf_exporter` prints them
//!   (`unknown:2`, `unknown_syscall:999`, `unknown_addr:0xffffffff8100…`,
//!   `unknown_cgroup_id:42`, `??` in a stack, `unknown:136:16`,
//!   `unknown pci vendor: 0xbeef`, `missing pci.ids db`).
//! - **Per-CPU maps** are summed over CPUs, unless the last label is named
//!   `cpu`: then each CPU's value keeps its own series, the CPU number
//!   appended to the key as a 2-byte integer that the `cpu` label decodes.
//!   A map without labels reads its entry at key `u32` 0.
//! - **Alike label sets** (two keys that decode to the same values) are
//!   one series, their values summed.
//! - **Histograms**: the last label is the bucket number. `bucket_type`
//!   `exp2` (bounds 2^i), `exp2zero` (0, then 2^(i-1)) and `linear` (i)
//!   number buckets `bucket_min..=bucket_max`; `fixed` numbers them by
//!   `bucket_keys` (bound = key). Bounds are multiplied by
//!   `bucket_multiplier`. The key after the last bucket (`bucket_max + 1`,
//!   or the last bucket key + 1) holds the sum; missing buckets count 0;
//!   buckets are cumulative, `+Inf` is the count.
//! - **`perf_event_array: true` counters** read no map at scrapes: the
//!   agent hands the decoder the records of the perf event array named
//!   after the counter as they arrive, and each record adds one to the
//!   series of the labels it decodes to (same labels, decoders and family
//!   as a map counter). A record is cut to the labels' sizes and paddings
//!   (the kernel pads perf records to 8 bytes); a `regexp` that matches
//!   nothing drops the record. Every `flush_interval` (a Go duration,
//!   `30s`, `1h30m`, or an integer of nanoseconds; an hour when absent or
//!   not positive) all the counter's series are dropped, so label sets no
//!   event brings back leave `/metrics`: at the first batch or scrape an
//!   interval after the last flush (the first batch or scrape starts the
//!   clock), where `ebpf_exporter` runs a ticker.
//!
//! # Host lookups: what the config needs
//!
//! `errno`, `syscall`, `ifname`, `ksym`/`kstack`, `cgroup`, `majorminor`
//! and `pci_*` ask the agent (grants `errno`, `syscall`, `ifname`, `ksym`,
//! `cgroup`, `majorminor`, `pci`). This component imports all of them;
//! which ones a config calls is only known from its decoders. As
//! `builtin: ebpf-exporter` it may import them all but is granted only
//! what its config's decoders need (or what `decoder.lookups` lists);
//! `bpfhost ebpf-exporter` and `bpfhost convert ebpf-exporter` write that
//! list into the manifest. Loaded from a `path` (or inline, or a
//! `ConfigMap`) a manifest must grant all seven, whatever its config
//! uses, or the agent refuses to load it. It never calls `pod-of-cgroup`
//! or `process-name`. Names are cached: a name for as long as the decoder
//! lives, a miss until the next scrape.
//!
//! For the same reason `bpfhost plugin test`, which grants no lookups,
//! refuses this component today. `testdata/` holds a dump, a config and
//! the exposition a build without lookups printed for them.
//!
//! # Cost
//!
//! Decoding writes each label value once into one buffer per metric.
//! Summing alike label sets needs a hash index of them, which is only
//! built once an entry could repeat one: a metric whose labels are all
//! `uint`, `hex`, `inet_ip` or `string` (ASCII, zeros after the NUL) with
//! zero padding has one series per key and skips it. `benches/decode.rs`
//! compares a 100,000-entry map with the hand-written `writes` decoder.
//!
//! # Refused at `init`
//!
//! With an error naming the metric, the label and the field: an unknown
//! field anywhere (`ebpf_exporter` ignores one; here a misspelt
//! `bucket_multipler` would silently change the series), an unknown
//! decoder, a label without `size` or `decoders`, a `uint` of a size
//! other than 1, 2, 4 or 8, a regexp that does not compile, an unknown
//! `bucket_type`, bounds that are not finite and ascending, a
//! `flush_interval` that is not a Go duration. Not supported yet, and
//! refused by name: `tracing` spans, `kaddrs` and `cgroup_id_map`. (The
//! last two are the agent's part of a config: `bpfhost ebpf-exporter`
//! turns `kaddrs` into globals and `cgroup_id_map` into
//! `spec.cgroupIdMap`, and hands this decoder the rest.)
//!
//! # Where it differs from `ebpf_exporter`
//!
//! - An error while decoding a map (a key whose size does not match its
//!   labels, a bucket label that is not a number) fails the whole scrape
//!   of this exporter, with the metric named in `/status`, where
//!   `ebpf_exporter` logs it and leaves that one metric out: a decoder has no
//!   way to report an error and still return series.
//! - A `perf_event_array` record that does not decode (shorter than its
//!   labels, a decoder's error) is not counted; the other records of its
//!   batch are, and the batch is then reported as failed, naming the
//!   counter, how many records failed and the first reason.
//!   `ebpf_exporter` logs and counts the error and then increments a
//!   series with no label values, which panics in its Prometheus client.
//! - Names come from the agent's tables: `syscall` names are the x86-64
//!   kernel header's (`pread64`, `exit_group`, where `ebpf_exporter`'s table
//!   has `pread`, `exit`); `ksym` and `kstack` only know text symbols;
//!   `cgroup` paths are the agent's cgroup v2 paths under `/sys/fs/cgroup`.
//! - `regexp` is RE2 syntax as `regex-lite` reads it, ASCII classes like
//!   Go's; `\p{…}` Unicode classes are refused.
//! - The agent exposes every counter as `NAME_total`: a counter whose
//!   `name` does not end in `_total` gets the suffix, where `ebpf_exporter`'s
//!   text exposition leaves it out.
//! - `ebpf_exporter`'s own series (`ebpf_exporter_enabled_configs`,
//!   `ebpf_exporter_ebpf_program_info`, `ebpf_exporter_decoder_errors_total`,
//!   …) are not this decoder's: `bpfhost ebpf-exporter` serves them beside
//!   the agent's `bpfhost_exporter_*` series.
//!
//! [cloudflare/ebpf_exporter]: https://github.com/cloudflare/ebpf_exporter

mod collect;
mod config;
mod decoders;
mod events;
mod histogram;
mod labels;
mod problem;
mod series;

use bpfhost_plugin_sdk::{Config, Decoder, Error, Events, FamilyId, Maps, Output, Result, Spec};

use crate::collect::Work;
use crate::config::Metric;
use crate::events::EventCounter;

/// The decoder: the config's metrics, and what decoding keeps between
/// scrapes.
#[derive(Debug)]
pub struct EbpfExporter {
    metrics: Vec<Exported>,
    work: Work,
}

/// One metric of the config, its family, and for a `perf_event_array`
/// counter, its counts.
#[derive(Debug)]
struct Exported {
    metric: Metric,
    family: FamilyId,
    events: Option<EventCounter>,
}

impl Decoder for EbpfExporter {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let document = config::parse(config.as_json())?;
        let metrics = document
            .metrics
            .into_iter()
            .map(|metric| {
                let family = match &metric.histogram {
                    None => {
                        let labels: Vec<&str> =
                            metric.labels.iter().map(|l| l.name.as_str()).collect();
                        spec.counter(&metric.family, &metric.help, &labels)
                    }
                    Some(layout) => {
                        // The last label is the bucket.
                        let series = &metric.labels[..metric.labels.len() - 1];
                        let labels: Vec<&str> = series.iter().map(|l| l.name.as_str()).collect();
                        spec.histogram(&metric.family, &metric.help, &labels, layout.bounds())
                    }
                };
                // Every record reaches the decoder: one shorter than the
                // labels is a decode error, as upstream.
                let events = metric
                    .perf_event_array
                    .map(|flush| EventCounter::new(spec.events(&metric.map, 0), flush));
                if events.is_none() && !spec.maps().contains(&metric.map) {
                    spec.map(&metric.map);
                }
                Exported {
                    metric,
                    family,
                    events,
                }
            })
            .collect();
        Ok(Self {
            metrics,
            work: Work::default(),
        })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        self.work.lookups.new_scrape();
        for exported in &mut self.metrics {
            let Exported {
                metric,
                family,
                events,
            } = exported;
            if let Some(events) = events {
                events.emit(out, *family, maps.now());
            } else if metric.histogram.is_some() {
                self.work.histogram(metric, *family, maps, out)?;
            } else {
                self.work.counter(metric, *family, maps, out)?;
            }
        }
        Ok(())
    }

    fn on_events(&mut self, events: &Events<'_>) -> Result<()> {
        let source = events.source();
        let Some((metric, counter)) = self.metrics.iter_mut().find_map(|e| {
            let counter = e.events.as_mut().filter(|c| c.source() == source)?;
            Some((&mut e.metric, counter))
        }) else {
            return Err(Error::Failed(format!(
                "no perf_event_array counter reads event source {}",
                source.index()
            )));
        };
        counter.count(metric, events, &mut self.work)
    }
}

bpfhost_plugin_sdk::export_decoder!(EbpfExporter);

#[cfg(test)]
mod tests;
