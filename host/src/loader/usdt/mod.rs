//! USDT probes (`<sys/sdt.h>`) for programs written against libbpf's
//! `usdt.bpf.h`, whose BPF side is used unchanged.
//!
//! For each program: find the binary ([`super::binary`]), read its probe
//! notes ([`note`]), decode every site's argument string ([`args`]), store
//! the decoded spec in the object's `__bpf_usdt_specs` map under an id
//! ([`spec`], in the layout of the object's `usdt.bpf.h`, [`layout`]) and
//! open a uprobe at the site whose BPF cookie is that id. The uprobes are
//! opened directly (not through aya), so that sites with a semaphore get
//! the kernel's reference counter: the traced program sees its semaphore
//! non-zero exactly while a probe is attached. All sites go through the
//! same path, with or without a semaphore, so there is one way to attach.

mod args;
mod error;
mod layout;
mod note;
mod spec;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use aya::maps::Map;
use aya::programs::UProbe;

pub use error::UsdtError;

use super::attach::{Context, load_error, program_mut};
use super::binary;
use super::error::LoadError;
use super::section::ProgramKind;
use crate::manifest::spec::UsdtTarget;
use crate::sys::{UprobeLink, UprobeSite, attach_uprobe, map_update, uprobe_pmu_available};
use args::Arch;
use layout::SpecLayout;
use spec::SpecTable;

/// libbpf's map of spec id to `struct __bpf_usdt_spec`.
pub const SPECS_MAP: &str = "__bpf_usdt_specs";
/// Maps of `usdt.bpf.h` that only its helpers read.
pub const INTERNAL_MAP_PREFIX: &str = "__bpf_usdt_";

/// The USDT state of one object: its spec ids and the uprobes attached.
#[derive(Debug, Default)]
pub struct Usdt {
    specs: SpecTable,
    layout: Option<SpecLayout>,
    /// Dropped with the object: detaches every probe.
    links: Vec<UprobeLink>,
}

/// One site to attach: where, and its spec value.
struct Site {
    offset: u64,
    semaphore_offset: u64,
    value: Vec<u8>,
}

/// Loads program `name` and attaches it to every site of `target`;
/// returns the target text.
pub(super) fn attach(
    cx: &mut Context<'_>,
    name: &str,
    target: &UsdtTarget,
) -> Result<String, LoadError> {
    let mut text = format!("{}:{}:{}", target.binary, target.provider, target.name);
    if let Some(pid) = target.pid {
        text = format!("{text} pid {pid}");
    }
    let (exporter, section) = (cx.exporter, cx.section);
    let fail = |source| LoadError::Usdt {
        object: exporter.to_owned(),
        program: name.to_owned(),
        section: section.to_owned(),
        target: text.clone(),
        source: Box::new(source),
    };
    if !uprobe_pmu_available() {
        return Err(fail(UsdtError::NoUprobePmu));
    }
    let (specs_fd, value_size, max_entries) = specs_map(cx).map_err(fail)?;
    let layout = if let Some(layout) = cx.usdt.layout {
        layout
    } else {
        let layout = SpecLayout::read(cx.object_elf, value_size)
            .map_err(|reason| fail(UsdtError::UnknownLayout { reason }))?;
        *cx.usdt.layout.insert(layout)
    };
    let (path, sites) = sites(target, layout).map_err(fail)?;

    let kind = ProgramKind::Usdt;
    let program: &mut UProbe = program_mut(cx.ebpf, name)?;
    program
        .load()
        .map_err(|e| load_error(name, kind, &text, e))?;
    let program_fd = program
        .fd()
        .map_err(|e| load_error(name, kind, &text, e))?
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| {
            fail(UsdtError::Kernel {
                what: "duplicating the program fd".to_owned(),
                source,
            })
        })?;
    // Attached only when every site is: a failure drops the ones made.
    let mut links = Vec::new();
    for site in &sites {
        // An id is taken only once its spec is in the map.
        let id = if let Some(id) = cx.usdt.specs.find(&site.value) {
            id
        } else {
            let id = cx
                .usdt
                .specs
                .next_id(max_entries)
                .ok_or_else(|| fail(UsdtError::TooManySpecs { max_entries }))?;
            map_update(specs_fd.as_fd(), &id.to_ne_bytes(), &site.value).map_err(|source| {
                fail(UsdtError::Kernel {
                    what: format!("writing spec {id} to {SPECS_MAP}"),
                    source,
                })
            })?;
            cx.usdt.specs.push(site.value.clone());
            id
        };
        let uprobe = UprobeSite {
            path: &path,
            offset: site.offset,
            ref_ctr_offset: site.semaphore_offset,
            pid: target.pid,
            cookie: u64::from(id),
        };
        let link = attach_uprobe(program_fd.as_fd(), &uprobe).map_err(|source| {
            fail(UsdtError::Kernel {
                what: format!(
                    "attaching a uprobe at {}+{:#x}",
                    path.display(),
                    site.offset
                ),
                source,
            })
        })?;
        links.push(link);
    }
    cx.usdt.links.extend(links);
    let count = sites.len();
    Ok(format!(
        "{text} ({count} site{})",
        if count == 1 { "" } else { "s" }
    ))
}

