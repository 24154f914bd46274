//! Reading libbpf-style `SEC()` names: what kind of program a section holds,
//! where it attaches by default, and which name aya needs to see instead
//! when aya does not accept the libbpf spelling.

use std::fmt;

use crate::manifest::spec::{
    AttachPoint, CgroupSkbTarget, Direction, InterfaceTarget, PerfEventTarget, ProbeTarget,
    UprobeTarget, UsdtTarget, XdpMode, XdpTarget,
};

/// The kinds of programs bpfhost attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramKind {
    Tracepoint,
    RawTracepoint,
    BtfTracepoint,
    Fentry,
    Fexit,
    Kprobe,
    Kretprobe,
    Uprobe,
    Uretprobe,
    Usdt,
    Socket,
    Xdp,
    Tc,
    CgroupSkb,
    PerfEvent,
}

impl ProgramKind {
    /// The kind's name as used in messages and self-metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tracepoint => "tracepoint",
            Self::RawTracepoint => "raw_tracepoint",
            Self::BtfTracepoint => "tp_btf",
            Self::Fentry => "fentry",
            Self::Fexit => "fexit",
            Self::Kprobe => "kprobe",
            Self::Kretprobe => "kretprobe",
            Self::Uprobe => "uprobe",
            Self::Uretprobe => "uretprobe",
            Self::Usdt => "usdt",
            Self::Socket => "socket",
            Self::Xdp => "xdp",
            Self::Tc => "tc",
            Self::CgroupSkb => "cgroup_skb",
            Self::PerfEvent => "perf_event",
        }
    }

    /// Whether an explicit attach point suits this kind of program.
    pub fn fits(self, attach: &AttachPoint) -> bool {
        matches!(
            (self, attach),
            (_, AttachPoint::None)
                | (Self::Tracepoint, AttachPoint::Tracepoint(_))
                | (Self::RawTracepoint, AttachPoint::RawTracepoint(_))
                | (Self::BtfTracepoint, AttachPoint::BtfTracepoint(_))
                | (Self::Fentry, AttachPoint::Fentry(_))
                | (Self::Fexit, AttachPoint::Fexit(_))
                | (Self::Kprobe, AttachPoint::Kprobe(_))
                | (Self::Kretprobe, AttachPoint::Kretprobe(_))
                | (Self::Uprobe, AttachPoint::Uprobe(_))
                | (Self::Uretprobe, AttachPoint::Uretprobe(_))
                | (Self::Usdt, AttachPoint::Usdt(_))
                | (Self::Socket, AttachPoint::Socket(_))
                | (Self::Xdp, AttachPoint::Xdp(_))
                | (Self::Tc, AttachPoint::Tc(_))
                | (Self::CgroupSkb, AttachPoint::CgroupSkb(_))
                | (Self::PerfEvent, AttachPoint::PerfEvent(_))
        )
    }
}

impl fmt::Display for ProgramKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of an attach point's kind, for messages.
pub fn attach_kind_name(attach: &AttachPoint) -> &'static str {
    match attach {
        AttachPoint::Tracepoint(_) => "tracepoint",
        AttachPoint::RawTracepoint(_) => "raw_tracepoint",
        AttachPoint::BtfTracepoint(_) => "tp_btf",
        AttachPoint::Fentry(_) => "fentry",
        AttachPoint::Fexit(_) => "fexit",
        AttachPoint::Kprobe(_) => "kprobe",
        AttachPoint::Kretprobe(_) => "kretprobe",
        AttachPoint::Uprobe(_) => "uprobe",
        AttachPoint::Uretprobe(_) => "uretprobe",
        AttachPoint::Socket(_) => "socket",
        AttachPoint::Xdp(_) => "xdp",
        AttachPoint::Tc(_) => "tc",
        AttachPoint::CgroupSkb(_) => "cgroup_skb",
        AttachPoint::PerfEvent(_) => "perf_event",
        AttachPoint::Usdt(_) => "usdt",
        AttachPoint::None => "none",
    }
}

/// A parsed `SEC()` name.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub kind: ProgramKind,
    /// Where the section itself says to attach, or what is missing.
    pub default_attach: Result<AttachPoint, &'static str>,
    /// The section name to show aya when it rejects the libbpf spelling.
    pub aya_name: Option<String>,
}

