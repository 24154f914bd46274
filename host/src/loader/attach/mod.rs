//! Loading each program into the kernel and attaching it where its section
//! (or its `programs:` entry) says. One file per family of attach kinds.

mod net;
mod perf;
mod trace;

use std::io;
use std::os::fd::OwnedFd;

use aya::programs::{Program, ProgramError};
use aya::{Btf, Ebpf};

use super::error::{LoadError, log_tail};
use super::section::ProgramKind;
use super::usdt::{self, Usdt};
use crate::manifest::spec::{AttachPoint, XdpMode};

/// A program of a loaded object, as reported in status and self-metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedProgram {
    /// The program's function name.
    pub name: String,
    /// Its `SEC()` name in the ELF.
    pub section: String,
    pub kind: ProgramKind,
    /// Where it is attached, in words (`syscalls/sys_enter_write`,
    /// `all interfaces`, `unattached`).
    pub target: String,
    /// The kernel's id for the program (as `bpftool prog show` lists it).
    pub id: Option<u32>,
}

/// The target text of a program loaded but deliberately not attached
/// (`attach: none`).
pub const UNATTACHED: &str = "unattached";

/// A program of the object that is not attached, and why.
#[derive(Debug)]
pub struct NotAttached {
    /// The program's function name.
    pub name: String,
    /// Its `SEC()` name in the ELF.
    pub section: String,
    pub reason: NotAttachedReason,
}

/// Why a program is not attached.
#[derive(Debug)]
pub enum NotAttachedReason {
    /// `autoload: false`: neither loaded nor attached.
    Disabled,
    /// Loading or attaching it failed, and `attachPolicy: BestEffort` let
    /// the others run. A program that loaded stays loaded, unattached.
    Failed(LoadError),
}

/// What a program needs besides its kernel links, and what it is attached to.
pub(super) struct Context<'a> {
    pub ebpf: &'a mut Ebpf,
    pub btf: &'a Btf,
    /// Sockets that carry socket filters; closing one detaches its filter.
    pub sockets: &'a mut Vec<OwnedFd>,
    /// The object's USDT spec ids and probes.
    pub usdt: &'a mut Usdt,
    /// The object's ELF (USDT reads its `usdt.bpf.h` layout from the BTF).
    pub object_elf: &'a [u8],
    /// For messages: the exporter and the program's section.
    pub exporter: &'a str,
    pub section: &'a str,
}

/// Loads `program` and attaches it to `point`; returns the target text.
pub(super) fn load_and_attach(
    cx: &mut Context<'_>,
    program: &str,
    kind: ProgramKind,
    point: &AttachPoint,
    section_default: Option<&AttachPoint>,
) -> Result<String, LoadError> {
    match point {
        AttachPoint::None => {
            load_unattached(cx, program, kind, section_default)?;
            Ok(UNATTACHED.to_owned())
        }
        AttachPoint::Tracepoint(_)
        | AttachPoint::RawTracepoint(_)
        | AttachPoint::BtfTracepoint(_)
        | AttachPoint::Fentry(_)
        | AttachPoint::Fexit(_)
        | AttachPoint::Kprobe(_)
        | AttachPoint::Kretprobe(_)
        | AttachPoint::Uprobe(_)
        | AttachPoint::Uretprobe(_) => trace::attach(cx, program, point),
        AttachPoint::Socket(_) | AttachPoint::Xdp(_) | AttachPoint::Tc(_) => {
            net::attach(cx, program, point)
        }
        AttachPoint::CgroupSkb(target) => net::attach_cgroup_skb(cx, program, target),
        AttachPoint::PerfEvent(target) => perf::attach(cx, program, target),
        AttachPoint::Usdt(target) => usdt::attach(cx, program, target),
    }
}

