//! Everything that can go wrong while loading an object and attaching it.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why [`load`](super::load) failed. Nothing stays loaded or attached after
/// an error: whatever was attached before the failure is released.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The bytes are not an eBPF ELF object bpfhost can read.
    #[error("invalid eBPF ELF object")]
    InvalidElf {
        #[source]
        source: ElfError,
    },

    /// The kernel refused the object's maps or BTF.
    #[error("creating the object's maps or BTF in the kernel failed")]
    Kernel {
        #[source]
        source: Box<aya::EbpfError>,
    },

    /// The kernel's own BTF could not be read.
    #[error("kernel BTF unavailable at /sys/kernel/btf/vmlinux")]
    KernelBtf {
        #[source]
        source: aya::BtfError,
    },

    /// The program's `SEC()` name is not one bpfhost can attach.
    #[error("program {program}: unknown section {section:?}")]
    UnknownSection { program: String, section: String },

    /// A `programs:` entry names a program the ELF does not contain.
    #[error("programs: no program named {program:?} in the object (it has: {available})")]
    UnknownProgram { program: String, available: String },

    /// Two `programs:` entries name the same program.
    #[error("programs: {program:?} is listed more than once")]
    DuplicateProgram { program: String },

    /// A `programs:` entry gives an attach point of the wrong kind.
    #[error("program {program}: a {kind} program cannot attach to a {attach} attach point")]
    AttachKindMismatch {
        program: String,
        kind: &'static str,
        attach: &'static str,
    },

    /// The section does not say where to attach and `programs:` does not either.
    #[error("program {program} (section {section:?}) needs an explicit attach point: {needs}")]
    MissingTarget {
        program: String,
        section: String,
        needs: &'static str,
    },

    /// A `maps:` entry names a map the ELF does not define.
    #[error("maps: no map named {map:?} in the object (it has: {available})")]
    UnknownMap { map: String, available: String },

    /// Under `attachPolicy: BestEffort`, every program that should attach
    /// failed to.
    #[error("no program attached (attachPolicy BestEffort needs one): {failures}")]
    NoProgramAttached {
        /// Each program with its error, `; `-separated.
        failures: String,
    },

    /// A `globals:` entry names a symbol that is not a `.rodata`/`.data` global.
    #[error("globals: no global variable named {name:?} in .rodata or .data")]
    UnknownGlobal { name: String },

    /// A `globals:` value does not fit the symbol.
    #[error("globals: value for {name:?} does not fit its {size}-byte symbol: {reason}")]
    InvalidGlobal {
        name: String,
        size: u64,
        reason: &'static str,
    },

    /// A `__kconfig` extern could not be resolved.
    #[error("kconfig {name}: {reason}")]
    Kconfig { name: String, reason: &'static str },

    /// The kernel verifier rejected a program.
    #[error("program {program} rejected by the verifier ({errno}):\n{log_tail}")]
    Verifier {
        program: String,
        errno: io::Error,
        /// The last lines of the verifier log.
        log_tail: String,
    },

    /// Loading a program failed for another reason than the verifier.
    #[error("program {program}: loading failed")]
    Load {
        program: String,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },

    /// tracefs is not mounted and could not be mounted.
    #[error(
        "tracefs is not mounted at {path} and mounting it failed ({error}); \
         run `mount -t tracefs nodev {path}` as root"
    )]
    TracefsMissing {
        path: PathBuf,
        /// Shown in the message, which puts the fix last.
        error: io::Error,
    },

    /// The kernel has no kprobe support (`CONFIG_KPROBES` off).
    #[error(
        "program {program}: this kernel does not support kprobes \
         (no kprobe PMU, CONFIG_KPROBES is off); cannot attach to {target}"
    )]
    KprobesUnsupported { program: String, target: String },

    /// fentry/fexit (BPF trampolines) are forbidden by kernel lockdown.
    #[error(
        "program {program}: kernel lockdown forbids fentry/fexit programs \
         (EPERM while loading or attaching to {target})"
    )]
    LockdownForbidsTracing { program: String, target: String },

    /// A named network interface does not exist in the host network namespace.
    #[error("program {program}: network interface {interface:?} not found")]
    InterfaceNotFound { program: String, interface: String },

    /// A perf event name bpfhost does not know.
    #[error("program {program}: unknown perf event {event:?} (software events only)")]
    UnknownPerfEvent { program: String, event: String },

    /// No cgroup v2 hierarchy is mounted.
    #[error("program {program}: no cgroup v2 hierarchy found in /proc/self/mountinfo")]
    NoCgroup2 { program: String },

    /// Duplicating a map's file descriptor failed (fd limit reached).
    #[error("duplicating the file descriptor of map {map} failed")]
    MapFd {
        map: String,
        #[source]
        source: io::Error,
    },

    /// A USDT probe could not be found, decoded or attached.
    #[error("object {object}: program {program} (section {section:?}): USDT {target}")]
    Usdt {
        object: String,
        program: String,
        section: String,
        target: String,
        #[source]
        source: Box<super::usdt::UsdtError>,
    },

    /// Filling a slot the object initializes (`.values = { [i] = &x }`)
    /// in a map of maps or a program array failed.
    #[error("map {map}: putting {target} in slot {index} failed")]
    MapSlot {
        map: String,
        index: u32,
        target: String,
        #[source]
        source: io::Error,
    },

    /// Attaching a loaded program failed.
    #[error("program {program}: attaching to {target} failed")]
    Attach {
        program: String,
        target: String,
        #[source]
        source: AttachSource,
    },
}

