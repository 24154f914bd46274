//! libbpf `__kconfig` externs (`extern u32 LINUX_KERNEL_VERSION __kconfig;`,
//! `extern bool CONFIG_X __kconfig __weak;`), which aya does not resolve.
//!
//! The loader resolves them itself and hands aya an ordinary read-only data
//! section instead: the values go into a new `.rodata.kconfig` section, the
//! undefined extern symbols become objects in it, and the `.kconfig` BTF
//! datasec is renamed to match with its variables marked allocated. aya then
//! creates, freezes and relocates it like any `.rodata`.

use std::collections::HashMap;
use std::io::Read;

use object::{Object, ObjectSymbol};

use super::error::LoadError;
use super::rewrite::{
    BtfLayout, SHDR_SIZE, Sections, append_btf_strings, append_to_section, btf_kind, cstr, get_u16,
    get_u32, put_u32, put_u64, type_positions,
};

/// The section and datasec name the externs are moved to.
const SECTION: &str = ".rodata.kconfig";
const BTF_KIND_VAR: u32 = 14;
const BTF_KIND_DATASEC: u32 = 15;
const BTF_VAR_GLOBAL_ALLOCATED: u32 = 1;

/// One extern of the `.kconfig` datasec.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extern {
    name: String,
    offset: usize,
    size: usize,
    /// Position of the VAR's linkage field within `.BTF`.
    linkage_at: usize,
    /// Position of the datasec entry's offset field within `.BTF`.
    offset_at: usize,
}

/// Where values come from: the kernel's config and release.
pub trait KernelFacts {
    /// `CONFIG_*` values as written in the config (`y`, `m`, `42`, `"s"`).
    fn config(&self) -> Result<&HashMap<String, String>, LoadError>;
    /// The release string, e.g. `6.18.44-fc-v595`.
    fn release(&self) -> String;
}

/// Returns the ELF with its kconfig externs resolved, or `None` when it has
/// none (or is not an ELF this can rewrite: aya then reports the problem).
pub fn resolve(elf: &[u8], facts: &dyn KernelFacts) -> Result<Option<Vec<u8>>, LoadError> {
    let Some(sections) = Sections::read(elf) else {
        return Ok(None);
    };
    let Some(btf) = sections.find(elf, ".BTF") else {
        return Ok(None);
    };
    let bad = |reason| LoadError::Kconfig {
        name: String::new(),
        reason,
    };
    let layout = BtfLayout::read(elf, &sections, btf).ok_or(bad("unexpected .BTF layout"))?;
    let Some((datasec_name_at, externs)) = kconfig_datasec(elf, &layout) else {
        return Ok(None);
    };

    let file = object::File::parse(elf).map_err(|_| bad("unreadable symbols"))?;
    let symtab = sections
        .find(elf, ".symtab")
        .ok_or(bad("no symbol table"))?;
    let (symtab_off, _) = sections.data(elf, symtab).ok_or(bad("bad symbol table"))?;
    let size = externs.iter().map(|e| e.offset + e.size).max().unwrap_or(0);
    let mut values = vec![0u8; size.next_multiple_of(8).max(8)];
    let mut symbols = Vec::new();
    for ext in &externs {
        let symbol = file
            .symbols()
            .find(|s| s.name() == Ok(ext.name.as_str()) && s.is_undefined())
            .ok_or_else(|| LoadError::Kconfig {
                name: ext.name.clone(),
                reason: "no undefined symbol for the extern",
            })?;
        let value = value(&ext.name, ext.size, symbol.is_weak(), facts)?;
        values[ext.offset..ext.offset + ext.size].copy_from_slice(&value);
        symbols.push((symbol.index().0, ext));
    }

    let mut out = elf.to_vec();
    let section_index = u16::try_from(sections.count).map_err(|_| bad("too many sections"))?;
    out.resize(out.len().next_multiple_of(8), 0);
    let data_offset = out.len();
    out.extend_from_slice(&values);
    let name = append_to_section(&mut out, &sections, sections.strtab_index, &[SECTION])
        .ok_or(bad("bad section name table"))?[0];
    let (strings, btf_offset) =
        append_btf_strings(&mut out, &sections, btf, &layout, &[SECTION]).ok_or(bad("bad .BTF"))?;
    put_u32(&mut out, btf_offset + datasec_name_at, strings[0]);
    let datasec_size = u32::try_from(values.len()).map_err(|_| bad("too large"))?;
    put_u32(&mut out, btf_offset + datasec_name_at + 8, datasec_size);
    for ext in &externs {
        put_u32(
            &mut out,
            btf_offset + ext.linkage_at,
            BTF_VAR_GLOBAL_ALLOCATED,
        );
        let offset = u32::try_from(ext.offset).map_err(|_| bad("too large"))?;
        put_u32(&mut out, btf_offset + ext.offset_at, offset);
    }
    for (index, ext) in symbols {
        let at = symtab_off + index * 24;
        out[at + 4] = (object::elf::STB_GLOBAL << 4) | object::elf::STT_OBJECT;
        out[at + 6..at + 8].copy_from_slice(&section_index.to_le_bytes());
        put_u64(&mut out, at + 8, ext.offset as u64);
        put_u64(&mut out, at + 16, ext.size as u64);
    }
    add_section_header(&mut out, &sections, name, data_offset, values.len());
    Ok(Some(out))
}

