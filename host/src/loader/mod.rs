//! Loading eBPF ELF objects with aya and attaching their programs.
//!
//! [`load`] takes an ELF as libbpf-style C compiles it, checks everything it
//! can before touching the kernel (sections, `programs:` entries, globals),
//! loads it with CO-RE relocation against the kernel's BTF, and attaches each
//! program where its `SEC()` name (or its `programs:` entry) says. The
//! result, a [`LoadedObject`], owns every kernel object it created: dropping
//! it detaches and unloads everything. A failed load releases whatever it had
//! attached before the failure.
//!
//! The settings libbpf users make from user space come with the request:
//! map sizes (`maps:`, `bpf_map__set_max_entries`), programs left out
//! (`autoload: false`, `bpf_program__set_autoload`) and whether a program
//! that fails to attach fails the load ([`AttachPolicy`]).
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use bpfhost::loader::{LoadRequest, load};
//! use bpfhost::manifest::AttachPolicy;
//!
//! let elf = std::fs::read("packets.bpf.o")?;
//! let object = load(&LoadRequest {
//!     exporter: "packets",
//!     elf: &elf,
//!     globals: &BTreeMap::new(),
//!     programs: &[],
//!     maps: &BTreeMap::new(),
//!     attach_policy: AttachPolicy::AllOrNothing,
//! })?;
//! for map in object.maps() {
//!     println!("{}", map.name);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attach;
mod binary;
mod elf;
mod error;
mod globals;
mod hidden;
mod kconfig;
mod map_btf;
mod map_init;
mod plan;
mod rewrite;
mod section;
mod socket;
mod stats;
mod tracefs;
mod usdt;

// The events module's kernel tests share its fixtures and helpers.
#[cfg(test)]
pub(crate) mod kernel_tests;

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};

use aya::maps::{Map, MapData};
use aya::{Btf, Ebpf, EbpfError, EbpfLoader};

pub use attach::{AttachedProgram, NotAttached, NotAttachedReason, UNATTACHED};
pub use error::{AttachSource, ElfError, LoadError, VERIFIER_LOG_TAIL_LINES};
pub use section::{DEFAULT_PERF_FREQUENCY, ProgramKind};
pub use stats::{BPF_STATS_ENABLED, ProgramStats, RunStats};
pub use tracefs::TRACEFS;
pub use usdt::UsdtError;

use crate::events::{EventMap, EventsError};
use crate::manifest::spec::{AttachPoint, AttachPolicy, GlobalValue, MapOverride, ProgramAttach};
use elf::ElfInfo;

/// What to load: one exporter's ELF and its manifest settings.
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest<'a> {
    /// The exporter's name, for messages and status.
    pub exporter: &'a str,
    /// The ELF object's bytes.
    pub elf: &'a [u8],
    /// Overrides of `const volatile` (or `.data`) globals.
    pub globals: &'a BTreeMap<String, GlobalValue>,
    /// Explicit attach points and programs left out; other programs attach
    /// by their `SEC()` name.
    pub programs: &'a [ProgramAttach],
    /// Map settings (sizes), by map name.
    pub maps: &'a BTreeMap<String, MapOverride>,
    /// Whether a program that fails to attach fails the load.
    pub attach_policy: AttachPolicy,
}

/// A map of a loaded object that the map reader can snapshot.
#[derive(Debug)]
pub struct LoadedMap {
    /// The map's name in the ELF.
    pub name: String,
    /// A duplicate of the map's file descriptor.
    pub fd: OwnedFd,
}

/// A loaded object with its programs attached. Dropping it closes the packet
/// sockets, detaches every link and unloads every program and map.
pub struct LoadedObject {
    exporter: String,
    programs: Vec<AttachedProgram>,
    not_attached: Vec<NotAttached>,
    maps: Vec<LoadedMap>,
    // Fields drop in order: sockets (and their filters) and USDT probes
    // before programs.
    sockets: Vec<OwnedFd>,
    usdt: usdt::Usdt,
    ebpf: Ebpf,
}

impl fmt::Debug for LoadedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedObject")
            .field("exporter", &self.exporter)
            .field("programs", &self.programs)
            .field("not_attached", &self.not_attached)
            .field("maps", &self.maps)
            .field("sockets", &self.sockets.len())
            .finish_non_exhaustive()
    }
}

impl LoadedObject {
    /// The exporter this object belongs to.
    pub fn exporter(&self) -> &str {
        &self.exporter
    }

    /// The programs, in ELF order, with where each is attached.
    pub fn programs(&self) -> &[AttachedProgram] {
        &self.programs
    }

    /// The programs that are not attached: left out by `autoload: false`,
    /// or (under [`AttachPolicy::BestEffort`]) failed to attach.
    pub fn not_attached(&self) -> &[NotAttached] {
        &self.not_attached
    }

