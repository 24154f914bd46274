//! The decoder as the agent runs it: a config in, map snapshots in, rows
//! out.

mod counters;
mod events;
mod histograms;
mod testdata;
mod upstream;

use bpfhost_plugin_sdk::{MapSnapshot, Output, Spec};

use super::*;
use crate::config::tests::json_of;

/// A decoder for a config written in YAML, and the families it declared.
pub(super) fn init(yaml: &str) -> (EbpfExporter, Spec) {
    let mut spec = Spec::default();
    let decoder = EbpfExporter::init(&Config::new(json_of(yaml)), &mut spec)
        .unwrap_or_else(|e| panic!("init: {e}"));
    (decoder, spec)
}

pub(super) fn decode(decoder: &mut EbpfExporter, maps: &[MapSnapshot]) -> Output {
    let mut out = Output::default();
    decoder
        .decode(&Maps::new(maps), &mut out)
        .unwrap_or_else(|e| panic!("decode: {e}"));
    out
}

pub(super) fn decode_err(decoder: &mut EbpfExporter, maps: &[MapSnapshot]) -> String {
    decoder
        .decode(&Maps::new(maps), &mut Output::default())
        .expect_err("decode fails")
        .to_string()
}

/// Counter rows as `(labels, value)`, sorted by labels.
pub(super) fn samples(out: &Output) -> Vec<(Vec<String>, f64)> {
    let mut rows: Vec<_> = out
        .samples()
        .into_iter()
        .map(|s| (s.labels, s.value))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

pub(super) fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|&v| v.to_owned()).collect()
}

pub(super) fn zero_padded(text: &str, size: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(size, 0);
    bytes
}

pub(super) fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A counter keyed by `struct { __u32 number; char fruit[32]; }`.
pub(super) const NUMBER_AND_FRUIT: &str = "
metrics:
  counters:
    - name: fruit_total
      help: Fruit
      labels:
        - name: number
          size: 4
          decoders: [{name: uint}]
        - name: fruit
          size: 32
          decoders: [{name: string}]
";

/// `ebpf_exporter`'s `examples/oomkill.yaml`: a `perf_event_array` counter
/// whose records are a cgroup id.
pub(crate) const OOMKILL: &str = "
metrics:
  counters:
    - name: oom_kills_total
      help: Count global and cgroup level OOMs
      perf_event_array: true
      labels:
        - name: cgroup_path
          size: 8
          decoders:
            - name: uint
            - name: cgroup
";
