//! Slots an object fills in its own maps: a map of maps or a program array
//! initialized in C (`.values = { [0] = &inner }`, `{ [1] = &prog }`).
//! libbpf puts the inner map's or the program's fd in each such slot once
//! it has created and loaded them; aya 0.16 leaves the slots empty, and
//! refuses a program array's `values` outright (it only parses map types
//! there).
//!
//! So the loader reads the slots itself, from the relocations of `.maps`
//! (each one a pointer stored at `values[index]` of an outer map) and the
//! maps' BTF (where `values` starts). For a program array it rewrites the
//! BTF so that aya sees a plain `value_size` of 4 (what libbpf uses) instead
//! of `values`, and after loading it fills every slot.

use std::os::fd::AsFd;

use aya::Ebpf;
use aya::maps::Map;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind};

use super::error::{ElfError, LoadError};
use super::map_btf::{BTF_KIND_ARRAY, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, Edit, MapBtf, to_sizes};
use super::rewrite::{BtfLayout, Sections};

/// What a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SlotTarget {
    Map(String),
    Program(String),
}

/// `map[index] = target`, as the object initializes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Slot {
    pub map: String,
    pub index: u32,
    pub target: SlotTarget,
}

/// The slots of an object, and the ELF to hand aya when its BTF had to
/// change (program arrays).
#[derive(Debug, Default)]
pub(super) struct Prepared {
    pub slots: Vec<Slot>,
    pub elf: Option<Vec<u8>>,
}

/// An outer map's `values` member in the BTF.
struct Values {
    /// Byte offset of `values` in the map's definition.
    offset: u64,
    /// Elements are programs (a function prototype), not maps.
    programs: bool,
    /// The `values` member, and a typed `key` (`__type(key, ...)`).
    edits: Vec<Edit>,
}

/// Reads the initialized slots; rewrites the BTF of program arrays.
pub(super) fn prepare(elf: &[u8]) -> Result<Prepared, ElfError> {
    let bad = |reason| ElfError::Rewrite {
        section: ".maps".to_owned(),
        reason,
    };
    let file = object::File::parse(elf)?;
    let Some(maps) = file.section_by_name(".maps") else {
        return Ok(Prepared::default());
    };
    if maps.relocations().next().is_none() {
        return Ok(Prepared::default());
    }
    let sections = Sections::read(elf).ok_or(bad("truncated section headers"))?;
    let btf = sections
        .find(elf, ".BTF")
        .ok_or(bad("initialized maps need BTF"))?;
    let layout = BtfLayout::read(elf, &sections, btf).ok_or(bad("unexpected .BTF layout"))?;
    let view = MapBtf::read(elf, &layout).ok_or(bad("unreadable .BTF types"))?;

    let mut slots = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    for (offset, relocation) in maps.relocations() {
        let RelocationTarget::Symbol(index) = relocation.target() else {
            return Err(bad("a .maps relocation without a symbol"));
        };
        let target = file.symbol_by_index(index)?;
        let outer = file
            .symbols()
            .find(|s| {
                s.section_index() == Some(maps.index())
                    && (s.address()..s.address() + s.size()).contains(&offset)
            })
            .ok_or(bad("a .maps relocation outside every map"))?;
        let outer_name = outer.name()?.to_owned();
        let values = values_member(&view, &outer_name).ok_or(bad(
            "an initialized map without a `values` member in its BTF",
        ))?;
        let within = offset - outer.address();
        if within < values.offset || (within - values.offset) % 8 != 0 {
            return Err(bad("a .maps relocation outside `values`"));
        }
        let slot =
            u32::try_from((within - values.offset) / 8).map_err(|_| bad("slot too large"))?;
        let target_section = target
            .section_index()
            .map(|i| file.section_by_index(i))
            .transpose()?;
        let target = match target_section {
            Some(s) if s.index() == maps.index() => SlotTarget::Map(target.name()?.to_owned()),
            Some(s) if s.kind() == SectionKind::Text => {
                SlotTarget::Program(target.name()?.to_owned())
            }
            _ => return Err(bad("a slot holding neither a map nor a program")),
        };
        if values.programs && !edits.contains(&values.edits[0]) {
            edits.extend(values.edits);
        }
        slots.push(Slot {
            map: outer_name,
            index: slot,
            target,
        });
    }
    let elf = if edits.is_empty() {
        None
    } else {
        Some(to_sizes(elf, &sections, btf, &layout, &edits).ok_or(bad("unexpected .BTF layout"))?)
    };
    Ok(Prepared { slots, elf })
}

