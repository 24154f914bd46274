//! Deciding, before anything touches the kernel, what happens to each
//! program of an object: where it attaches (its `programs:` entry if it has
//! one, else its section), or that it is left out (`autoload: false`).

use super::elf::ElfInfo;
use super::error::LoadError;
use super::section::{self, ProgramKind, Section};
use crate::manifest::spec::{AttachPoint, ProgramAttach};

/// One program and what to do with it, decided before loading anything.
pub(super) struct Plan {
    pub name: String,
    pub section: String,
    pub parsed: Section,
    /// Where it attaches; `None` when `autoload: false` leaves it out
    /// (neither loaded nor attached).
    pub point: Option<AttachPoint>,
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
        // Known even when left out: aya parses every section, so a rename
        // may still be needed.
        let parsed = section::parse(&program.section).ok_or_else(|| LoadError::UnknownSection {
            program: program.name.clone(),
            section: program.section.clone(),
        })?;
        let entry = entries.iter().find(|e| e.name == program.name);
        let point = match entry {
            Some(entry) if !entry.loads() => None,
            _ => Some(attach_point(
                &program.name,
                &program.section,
                &parsed,
                entry.and_then(ProgramAttach::attach_point).as_ref(),
            )?),
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

/// Where a loaded program attaches: `explicit` when given (and of the
/// right kind), else where its section says.
fn attach_point(
    program: &str,
    section: &str,
    parsed: &Section,
    explicit: Option<&AttachPoint>,
) -> Result<AttachPoint, LoadError> {
    let missing = |needs| LoadError::MissingTarget {
        program: program.to_owned(),
        section: section.to_owned(),
        needs,
    };
    let Some(explicit) = explicit else {
        return parsed.default_attach.clone().map_err(missing);
    };
    if !parsed.kind.fits(explicit) {
        return Err(LoadError::AttachKindMismatch {
            program: program.to_owned(),
            kind: parsed.kind.as_str(),
            attach: section::attach_kind_name(explicit),
        });
    }
    let needs_btf_target = matches!(
        parsed.kind,
        ProgramKind::BtfTracepoint | ProgramKind::Fentry | ProgramKind::Fexit
    );
    if let (AttachPoint::None, true, Err(needs)) =
        (explicit, needs_btf_target, &parsed.default_attach)
    {
        return Err(missing(needs));
    }
    Ok(explicit.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::elf::ElfProgram;
    use crate::manifest::spec::ProbeTarget;

    fn info(programs: &[(&str, &str)]) -> ElfInfo {
        ElfInfo {
            programs: programs
                .iter()
                .map(|(name, section)| ElfProgram {
                    name: (*name).to_owned(),
                    section: (*section).to_owned(),
                })
                .collect(),
            ..ElfInfo::default()
        }
    }

    fn kprobe(function: &str) -> AttachPoint {
        AttachPoint::Kprobe(ProbeTarget {
            function: function.to_owned(),
            offset: 0,
        })
    }

    /// libbpf-tools pick one of an fentry and a kprobe variant of the same
    /// handler at load time; the other is left out.
    #[test]
    fn autoload_false_leaves_a_program_out_and_the_others_attach() {
        let info = info(&[
            ("open_fentry", "fentry/do_sys_openat2"),
            ("open_kprobe", "kprobe/do_sys_openat2"),
        ]);
        let plans = plan(&info, &[ProgramAttach::disabled("open_fentry")]).expect("plan");
        let points: Vec<(&str, Option<&AttachPoint>)> = plans
            .iter()
            .map(|p| (p.name.as_str(), p.point.as_ref()))
            .collect();
        assert_eq!(
            points,
            [
                ("open_fentry", None),
                ("open_kprobe", Some(&kprobe("do_sys_openat2")))
            ]
        );
    }

    #[test]
    fn a_left_out_program_needs_no_attach_target() {
        // A bare `xdp` section needs an interface, unless it is not loaded.
        let info = info(&[("count", "xdp"), ("probe", "kprobe/vfs_read")]);
        assert!(matches!(
            plan(&info, &[]),
            Err(LoadError::MissingTarget { program, .. }) if program == "count"
        ));
        let plans = plan(&info, &[ProgramAttach::disabled("count")]).expect("plan");
        assert!(plans[0].point.is_none());
        assert_eq!(plans[1].point, Some(kprobe("vfs_read")));
    }

    #[test]
    fn entries_naming_a_missing_program_list_the_programs_there_are() {
        let info = info(&[("a", "kprobe/vfs_read"), ("b", "kprobe/vfs_write")]);
        let Err(error) = plan(&info, &[ProgramAttach::disabled("c")]) else {
            panic!("c is not in the object");
        };
        assert_eq!(
            error.to_string(),
            "programs: no program named \"c\" in the object (it has: a, b)"
        );
    }

    #[test]
    fn an_explicit_attach_point_replaces_the_section_default() {
        let info = info(&[("p", "kprobe/vfs_read")]);
        let plans = plan(&info, &[ProgramAttach::at("p", kprobe("vfs_write"))]).expect("plan");
        assert_eq!(plans[0].point, Some(kprobe("vfs_write")));
        let wrong = ProgramAttach::at("p", AttachPoint::Tracepoint("a/b".into()));
        assert!(matches!(
            plan(&info, &[wrong]),
            Err(LoadError::AttachKindMismatch { .. })
        ));
    }
}