    /// The readable maps: hash, array, per-CPU, LRU and LPM-trie maps. The
    /// `.rodata`/`.data`/`.bss` maps, ring buffers and perf arrays are left out.
    pub fn maps(&self) -> &[LoadedMap] {
        &self.maps
    }

    /// The readable map named `name`.
    pub fn map(&self, name: &str) -> Option<&LoadedMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The fd of map `name` of whatever type (a `cgrp_storage` map to
    /// write, say), `.rodata` and friends included.
    pub fn any_map_fd(&self, name: &str) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.ebpf.map(name).map(map_init::map_fd)
    }

    /// The names of every map of the object, for errors.
    pub fn map_names(&self) -> Vec<&str> {
        self.ebpf.maps().map(|(name, _)| name).collect()
    }

    /// Takes the ring buffer or perf event array `name` out of the object,
    /// for [`Readers`](crate::events::Readers) to read. A map of another
    /// type stays with the object.
    pub fn take_event_map(&mut self, name: &str) -> Result<EventMap, EventsError> {
        let missing = |object: &Self| EventsError::MissingMap {
            map: name.to_owned(),
            available: object.map_names().join(", "),
        };
        match self.ebpf.map(name) {
            None => return Err(missing(self)),
            Some(map) if !EventMap::is_event_map(map) => {
                return Err(EventsError::NotAnEventMap {
                    map: name.to_owned(),
                    kind: map_kind(map),
                });
            }
            Some(_) => {}
        }
        let map = self.ebpf.take_map(name).ok_or_else(|| missing(self))?;
        EventMap::from_map(name, map, map_kind)
    }

    /// The underlying aya object, for callers that need more than the maps.
    pub fn ebpf(&self) -> &Ebpf {
        &self.ebpf
    }
}

/// Loads `request.elf` and attaches its programs.
pub fn load(request: &LoadRequest<'_>) -> Result<LoadedObject, LoadError> {
    let invalid = |source: ElfError| LoadError::InvalidElf { source };
    let info = ElfInfo::parse(request.elf).map_err(invalid)?;
    let plans = plan::plan(&info, request.programs)?;
    let globals = globals::encode_all(&info, request.globals)?;
    if let Some(map) = request.maps.keys().find(|m| !info.has_map(m)) {
        return Err(LoadError::UnknownMap {
            map: map.clone(),
            available: info.maps.join(", "),
        });
    }

    let renames = aya_renames(&plans);
    let resolved = kconfig::resolve(request.elf, &kconfig::RunningKernel::default())?;
    let mut elf = resolved.unwrap_or_else(|| request.elf.to_vec());
    hidden::make_static(&mut elf);
    let initialized = map_init::prepare(&elf).map_err(invalid)?;
    let elf = initialized.elf.as_deref().unwrap_or(&elf);
    let untyped = map_btf::untype_array_keys(elf, &info.maps);
    let elf = untyped.as_deref().unwrap_or(elf);
    let bytes = rewrite::rename_sections(elf, &renames).map_err(invalid)?;

    let btf = Btf::from_sys_fs().map_err(|source| LoadError::KernelBtf { source })?;
    let mut loader = EbpfLoader::new();
    loader.btf(&btf);
    // Map types aya has no typed API for (task, inode and cgroup storage,
    // ...) are still created, as libbpf creates them; bpfhost never reads them.
    loader.allow_unsupported_maps();
    for (name, value) in &globals {
        loader.override_global(name, value.as_slice(), true);
    }
    for (name, map) in request.maps {
        loader.map_max_entries(name, map.max_entries);
    }
    let ebpf = loader.load(&bytes).map_err(|e| match e {
        EbpfError::ParseError(_)
        | EbpfError::RelocationError(_)
        | EbpfError::BtfRelocationError(_)
        | EbpfError::KsymsError(_)
        | EbpfError::NoBTF => invalid(ElfError::Parse(Box::new(e))),
        source => LoadError::Kernel {
            source: Box::new(source),
        },
    })?;

    // From here on, an early return drops `object`: everything attached so
    // far is detached and unloaded.
    let mut object = LoadedObject {
        exporter: request.exporter.to_owned(),
        programs: Vec::new(),
        not_attached: Vec::new(),
        maps: Vec::new(),
        sockets: Vec::new(),
        usdt: usdt::Usdt::default(),
        ebpf,
    };
    let (program_slots, map_slots): (Vec<_>, Vec<_>) = initialized
        .slots
        .iter()
        .partition(|s| matches!(s.target, map_init::SlotTarget::Program(_)));
    map_init::fill(&object.ebpf, map_slots)?;
    for plan in plans {
        let Some(point) = &plan.point else {
            object.not_attached.push(NotAttached {
                name: plan.name,
                section: plan.section,
                reason: NotAttachedReason::Disabled,
            });
            continue;
        };
        let mut cx = attach::Context {
            ebpf: &mut object.ebpf,
            btf: &btf,
            sockets: &mut object.sockets,
            usdt: &mut object.usdt,
            object_elf: request.elf,
            exporter: request.exporter,
            section: &plan.section,
        };
        let default = plan.parsed.default_attach.as_ref().ok();
        let target =
            match attach::load_and_attach(&mut cx, &plan.name, plan.parsed.kind, point, default) {
                Ok(target) => target,
                Err(error)
                    if request.attach_policy == AttachPolicy::BestEffort && error.is_attach() =>
                {
                    object.not_attached.push(NotAttached {
                        name: plan.name,
                        section: plan.section,
                        reason: NotAttachedReason::Failed(error),
                    });
                    continue;
                }
                Err(error) => return Err(error),
            };
        let id = object
            .ebpf
            .program(&plan.name)
            .and_then(|p| p.info().ok())
            .map(|info| info.id());
        object.programs.push(AttachedProgram {
            id,
            name: plan.name,
            section: plan.section,
            kind: plan.parsed.kind,
            target,
        });
    }
    // libbpf fills program arrays before attaching; aya loads each program
    // only as it attaches it, so these slots are filled right after.
    map_init::fill(&object.ebpf, program_slots)?;
    check_something_attached(&object)?;
    object.maps = readable_maps(&object.ebpf)?;
    Ok(object)
}

