//! What can go wrong taking an event map or starting its reader.

use std::io;

use aya::maps::MapError;
use aya::maps::perf::PerfBufferError;

/// An event source that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The object has no map of that name.
    #[error("the object has no map `{map}` (maps: {available})")]
    MissingMap { map: String, available: String },
    /// The map is neither a ring buffer nor a perf event array; `kind` is
    /// its type with an article ("a Hash").
    #[error("map `{map}` is {kind}, not a ring buffer or perf event array")]
    NotAnEventMap { map: String, kind: String },
    /// The map could not be made ready to read (a ring buffer is mapped
    /// into memory).
    #[error("map `{map}`: cannot read it as a {kind}")]
    Take {
        map: String,
        kind: &'static str,
        #[source]
        source: MapError,
    },
    /// The online CPUs could not be listed (a perf buffer is opened per CPU).
    #[error("map `{map}`: cannot list the online CPUs from {path}")]
    Cpus {
        map: String,
        path: &'static str,
        #[source]
        source: io::Error,
    },
    /// A CPU's perf buffer could not be opened or mapped.
    #[error("map `{map}`: cannot open the perf buffer of CPU {cpu}")]
    PerfBuffer {
        map: String,
        cpu: u32,
        #[source]
        source: PerfBufferError,
    },
    /// A CPU's perf buffer could not be put in the perf event array.
    #[error("map `{map}`: cannot put the perf buffer of CPU {cpu} in the array")]
    PerfBufferSlot {
        map: String,
        cpu: u32,
        #[source]
        source: MapError,
    },
    /// The epoll set of a reader could not be made.
    #[error("map `{map}`: cannot poll the source")]
    Poll {
        map: String,
        #[source]
        source: io::Error,
    },
    /// A reader thread could not be started.
    #[error("exporter `{exporter}`: cannot start the reader thread of `{map}`")]
    Spawn {
        exporter: String,
        map: String,
        #[source]
        source: io::Error,
    },
    /// The thread that hands an exporter's batches to its decoder could not
    /// be started.
    #[error("exporter `{exporter}`: cannot start the thread that hands events to the decoder")]
    Pump {
        exporter: String,
        #[source]
        source: io::Error,
    },
    /// `Readers::start` takes one `BatchLimits` per source.
    #[error("exporter `{exporter}`: {sources} event sources but {limits} batch limits")]
    LimitsMismatch {
        exporter: String,
        sources: usize,
        limits: usize,
    },
    /// A batch must be able to hold a record.
    #[error("exporter `{exporter}`, source `{map}`: max_records is 0, it must be at least 1")]
    NoRecordsPerBatch { exporter: String, map: String },
}
