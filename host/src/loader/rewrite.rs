//! Renaming program sections in an ELF object, so that aya accepts libbpf
//! spellings it does not know (`xdp/<ifname>`, `tc`, `tc/ingress`) while
//! users keep their C unchanged.
//!
//! A section is renamed in two places: its ELF section header, and the
//! `.BTF.ext` records (function and line info, CO-RE relocations) that refer
//! to it by name through the `.BTF` string table. New names may be longer
//! than old ones, so both string tables are copied to the end of the file
//! with the new names appended, and their section headers repointed. The
//! original bytes stay in place, unreferenced.

use super::error::ElfError;

pub(super) const SHDR_SIZE: usize = 64;
pub(super) const BTF_MAGIC: u16 = 0xeb9f;

/// Returns `elf` with each section named `old` renamed to `new`.
pub fn rename_sections(elf: &[u8], renames: &[(String, String)]) -> Result<Vec<u8>, ElfError> {
    let mut out = elf.to_vec();
    if renames.is_empty() {
        return Ok(out);
    }
    let bad = |reason| ElfError::Rewrite {
        section: renames[0].0.clone(),
        reason,
    };
    if elf.len() < 64 || elf[..4] != *b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err(bad("only 64-bit little-endian ELF objects are supported"));
    }
    let sections = Sections::read(elf).ok_or_else(|| bad("truncated section headers"))?;
    let shstrtab = sections.strtab_index;

    // ELF section names.
    let mut new_names = Vec::new();
    for (old, new) in renames {
        let indices: Vec<usize> = (0..sections.count)
            .filter(|&i| sections.name(elf, i) == Some(old.as_str()))
            .collect();
        new_names.push((new.as_str(), indices));
    }
    let names: Vec<&str> = new_names.iter().map(|(n, _)| *n).collect();
    let offsets = append_to_section(&mut out, &sections, shstrtab, &names)
        .ok_or_else(|| bad("section name table out of bounds"))?;
    for ((_, indices), offset) in new_names.iter().zip(offsets) {
        for &index in indices {
            put_u32(&mut out, sections.header(index), offset);
        }
    }

    // `.BTF.ext` section references, when the object has BTF.
    let btf = sections.find(elf, ".BTF");
    let ext = sections.find(elf, ".BTF.ext");
    if let (Some(btf), Some(ext)) = (btf, ext) {
        rename_in_btf_ext(&mut out, elf, &sections, btf, ext, renames)
            .ok_or_else(|| bad("unexpected .BTF/.BTF.ext layout"))?;
    }
    Ok(out)
}

/// The section header table of the original file.
pub(super) struct Sections {
    pub table: usize,
    pub count: usize,
    pub strtab_index: usize,
}

impl Sections {
    pub fn read(elf: &[u8]) -> Option<Self> {
        let table = usize::try_from(get_u64(elf, 0x28)?).ok()?;
        let entsize = usize::from(get_u16(elf, 0x3a)?);
        let count = usize::from(get_u16(elf, 0x3c)?);
        let strtab_index = usize::from(get_u16(elf, 0x3e)?);
        let end = table.checked_add(count.checked_mul(SHDR_SIZE)?)?;
        (entsize == SHDR_SIZE && end <= elf.len() && strtab_index < count).then_some(Self {
            table,
            count,
            strtab_index,
        })
    }

    /// The index of the section named `name`.
    pub fn find(&self, elf: &[u8], name: &str) -> Option<usize> {
        (0..self.count).find(|&i| self.name(elf, i) == Some(name))
    }

    pub fn header(&self, index: usize) -> usize {
        self.table + index * SHDR_SIZE
    }

    /// File range of a section's data.
    pub fn data(&self, elf: &[u8], index: usize) -> Option<(usize, usize)> {
        let header = self.header(index);
        let offset = usize::try_from(get_u64(elf, header + 24)?).ok()?;
        let size = usize::try_from(get_u64(elf, header + 32)?).ok()?;
        (offset.checked_add(size)? <= elf.len()).then_some((offset, size))
    }

    pub fn name<'e>(&self, elf: &'e [u8], index: usize) -> Option<&'e str> {
        let (strtab, size) = self.data(elf, self.strtab_index)?;
        let name = usize::try_from(get_u32(elf, self.header(index))?).ok()?;
        cstr(elf.get(strtab..strtab + size)?, name)
    }
}