/// Loads every program of `elf` into the kernel and attaches none: what
/// `bpftool prog loadall` does, and what tells whether an object loads at
/// all, whatever its programs would attach to. Maps are created and
/// programs verified exactly as [`load`] does; BTF-typed programs (`tp_btf`,
/// fentry, fexit) still need the target their section names.
pub fn load_unattached(exporter: &str, elf: &[u8]) -> Result<LoadedObject, LoadError> {
    let info = ElfInfo::parse(elf).map_err(|source| LoadError::InvalidElf { source })?;
    let programs: Vec<ProgramAttach> = info
        .programs
        .iter()
        .map(|p| ProgramAttach::at(p.name.clone(), AttachPoint::None))
        .collect();
    load(&LoadRequest {
        exporter,
        elf,
        globals: &BTreeMap::new(),
        programs: &programs,
        maps: &BTreeMap::new(),
        attach_policy: AttachPolicy::AllOrNothing,
    })
}

/// Sections aya needs to see under another name, each once.
fn aya_renames(plans: &[plan::Plan]) -> Vec<(String, String)> {
    let mut renames: Vec<(String, String)> = Vec::new();
    for plan in plans {
        if let Some(aya_name) = &plan.parsed.aya_name
            && !renames.iter().any(|(old, _)| *old == plan.section)
        {
            renames.push((plan.section.clone(), aya_name.clone()));
        }
    }
    renames
}

/// Under `BestEffort`, a load whose every attach failed is still a failure:
/// an exporter with no program running would serve nothing but zeros.
/// Programs loaded unattached on purpose (`attach: none`) do not count.
fn check_something_attached(object: &LoadedObject) -> Result<(), LoadError> {
    let failures: Vec<String> = object
        .not_attached
        .iter()
        .filter_map(|p| match &p.reason {
            NotAttachedReason::Failed(error) => Some(crate::error_chain(error)),
            NotAttachedReason::Disabled => None,
        })
        .collect();
    let attached = object
        .programs
        .iter()
        .any(|p| p.target != attach::UNATTACHED);
    if failures.is_empty() || attached {
        return Ok(());
    }
    Err(LoadError::NoProgramAttached {
        failures: failures.join("; "),
    })
}

/// The kernel's name of `map`'s type ("a Hash", "an Array"), for errors.
fn map_kind(map: &Map) -> String {
    let kind = map_init::map_fd(map)
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| MapData::from_fd(fd).ok())
        .and_then(|data| data.info().ok())
        .and_then(|info| info.map_type().ok())
        .map_or_else(|| "Unknown".to_owned(), |kind| format!("{kind:?}"));
    let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// Duplicates the fds of the maps a snapshot reader understands.
fn readable_maps(ebpf: &Ebpf) -> Result<Vec<LoadedMap>, LoadError> {
    let mut maps = Vec::new();
    for (name, map) in ebpf.maps() {
        if name.starts_with('.') || name.starts_with(usdt::INTERNAL_MAP_PREFIX) {
            continue; // .rodata, .data, .bss, .kconfig; usdt.bpf.h's own
        }
        let (Map::Array(data)
        | Map::HashMap(data)
        | Map::LruHashMap(data)
        | Map::PerCpuArray(data)
        | Map::PerCpuHashMap(data)
        | Map::PerCpuLruHashMap(data)
        | Map::LpmTrie(data)) = map
        else {
            continue; // ring buffers, perf arrays, program arrays, ...
        };
        let fd = data
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|source| LoadError::MapFd {
                map: name.to_owned(),
                source,
            })?;
        maps.push(LoadedMap {
            name: name.to_owned(),
            fd,
        });
    }
    maps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(maps)
}
