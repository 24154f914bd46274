//! Reading BPF maps into flat snapshots.
//!
//! A [`MapSource`] fills a [`MapSnapshot`] with every entry of one map in the
//! layout `BPF_MAP_LOOKUP_BATCH` returns. [`KernelMap`] reads real maps by
//! batch, and key by key where the kernel cannot batch, through the
//! [`sys::BpfSys`] seam.

mod cpus;
pub mod dump;
mod kernel;
mod read;
pub mod sys;
#[cfg(test)]
mod tests;

use std::fmt;

pub use kernel::KernelMap;

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
    /// From the kernel's `enum bpf_map_type`.
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Hash,
            2 => Self::Array,
            5 => Self::PerCpuHash,
            6 => Self::PerCpuArray,
            9 => Self::LruHash,
            10 => Self::LruPerCpuHash,
            other => Self::Other(other),
        }
    }

    /// The kernel's `enum bpf_map_type` value.
    pub fn to_raw(self) -> u32 {
        match self {
            Self::Hash => 1,
            Self::Array => 2,
            Self::PerCpuHash => 5,
            Self::PerCpuArray => 6,
            Self::LruHash => 9,
            Self::LruPerCpuHash => 10,
            Self::Other(raw) => raw,
        }
    }

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

/// The `bpf(2)` command (or other call) that failed on a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BpfCommand {
    LookupBatch,
    GetNextKey,
    LookupElem,
    ObjGetInfoByFd,
    /// Duplicating the map's file descriptor (`fcntl(F_DUPFD_CLOEXEC)`).
    DupFd,
}

impl std::fmt::Display for BpfCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LookupBatch => "BPF_MAP_LOOKUP_BATCH",
            Self::GetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Self::LookupElem => "BPF_MAP_LOOKUP_ELEM",
            Self::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Self::DupFd => "F_DUPFD_CLOEXEC",
        })
    }
}

/// Errors reading a map.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("reading map {map}: {command} failed")]
    Syscall {
        map: String,
        command: BpfCommand,
        #[source]
        source: std::io::Error,
    },
    #[error("counting possible cpus")]
    Cpus {
        #[source]
        source: std::io::Error,
    },
}
