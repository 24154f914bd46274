//! Deciding, before anything touches the kernel, where each program of an
//! object attaches: its `programs:` entry if it has one, else its section.

use super::elf::ElfInfo;
use super::error::LoadError;
use super::section::{self, ProgramKind, Section};
use crate::manifest::spec::{AttachPoint, ProgramAttach};

/// One program and where it will attach, decided before loading anything.
pub(super) struct Plan {
    pub name: String,
    pub section: String,
    pub parsed: Section,
    pub point: AttachPoint,
}

/// Decides every program's attach point and checks the `programs:` entries.
pub(super) fn plan(info: &ElfInfo, entries: &[ProgramAttach]) -> Result<Vec<Plan>, LoadError> {
    for (i, entry) in entries.iter().enumerate() {
        if entries[..i].iter().any(|e| e.name == entry.name) {
            return Err(LoadError::DuplicateProgram {
                program: entry.name.clone(),
            });
        }
        if info.program(&entry.name).is_none() {
            let available: Vec<&str> = info.programs.iter().map(|p| p.name.as_str()).collect();
            return Err(LoadError::UnknownProgram {
                program: entry.name.clone(),
                available: available.join(", "),
            });
        }
    }
    let mut plans = Vec::new();
    for program in &info.programs {
        let parsed = section::parse(&program.section).ok_or_else(|| LoadError::UnknownSection {
            program: program.name.clone(),
            section: program.section.clone(),
        })?;
        let missing = |needs| LoadError::MissingTarget {
            program: program.name.clone(),
            section: program.section.clone(),
            needs,
        };
        let point = match entries.iter().find(|e| e.name == program.name) {
            Some(entry) => {
                if !parsed.kind.fits(&entry.attach) {
                    return Err(LoadError::AttachKindMismatch {
                        program: program.name.clone(),
                        kind: parsed.kind.as_str(),
                        attach: section::attach_kind_name(&entry.attach),
                    });
                }
                let needs_btf_target = matches!(
                    parsed.kind,
                    ProgramKind::BtfTracepoint | ProgramKind::Fentry | ProgramKind::Fexit
                );
                if let (AttachPoint::None, true, Err(needs)) =
                    (&entry.attach, needs_btf_target, &parsed.default_attach)
                {
                    return Err(missing(needs));
                }
                entry.attach.clone()
            }
            None => parsed.default_attach.clone().map_err(missing)?,
        };
        plans.push(Plan {
            name: program.name.clone(),
            section: program.section.clone(),
            parsed,
            point,
        });
    }
    Ok(plans)
}
