//! Tracing programs: tracepoints, raw and BTF tracepoints, fentry/fexit,
//! kprobes and uprobes.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use aya::programs::uprobe::{UProbeAttachLocation, UProbeScope};
use aya::programs::{BtfTracePoint, FEntry, FExit, KProbe, RawTracePoint, TracePoint, UProbe};

use super::{Context, attach_error, load_error, program_mut};
use crate::loader::binary::find_library;
use crate::loader::error::LoadError;
use crate::loader::section::ProgramKind;
use crate::loader::tracefs;
use crate::manifest::spec::{AttachPoint, ProbeTarget, UprobeTarget};

/// Present when the kernel can create kprobes (`CONFIG_KPROBES`).
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// Loads and attaches a tracing program; returns the target text.
pub(super) fn attach(
    cx: &mut Context<'_>,
    name: &str,
    point: &AttachPoint,
) -> Result<String, LoadError> {
    let btf = cx.btf;
    match point {
        AttachPoint::Tracepoint(target) => {
            let (category, event) = target.split_once('/').ok_or_else(|| {
                LoadError::attach(
                    name,
                    target.clone(),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "a tracepoint is written category/name",
                    ),
                )
            })?;
            tracefs::ensure_mounted()?;
            let kind = ProgramKind::Tracepoint;
            let p: &mut TracePoint = program_mut(cx.ebpf, name)?;
            p.load().map_err(|e| load_error(name, kind, target, e))?;
            p.attach(category, event)
                .map_err(|e| attach_error(name, kind, target, e))?;
            Ok(target.clone())
        }
        AttachPoint::RawTracepoint(target) => {
            let kind = ProgramKind::RawTracepoint;
            let p: &mut RawTracePoint = program_mut(cx.ebpf, name)?;
            p.load().map_err(|e| load_error(name, kind, target, e))?;
            p.attach(target)
                .map_err(|e| attach_error(name, kind, target, e))?;
            Ok(target.clone())
        }
        AttachPoint::BtfTracepoint(target) => {
            let kind = ProgramKind::BtfTracepoint;
            let p: &mut BtfTracePoint = program_mut(cx.ebpf, name)?;
            p.load(target, btf)
                .map_err(|e| load_error(name, kind, target, e))?;
            p.attach()
                .map_err(|e| attach_error(name, kind, target, e))?;
            Ok(target.clone())
        }
        AttachPoint::Fentry(target) => {
            let kind = ProgramKind::Fentry;
            let p: &mut FEntry = program_mut(cx.ebpf, name)?;
            p.load(target, btf)
                .map_err(|e| load_error(name, kind, target, e))?;
            p.attach()
                .map_err(|e| attach_error(name, kind, target, e))?;
            Ok(target.clone())
        }
        AttachPoint::Fexit(target) => {
            let kind = ProgramKind::Fexit;
            let p: &mut FExit = program_mut(cx.ebpf, name)?;
            p.load(target, btf)
                .map_err(|e| load_error(name, kind, target, e))?;
            p.attach()
                .map_err(|e| attach_error(name, kind, target, e))?;
            Ok(target.clone())
        }
        AttachPoint::Kprobe(target) => attach_kprobe(cx, name, ProgramKind::Kprobe, target),
        AttachPoint::Kretprobe(target) => attach_kprobe(cx, name, ProgramKind::Kretprobe, target),
        AttachPoint::Uprobe(target) => attach_uprobe(cx, name, ProgramKind::Uprobe, target),
        AttachPoint::Uretprobe(target) => attach_uprobe(cx, name, ProgramKind::Uretprobe, target),
        _ => unreachable!("dispatched by attach::load_and_attach"),
    }
}

fn attach_kprobe(
    cx: &mut Context<'_>,
    name: &str,
    kind: ProgramKind,
    target: &ProbeTarget,
) -> Result<String, LoadError> {
    let text = if target.offset == 0 {
        target.function.clone()
    } else {
        format!("{}+{:#x}", target.function, target.offset)
    };
    let p: &mut KProbe = program_mut(cx.ebpf, name)?;
    p.load().map_err(|e| load_error(name, kind, &text, e))?;
    // Without a kprobe PMU aya would fall back to tracefs `kprobe_events`,
    // which does not exist either: say what is really missing.
    if !Path::new(KPROBE_PMU).exists() {
        return Err(LoadError::KprobesUnsupported {
            program: name.to_owned(),
            target: text,
        });
    }
    p.attach(&target.function, target.offset)
        .map_err(|e| attach_error(name, kind, &text, e))?;
    Ok(text)
}

fn attach_uprobe(
    cx: &mut Context<'_>,
    name: &str,
    kind: ProgramKind,
    target: &UprobeTarget,
) -> Result<String, LoadError> {
    let mut text = match &target.function {
        Some(function) if target.offset != 0 => {
            format!("{}:{function}+{:#x}", target.target, target.offset)
        }
        Some(function) => format!("{}:{function}", target.target),
        None => format!("{}:{:#x}", target.target, target.offset),
    };
    let scope = match target.pid.and_then(NonZeroU32::new) {
        Some(pid) => {
            text = format!("{text} pid {pid}");
            UProbeScope::OneProcess(pid)
        }
        None => UProbeScope::AllProcesses,
    };
    let location = match &target.function {
        Some(function) if target.offset != 0 => {
            UProbeAttachLocation::SymbolOffset(function, target.offset)
        }
        Some(function) => UProbeAttachLocation::Symbol(function),
        None => UProbeAttachLocation::AbsoluteOffset(target.offset),
    };
    // aya resolves only `libc`-style names, through ld.so.cache.
    let path = find_library(&target.target).unwrap_or_else(|| PathBuf::from(&target.target));
    let p: &mut UProbe = program_mut(cx.ebpf, name)?;
    p.load().map_err(|e| load_error(name, kind, &text, e))?;
    p.attach([location], &path, scope)
        .map_err(|e| attach_error(name, kind, &text, e))?;
    Ok(text)
}
