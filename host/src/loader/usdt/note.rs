//! The probes of a binary, from its `.note.stapsdt` ELF notes
//! (`<sys/sdt.h>`): provider, name, argument string, and the file offsets
//! of the probe site and of its semaphore.

use std::path::Path;

use object::elf::{PF_X, PT_LOAD};
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection};

use super::error::UsdtError;

const NOTE_SECTION: &str = ".note.stapsdt";
const NOTE_NAME: &[u8] = b"stapsdt";
const NOTE_TYPE: u32 = 3;
/// Its address is what the notes' `base` field was when they were written;
/// a prelinked binary moved since, and its probes with it.
const BASE_SECTION: &str = ".stapsdt.base";

/// One probe site of a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub provider: String,
    pub name: String,
    /// Argument specifications, e.g. `-4@%edi 8@-16(%rbp)`.
    pub args: String,
    /// File offset of the probe's instruction, as uprobes take it.
    pub offset: u64,
    /// File offset of the semaphore (in `.probes`), 0 when it has none.
    pub semaphore_offset: u64,
}

/// The probes of an ELF file and the machine it is for.
#[derive(Debug)]
pub struct Probes {
    pub machine: u16,
    pub probes: Vec<Probe>,
}

/// An address range of the file: a loadable segment.
struct Segment {
    vaddr: u64,
    size: u64,
    offset: u64,
    executable: bool,
}

/// Reads every `.note.stapsdt` probe of `elf`; `path` is for messages.
pub fn read(path: &Path, elf: &[u8]) -> Result<Probes, UsdtError> {
    let file = ElfFile64::<Endianness>::parse(elf).map_err(|source| UsdtError::NotElf {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| UsdtError::BadNote {
        path: path.to_owned(),
        reason,
    };
    let endian = file.endian();
    let header = file.elf_header();
    let segments = segments(&file);
    let base = file.section_by_name(BASE_SECTION).map(|s| s.address());
    let mut probes = Vec::new();
    for section in file.sections().filter(|s| s.name() == Ok(NOTE_SECTION)) {
        let section_header = section.elf_section_header();
        let Some(mut notes) = section_header
            .notes(endian, elf)
            .map_err(|e| bad(e.to_string()))?
        else {
            continue;
        };
        while let Some(note) = notes.next().map_err(|e| bad(e.to_string()))? {
            if note.name() != NOTE_NAME || note.n_type(endian) != NOTE_TYPE {
                continue;
            }
            let big_endian = !endian_is_little(endian);
            let raw = parse_desc(note.desc(), big_endian).map_err(|r| bad(r.to_owned()))?;
            probes.push(place(raw, base, &segments).map_err(bad)?);
        }
    }
    Ok(Probes {
        machine: header.e_machine(endian),
        probes,
    })
}

fn endian_is_little(endian: Endianness) -> bool {
    endian == Endianness::Little
}

fn segments(file: &ElfFile64<'_, Endianness>) -> Vec<Segment> {
    let endian = file.endian();
    file.elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type(endian) == PT_LOAD)
        .map(|ph| Segment {
            vaddr: ph.p_vaddr(endian),
            size: ph.p_memsz(endian),
            offset: ph.p_offset(endian),
            executable: ph.p_flags(endian) & PF_X != 0,
        })
        .collect()
}

/// A note's descriptor as written: three addresses, then three strings.
#[derive(Debug, PartialEq, Eq)]
struct RawNote {
    pc: u64,
    base: u64,
    semaphore: u64,
    provider: String,
    name: String,
    args: String,
}

fn parse_desc(desc: &[u8], big_endian: bool) -> Result<RawNote, &'static str> {
    let word = |i: usize| -> Result<u64, &'static str> {
        let bytes: [u8; 8] = desc
            .get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or("descriptor shorter than three addresses")?;
        Ok(if big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    };
    let (pc, base, semaphore) = (word(0)?, word(1)?, word(2)?);
    let mut strings = desc[24..].split(|&b| b == 0);
    let mut next = |what| -> Result<String, &'static str> {
        let bytes = strings.next().ok_or(what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a string is not UTF-8")
    };
    let provider = next("no provider")?;
    let name = next("no probe name")?;
    let args = next("no argument string")?;
    if provider.is_empty() || name.is_empty() {
        return Err("empty provider or probe name");
    }
    Ok(RawNote {
        pc,
        base,
        semaphore,
        provider,
        name,
        args,
    })
}