/// The spec map's fd, value size and size.
fn specs_map(cx: &Context<'_>) -> Result<(OwnedFd, u32, u32), UsdtError> {
    let Some(Map::Array(data)) = cx.ebpf.map(SPECS_MAP) else {
        return Err(UsdtError::NoSpecMap);
    };
    let info = data.info().map_err(|e| UsdtError::Kernel {
        what: format!("reading {SPECS_MAP}'s info"),
        source: std::io::Error::other(e),
    })?;
    let fd = data
        .fd()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| UsdtError::Kernel {
            what: format!("duplicating {SPECS_MAP}'s fd"),
            source,
        })?;
    Ok((fd, info.value_size(), info.max_entries()))
}

/// The binary and every site of the probe, with its spec value: all
/// checked before anything is attached.
fn sites(
    target: &UsdtTarget,
    layout: SpecLayout,
) -> Result<(std::path::PathBuf, Vec<Site>), UsdtError> {
    let path = binary::resolve(&target.binary, target.pid).map_err(|searched| {
        let searched = match searched.as_slice() {
            [only] if only.as_os_str() == target.binary.as_str() => String::new(),
            paths => {
                let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                format!(" (looked in: {})", list.join(", "))
            }
        };
        UsdtError::BinaryNotFound {
            binary: target.binary.clone(),
            searched,
        }
    })?;
    let elf = std::fs::read(&path).map_err(|source| UsdtError::ReadBinary {
        path: path.clone(),
        source,
    })?;
    let notes = note::read(&path, &elf)?;
    let arch = arch(&path, notes.machine)?;
    let mut sites: Vec<Site> = Vec::new();
    for probe in notes
        .probes
        .iter()
        .filter(|p| p.provider == target.provider && p.name == target.name)
    {
        if sites.iter().any(|s| s.offset == probe.offset) {
            continue;
        }
        let unsupported = |arg: String, reason: String| UsdtError::UnsupportedArg {
            path: path.clone(),
            provider: probe.provider.clone(),
            name: probe.name.clone(),
            arg,
            reason,
        };
        let parsed = args::parse(arch, &probe.args).map_err(|e| unsupported(e.arg, e.reason))?;
        let value = spec::encode(layout, &parsed, target.cookie.unwrap_or(0))
            .map_err(|reason| unsupported(probe.args.clone(), reason))?;
        sites.push(Site {
            offset: probe.offset,
            semaphore_offset: probe.semaphore_offset,
            value,
        });
    }
    if sites.is_empty() {
        let mut available: Vec<String> = notes
            .probes
            .iter()
            .map(|p| format!("{}:{}", p.provider, p.name))
            .collect();
        available.sort();
        available.dedup();
        return Err(UsdtError::NoSuchProbe {
            path,
            provider: target.provider.clone(),
            name: target.name.clone(),
            available: if available.is_empty() {
                "no USDT probes".to_owned()
            } else {
                available.join(", ")
            },
        });
    }
    Ok((path, sites))
}

/// The binary's architecture, which must be the agent's: argument
/// registers are read from this kernel's `pt_regs`.
fn arch(path: &Path, machine: u16) -> Result<Arch, UsdtError> {
    let host = Arch::host();
    match (Arch::from_machine(machine), host) {
        (Some(arch), Some(host)) if arch == host => Ok(arch),
        (binary, _) => Err(UsdtError::WrongArch {
            path: path.to_owned(),
            machine: binary
                .map_or_else(|| format!("e_machine {machine}"), |a| a.as_str().to_owned()),
            host: host.map_or("no architecture", Arch::as_str),
        }),
    }
}
