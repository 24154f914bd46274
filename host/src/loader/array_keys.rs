//! Array maps keyed by a 4-byte struct, which libbpf loads and aya 0.16
//! does not.
//!
//! The kernel takes only a 4-byte integer as the BTF key type of an array
//! map (`array_map_check_btf`), and refuses the map with `EINVAL` when the
//! object says `__type(key, struct hist_key_t)`, even when the struct is a
//! lone `u32`. libbpf retries the map without BTF; aya does not, so such an
//! object (`ebpf_exporter`'s `cgroup-rstat-flushing` example) failed here
//! with "failed to create map". Before aya sees the object, the `key` of
//! every such array map in `.maps` is pointed at the object's own 4-byte
//! `int`: the key size stays 4 and the kernel accepts the BTF.
//!
//! The `.BTF` section is copied to the end of the file with one pointer
//! type added after the others (type ids do not move, so `.BTF.ext` stays
//! valid) and its section header repointed; the old bytes stay,
//! unreferenced.

use super::rewrite::{BtfLayout, Sections, cstr, get_u32, put_u32, put_u64};

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_DATASEC: u32 = 15;
const KIND_TYPE_TAG: u32 = 18;

/// One BTF type: where it starts in the file, its kind, `vlen`, name and
/// size-or-type word.
#[derive(Debug, Clone, Copy)]
struct Type {
    at: usize,
    kind: u32,
    vlen: usize,
    name: u32,
    word: u32,
}

/// `elf` with the keys of array maps keyed by anything but a 4-byte
/// integer pointed at one; `None` when no map needs it, or when the BTF is
/// not laid out as expected (aya then reports what it finds).
pub fn int_array_keys(elf: &[u8]) -> Option<Vec<u8>> {
    let sections = Sections::read(elf)?;
    let btf = sections.find(elf, ".BTF")?;
    let layout = BtfLayout::read(elf, &sections, btf)?;
    let types = types(elf, &layout)?;
    let strings = layout.strings(elf);
    let get = |id: u32| types.get(usize::try_from(id).ok()?.checked_sub(1)?);
    let int = types.iter().position(|t| {
        t.kind == KIND_INT
            && t.word == 4
            && get_u32(elf, t.at + 12).is_some_and(|e| e & 0x00ff_00ff == 32)
    })?;
    let int = u32::try_from(int + 1).ok()?;
    // The file offsets of the `type` words of the `key` members to change.
    let mut keys = Vec::new();
    let maps = types
        .iter()
        .find(|t| t.kind == KIND_DATASEC && cstr(strings, t.name as usize) == Some(".maps"))?;
    for var in 0..maps.vlen {
        let var = get(get_u32(elf, maps.at + 12 + var * 12)?)?;
        let Some(def) = get(var.word).filter(|t| t.kind == KIND_STRUCT) else {
            continue;
        };
        let member = |name: &str| {
            (0..def.vlen)
                .map(|i| def.at + 12 + i * 12)
                .find(|&m| get_u32(elf, m).and_then(|n| cstr(strings, n as usize)) == Some(name))
        };
        let map_type = member("type")
            .and_then(|m| get(get_u32(elf, m + 4)?))
            .filter(|p| p.kind == KIND_PTR)
            .and_then(|p| get(p.word))
            .filter(|a| a.kind == KIND_ARRAY)
            .and_then(|a| get_u32(elf, a.at + 20));
        if !matches!(
            map_type,
            Some(BPF_MAP_TYPE_ARRAY | BPF_MAP_TYPE_PERCPU_ARRAY)
        ) {
            continue;
        }
        let Some(key) = member("key") else { continue };
        let Some(target) = get(get_u32(elf, key + 4)?)
            .filter(|p| p.kind == KIND_PTR)
            .and_then(|p| resolve(&get, p.word))
        else {
            continue;
        };
        if target.kind == KIND_STRUCT && target.word == 4 {
            keys.push(key + 4);
        }
    }
    if keys.is_empty() {
        return None;
    }
    let pointer = u32::try_from(types.len() + 1).ok()?;
    rewrite(elf, &sections, btf, &layout, int, pointer, &keys)
}

/// The type `id` names, through typedefs and qualifiers.
fn resolve<'t>(get: &impl Fn(u32) -> Option<&'t Type>, mut id: u32) -> Option<&'t Type> {
    for _ in 0..32 {
        let t = get(id)?;
        match t.kind {
            KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                id = t.word;
            }
            _ => return Some(t),
        }
    }
    None
}

