//! The BTF of map definitions (`struct { __uint(type, ...); ... } m
//! SEC(".maps")`): reading a map's members, and rewriting a member into the
//! plain size libbpf ends up using when aya or the kernel would refuse the
//! typed form.
//!
//! An array whose key is not a 32-bit integer (`__type(key, struct
//! hist_key_t)`, the histograms of `ebpf_exporter`) is one: the kernel refuses its
//! BTF, libbpf retries creating it without BTF, aya does not retry. Such a
//! map's `key` and `value` become `key_size` and `value_size` here, which is
//! the map libbpf creates.

use super::rewrite::{
    BtfLayout, Sections, btf_kind, cstr, get_u32, put_u32, put_u64, type_positions,
};

pub(super) const BTF_KIND_INT: u32 = 1;
pub(super) const BTF_KIND_PTR: u32 = 2;
pub(super) const BTF_KIND_ARRAY: u32 = 3;
const BTF_KIND_STRUCT: u32 = 4;
pub(super) const BTF_KIND_FUNC_PROTO: u32 = 13;
const BTF_KIND_VAR: u32 = 14;
/// Typedef, volatile, const, restrict and `type_tag`: looked through.
const MODIFIERS: [u32; 5] = [8, 9, 10, 11, 18];
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;

/// The types of an object's `.BTF`.
pub(super) struct MapBtf<'e> {
    btf: &'e [u8],
    strings: &'e [u8],
    types: Vec<usize>,
}

/// One member of a map definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct Member<'e> {
    pub name: &'e str,
    /// Position (within `.BTF`) of the member record.
    pub at: usize,
    pub type_id: u32,
    /// Byte offset in the definition.
    pub offset: u64,
}

/// A map definition's struct type.
#[derive(Debug, Clone)]
pub(super) struct Definition<'e> {
    /// Position (within `.BTF`) of the struct type.
    pub at: usize,
    pub members: Vec<Member<'e>>,
}

impl<'e> Definition<'e> {
    pub fn member(&self, name: &str) -> Option<Member<'e>> {
        self.members.iter().copied().find(|m| m.name == name)
    }
}

impl<'e> MapBtf<'e> {
    pub fn read(elf: &'e [u8], layout: &BtfLayout) -> Option<Self> {
        let btf = &elf[layout.offset..layout.offset + layout.size];
        Some(Self {
            btf,
            strings: layout.strings(elf),
            types: type_positions(btf, layout)?,
        })
    }

    /// Kind of the type at a position.
    pub fn kind(&self, at: usize) -> Option<u32> {
        btf_kind(self.btf, at)
    }

    /// The `n`th 32-bit word of the type at `at` (0: name, 1: info, 2:
    /// size or type, 3...: what follows).
    pub fn word(&self, at: usize, n: usize) -> Option<u32> {
        get_u32(self.btf, at + 4 * n)
    }

    /// Position of type `id`, modifiers and typedefs looked through.
    pub fn resolve(&self, mut id: u32) -> Option<usize> {
        for _ in 0..16 {
            let at = *self.types.get(usize::try_from(id).ok()?.checked_sub(1)?)?;
            if !MODIFIERS.contains(&self.kind(at)?) {
                return Some(at);
            }
            id = self.word(at, 2)?;
        }
        None
    }

    /// Size in bytes of type `id`.
    pub fn size(&self, id: u32) -> Option<u32> {
        let at = self.resolve(id)?;
        match self.kind(at)? {
            BTF_KIND_PTR => Some(8),
            BTF_KIND_ARRAY => self.size(self.word(at, 3)?)?.checked_mul(self.word(at, 5)?),
            1 | 4 | 5 | 6 | 16 | 19 => self.word(at, 2), // int, struct, union, enum, float, enum64
            _ => None,
        }
    }

    /// `N` of a `__uint(name, N)` member: a pointer to an array of N.
    pub fn uint(&self, member: Member<'_>) -> Option<u32> {
        let pointer = self.resolve(member.type_id)?;
        (self.kind(pointer)? == BTF_KIND_PTR).then_some(())?;
        let array = self.resolve(self.word(pointer, 2)?)?;
        (self.kind(array)? == BTF_KIND_ARRAY).then_some(())?;
        self.word(array, 5)
    }

