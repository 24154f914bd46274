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
use super::rewrite::{BtfLayout, Sections, cstr, get_u32, kind, put_u32, put_u64, type_positions};

const BTF_KIND_PTR: u32 = 2;
const BTF_KIND_ARRAY: u32 = 3;
const BTF_KIND_STRUCT: u32 = 4;
const BTF_KIND_VAR: u32 = 14;
const BTF_KIND_FUNC_PROTO: u32 = 13;
/// Typedef, volatile, const, restrict and `type_tag`: looked through.
const MODIFIERS: [u32; 5] = [8, 9, 10, 11, 18];

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
    /// Position (within `.BTF`) of the map definition's struct type.
    definition_at: usize,
    /// Position (within `.BTF`) of the member record.
    member_at: usize,
    /// The `key` member (`__type(key, ...)`), when the key is typed.
    key_at: Option<usize>,
    /// Elements are programs (a function prototype), not maps.
    programs: bool,
    /// The array's index type, an integer, reused for the rewrite.
    index_type: u32,
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

    let mut slots = Vec::new();
    let mut program_arrays: Vec<Values> = Vec::new();
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
        let values = values_member(elf, &layout, &outer_name).ok_or(bad(
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
        if values.programs
            && !program_arrays
                .iter()
                .any(|v| v.member_at == values.member_at)
        {
            program_arrays.push(values);
        }
        slots.push(Slot {
            map: outer_name,
            index: slot,
            target,
        });
    }
    let elf = if program_arrays.is_empty() {
        None
    } else {
        Some(
            as_value_size(elf, &sections, btf, &layout, &program_arrays)
                .ok_or(bad("unexpected .BTF layout"))?,
        )
    };
    Ok(Prepared { slots, elf })
}

/// The `values` member of the map definition named `map`.
fn values_member(elf: &[u8], layout: &BtfLayout, map: &str) -> Option<Values> {
    let btf = &elf[layout.offset..layout.offset + layout.size];
    let strings = layout.strings(elf);
    let types = type_positions(btf, layout)?;
    let at = |id: u32| {
        types
            .get(usize::try_from(id).ok()?.checked_sub(1)?)
            .copied()
    };
    let resolve = |mut id: u32| {
        for _ in 0..16 {
            let pos = at(id)?;
            if !MODIFIERS.contains(&kind(btf, pos)?) {
                return Some(pos);
            }
            id = get_u32(btf, pos + 8)?;
        }
        None
    };
    let var = types.iter().copied().find(|&pos| {
        kind(btf, pos) == Some(BTF_KIND_VAR)
            && get_u32(btf, pos).and_then(|n| cstr(strings, n as usize)) == Some(map)
    })?;
    let definition = resolve(get_u32(btf, var + 8)?)?;
    if kind(btf, definition)? != BTF_KIND_STRUCT {
        return None;
    }
    let info = get_u32(btf, definition + 4)?;
    let bitfields = info >> 31 == 1;
    let members: Vec<usize> = (0..(info & 0xffff) as usize)
        .map(|i| definition + 12 + i * 12)
        .collect();
    let named = |name| {
        members
            .iter()
            .copied()
            .find(|&m| get_u32(btf, m).and_then(|n| cstr(strings, n as usize)) == Some(name))
    };
    let member = named("values")?;
    let bits = get_u32(btf, member + 8)?;
    let bits = if bitfields { bits & 0x00ff_ffff } else { bits };
    let array = resolve(get_u32(btf, member + 4)?)?;
    if kind(btf, array)? != BTF_KIND_ARRAY {
        return None;
    }
    let pointer = resolve(get_u32(btf, array + 12)?)?;
    if kind(btf, pointer)? != BTF_KIND_PTR {
        return None;
    }
    let element = resolve(get_u32(btf, pointer + 8)?)?;
    Some(Values {
        offset: u64::from(bits / 8),
        definition_at: definition,
        member_at: member,
        key_at: named("key"),
        programs: kind(btf, element)? == BTF_KIND_FUNC_PROTO,
        index_type: get_u32(btf, array + 16)?,
    })
}

/// Copies `.BTF` to the end of the file with each program array's `values`
/// member turned into `value_size` of 4 (a pointer to a 4-element array, the
/// shape of `__uint(value_size, 4)`), two types and two strings added. A
/// typed `key` becomes `key_size` 4 too: the kernel refuses a map whose key
/// has a BTF type and whose value has none.
fn as_value_size(
    elf: &[u8],
    sections: &Sections,
    btf: usize,
    layout: &BtfLayout,
    members: &[Values],
) -> Option<Vec<u8>> {
    let data = &elf[layout.offset..layout.offset + layout.size];
    let header = layout.types;
    if get_u32(data, 8)? != 0 || layout.strings != layout.types + layout.types_len {
        return None; // types first, strings right after: as clang writes it
    }
    let count = u32::try_from(type_positions(data, layout)?.len()).ok()?;
    let (array_id, pointer_id) = (count + 1, count + 2);
    let mut added = Vec::with_capacity(36);
    for word in [
        0,
        BTF_KIND_ARRAY << 24,
        0,
        members[0].index_type,
        members[0].index_type,
        4,
        0,
        BTF_KIND_PTR << 24,
        array_id,
    ] {
        added.extend_from_slice(&word.to_le_bytes());
    }
    let name = u32::try_from(layout.strings_len).ok()?;
    let mut new = Vec::with_capacity(data.len() + 48);
    new.extend_from_slice(&data[..layout.strings]);
    new.extend_from_slice(&added);
    new.extend_from_slice(&data[layout.strings..]);
    new.extend_from_slice(b"value_size\0key_size\0");
    let grown = u32::try_from(added.len()).ok()?;
    put_u32(&mut new, 12, u32::try_from(layout.types_len).ok()? + grown);
    put_u32(&mut new, 16, get_u32(data, 16)? + grown);
    put_u32(&mut new, 20, name + 20);
    // Member records sit in the types, which moved by nothing. `values`
    // ends the struct with no size; a pointer there needs 8 more bytes (the
    // variable has them: it holds at least one initialized slot).
    for member in members {
        let size = get_u32(&new, member.definition_at + 8)?;
        put_u32(&mut new, member.definition_at + 8, size + 8);
        put_u32(&mut new, member.member_at, name);
        put_u32(&mut new, member.member_at + 4, pointer_id);
        if let Some(key) = member.key_at {
            put_u32(&mut new, key, name + 11);
            put_u32(&mut new, key + 4, pointer_id);
        }
    }
    debug_assert!(header <= layout.strings);

    let mut out = elf.to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let offset = out.len();
    out.extend_from_slice(&new);
    let section = sections.header(btf);
    put_u64(&mut out, section + 24, offset as u64);
    put_u64(&mut out, section + 32, new.len() as u64);
    Some(out)
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
fn map_fd(map: &Map) -> std::os::fd::BorrowedFd<'_> {
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
        assert!(
            values_member(&elf, &layout, "jump").is_none(),
            "`values` is gone"
        );
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
