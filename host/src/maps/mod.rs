//! Reading BPF maps into flat snapshots.
//!
//! (Skeleton: the kernel implementation lands with the map-reading work.)

use std::fmt;

/// Kernel map type, as the decoder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    Hash,
    Array,
    PerCpuHash,
    PerCpuArray,
    LruHash,
    LruPerCpuHash,
    /// Any other `bpf_map_type`, by number.
    Other(u32),
}

impl MapType {
    /// Whether values hold one slot per possible CPU.
    pub fn is_per_cpu(self) -> bool {
        matches!(
            self,
            Self::PerCpuHash | Self::PerCpuArray | Self::LruPerCpuHash
        )
    }
}

/// One map read in full: the layout `BPF_MAP_LOOKUP_BATCH` returns.
///
/// `keys` holds `entries * key_size` bytes. `values` holds
/// `entries * value_size` bytes, or for per-CPU maps
/// `entries * cpus * round_up(value_size, 8)` bytes, CPU 0 first.
/// The buffers are reused across reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapSnapshot {
    pub name: String,
    pub map_type: Option<MapType>,
    pub key_size: u32,
    pub value_size: u32,
    pub cpus: u32,
    pub entries: u32,
    pub keys: Vec<u8>,
    pub values: Vec<u8>,
}

/// How a snapshot was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMethod {
    Batch,
    Iteration,
}

impl fmt::Display for ReadMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Batch => "batch",
            Self::Iteration => "iteration",
        })
    }
}

/// The seam in front of the kernel: something that can snapshot one map.
pub trait MapSource: Send {
    /// The map's name.
    fn name(&self) -> &str;
    /// Reads the whole map into `out`, reusing its buffers.
    fn read(&mut self, out: &mut MapSnapshot) -> Result<ReadMethod, MapError>;
}

/// Errors reading a map.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("reading map {map}")]
    Syscall {
        map: String,
        #[source]
        source: std::io::Error,
    },
}