/// Copies a section's data to the end of `out`, appends NUL-terminated
/// `strings`, repoints the section there, and returns each string's offset
/// within the section.
pub(super) fn append_to_section(
    out: &mut Vec<u8>,
    sections: &Sections,
    index: usize,
    strings: &[&str],
) -> Option<Vec<u32>> {
    let (offset, size) = sections.data(out, index)?;
    let data = out[offset..offset + size].to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let new_offset = out.len();
    out.extend_from_slice(&data);
    let mut offsets = Vec::new();
    for s in strings {
        offsets.push(u32::try_from(out.len() - new_offset).ok()?);
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let header = sections.header(index);
    put_u64(out, header + 24, new_offset as u64);
    let new_size = (out.len() - new_offset) as u64;
    put_u64(out, header + 32, new_size);
    Some(offsets)
}

/// Points `.BTF.ext` records of renamed sections at new `.BTF` strings.
fn rename_in_btf_ext(
    out: &mut Vec<u8>,
    elf: &[u8],
    sections: &Sections,
    btf: usize,
    ext: usize,
    renames: &[(String, String)],
) -> Option<()> {
    let layout = BtfLayout::read(elf, sections, btf)?;
    let (ext_off, ext_size) = sections.data(elf, ext)?;
    let records = btf_ext_section_refs(&elf[ext_off..ext_off + ext_size])?;
    let new: Vec<&str> = renames.iter().map(|(_, n)| n.as_str()).collect();
    let (appended, _) = append_btf_strings(out, sections, btf, &layout, &new)?;
    for position in records {
        let name_off = usize::try_from(get_u32(elf, ext_off + position)?).ok()?;
        let name = cstr(layout.strings(elf), name_off)?;
        if let Some(i) = renames.iter().position(|(old, _)| old == name) {
            put_u32(out, ext_off + position, appended[i]);
        }
    }
    Some(())
}

/// Where a `.BTF` section's parts are in the original file.
pub(super) struct BtfLayout {
    /// File offset of the section.
    pub offset: usize,
    pub size: usize,
    /// Offsets within the section of the type and string areas.
    pub types: usize,
    pub types_len: usize,
    pub strings: usize,
    pub strings_len: usize,
}

impl BtfLayout {
    /// Reads the header; requires the strings to come last (as clang and
    /// libbpf write them), so that strings can be appended.
    pub fn read(elf: &[u8], sections: &Sections, btf: usize) -> Option<Self> {
        let (offset, size) = sections.data(elf, btf)?;
        let data = &elf[offset..offset + size];
        if get_u16(data, 0)? != BTF_MAGIC {
            return None;
        }
        let hdr_len = usize::try_from(get_u32(data, 4)?).ok()?;
        let field = |at| usize::try_from(get_u32(data, at)?).ok();
        let layout = Self {
            offset,
            size,
            types: hdr_len + field(8)?,
            types_len: field(12)?,
            strings: hdr_len + field(16)?,
            strings_len: field(20)?,
        };
        (layout.strings + layout.strings_len == size && layout.types + layout.types_len <= size)
            .then_some(layout)
    }

    /// The string area, in the original file.
    pub fn strings<'e>(&self, elf: &'e [u8]) -> &'e [u8] {
        &elf[self.offset + self.strings..self.offset + self.size]
    }
}

/// Copies `.BTF` to the end of `out` with `names` appended to its strings.
/// Returns each name's string offset and the section's new file offset.
pub(super) fn append_btf_strings(
    out: &mut Vec<u8>,
    sections: &Sections,
    btf: usize,
    layout: &BtfLayout,
    names: &[&str],
) -> Option<(Vec<u32>, usize)> {
    let appended = append_to_section(out, sections, btf, names)?;
    let (new_offset, new_size) = sections.data(out, btf)?;
    let strings_len = u32::try_from(new_size - layout.strings).ok()?;
    put_u32(out, new_offset + 20, strings_len);
    // `appended` is relative to the section; string offsets to the strings.
    let base = u32::try_from(layout.strings).ok()?;
    Some((appended.iter().map(|a| a - base).collect(), new_offset))
}

