//! From map entries to label values, the way `ebpf_exporter` reads a map:
//! which bytes are the key (a per-CPU map's CPU number may be appended),
//! how the labels split them, and what happens when a decoder drops the
//! label set.

use std::fmt;

use bpfhost_plugin_sdk::MapView;

use crate::config::{Label, Metric};
use crate::decoders::{self, Flow, Lookups, Scratch, Step, StepError, text};

/// Why an entry's labels could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelError {
    /// The labels' sizes and paddings do not add up to the key's size.
    KeySize {
        key: usize,
        labels: usize,
        /// A per-CPU map split by a trailing `cpu` label: the 2 bytes of
        /// CPU number are part of `key`.
        with_cpu: bool,
    },
    Step {
        label: String,
        error: StepError,
    },
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeySize {
                key,
                labels,
                with_cpu,
            } => {
                write!(
                    f,
                    "the labels' sizes and paddings add up to {labels} bytes, the key has {key}"
                )?;
                if *with_cpu {
                    f.write_str(
                        " (with the 2-byte CPU number appended for the trailing `cpu` label \
                         of a per-CPU map)",
                    )?;
                }
                Ok(())
            }
            Self::Step { label, error } => write!(f, "label `{label}`: {error}"),
        }
    }
}

/// Whether an entry's labels made a label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// `distinct`: no other key of the map can decode to this label set,
    /// so it needs no looking up (see [`distinct`]).
    Kept { distinct: bool },
    /// A `regexp` decoder matched nothing.
    Skipped,
}

/// How a metric's map entries become raw keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyShape {
    per_cpu: bool,
    labels: Labels,
}

/// What matters about a metric's labels for reading its map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Labels {
    None,
    /// The last label is `cpu`: a per-CPU map's values stay apart, each
    /// with its CPU number appended to the key as a `u16`.
    CpuLast,
    /// `cpu` is the only label.
    CpuOnly,
    Other,
}

impl KeyShape {
    pub fn new(metric: &Metric, map: &MapView<'_>) -> Self {
        let labels = match metric.labels.as_slice() {
            [] => Labels::None,
            [only] if only.name == "cpu" => Labels::CpuOnly,
            [.., last] if last.name == "cpu" => Labels::CpuLast,
            _ => Labels::Other,
        };
        Self {
            per_cpu: map.snapshot().map_type.is_per_cpu(),
            labels,
        }
    }

    /// Calls `sample` with each raw key and value of `map`, as
    /// `ebpf_exporter`'s `readMapValues` and `mapValues` make them. Per-CPU
    /// values are summed unless the last label is `cpu`.
    pub fn walk<E>(
        self,
        map: &MapView<'_>,
        key: &mut Vec<u8>,
        mut sample: impl FnMut(&[u8], f64) -> Result<(), E>,
    ) -> Result<(), E> {
        for entry in map.entries() {
            if self.with_cpu() {
                for (cpu, value) in entry.per_cpu().enumerate() {
                    key.clear();
                    key.extend_from_slice(entry.key);
                    key.extend_from_slice(&(cpu as u16).to_le_bytes());
                    sample(self.raw(key), u64_value(value))?;
                }
            } else {
                let value = entry.per_cpu().map(u64_value).sum();
                sample(self.raw(entry.key), value)?;
            }
        }
        Ok(())
    }

    /// The bytes the labels decode. Two shortcuts of `ebpf_exporter`: a map
    /// without labels holds one value at key `u32` 0; a per-CPU map whose
    /// only label is `cpu` drops that leading `u32` 0 and keeps the CPU.
    fn raw(self, key: &[u8]) -> &[u8] {
        const ZERO: [u8; 4] = [0; 4];
        if self.labels == Labels::None && key == ZERO {
            &[]
        } else if self.per_cpu && self.labels == Labels::CpuOnly && key.get(..4) == Some(&ZERO) {
            &key[4..]
        } else {
            key
        }
    }

    /// Whether each CPU's value has its own series: the CPU number is
    /// appended to the key.
    pub fn with_cpu(self) -> bool {
        self.per_cpu && matches!(self.labels, Labels::CpuLast | Labels::CpuOnly)
    }
}

/// A value as `ebpf_exporter` reads it: a `u64` in host order.
fn u64_value(value: &[u8]) -> f64 {
    let bytes = value.get(..8).and_then(|b| b.try_into().ok());
    bytes.map_or(0.0, |b| u64::from_le_bytes(b) as f64)
}

/// Where decoded label values go.
pub trait Sink {
    /// The buffer label `index`'s value is appended to.
    fn buffer(&mut self, index: usize) -> &mut String;
    /// Label `index`'s value is complete.
    fn end(&mut self, index: usize);
}

/// Decodes `raw` label by label, in order, into `sink`. Stops at the first
/// label a decoder drops.
pub fn decode(
    labels: &mut [Label],
    raw: &[u8],
    with_cpu: bool,
    scratch: &mut Scratch,
    lookups: &mut Lookups,
    sink: &mut impl Sink,
) -> Result<Decoded, LabelError> {
    let total = key_size(labels);
    if total != raw.len() {
        return Err(LabelError::KeySize {
            key: raw.len(),
            labels: total,
            with_cpu,
        });
    }
    let mut offset = 0;
    let mut all_distinct = true;
    for (index, label) in labels.iter_mut().enumerate() {
        let bytes = &raw[offset..offset + label.size];
        let padding = &raw[offset + label.size..offset + label.size + label.padding];
        offset += label.size + label.padding;
        all_distinct = all_distinct && distinct(label, bytes, padding);
        let flow = decoders::run(
            &mut label.steps,
            bytes,
            scratch,
            lookups,
            sink.buffer(index),
        )
        .map_err(|error| LabelError::Step {
            label: label.name.clone(),
            error,
        })?;
        if flow == Flow::Skip {
            return Ok(Decoded::Skipped);
        }
        sink.end(index);
    }
    Ok(Decoded::Kept {
        distinct: all_distinct,
    })
}

/// The key bytes the labels cover: their sizes and paddings.
pub fn key_size(labels: &[Label]) -> usize {
    labels
        .iter()
        .map(|l| l.size.saturating_add(l.padding))
        .fold(0, usize::saturating_add)
}

/// Whether this label's value tells its bytes apart from those of every
/// other key: then a metric whose labels all do has one series per key
/// (a map holds each key once), and aggregating costs nothing.
///
/// `uint`, `hex` and `inet_ip` map distinct bytes to distinct text.
/// `string` does for bytes that are zero after the first NUL (as BPF
/// programs leave them) and ASCII before it. Padding must be zero. Any
/// other chain may map two keys to one value.
fn distinct(label: &Label, bytes: &[u8], padding: &[u8]) -> bool {
    zero(padding)
        && match label.steps.as_slice() {
            [Step::Uint | Step::Hex | Step::InetIp] => true,
            [Step::String] => {
                let text = text::until_nul(bytes);
                text.is_ascii() && zero(&bytes[text.len()..])
            }
            _ => false,
        }
}

fn zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}