/// The `values` member of the map definition named `map`, and what turns
/// it (and a typed key) into the plain sizes of a program array: a pointer
/// to a program is 4 bytes in the map (an fd), like its key. `values` ends
/// the struct with no size: its pointer needs 8 more bytes (the variable
/// has them, it holds at least one initialized slot).
fn values_member(view: &MapBtf<'_>, map: &str) -> Option<Values> {
    let definition = view.definition(map)?;
    let member = definition.member("values")?;
    let array = view.resolve(member.type_id)?;
    (view.kind(array)? == BTF_KIND_ARRAY).then_some(())?;
    let pointer = view.resolve(view.word(array, 3)?)?;
    (view.kind(pointer)? == BTF_KIND_PTR).then_some(())?;
    let element = view.resolve(view.word(pointer, 2)?)?;
    let mut edits = vec![Edit {
        member_at: member.at,
        name: "value_size",
        size: 4,
        definition_at: definition.at,
        grow: 8,
    }];
    // The kernel refuses a key with a BTF type and a value without one.
    if let Some(key) = definition.member("key") {
        edits.push(Edit {
            member_at: key.at,
            name: "key_size",
            size: 4,
            definition_at: definition.at,
            grow: 0,
        });
    }
    Some(Values {
        offset: member.offset,
        programs: view.kind(element)? == BTF_KIND_FUNC_PROTO,
        edits,
    })
}

/// Puts each target's fd in its slot. Slots of programs that are not loaded
/// (`autoload: false`) stay empty.
pub(super) fn fill<'s>(
    ebpf: &Ebpf,
    slots: impl IntoIterator<Item = &'s Slot>,
) -> Result<(), LoadError> {
    for slot in slots {
        let failed = |target: &str, source| LoadError::MapSlot {
            map: slot.map.clone(),
            index: slot.index,
            target: target.to_owned(),
            source,
        };
        let missing = |target: &str| failed(target, std::io::ErrorKind::NotFound.into());
        let outer = ebpf
            .map(&slot.map)
            .map(map_fd)
            .ok_or_else(|| missing(&slot.map))?;
        let (name, fd) = match &slot.target {
            SlotTarget::Map(name) => {
                let inner = ebpf.map(name).map(map_fd).ok_or_else(|| missing(name))?;
                (name, inner)
            }
            SlotTarget::Program(name) => {
                let Some(Ok(fd)) = ebpf.program(name).map(|p| p.fd()) else {
                    continue;
                };
                (name, fd.as_fd())
            }
        };
        let value = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap_or_default();
        crate::maps::sys::update(outer, &slot.index.to_le_bytes(), &value.to_le_bytes())
            .map_err(|source| failed(name, source))?;
    }
    Ok(())
}

/// The fd of any aya map.
pub(super) fn map_fd(map: &Map) -> std::os::fd::BorrowedFd<'_> {
    let (Map::Array(data)
    | Map::ArrayOfMaps(data)
    | Map::BloomFilter(data)
    | Map::CgroupArray(data)
    | Map::CgroupStorage(data)
    | Map::CgrpStorage(data)
    | Map::CpuMap(data)
    | Map::DevMap(data)
    | Map::DevMapHash(data)
    | Map::HashMap(data)
    | Map::HashOfMaps(data)
    | Map::InodeStorage(data)
    | Map::LpmTrie(data)
    | Map::LruHashMap(data)
    | Map::PerCpuArray(data)
    | Map::PerCpuCgroupStorage(data)
    | Map::PerCpuHashMap(data)
    | Map::PerCpuLruHashMap(data)
    | Map::PerfEventArray(data)
    | Map::ProgramArray(data)
    | Map::Queue(data)
    | Map::ReusePortSockArray(data)
    | Map::RingBuf(data)
    | Map::SockHash(data)
    | Map::SockMap(data)
    | Map::SkStorage(data)
    | Map::Stack(data)
    | Map::StackTraceMap(data)
    | Map::Unsupported(data)
    | Map::XskMap(data)) = map;
    data.fd().as_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn prepare_fixture(relative: &str) -> Prepared {
        prepare(&std::fs::read(artifact(relative)).expect("read object")).expect("prepare")
    }

    #[test]
    fn map_slots_come_from_the_maps_relocations() {
        let prepared = prepare_fixture("bpf/conformance/array_of_maps.bpf.o");
        assert_eq!(
            prepared.slots,
            [Slot {
                map: "outer".into(),
                index: 0,
                target: SlotTarget::Map("inner_a".into())
            }]
        );
        assert!(prepared.elf.is_none(), "a map of maps needs no rewrite");
    }

    #[test]
    fn program_arrays_get_a_value_size_aya_reads() {
        let prepared = prepare_fixture("bpf/conformance/tail_calls.bpf.o");
        assert_eq!(
            prepared.slots,
            [Slot {
                map: "jump".into(),
                index: 1,
                target: SlotTarget::Program("tail_target".into())
            }]
        );
        let elf = prepared.elf.expect("rewritten BTF");
        let sections = Sections::read(&elf).expect("sections");
        let btf = sections.find(&elf, ".BTF").expect(".BTF");
        let layout = BtfLayout::read(&elf, &sections, btf).expect("layout");
        let view = MapBtf::read(&elf, &layout).expect("types");
        assert!(values_member(&view, "jump").is_none(), "`values` is gone");
        let (offset, size) = sections.data(&elf, btf).expect(".BTF data");
        let strings = &elf[offset + layout.strings..offset + size];
        assert!(
            strings.ends_with(b"\0value_size\0key_size\0"),
            "the member's new name"
        );
    }

    #[test]
    fn objects_without_initialized_maps_are_left_alone() {
        let prepared = prepare_fixture("bpf/conformance/hash_of_maps.bpf.o");
        assert!(prepared.slots.is_empty() && prepared.elf.is_none());
    }
}