/// Every type of the `.BTF` section, id 1 first.
fn types(elf: &[u8], layout: &BtfLayout) -> Option<Vec<Type>> {
    let start = layout.offset + layout.types;
    let end = start + layout.types_len;
    let mut at = start;
    let mut types = Vec::new();
    while at < end {
        let info = get_u32(elf, at + 4)?;
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let tail = match kind {
            1 | 14 | 17 => 4,             // INT, VAR, DECL_TAG
            2 | 7..=12 | 16 | 18 => 0,    // PTR, FWD, TYPEDEF, qualifiers, FUNC, FLOAT, TYPE_TAG
            3 => 12,                      // ARRAY
            4 | 5 | 15 | 19 => 12 * vlen, // STRUCT, UNION, DATASEC, ENUM64
            6 | 13 => 8 * vlen,           // ENUM, FUNC_PROTO
            _ => return None,
        };
        types.push(Type {
            at,
            kind,
            vlen,
            name: get_u32(elf, at)?,
            word: get_u32(elf, at + 8)?,
        });
        at += 12 + tail;
    }
    (at == end).then_some(types)
}

/// Copies `.BTF` to the end of the file with a pointer to `int` added as
/// type `pointer`, and the words at `keys` (file offsets in the original
/// section) set to it.
fn rewrite(
    elf: &[u8],
    sections: &Sections,
    btf: usize,
    layout: &BtfLayout,
    int: u32,
    pointer: u32,
    keys: &[usize],
) -> Option<Vec<u8>> {
    let mut out = elf.to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let new_offset = out.len();
    let types_end = layout.offset + layout.types + layout.types_len;
    out.extend_from_slice(&elf[layout.offset..types_end]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(KIND_PTR << 24).to_le_bytes());
    out.extend_from_slice(&int.to_le_bytes());
    out.extend_from_slice(&elf[types_end..layout.offset + layout.size]);
    let hdr_len = get_u32(elf, layout.offset + 4)? as usize;
    let added = 12u32;
    put_u32(
        &mut out,
        new_offset + 12,
        u32::try_from(layout.types_len).ok()? + added,
    );
    let str_off = get_u32(elf, layout.offset + 16)?;
    put_u32(&mut out, new_offset + 16, str_off + added);
    debug_assert!(layout.types >= hdr_len);
    for &key in keys {
        put_u32(&mut out, new_offset + (key - layout.offset), pointer);
    }
    let header = sections.header(btf);
    put_u64(&mut out, header + 24, new_offset as u64);
    put_u64(&mut out, header + 32, (layout.size + added as usize) as u64);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::elf::ElfInfo;
    use crate::testing::artifact;

    fn fixture(relative: &str) -> Vec<u8> {
        std::fs::read(artifact(relative)).expect("read fixture")
    }

    /// The kind and size of what the `key` member of map `name` points to.
    fn key_target(elf: &[u8], name: &str) -> (u32, u32) {
        let sections = Sections::read(elf).expect("sections");
        let layout = BtfLayout::read(elf, &sections, sections.find(elf, ".BTF").expect("btf"))
            .expect("layout");
        let types = types(elf, &layout).expect("types");
        let strings = layout.strings(elf);
        let get = |id: u32| types.get(id as usize - 1);
        let maps = types
            .iter()
            .find(|t| t.kind == KIND_DATASEC && cstr(strings, t.name as usize) == Some(".maps"))
            .expect(".maps");
        let var = (0..maps.vlen)
            .map(|i| get(get_u32(elf, maps.at + 12 + i * 12).expect("var")).expect("var type"))
            .find(|v| cstr(strings, v.name as usize) == Some(name))
            .expect("the map");
        let def = get(var.word).expect("def");
        let key = (0..def.vlen)
            .map(|i| def.at + 12 + i * 12)
            .find(|&m| cstr(strings, get_u32(elf, m).expect("name") as usize) == Some("key"))
            .expect("a key member");
        let pointer = get(get_u32(elf, key + 4).expect("type")).expect("pointer");
        assert_eq!(pointer.kind, KIND_PTR);
        let target = resolve(&get, pointer.word).expect("target");
        (target.kind, target.word)
    }

    #[test]
    fn struct_keys_of_arrays_become_int_and_the_object_still_parses() {
        let elf = fixture("bpf/fixtures/array_struct_key.bpf.o");
        for map in ["shared_slots", "percpu_slots"] {
            assert_eq!(key_target(&elf, map), (KIND_STRUCT, 4), "{map} before");
        }
        let fixed = int_array_keys(&elf).expect("both maps need it");
        for map in ["shared_slots", "percpu_slots"] {
            assert_eq!(key_target(&fixed, map), (KIND_INT, 4), "{map} after");
        }
        let info = ElfInfo::parse(&fixed).expect("the rewritten object parses");
        assert!(info.has_map("shared_slots") && info.has_map("percpu_slots"));
    }

    #[test]
    fn objects_without_such_maps_are_left_alone() {
        for object in [
            "bpf/fixtures/core_array.bpf.o",
            "bpf/ebpf-exporter/sleeps.bpf.o",
            "bpf/fixtures/xdp.bpf.o",
        ] {
            assert!(int_array_keys(&fixture(object)).is_none(), "{object}");
        }
    }
}