/// Copies the section header table to the end with one more header, for a
/// read-only allocated `PROGBITS` section.
fn add_section_header(
    out: &mut Vec<u8>,
    sections: &Sections,
    name: u32,
    offset: usize,
    size: usize,
) {
    let table = out[sections.table..sections.table + sections.count * SHDR_SIZE].to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let new_table = out.len();
    out.extend_from_slice(&table);
    let mut header = [0u8; SHDR_SIZE];
    put_u32(&mut header, 0, name);
    put_u32(&mut header, 4, object::elf::SHT_PROGBITS);
    put_u64(&mut header, 8, u64::from(object::elf::SHF_ALLOC));
    put_u64(&mut header, 24, offset as u64);
    put_u64(&mut header, 32, size as u64);
    put_u64(&mut header, 48, 8);
    out.extend_from_slice(&header);
    put_u64(out, 0x28, new_table as u64);
    let count = (sections.count + 1) as u16;
    out[0x3c..0x3e].copy_from_slice(&count.to_le_bytes());
}

/// The `.kconfig` datasec: position of its name field, and its variables.
fn kconfig_datasec(elf: &[u8], layout: &BtfLayout) -> Option<(usize, Vec<Extern>)> {
    let btf = &elf[layout.offset..layout.offset + layout.size];
    let strings = layout.strings(elf);
    let types = type_positions(btf, layout)?;
    let datasec = types.iter().copied().find(|&at| {
        btf_kind(btf, at) == Some(BTF_KIND_DATASEC)
            && get_u32(btf, at).and_then(|n| cstr(strings, n as usize)) == Some(".kconfig")
    })?;
    let vlen = usize::from(get_u16(btf, datasec + 4)?);
    let mut externs = Vec::new();
    for i in 0..vlen {
        let entry = datasec + 12 + i * 12;
        let type_id = usize::try_from(get_u32(btf, entry)?).ok()?;
        let var = *types.get(type_id.checked_sub(1)?)?;
        if btf_kind(btf, var) != Some(BTF_KIND_VAR) {
            return None;
        }
        // clang leaves every offset 0: lay the externs out like libbpf.
        let size = get_u32(btf, entry + 8)? as usize;
        let align = [8, 4, 2, 1].into_iter().find(|&a| size >= a).unwrap_or(1);
        let offset = externs
            .last()
            .map_or(0, |e: &Extern| e.offset + e.size)
            .next_multiple_of(align);
        externs.push(Extern {
            name: cstr(strings, get_u32(btf, var)? as usize)?.to_owned(),
            offset,
            size,
            linkage_at: var + 12,
            offset_at: entry + 4,
        });
    }
    Some((datasec, externs))
}