/// Why the ELF could not be read.
#[derive(Debug, Error)]
pub enum ElfError {
    /// The `object` crate could not parse it.
    #[error(transparent)]
    Read(#[from] object::read::Error),
    /// aya could not parse it.
    #[error(transparent)]
    Parse(Box<aya::EbpfError>),
    /// Its layout is not one the section rewriter understands.
    #[error("cannot rewrite section {section:?}: {reason}")]
    Rewrite {
        section: String,
        reason: &'static str,
    },
}

/// The underlying failure of an attach.
#[derive(Debug, Error)]
pub enum AttachSource {
    /// aya reported it.
    #[error(transparent)]
    Program(Box<aya::programs::ProgramError>),
    /// A system call made by the loader itself failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<aya::programs::ProgramError> for AttachSource {
    fn from(error: aya::programs::ProgramError) -> Self {
        Self::Program(Box::new(error))
    }
}

impl LoadError {
    /// Whether the programs loaded and this failure happened attaching them
    /// (the `ProgramsAttached` stage of a node's status).
    pub fn is_attach(&self) -> bool {
        matches!(
            self,
            Self::Attach { .. }
                | Self::NoProgramAttached { .. }
                | Self::TracefsMissing { .. }
                | Self::KprobesUnsupported { .. }
                | Self::LockdownForbidsTracing { .. }
                | Self::InterfaceNotFound { .. }
                | Self::UnknownPerfEvent { .. }
                | Self::NoCgroup2 { .. }
                | Self::Usdt { .. }
        )
    }

    /// The end of the verifier log, when the verifier rejected a program.
    pub fn verifier_log_tail(&self) -> Option<&str> {
        match self {
            Self::Verifier { log_tail, .. } => Some(log_tail),
            _ => None,
        }
    }

    /// An attach failure of `program` on `target`.
    pub(crate) fn attach(
        program: &str,
        target: impl Into<String>,
        source: impl Into<AttachSource>,
    ) -> Self {
        Self::Attach {
            program: program.to_owned(),
            target: target.into(),
            source: source.into(),
        }
    }
}

/// How many verifier log lines [`LoadError::Verifier`] keeps.
pub const VERIFIER_LOG_TAIL_LINES: usize = 20;

/// The last [`VERIFIER_LOG_TAIL_LINES`] non-empty lines of a verifier log.
pub(crate) fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(VERIFIER_LOG_TAIL_LINES);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let log = (0..30).fold(String::new(), |log, i| log + &format!("line {i}\n\n"));
        let tail = log_tail(&log);
        assert_eq!(tail.lines().count(), VERIFIER_LOG_TAIL_LINES);
        assert!(tail.starts_with("line 10\n"));
        assert!(tail.ends_with("line 29"));
    }

    #[test]
    fn messages_are_lowercase_and_name_the_program() {
        let err = LoadError::KprobesUnsupported {
            program: "p".into(),
            target: "do_unlinkat".into(),
        };
        let text = err.to_string();
        assert!(text.starts_with("program p: this kernel does not support kprobes"));
    }
}