/// Default sampling frequency of `perf_event` programs, per CPU.
pub const DEFAULT_PERF_FREQUENCY: u64 = 99;

/// Parses a section name; `None` when bpfhost does not know the section.
pub fn parse(section: &str) -> Option<Section> {
    let (prefix, rest) = match section.split_once('/') {
        Some((prefix, rest)) => (prefix, Some(rest).filter(|r| !r.is_empty())),
        None => (section, None),
    };
    let plain = |kind, default_attach| {
        Some(Section {
            kind,
            default_attach,
            aya_name: None,
        })
    };
    match prefix {
        "tracepoint" | "tp" => plain(
            ProgramKind::Tracepoint,
            rest.filter(|r| r.contains('/'))
                .map(|r| AttachPoint::Tracepoint(r.to_owned()))
                .ok_or("a tracepoint as category/name"),
        ),
        "raw_tracepoint" | "raw_tp" => plain(
            ProgramKind::RawTracepoint,
            rest.map(|r| AttachPoint::RawTracepoint(r.to_owned()))
                .ok_or("a raw tracepoint name"),
        ),
        "tp_btf" => plain(
            ProgramKind::BtfTracepoint,
            rest.map(|r| AttachPoint::BtfTracepoint(r.to_owned()))
                .ok_or("a BTF tracepoint name"),
        ),
        "fentry" | "fentry.s" => plain(
            ProgramKind::Fentry,
            rest.map(|r| AttachPoint::Fentry(r.to_owned()))
                .ok_or("a kernel function"),
        ),
        "fexit" | "fexit.s" => plain(
            ProgramKind::Fexit,
            rest.map(|r| AttachPoint::Fexit(r.to_owned()))
                .ok_or("a kernel function"),
        ),
        "kprobe" => plain(
            ProgramKind::Kprobe,
            rest.map(|r| AttachPoint::Kprobe(probe_target(r)))
                .ok_or("a kernel function"),
        ),
        "kretprobe" => plain(
            ProgramKind::Kretprobe,
            rest.map(|r| AttachPoint::Kretprobe(probe_target(r)))
                .ok_or("a kernel function"),
        ),
        "ksyscall" | "kretsyscall" => Some(syscall(prefix, rest)),
        "uprobe" | "uprobe.s" => plain(
            ProgramKind::Uprobe,
            rest.and_then(uprobe_target)
                .map(AttachPoint::Uprobe)
                .ok_or("a binary and function"),
        ),
        "uretprobe" | "uretprobe.s" => plain(
            ProgramKind::Uretprobe,
            rest.and_then(uprobe_target)
                .map(AttachPoint::Uretprobe)
                .ok_or("a binary and function"),
        ),
        // aya does not know `usdt`: it is a uprobe program to the kernel.
        // A name of its own per section keeps each section's BTF func info
        // apart (aya looks it up by section name).
        "usdt" => Some(Section {
            kind: ProgramKind::Usdt,
            default_attach: rest
                .and_then(usdt_target)
                .map(AttachPoint::Usdt)
                .ok_or("a binary, provider and probe name"),
            aya_name: Some(format!("uprobe/{section}")),
        }),
        "socket" => plain(
            ProgramKind::Socket,
            Ok(AttachPoint::Socket(InterfaceTarget::default())),
        ),
        "xdp" | "xdp.frags" => xdp(prefix, rest),
        "tc" | "tcx" | "classifier" => Some(Section {
            kind: ProgramKind::Tc,
            default_attach: Err("an interface and direction"),
            aya_name: (prefix != "classifier").then(|| "classifier".to_owned()),
        }),
        "cgroup_skb" => plain(
            ProgramKind::CgroupSkb,
            Ok(AttachPoint::CgroupSkb(CgroupSkbTarget {
                cgroup: None,
                direction: direction(rest?)?,
            })),
        ),
        "cgroup" if rest == Some("skb") => plain(ProgramKind::CgroupSkb, Err("a direction")),
        "perf_event" => plain(
            ProgramKind::PerfEvent,
            Ok(AttachPoint::PerfEvent(PerfEventTarget {
                event: "cpu-clock".to_owned(),
                frequency: Some(DEFAULT_PERF_FREQUENCY),
                period: None,
            })),
        ),
        _ => None,
    }
}

