//! What can go wrong finding, decoding and attaching a USDT probe.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a USDT probe could not be attached.
#[derive(Debug, Error)]
pub enum UsdtError {
    /// The binary named by the attach point is not there.
    #[error("binary {binary:?} not found{searched}")]
    BinaryNotFound {
        binary: String,
        /// Where it was looked for, as a suffix of the message.
        searched: String,
    },
    /// The binary could not be read.
    #[error("reading {path}")]
    ReadBinary {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The binary is not an ELF file this can read.
    #[error("{path} is not a 64-bit ELF file")]
    NotElf {
        path: PathBuf,
        #[source]
        source: object::read::Error,
    },
    /// A `.note.stapsdt` note is malformed.
    #[error("{path}: malformed .note.stapsdt note: {reason}")]
    BadNote { path: PathBuf, reason: String },
    /// The binary has no probe of that provider and name.
    #[error("{path} has no USDT probe {provider}:{name} (it has: {available})")]
    NoSuchProbe {
        path: PathBuf,
        provider: String,
        name: String,
        /// The probes it has, `provider:name`, `, `-separated.
        available: String,
    },
    /// A probe argument in a form bpfhost does not decode.
    #[error("{path}: probe {provider}:{name}: argument {arg:?}: {reason}")]
    UnsupportedArg {
        path: PathBuf,
        provider: String,
        name: String,
        arg: String,
        reason: String,
    },
    /// The binary is for another architecture than the kernel.
    #[error("{path} is a {machine} binary; this agent decodes USDT arguments for {host}")]
    WrongArch {
        path: PathBuf,
        machine: String,
        host: &'static str,
    },
    /// The object does not have libbpf's USDT spec map.
    #[error("the object has no __bpf_usdt_specs map; USDT programs need libbpf's usdt.bpf.h")]
    NoSpecMap,
    /// The spec map's value is not a layout of `struct __bpf_usdt_spec`
    /// bpfhost knows.
    #[error("unknown struct __bpf_usdt_spec layout: {reason}")]
    UnknownLayout { reason: String },
    /// More distinct argument specs than the spec map holds.
    #[error(
        "more distinct USDT argument specs than __bpf_usdt_specs holds ({max_entries}); raise BPF_USDT_MAX_SPEC_CNT"
    )]
    TooManySpecs { max_entries: u32 },
    /// The kernel has no uprobe PMU.
    #[error("this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe)")]
    NoUprobePmu,
    /// A system call failed: writing the spec map or creating a uprobe link.
    #[error("{what}")]
    Kernel {
        what: String,
        #[source]
        source: io::Error,
    },
}