    /// The definition of the map named `map`.
    pub fn definition(&self, map: &str) -> Option<Definition<'e>> {
        let var = self.types.iter().copied().find(|&at| {
            self.kind(at) == Some(BTF_KIND_VAR)
                && self
                    .word(at, 0)
                    .and_then(|n| cstr(self.strings, n as usize))
                    == Some(map)
        })?;
        let at = self.resolve(self.word(var, 2)?)?;
        (self.kind(at)? == BTF_KIND_STRUCT).then_some(())?;
        let info = self.word(at, 1)?;
        let bitfields = info >> 31 == 1;
        let mut members = Vec::new();
        for i in 0..(info & 0xffff) as usize {
            let member = at + 12 + i * 12;
            let bits = get_u32(self.btf, member + 8)?;
            let bits = if bitfields { bits & 0x00ff_ffff } else { bits };
            members.push(Member {
                name: cstr(self.strings, get_u32(self.btf, member)? as usize)?,
                at: member,
                type_id: get_u32(self.btf, member + 4)?,
                offset: u64::from(bits / 8),
            });
        }
        Some(Definition { at, members })
    }
}

/// Turns one member into `name` (`key_size`/`value_size`) of `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Edit {
    pub member_at: usize,
    pub name: &'static str,
    pub size: u32,
    /// The definition's struct, and how many bytes it must grow by to hold
    /// a pointer where the member had none (`values`).
    pub definition_at: usize,
    pub grow: u32,
}