/// Loads a program without attaching it. BTF-typed programs (`tp_btf`, fentry,
/// fexit) still need their target at load time: the section's default.
fn load_unattached(
    cx: &mut Context<'_>,
    name: &str,
    kind: ProgramKind,
    section_default: Option<&AttachPoint>,
) -> Result<(), LoadError> {
    let btf_target = match section_default {
        Some(AttachPoint::BtfTracepoint(t) | AttachPoint::Fentry(t) | AttachPoint::Fexit(t)) => {
            Some(t.as_str())
        }
        _ => None,
    };
    let program = cx
        .ebpf
        .program_mut(name)
        .ok_or_else(|| LoadError::UnknownProgram {
            program: name.to_owned(),
            available: String::new(),
        })?;
    let btf = cx.btf;
    let result = match (program, btf_target) {
        (Program::BtfTracePoint(p), Some(t)) => p.load(t, btf),
        (Program::FEntry(p), Some(t)) => p.load(t, btf),
        (Program::FExit(p), Some(t)) => p.load(t, btf),
        (Program::TracePoint(p), _) => p.load(),
        (Program::RawTracePoint(p), _) => p.load(),
        (Program::KProbe(p), _) => p.load(),
        (Program::UProbe(p), _) => p.load(),
        (Program::SocketFilter(p), _) => p.load(),
        (Program::Xdp(p), _) => p.load(),
        (Program::SchedClassifier(p), _) => p.load(),
        (Program::CgroupSkb(p), _) => p.load(),
        (Program::PerfEvent(p), _) => p.load(),
        _ => Err(ProgramError::UnexpectedProgramType),
    };
    result.map_err(|e| load_error(name, kind, "unattached", e))
}

/// The aya program named `name`, as its concrete type.
pub(super) fn program_mut<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, LoadError>
where
    &'a mut T: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let program = ebpf
        .program_mut(name)
        .ok_or_else(|| LoadError::UnknownProgram {
            program: name.to_owned(),
            available: String::new(),
        })?;
    program.try_into().map_err(|source| LoadError::Load {
        program: name.to_owned(),
        source: Box::new(source),
    })
}

/// Maps a failed `load()` to the error users can act on.
pub(super) fn load_error(
    program: &str,
    kind: ProgramKind,
    target: &str,
    error: ProgramError,
) -> LoadError {
    match error {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            if is_lockdown(kind, &io_error) {
                LoadError::LockdownForbidsTracing {
                    program: program.to_owned(),
                    target: target.to_owned(),
                }
            } else {
                LoadError::Verifier {
                    program: program.to_owned(),
                    errno: io_error,
                    log_tail: log_tail(&verifier_log.to_string()),
                }
            }
        }
        source => LoadError::Load {
            program: program.to_owned(),
            source: Box::new(source),
        },
    }
}

/// Maps a failed `attach()`, recognising lockdown on trampoline programs.
fn attach_error(program: &str, kind: ProgramKind, target: &str, error: ProgramError) -> LoadError {
    let lockdown = match &error {
        ProgramError::SyscallError(e) => is_lockdown(kind, &e.io_error),
        _ => false,
    };
    if lockdown {
        LoadError::LockdownForbidsTracing {
            program: program.to_owned(),
            target: target.to_owned(),
        }
    } else {
        LoadError::attach(program, target, error)
    }
}

/// fentry/fexit get EPERM from the kernel when lockdown forbids them.
fn is_lockdown(kind: ProgramKind, error: &io::Error) -> bool {
    matches!(kind, ProgramKind::Fentry | ProgramKind::Fexit)
        && error.raw_os_error() == Some(libc::EPERM)
}

/// aya's XDP mode for the manifest's.
fn xdp_mode(mode: XdpMode) -> aya::programs::XdpMode {
    match mode {
        XdpMode::Default => aya::programs::XdpMode::Default,
        XdpMode::Skb => aya::programs::XdpMode::Skb,
        XdpMode::Driver => aya::programs::XdpMode::Driver,
        XdpMode::Hardware => aya::programs::XdpMode::Hardware,
    }
}
