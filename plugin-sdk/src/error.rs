use std::fmt;

use crate::reader::Part;

/// What a decoder reports when it cannot do its job. The agent logs it,
/// counts it in `bpfhost_decode_errors_total` and marks the exporter down for
/// that scrape; unlike a trap it does not restart the plugin.
///
/// The agent sees three kinds (the WIT `error` variant): `InvalidConfig`,
/// everything about map contents (`BadMap`, `TooShort`, `SlotOutOfRange`,
/// `HistogramSize`), and everything else, with this type's message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The manifest's `decoder.config` is not usable.
    InvalidConfig(String),
    /// A map is missing or its layout is not what the decoder expects.
    BadMap(String),
    /// Anything else.
    Failed(String),
    /// A [`Reader`](crate::Reader) was asked for a field past the end of its
    /// bytes.
    TooShort {
        /// Key, value or other bytes.
        part: Part,
        /// Where the field starts (after C padding).
        offset: usize,
        /// The field's size.
        need: usize,
        /// The size of the whole key or value.
        have: usize,
    },
    /// A histogram bucket index is past the slots of its
    /// [`Buckets`](crate::Buckets) layout (and its sum slot).
    SlotOutOfRange {
        /// The index found in the map.
        slot: u64,
        /// How many slots the layout has, the sum slot included.
        slots: usize,
    },
    /// A histogram value is not the size its [`Buckets`](crate::Buckets)
    /// layout says.
    HistogramSize {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes the value has.
        have: usize,
    },
    /// A [`Buckets`](crate::Buckets) layout cannot make valid Prometheus
    /// bounds.
    InvalidBuckets {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Result type of decoder functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            Self::BadMap(m) => write!(f, "bad map: {m}"),
            Self::Failed(m) => f.write_str(m),
            Self::TooShort {
                part,
                offset,
                need,
                have,
            } => write!(
                f,
                "{part} too short: need {need} bytes at offset {offset}, have {have}"
            ),
            Self::SlotOutOfRange { slot, slots } => write!(
                f,
                "histogram slot {slot} is out of range: the bucket layout has {slots} slots"
            ),
            Self::HistogramSize { need, have } => write!(
                f,
                "histogram value has {have} bytes, the bucket layout needs {need}"
            ),
            Self::InvalidBuckets { reason } => write!(f, "invalid histogram buckets: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