/// The prefix of the kernel functions that wrap system calls on this
/// architecture (`__x64_sys_openat`), where the kernel has such wrappers
/// (libbpf's `LINUX_HAS_SYSCALL_WRAPPER`); elsewhere a system call's
/// function is `sys_NAME`.
pub(super) const SYSCALL_WRAPPER_PREFIX: Option<&str> = if cfg!(target_arch = "x86_64") {
    Some("__x64_sys_")
} else if cfg!(target_arch = "aarch64") {
    Some("__arm64_sys_")
} else {
    None
};

/// libbpf's `ksyscall/NAME` and `kretsyscall/NAME` (libbpf 1.0): a kprobe
/// (kretprobe) on the function behind system call NAME. aya knows them as
/// plain kprobes.
fn syscall(prefix: &str, rest: Option<&str>) -> Section {
    let entry = prefix == "ksyscall";
    let function = rest.map(|name| {
        let function = format!("{}{name}", SYSCALL_WRAPPER_PREFIX.unwrap_or("sys_"));
        ProbeTarget {
            function,
            offset: 0,
        }
    });
    Section {
        kind: if entry {
            ProgramKind::Kprobe
        } else {
            ProgramKind::Kretprobe
        },
        default_attach: function
            .map(if entry {
                AttachPoint::Kprobe
            } else {
                AttachPoint::Kretprobe
            })
            .ok_or("a system call name"),
        aya_name: Some(if entry { "kprobe" } else { "kretprobe" }.to_owned()),
    }
}

/// `xdp`, `xdp.frags` and `ebpf_exporter`'s `xdp/<ifname>`. `xdp/cpumap` and
/// `xdp/devmap` programs run from maps, not interfaces: not attachable here.
fn xdp(prefix: &str, rest: Option<&str>) -> Option<Section> {
    match rest {
        None => Some(Section {
            kind: ProgramKind::Xdp,
            default_attach: Err("an interface"),
            aya_name: None,
        }),
        Some("cpumap" | "devmap") => None,
        Some(interface) => Some(Section {
            kind: ProgramKind::Xdp,
            default_attach: Ok(AttachPoint::Xdp(XdpTarget {
                interface: interface.to_owned(),
                mode: XdpMode::Default,
            })),
            aya_name: Some(prefix.to_owned()),
        }),
    }
}

fn direction(text: &str) -> Option<Direction> {
    match text {
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        _ => None,
    }
}

/// `FUNC` or `FUNC+OFFSET` (decimal or `0x` hex).
fn probe_target(text: &str) -> ProbeTarget {
    match text
        .split_once('+')
        .and_then(|(f, o)| Some((f, parse_u64(o)?)))
    {
        Some((function, offset)) => ProbeTarget {
            function: function.to_owned(),
            offset,
        },
        None => ProbeTarget {
            function: text.to_owned(),
            offset: 0,
        },
    }
}

/// libbpf's `PATH:FUNC[+OFFSET]` or `PATH:OFFSET`; `PATH` may contain `/`.
fn uprobe_target(text: &str) -> Option<UprobeTarget> {
    let (target, point) = text.rsplit_once(':')?;
    if target.is_empty() || point.is_empty() {
        return None;
    }
    let (function, offset) = if let Some(offset) = parse_u64(point) {
        (None, offset)
    } else {
        let probe = probe_target(point);
        (Some(probe.function), probe.offset)
    };
    Some(UprobeTarget {
        target: target.to_owned(),
        function,
        offset,
        pid: None,
    })
}

/// `BINARY:PROVIDER:NAME`; `BINARY` may be a path.
fn usdt_target(text: &str) -> Option<UsdtTarget> {
    let mut parts = text.rsplitn(3, ':');
    let (name, provider, binary) = (parts.next()?, parts.next()?, parts.next()?);
    if [binary, provider, name].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(UsdtTarget {
        binary: binary.to_owned(),
        provider: provider.to_owned(),
        name: name.to_owned(),
        pid: None,
        cookie: None,
    })
}

fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
#[path = "section_tests.rs"]
mod tests;
