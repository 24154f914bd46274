//! What the loader reads from the ELF itself, before aya sees it: each
//! program's `SEC()` name (aya keeps only its own parse of it), the maps a
//! manifest may size and the global variables it may override.

use object::{Object, ObjectSection, ObjectSymbol, SectionIndex, SymbolKind};

use super::error::ElfError;

/// One program: its function name and the section it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfProgram {
    pub name: String,
    pub section: String,
}

/// A global variable in `.rodata*`, `.data*` or `.bss*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfGlobal {
    pub name: String,
    pub section: String,
    pub size: u64,
}

impl ElfGlobal {
    /// Whether the manifest may set this global: it has initial data
    /// (`.rodata` for `const volatile`, or `.data`).
    pub fn overridable(&self) -> bool {
        self.section.starts_with(".rodata") || self.section.starts_with(".data")
    }
}

/// The parts of an ELF the loader needs.
#[derive(Debug, Clone, Default)]
pub struct ElfInfo {
    /// Programs, in section order then offset order.
    pub programs: Vec<ElfProgram>,
    /// Names of the maps defined in `.maps` (or legacy `maps`), sorted.
    pub maps: Vec<String>,
    pub globals: Vec<ElfGlobal>,
}

impl ElfInfo {
    /// Reads the program and global symbols of an ELF.
    pub fn parse(elf: &[u8]) -> Result<Self, ElfError> {
        let file = object::File::parse(elf)?;
        let mut programs: Vec<(SectionIndex, u64, ElfProgram)> = Vec::new();
        let mut globals = Vec::new();
        let mut maps = Vec::new();
        for symbol in file.symbols() {
            let Some(index) = symbol.section_index() else {
                continue;
            };
            let Ok(name) = symbol.name() else { continue };
            if name.is_empty() {
                continue;
            }
            let section = file.section_by_index(index)?;
            let section_name = section.name()?;
            match symbol.kind() {
                SymbolKind::Text if symbol.is_global() && is_program_section(&section) => {
                    programs.push((
                        index,
                        symbol.address(),
                        ElfProgram {
                            name: name.to_owned(),
                            section: section_name.to_owned(),
                        },
                    ));
                }
                SymbolKind::Data if matches!(section_name, ".maps" | "maps") => {
                    maps.push(name.to_owned());
                }
                SymbolKind::Data if is_global_section(section_name) => {
                    globals.push(ElfGlobal {
                        name: name.to_owned(),
                        section: section_name.to_owned(),
                        size: symbol.size(),
                    });
                }
                _ => {}
            }
        }
        programs.sort_by_key(|(index, address, _)| (index.0, *address));
        maps.sort();
        Ok(Self {
            programs: programs.into_iter().map(|(_, _, p)| p).collect(),
            maps,
            globals,
        })
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Option<&ElfProgram> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// Whether the object defines a map named `name`.
    pub fn has_map(&self, name: &str) -> bool {
        self.maps.binary_search_by(|m| m.as_str().cmp(name)).is_ok()
    }

    /// The global named `name`.
    pub fn global(&self, name: &str) -> Option<&ElfGlobal> {
        self.globals.iter().find(|g| g.name == name)
    }
}

/// Executable sections other than `.text` (which holds sub-programs) hold
/// programs.
fn is_program_section(section: &object::Section<'_, '_>) -> bool {
    let executable = matches!(
        section.flags(),
        object::SectionFlags::Elf { sh_flags } if sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0
    );
    executable && !section.name().is_ok_and(|n| n.starts_with(".text"))
}

fn is_global_section(name: &str) -> bool {
    [".rodata", ".data", ".bss"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn info(relative: &str) -> ElfInfo {
        let bytes = std::fs::read(artifact(relative)).expect("read fixture");
        ElfInfo::parse(&bytes).expect("parse fixture")
    }

    #[test]
    fn programs_map_function_names_to_sections_in_order() {
        let info = info("bpf/fixtures/tc.bpf.o");
        let pairs: Vec<(&str, &str)> = info
            .programs
            .iter()
            .map(|p| (p.name.as_str(), p.section.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("fx_tc_in", "tc/ingress"),
                ("fx_tc_eg", "tc/egress"),
                ("fx_tc", "tc"),
                ("fx_classifier", "classifier"),
            ]
        );
    }

    #[test]
    fn globals_carry_section_and_size() {
        let info = info("bpf/fixtures/globals.bpf.o");
        let g = |n: &str| {
            info.global(n)
                .unwrap_or_else(|| panic!("{n} missing"))
                .clone()
        };
        assert_eq!(g("g_u64").size, 8);
        assert_eq!(g("g_name").size, 8);
        assert!(g("g_s16").section.starts_with(".rodata"));
        assert!(g("g_data").overridable());
        assert!(info.global("hits").is_none(), "maps are not globals");
    }

    #[test]
    fn maps_are_the_symbols_of_the_maps_section() {
        let info = info("bpf/writes.bpf.o");
        assert_eq!(info.maps, ["writes_by_process"]);
        assert!(info.has_map("writes_by_process"));
        assert!(!info.has_map("target_tgid"), "a global is not a map");
        assert_eq!(self::info("bpf/fixtures/globals.bpf.o").maps, ["hits"]);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(ElfInfo::parse(b"definitely not an ELF").is_err());
    }
}