/// The bytes of one extern, as libbpf would fill them.
fn value(
    name: &str,
    size: usize,
    weak: bool,
    facts: &dyn KernelFacts,
) -> Result<Vec<u8>, LoadError> {
    let invalid = |reason| LoadError::Kconfig {
        name: name.to_owned(),
        reason,
    };
    let int = |v: u64| {
        let bytes = v.to_le_bytes();
        if size > 8 || (size < 8 && v >> (size * 8) != 0) {
            return Err(invalid("value does not fit the extern"));
        }
        Ok(bytes[..size].to_vec())
    };
    match name {
        "LINUX_KERNEL_VERSION" => return int(kernel_version(&facts.release())),
        "LINUX_HAS_SYSCALL_WRAPPER" => {
            return int(u64::from(super::section::SYSCALL_WRAPPER_PREFIX.is_some()));
        }
        "LINUX_HAS_BPF_COOKIE" => return int(1),
        _ => {}
    }
    if !name.starts_with("CONFIG_") {
        return Err(invalid("unknown kconfig extern"));
    }
    let raw = match facts.config() {
        Ok(config) => config.get(name).cloned(),
        Err(_) if weak => None,
        Err(e) => return Err(e),
    };
    let Some(raw) = raw else {
        return if weak {
            Ok(vec![0; size])
        } else {
            Err(invalid(
                "not set in the kernel config (declare it __weak to default to 0)",
            ))
        };
    };
    match raw.as_str() {
        "y" => int(1),
        "m" => int(2),
        "n" => int(0),
        quoted if quoted.starts_with('"') => {
            let text = quoted.trim_matches('"').as_bytes();
            let mut bytes = vec![0; size];
            let len = text.len().min(size.saturating_sub(1));
            bytes[..len].copy_from_slice(&text[..len]);
            Ok(bytes)
        }
        number => {
            let parsed = match number.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => number.parse::<i64>().ok().map(|v| v as u64),
            };
            int(parsed.ok_or_else(|| invalid("unparsable config value"))?)
        }
    }
}

/// `KERNEL_VERSION(a, b, c)` of a release string such as `6.18.44-foo`.
fn kernel_version(release: &str) -> u64 {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) + (b << 8) + c.min(255)
}

/// The running kernel, read lazily: `/boot/config-RELEASE` or `/proc/config.gz`.
#[derive(Debug, Default)]
pub struct RunningKernel {
    config: std::sync::OnceLock<Result<HashMap<String, String>, String>>,
}

impl KernelFacts for RunningKernel {
    fn config(&self) -> Result<&HashMap<String, String>, LoadError> {
        let loaded = self.config.get_or_init(|| read_config(&self.release()));
        loaded.as_ref().map_err(|path| LoadError::Kconfig {
            name: path.clone(),
            reason: "kernel config not found at /boot/config-RELEASE or /proc/config.gz",
        })
    }

    fn release(&self) -> String {
        // SAFETY: utsname is plain old data; uname fills it.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `uts` is a valid, writable utsname.
        if unsafe { libc::uname(&raw mut uts) } != 0 {
            return String::new();
        }
        // SAFETY: uname NUL-terminates `release`.
        let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
        release.to_string_lossy().into_owned()
    }
}

fn read_config(release: &str) -> Result<HashMap<String, String>, String> {
    let boot = format!("/boot/config-{release}");
    if let Ok(text) = std::fs::read_to_string(&boot) {
        return Ok(parse_config(&text));
    }
    let gz = std::fs::File::open("/proc/config.gz").map_err(|_| boot.clone())?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|_| "/proc/config.gz".to_owned())?;
    Ok(parse_config(&text))
}

/// `CONFIG_X=value` lines; `# CONFIG_X is not set` reads as `n`.
pub fn parse_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix("# ") {
                let name = rest.strip_suffix(" is not set")?;
                return Some((name.to_owned(), "n".to_owned()));
            }
            let (name, value) = line.split_once('=')?;
            name.starts_with("CONFIG_")
                .then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
#[path = "kconfig_tests.rs"]
mod tests;
