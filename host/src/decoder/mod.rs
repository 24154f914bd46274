//! Decoders turn map snapshots into metric series.
//!
//! [`Decoder`] is the seam: the agent only sees it, the wasm sandbox
//! ([`wasm`]) implements it, and tests or benchmarks can plug in a native one.

mod output;
pub mod validate;
pub mod wasm;

use std::sync::Arc;

pub use output::{Collection, Row, assemble};

use crate::maps::MapSnapshot;
use crate::metrics::Family;

/// What a decoder declared at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declaration {
    /// Families in declaration order; rows refer to them by index.
    pub families: Vec<Arc<Family>>,
    /// Maps to snapshot at every scrape; empty means all.
    pub maps: Vec<String>,
    /// Maps whose records are handed over as they arrive
    /// ([`Decoder::on_events`]), in the order batches number them.
    pub events: Vec<EventSource>,
}

/// A ring buffer or perf event array map a decoder takes events from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSource {
    /// The map's name in the object.
    pub map: String,
    /// Shorter records are dropped by the host and counted.
    pub min_record_size: u32,
}

/// Records of one event source, as a decoder receives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    /// Index of the source in [`Declaration::events`].
    pub source: u32,
    /// Number of records in `data`.
    pub records: u32,
    /// Records back to back, each a `u32` little-endian length and then
    /// its bytes.
    pub data: Vec<u8>,
}

/// Turns snapshots into series.
pub trait Decoder: Send {
    /// The families and maps declared at start.
    fn spec(&self) -> &Declaration;

    /// Decodes one snapshot per requested map. The snapshots' buffers may be
    /// moved out and back in, but are left as they were on return.
    fn decode(&mut self, maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError>;

    /// Hands over one batch of records of a declared event source. The
    /// batch's buffer may be moved out and back in, but is left as it was
    /// on return. Decoders that declare no event source are never called.
    fn on_events(&mut self, batch: &mut EventBatch) -> Result<(), DecodeError> {
        let _ = batch;
        Err(DecodeError::Plugin {
            kind: PluginErrorKind::Failed,
            message: "this decoder takes no events".into(),
        })
    }

    /// Whether the decoder trapped so often that it is no longer restarted
    /// right away.
    fn quarantined(&self) -> bool {
        false
    }

    /// Linear memory the decoder's instance holds, when it is sandboxed.
    fn memory_bytes(&self) -> Option<u64> {
        None
    }
}

/// The kind of error a plugin reported about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginErrorKind {
    InvalidConfig,
    BadMap,
    Failed,
}

impl std::fmt::Display for PluginErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InvalidConfig => "invalid config",
            Self::BadMap => "bad map",
            Self::Failed => "failed",
        })
    }
}

/// Why a trap happened, for logs and the traps-by-kind counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// The call ran past its deadline.
    Timeout,
    /// The plugin tried to grow memory past its cap.
    Memory,
    StackOverflow,
    /// `unreachable`, e.g. a Rust panic in the guest.
    Unreachable,
    /// An access outside linear memory (including a guest's own shadow
    /// stack overflowing).
    OutOfBounds,
    /// Any other trap.
    Other,
}

impl TrapKind {
    /// Every kind, in declaration order (`kind as usize` indexes it).
    pub const ALL: [Self; 6] = [
        Self::Timeout,
        Self::Memory,
        Self::StackOverflow,
        Self::Unreachable,
        Self::OutOfBounds,
        Self::Other,
    ];

    /// Label value for self-metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Memory => "memory",
            Self::StackOverflow => "stack_overflow",
            Self::Unreachable => "unreachable",
            Self::OutOfBounds => "out_of_bounds",
            Self::Other => "other",
        }
    }
}

/// Errors of one decode call.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The plugin returned an error of its own.
    #[error("decoder reported {kind}: {message}")]
    Plugin {
        kind: PluginErrorKind,
        message: String,
    },
    /// The plugin trapped; its instance is discarded.
    #[error("decoder trapped ({}): {message}", kind.as_str())]
    Trap { kind: TrapKind, message: String },
    /// The plugin could not be (re)started.
    #[error("decoder is not running: {reason}")]
    NotRunning { reason: String },
}