/// Copies `.BTF` to the end of the ELF with `edits` made: each member
/// becomes a pointer to a new array of `size` integers (the shape of
/// `__uint(name, size)`), under a new name. Types and strings are
/// appended, so no existing type id or string offset moves.
pub(super) fn to_sizes(
    elf: &[u8],
    sections: &Sections,
    btf_index: usize,
    layout: &BtfLayout,
    edits: &[Edit],
) -> Option<Vec<u8>> {
    let data = &elf[layout.offset..layout.offset + layout.size];
    if get_u32(data, 8)? != 0 || layout.strings != layout.types + layout.types_len {
        return None; // types first, strings right after: as clang writes it
    }
    let view = MapBtf::read(elf, layout)?;
    // An integer for the new arrays' elements and index: any 4-byte int.
    let int = (1..=u32::try_from(view.types.len()).ok()?).find(|&id| {
        view.resolve(id)
            .is_some_and(|at| view.kind(at) == Some(BTF_KIND_INT) && view.word(at, 2) == Some(4))
    })?;
    let mut next_id = u32::try_from(view.types.len()).ok()? + 1;
    let mut added: Vec<u32> = Vec::new();
    let mut pointers: Vec<(u32, u32)> = Vec::new(); // (size, pointer id)
    for edit in edits {
        if pointers.iter().all(|(size, _)| *size != edit.size) {
            added.extend([0, BTF_KIND_ARRAY << 24, 0, int, int, edit.size]);
            added.extend([0, BTF_KIND_PTR << 24, next_id]);
            pointers.push((edit.size, next_id + 1));
            next_id += 2;
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for edit in edits {
        if !names.contains(&edit.name) {
            names.push(edit.name);
        }
    }
    let added: Vec<u8> = added.iter().flat_map(|w| w.to_le_bytes()).collect();
    let grown = u32::try_from(added.len()).ok()?;
    let mut new = Vec::with_capacity(data.len() + added.len() + 32);
    new.extend_from_slice(&data[..layout.strings]);
    new.extend_from_slice(&added);
    new.extend_from_slice(&data[layout.strings..]);
    let mut name_offsets = Vec::new();
    for name in &names {
        name_offsets.push(u32::try_from(new.len() - layout.strings - added.len()).ok()?);
        new.extend_from_slice(name.as_bytes());
        new.push(0);
    }
    let strings_len = u32::try_from(new.len() - layout.strings - added.len()).ok()?;
    put_u32(&mut new, 12, u32::try_from(layout.types_len).ok()? + grown);
    put_u32(&mut new, 16, get_u32(data, 16)? + grown);
    put_u32(&mut new, 20, strings_len);
    // Type records did not move: the types come first.
    let mut grown_definitions = Vec::new();
    for edit in edits {
        let name = name_offsets[names.iter().position(|n| *n == edit.name)?];
        let pointer = pointers.iter().find(|(s, _)| *s == edit.size)?.1;
        put_u32(&mut new, edit.member_at, name);
        put_u32(&mut new, edit.member_at + 4, pointer);
        if edit.grow > 0 && !grown_definitions.contains(&edit.definition_at) {
            let size = get_u32(&new, edit.definition_at + 8)?;
            put_u32(&mut new, edit.definition_at + 8, size + edit.grow);
            grown_definitions.push(edit.definition_at);
        }
    }

    let mut out = elf.to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let offset = out.len();
    out.extend_from_slice(&new);
    let header = sections.header(btf_index);
    put_u64(&mut out, header + 24, offset as u64);
    put_u64(&mut out, header + 32, new.len() as u64);
    Some(out)
}

/// Rewrites the arrays whose key the kernel refuses in BTF (anything but a
/// 32-bit integer) to plain sizes, as libbpf's retry without BTF creates
/// them; `None` when there are none (or the object has no BTF to rewrite).
pub(super) fn untype_array_keys(elf: &[u8], maps: &[String]) -> Option<Vec<u8>> {
    let sections = Sections::read(elf)?;
    let btf_index = sections.find(elf, ".BTF")?;
    let layout = BtfLayout::read(elf, &sections, btf_index)?;
    let view = MapBtf::read(elf, &layout)?;
    let mut edits = Vec::new();
    for map in maps {
        let Some(definition) = view.definition(map) else {
            continue;
        };
        let map_type = definition.member("type").and_then(|m| view.uint(m));
        if !matches!(
            map_type,
            Some(BPF_MAP_TYPE_ARRAY | BPF_MAP_TYPE_PERCPU_ARRAY)
        ) {
            continue;
        }
        let (Some(key), Some(value)) = (definition.member("key"), definition.member("value"))
        else {
            continue;
        };
        let pointee = |m: Member<'_>| {
            let pointer = view.resolve(m.type_id)?;
            (view.kind(pointer)? == BTF_KIND_PTR).then(|| view.word(pointer, 2))?
        };
        let (Some(key_type), Some(value_type)) = (pointee(key), pointee(value)) else {
            continue;
        };
        let i32_key = view
            .resolve(key_type)
            .is_some_and(|at| view.kind(at) == Some(BTF_KIND_INT) && view.word(at, 2) == Some(4));
        if i32_key {
            continue;
        }
        for (member, name, ty) in [
            (key, "key_size", key_type),
            (value, "value_size", value_type),
        ] {
            edits.push(Edit {
                member_at: member.at,
                name,
                size: view.size(ty)?,
                definition_at: definition.at,
                grow: 0,
            });
        }
    }
    if edits.is_empty() {
        return None;
    }
    to_sizes(elf, &sections, btf_index, &layout, &edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn read(relative: &str) -> Vec<u8> {
        std::fs::read(artifact(relative)).expect("read object")
    }

    fn definition_sizes(elf: &[u8], map: &str) -> Vec<(String, Option<u32>)> {
        let sections = Sections::read(elf).expect("sections");
        let btf = sections.find(elf, ".BTF").expect(".BTF");
        let layout = BtfLayout::read(elf, &sections, btf).expect("layout");
        let view = MapBtf::read(elf, &layout).expect("types");
        let definition = view.definition(map).expect("definition");
        definition
            .members
            .iter()
            .map(|m| (m.name.to_owned(), view.uint(*m)))
            .collect()
    }

    #[test]
    fn a_struct_keyed_array_gets_plain_sizes() {
        let elf = read("bpf/conformance/array_struct_key.bpf.o");
        let maps = ["buckets".to_owned()];
        let out = untype_array_keys(&elf, &maps).expect("rewritten");
        assert_eq!(
            definition_sizes(&out, "buckets"),
            [
                ("type".to_owned(), Some(BPF_MAP_TYPE_PERCPU_ARRAY)),
                ("max_entries".to_owned(), Some(4)),
                ("key_size".to_owned(), Some(4)),
                ("value_size".to_owned(), Some(8)),
            ]
        );
    }

    #[test]
    fn integer_keyed_arrays_and_hashes_are_left_alone() {
        let elf = read("bpf/conformance/percpu_array.bpf.o");
        let maps = ["hist".to_owned(), "heap".to_owned()];
        assert!(untype_array_keys(&elf, &maps).is_none());
        let elf = read("bpf/conformance/lru_hash.bpf.o");
        assert!(untype_array_keys(&elf, &["calls".to_owned()]).is_none());
    }
}