/// Offsets (within `.BTF.ext`) of every `sec_name_off` field.
fn btf_ext_section_refs(ext: &[u8]) -> Option<Vec<usize>> {
    if get_u16(ext, 0)? != BTF_MAGIC {
        return None;
    }
    let hdr_len = usize::try_from(get_u32(ext, 4)?).ok()?;
    // func_info, line_info, and (newer headers) core_relo: (off, len) pairs.
    let pairs = if hdr_len >= 32 { 3 } else { 2 };
    let mut refs = Vec::new();
    for pair in 0..pairs {
        let off = hdr_len + usize::try_from(get_u32(ext, 8 + pair * 8)?).ok()?;
        let len = usize::try_from(get_u32(ext, 12 + pair * 8)?).ok()?;
        if len == 0 {
            continue;
        }
        let end = off.checked_add(len)?;
        if end > ext.len() {
            return None;
        }
        let rec_size = usize::try_from(get_u32(ext, off)?).ok()?;
        let mut at = off + 4;
        while at < end {
            refs.push(at);
            let num = usize::try_from(get_u32(ext, at + 4)?).ok()?;
            at = at.checked_add(8 + num.checked_mul(rec_size)?)?;
        }
    }
    Some(refs)
}

/// The kind of the BTF type at `at`.
pub(super) fn kind(btf: &[u8], at: usize) -> Option<u32> {
    Some((get_u32(btf, at + 4)? >> 24) & 0x1f)
}

/// Positions (within `.BTF`) of type ids 1, 2, ...
pub(super) fn type_positions(btf: &[u8], layout: &BtfLayout) -> Option<Vec<usize>> {
    let mut positions = Vec::new();
    let mut at = layout.types;
    let end = layout.types + layout.types_len;
    while at < end {
        positions.push(at);
        let info = get_u32(btf, at + 4)?;
        let vlen = (info & 0xffff) as usize;
        let extra = match (info >> 24) & 0x1f {
            1 | 14 | 17 => 4,              // int, var, decl_tag
            3 => 12,                       // array
            4 | 5 | 15 | 19 => vlen * 12,  // struct, union, datasec, enum64
            6 | 13 => vlen * 8,            // enum, func_proto
            0 | 2 | 7..=12 | 16 | 18 => 0, // void, ptr, fwd, modifiers, func, float, type_tag
            _ => return None,
        };
        at += 12 + extra;
    }
    Some(positions)
}

pub(super) fn cstr(table: &[u8], offset: usize) -> Option<&str> {
    let bytes = table.get(offset..)?;
    let end = bytes.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&bytes[..end]).ok()
}

pub(super) fn get_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

pub(super) fn put_u32(b: &mut [u8], at: usize, value: u32) {
    b[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub(super) fn put_u64(b: &mut [u8], at: usize, value: u64) {
    b[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::elf::ElfInfo;
    use crate::testing::artifact;

    fn fixture(relative: &str) -> Vec<u8> {
        std::fs::read(artifact(relative)).expect("read fixture")
    }

    fn rename(elf: &[u8], old: &str, new: &str) -> Vec<u8> {
        rename_sections(elf, &[(old.to_owned(), new.to_owned())]).expect("rename")
    }

    #[test]
    fn renamed_sections_keep_their_programs() {
        let elf = fixture("bpf/fixtures/tc.bpf.o");
        let mut out = elf.clone();
        for old in ["tc/ingress", "tc/egress", "tc"] {
            out = rename(&out, old, "classifier");
        }
        let info = ElfInfo::parse(&out).expect("parse rewritten");
        assert!(info.programs.iter().all(|p| p.section == "classifier"));
        assert_eq!(info.programs.len(), 4);
    }

    #[test]
    fn btf_ext_follows_the_rename() {
        let elf = fixture("bpf/fixtures/xdp_ifname.bpf.o");
        let out = rename(&elf, "xdp/bhxdp0", "xdp");
        let sections = Sections::read(&out).expect("sections");
        let find = |name| {
            (0..sections.count)
                .find(|&i| sections.name(&out, i) == Some(name))
                .expect(name)
        };
        let (btf_off, btf_size) = sections.data(&out, find(".BTF")).expect("btf");
        let btf = &out[btf_off..btf_off + btf_size];
        let str_off =
            get_u32(btf, 4).expect("hdr") as usize + get_u32(btf, 16).expect("off") as usize;
        let (ext_off, ext_size) = sections.data(&out, find(".BTF.ext")).expect("ext");
        let ext = &out[ext_off..ext_off + ext_size];
        let refs = btf_ext_section_refs(ext).expect("refs");
        assert!(!refs.is_empty(), "the fixture has .BTF.ext records");
        for at in refs {
            let name = cstr(&btf[str_off..], get_u32(ext, at).expect("ref") as usize);
            assert_eq!(name, Some("xdp"));
        }
    }

    #[test]
    fn no_renames_is_the_identity() {
        let elf = fixture("bpf/fixtures/socket.bpf.o");
        assert_eq!(rename_sections(&elf, &[]).expect("identity"), elf);
    }
}