/// Turns a note's addresses into file offsets: adjusted first for prelink
/// (`.stapsdt.base` moved), then through the segment that holds them.
fn place(raw: RawNote, base: Option<u64>, segments: &[Segment]) -> Result<Probe, String> {
    let shift = |addr: u64| match base {
        Some(base) if raw.base != 0 => addr.wrapping_add(base).wrapping_sub(raw.base),
        _ => addr,
    };
    let pc = shift(raw.pc);
    let offset = segments
        .iter()
        .find(|s| s.executable && (s.vaddr..s.vaddr + s.size).contains(&pc))
        .map(|s| pc - s.vaddr + s.offset)
        .ok_or_else(|| {
            format!(
                "probe {}:{} at {pc:#x} is in no executable segment",
                raw.provider, raw.name
            )
        })?;
    let semaphore_offset = match raw.semaphore {
        0 => 0,
        semaphore => {
            let semaphore = shift(semaphore);
            segments
                .iter()
                .find(|s| (s.vaddr..s.vaddr + s.size).contains(&semaphore))
                .map(|s| semaphore - s.vaddr + s.offset)
                .ok_or_else(|| {
                    format!(
                        "semaphore of {}:{} at {semaphore:#x} is in no segment",
                        raw.provider, raw.name
                    )
                })?
        }
    };
    Ok(Probe {
        provider: raw.provider,
        name: raw.name,
        args: raw.args,
        offset,
        semaphore_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(pc: u64, base: u64, sema: u64, strings: &str) -> Vec<u8> {
        let mut d = Vec::new();
        for w in [pc, base, sema] {
            d.extend_from_slice(&w.to_le_bytes());
        }
        d.extend_from_slice(strings.as_bytes());
        d
    }

    fn text_and_data() -> Vec<Segment> {
        vec![
            Segment {
                vaddr: 0x40_0000,
                size: 0x1000,
                offset: 0,
                executable: false,
            },
            Segment {
                vaddr: 0x40_1000,
                size: 0x2000,
                offset: 0x1000,
                executable: true,
            },
            Segment {
                vaddr: 0x60_3000,
                size: 0x1000,
                offset: 0x3000,
                executable: false,
            },
        ]
    }

    #[test]
    fn a_note_gives_provider_name_arguments_and_addresses() {
        let raw = parse_desc(
            &desc(
                0x40_1234,
                0x40_2000,
                0x60_3010,
                "python\0function__entry\08@%rbp 8@%r12 -4@%eax\0",
            ),
            false,
        )
        .expect("parse");
        assert_eq!(
            raw,
            RawNote {
                pc: 0x40_1234,
                base: 0x40_2000,
                semaphore: 0x60_3010,
                provider: "python".into(),
                name: "function__entry".into(),
                args: "8@%rbp 8@%r12 -4@%eax".into(),
            }
        );
        // Probes without arguments have an empty string.
        let bare = parse_desc(&desc(1, 0, 0, "p\0n\0\0"), false).expect("parse");
        assert_eq!(bare.args, "");
    }

    #[test]
    fn malformed_notes_are_refused() {
        assert!(parse_desc(&[0; 16], false).is_err());
        assert!(parse_desc(&desc(1, 0, 0, "p\0"), false).is_err());
        assert!(parse_desc(&desc(1, 0, 0, "\0n\0\0"), false).is_err());
    }

    #[test]
    fn addresses_become_file_offsets_through_their_segments() {
        let raw = parse_desc(&desc(0x40_1234, 0, 0x60_3010, "p\0n\0\0"), false).expect("parse");
        let probe = place(raw, None, &text_and_data()).expect("place");
        assert_eq!(probe.offset, 0x1234);
        assert_eq!(probe.semaphore_offset, 0x3010);
    }

    #[test]
    fn a_prelinked_binary_shifts_by_where_stapsdt_base_moved() {
        // Written with .stapsdt.base at 0x40_2000; the section is now 0x100 higher.
        let raw =
            parse_desc(&desc(0x40_1134, 0x40_1f00, 0x60_2f10, "p\0n\0\0"), false).expect("parse");
        let probe = place(raw, Some(0x40_2000), &text_and_data()).expect("place");
        assert_eq!(probe.offset, 0x1234);
        assert_eq!(probe.semaphore_offset, 0x3010);
    }

    #[test]
    fn a_site_outside_executable_code_is_an_error() {
        let raw = parse_desc(&desc(0x40_0010, 0, 0, "p\0n\0\0"), false).expect("parse");
        let err = place(raw, None, &text_and_data()).expect_err("not code");
        assert_eq!(err, "probe p:n at 0x400010 is in no executable segment");
    }

    #[test]
    fn python3_has_its_function_entry_probe_with_a_semaphore() {
        let path = Path::new("/usr/bin/python3");
        let elf = std::fs::read(path).expect("Debian's python3");
        let probes = read(path, &elf).expect("notes");
        assert_eq!(probes.machine, object::elf::EM_X86_64);
        let entry = probes
            .probes
            .iter()
            .find(|p| p.provider == "python" && p.name == "function__entry")
            .expect("python:function__entry");
        assert_ne!(entry.semaphore_offset, 0);
        assert_eq!(entry.args.split(' ').count(), 3);
        // The site is a nop in the file.
        assert_eq!(elf[usize::try_from(entry.offset).expect("offset")], 0x90);
    }
}
