//! Packet programs: socket filters, XDP, TC classifiers and cgroup skb.

use std::fs::File;

use aya::programs::tc::qdisc_add_clsact;
use aya::programs::{
    CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, SchedClassifier, SocketFilter, TcAttachType,
    TcError, Xdp,
};

use super::{Context, attach_error, load_error, program_mut, xdp_mode};
use crate::loader::error::LoadError;
use crate::loader::section::ProgramKind;
use crate::loader::socket;
use crate::manifest::spec::{AttachPoint, CgroupSkbTarget, Direction};

/// Loads and attaches a socket filter, XDP or TC program.
pub(super) fn attach(
    cx: &mut Context<'_>,
    name: &str,
    point: &AttachPoint,
) -> Result<String, LoadError> {
    match point {
        AttachPoint::Socket(target) => {
            let (ifindex, text) = match &target.interface {
                Some(interface) => (
                    interface_index(name, interface)?,
                    format!("interface {interface}"),
                ),
                None => (0, "all interfaces".to_owned()),
            };
            let kind = ProgramKind::Socket;
            let p: &mut SocketFilter = program_mut(cx.ebpf, name)?;
            p.load().map_err(|e| load_error(name, kind, &text, e))?;
            let sock = socket::open().map_err(|e| LoadError::attach(name, text.clone(), e))?;
            p.attach(&sock)
                .map_err(|e| attach_error(name, kind, &text, e))?;
            socket::bind_all_protocols(&sock, ifindex)
                .map_err(|e| LoadError::attach(name, text.clone(), e))?;
            cx.sockets.push(sock);
            Ok(text)
        }
        AttachPoint::Xdp(target) => {
            let ifindex = interface_index(name, &target.interface)?;
            let text = format!("{} ({:?} mode)", target.interface, target.mode).to_lowercase();
            let kind = ProgramKind::Xdp;
            let p: &mut Xdp = program_mut(cx.ebpf, name)?;
            p.load().map_err(|e| load_error(name, kind, &text, e))?;
            p.attach(ifindex, xdp_mode(target.mode))
                .map_err(|e| attach_error(name, kind, &text, e))?;
            Ok(text)
        }
        AttachPoint::Tc(target) => {
            let ifindex = interface_index(name, &target.interface)?;
            let (attach_type, direction) = match target.direction {
                Direction::Ingress => (TcAttachType::Ingress, "ingress"),
                Direction::Egress => (TcAttachType::Egress, "egress"),
            };
            let text = format!("{} {direction}", target.interface);
            add_clsact(name, ifindex, &text)?;
            let kind = ProgramKind::Tc;
            let p: &mut SchedClassifier = program_mut(cx.ebpf, name)?;
            p.load().map_err(|e| load_error(name, kind, &text, e))?;
            p.attach(ifindex, attach_type)
                .map_err(|e| attach_error(name, kind, &text, e))?;
            Ok(text)
        }
        _ => unreachable!("dispatched by attach::load_and_attach"),
    }
}

/// Loads and attaches a cgroup skb program, by default to the root of the
/// cgroup v2 hierarchy (every process).
pub(super) fn attach_cgroup_skb(
    cx: &mut Context<'_>,
    name: &str,
    target: &CgroupSkbTarget,
) -> Result<String, LoadError> {
    let path = match &target.cgroup {
        Some(path) => path.into(),
        None => crate::sys::cgroup2_root().ok_or_else(|| LoadError::NoCgroup2 {
            program: name.to_owned(),
        })?,
    };
    let (attach_type, direction) = match target.direction {
        Direction::Ingress => (CgroupSkbAttachType::Ingress, "ingress"),
        Direction::Egress => (CgroupSkbAttachType::Egress, "egress"),
    };
    let text = format!("{} {direction}", path.display());
    let kind = ProgramKind::CgroupSkb;
    let p: &mut CgroupSkb = program_mut(cx.ebpf, name)?;
    p.load().map_err(|e| load_error(name, kind, &text, e))?;
    let dir = File::open(&path).map_err(|e| LoadError::attach(name, text.clone(), e))?;
    // Cgroup links always coexist with other programs: `Single` means "no
    // legacy flags" for bpf_link_create.
    p.attach(&dir, attach_type, CgroupAttachMode::Single)
        .map_err(|e| attach_error(name, kind, &text, e))?;
    Ok(text)
}

fn interface_index(program: &str, interface: &str) -> Result<u32, LoadError> {
    socket::ifindex(interface).ok_or_else(|| LoadError::InterfaceNotFound {
        program: program.to_owned(),
        interface: interface.to_owned(),
    })
}

/// Adds the `clsact` qdisc TC programs hang off; one that exists is fine.
fn add_clsact(program: &str, ifindex: u32, text: &str) -> Result<(), LoadError> {
    match qdisc_add_clsact(ifindex) {
        Ok(()) | Err(TcError::AlreadyAttached) => Ok(()),
        Err(TcError::NetlinkError(e)) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(LoadError::attach(
            program,
            text,
            aya::programs::ProgramError::from(e),
        )),
    }
}
