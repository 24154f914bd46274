//! Checks on a parsed `BpfExporter` that its types cannot express: names,
//! one-of fields, selector operators, attach targets.
//!
//! Nothing here reads a file: `bpfhost validate` runs these checks alone.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{Location, ManifestError};
use super::source;
use super::spec::{
    AttachPoint, BpfExporter, CgroupIdMapSpec, MapOverride, PerfEventTarget, ProgramAttach,
    UsdtTarget,
};
use crate::lookup::Lookup;

/// Every error in `exporter`, in field order.
pub(crate) fn check_exporter(exporter: &BpfExporter, at: &Location) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    errors.extend(check_name(&exporter.metadata.name, at, "metadata.name"));
    if let Some(namespace) = &exporter.metadata.namespace {
        errors.extend(check_name(namespace, at, "metadata.namespace"));
    }
    let spec = &exporter.spec;
    errors.extend(spec.node_selector.check(at, "spec.nodeSelector"));
    errors.extend(source::check(spec.object.source_ref(), at, "spec.object").err());
    for (digest, field) in [
        (&spec.object.sha256, "spec.object.sha256"),
        (&spec.decoder.sha256, "spec.decoder.sha256"),
    ] {
        if let Some(digest) = digest {
            errors.extend(super::digest::check(digest, at, field).err());
        }
    }
    let mut seen = BTreeSet::new();
    for (i, program) in spec.programs.iter().enumerate() {
        let field = format!("spec.programs[{i}]");
        if !program.name.is_empty() && !seen.insert(program.name.as_str()) {
            errors.push(ManifestError::Duplicate {
                at: at.boxed(),
                field: format!("{field}.name"),
                what: "program",
                name: program.name.clone(),
            });
        }
        errors.extend(check_program(program, at, &field));
    }
    errors.extend(check_maps(&spec.maps, at));
    if spec.globals.contains_key("") {
        errors.push(ManifestError::EmptyKey {
            at: at.boxed(),
            field: "spec.globals".to_owned(),
        });
    }
    if let Some(cgroups) = &spec.cgroup_id_map {
        errors.extend(check_cgroup_id_map(cgroups, at));
    }
    errors.extend(source::check(spec.decoder.source_ref(), at, "spec.decoder").err());
    if let Some(limits) = &spec.decoder.limits {
        errors.extend(limits.check(at, "spec.decoder.limits"));
    }
    errors.extend(check_lookups(&spec.decoder.lookups, at));
    errors
}

/// `spec.cgroupIdMap`: a map is named and every regexp compiles.
fn check_cgroup_id_map(spec: &CgroupIdMapSpec, at: &Location) -> Vec<ManifestError> {
    let schema = |field: String, message: String| ManifestError::Schema {
        at: at.boxed(),
        field,
        message,
    };
    let mut errors = Vec::new();
    if spec.map.is_empty() {
        errors.push(schema(
            "spec.cgroupIdMap.map".to_owned(),
            "names no map".to_owned(),
        ));
    }
    if spec.regexps.is_empty() {
        errors.push(schema(
            "spec.cgroupIdMap.regexps".to_owned(),
            "no regexps: no cgroup would ever be in the map".to_owned(),
        ));
    }
    for (i, regexp) in spec.regexps.iter().enumerate() {
        if let Err(error) = regex::Regex::new(regexp) {
            errors.push(schema(
                format!("spec.cgroupIdMap.regexps[{i}]"),
                error.to_string(),
            ));
        }
    }
    errors
}

/// `spec.maps`: names are not empty, sizes are positive.
fn check_maps(maps: &BTreeMap<String, MapOverride>, at: &Location) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    if maps.contains_key("") {
        errors.push(ManifestError::EmptyKey {
            at: at.boxed(),
            field: "spec.maps".to_owned(),
        });
    }
    for (name, map) in maps {
        if map.max_entries == 0 {
            errors.push(ManifestError::InvalidFormat {
                at: at.boxed(),
                field: format!("spec.maps.{name}.maxEntries"),
                value: "0".to_owned(),
                expected: "a positive number",
            });
        }
    }
    errors
}

/// Every `spec.decoder.lookups` entry names a lookup, once.
fn check_lookups(names: &[String], at: &Location) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let field = format!("spec.decoder.lookups[{i}]");
        if let Err(error) = name.parse::<Lookup>() {
            errors.push(ManifestError::UnknownLookup {
                at: at.boxed(),
                field,
                error,
            });
        } else if !seen.insert(name.as_str()) {
            errors.push(ManifestError::Duplicate {
                at: at.boxed(),
                field,
                what: "lookup",
                name: name.clone(),
            });
        }
    }
    errors
}

/// Checks a resource name the way Kubernetes does (an RFC 1123 subdomain),
/// so file mode accepts exactly what a cluster would.
pub(crate) fn check_name(name: &str, at: &Location, field: &str) -> Option<ManifestError> {
    let reason = if name.is_empty() {
        return Some(ManifestError::Empty {
            at: at.boxed(),
            field: field.to_owned(),
        });
    } else if name.len() > 253 {
        "longer than 253 characters"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        "only lowercase letters, digits, `-` and `.` are allowed"
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        "must start and end with a letter or digit"
    } else {
        return None;
    };
    Some(ManifestError::InvalidName {
        at: at.boxed(),
        field: field.to_owned(),
        name: name.to_owned(),
        reason,
    })
}

/// Checks one `spec.programs[i]` entry at `field`.
fn check_program(program: &ProgramAttach, at: &Location, field: &str) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    if program.name.is_empty() {
        errors.push(ManifestError::Empty {
            at: at.boxed(),
            field: format!("{field}.name"),
        });
    }
    if program.attach.is_some() && program.usdt.is_some() {
        errors.push(ManifestError::ProgramEntry {
            at: at.boxed(),
            field: format!("{field}.usdt"),
            reason: "`usdt` is an attach point: give it or `attach`, not both",
        });
    }
    match (program.attach_point(), program.autoload) {
        (None, None) => errors.push(ManifestError::ProgramEntry {
            at: at.boxed(),
            field: field.to_owned(),
            reason: "sets nothing: give `attach`, `usdt` or `autoload`",
        }),
        (Some(_), Some(false)) => errors.push(ManifestError::ProgramEntry {
            at: at.boxed(),
            field: if program.attach.is_some() {
                format!("{field}.attach")
            } else {
                format!("{field}.usdt")
            },
            reason: "a program with `autoload: false` is not attached anywhere",
        }),
        _ => {}
    }
    if let Some(attach) = &program.attach {
        errors.extend(check_attach(attach, at, &format!("{field}.attach")));
    }
    if let Some(usdt) = &program.usdt {
        errors.extend(check_usdt(usdt, at, &format!("{field}.usdt")));
    }
    errors
}

/// A USDT target needs a binary, and a provider and name as `<sys/sdt.h>`
/// spells them (C identifiers), which also keeps `:` out of them.
fn check_usdt(target: &UsdtTarget, at: &Location, field: &str) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    if target.binary.is_empty() {
        errors.push(ManifestError::Empty {
            at: at.boxed(),
            field: format!("{field}.binary"),
        });
    }
    for (sub, value) in [("provider", &target.provider), ("name", &target.name)] {
        let identifier = value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            errors.push(ManifestError::InvalidFormat {
                at: at.boxed(),
                field: format!("{field}.{sub}"),
                value: value.clone(),
                expected: "a C identifier, as in `DTRACE_PROBE(provider, name)`",
            });
        }
    }
    if target.pid == Some(0) {
        errors.push(ManifestError::InvalidFormat {
            at: at.boxed(),
            field: format!("{field}.pid"),
            value: "0".to_owned(),
            expected: "a process id (leave it out for every process)",
        });
    }
    errors
}

/// Checks the attach point of the `spec.programs[i]` entry at `field`.
fn check_attach(attach: &AttachPoint, at: &Location, field: &str) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    let mut non_empty = |value: &str, sub: &str| {
        if value.is_empty() {
            errors.push(ManifestError::Empty {
                at: at.boxed(),
                field: format!("{field}.{sub}"),
            });
        }
    };
    match attach {
        AttachPoint::Tracepoint(name) => {
            let well_formed = name.split_once('/').is_some_and(|(category, event)| {
                !category.is_empty() && !event.is_empty() && !event.contains('/')
            });
            if !well_formed {
                errors.push(ManifestError::InvalidFormat {
                    at: at.boxed(),
                    field: format!("{field}.tracepoint"),
                    value: name.clone(),
                    expected: "`category/name`",
                });
            }
        }
        AttachPoint::RawTracepoint(name) => non_empty(name, "rawTracepoint"),
        AttachPoint::BtfTracepoint(name) => non_empty(name, "btfTracepoint"),
        AttachPoint::Fentry(name) => non_empty(name, "fentry"),
        AttachPoint::Fexit(name) => non_empty(name, "fexit"),
        AttachPoint::Kprobe(probe) => non_empty(&probe.function, "kprobe.function"),
        AttachPoint::Kretprobe(probe) => non_empty(&probe.function, "kretprobe.function"),
        AttachPoint::Uprobe(probe) | AttachPoint::Uretprobe(probe) => {
            let kind = if matches!(attach, AttachPoint::Uprobe(_)) {
                "uprobe"
            } else {
                "uretprobe"
            };
            non_empty(&probe.target, &format!("{kind}.target"));
            if let Some(function) = &probe.function {
                non_empty(function, &format!("{kind}.function"));
            }
        }
        AttachPoint::Socket(target) => {
            if let Some(interface) = &target.interface {
                non_empty(interface, "socket.interface");
            }
        }
        AttachPoint::Xdp(target) => non_empty(&target.interface, "xdp.interface"),
        AttachPoint::Tc(target) => non_empty(&target.interface, "tc.interface"),
        AttachPoint::CgroupSkb(target) => {
            if let Some(cgroup) = &target.cgroup {
                non_empty(cgroup, "cgroupSkb.cgroup");
            }
        }
        AttachPoint::PerfEvent(target) => {
            non_empty(&target.event, "perfEvent.event");
            errors.extend(check_perf_event(target, at, &format!("{field}.perfEvent")));
        }
        AttachPoint::Usdt(target) => {
            errors.extend(check_usdt(target, at, &format!("{field}.usdt")));
        }
        AttachPoint::None => {}
    }
    errors
}

/// A perf event samples either by frequency or by period, never zero.
fn check_perf_event(target: &PerfEventTarget, at: &Location, field: &str) -> Option<ManifestError> {
    match (target.frequency, target.period) {
        (Some(0), None) | (None, Some(0)) => {
            let sub = if target.frequency.is_some() {
                "frequency"
            } else {
                "period"
            };
            Some(ManifestError::InvalidFormat {
                at: at.boxed(),
                field: format!("{field}.{sub}"),
                value: "0".to_owned(),
                expected: "a positive number",
            })
        }
        (Some(_), None) | (None, Some(_)) => None,
        (frequency, period) => Some(ManifestError::ExactlyOne {
            at: at.boxed(),
            field: field.to_owned(),
            choices: &["frequency", "period"],
            found: [("frequency", frequency), ("period", period)]
                .into_iter()
                .filter_map(|(name, value)| value.map(|_| name))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn at() -> Location {
        Location::File(PathBuf::from("x.yaml"))
    }

    fn name_error(name: &str) -> Option<String> {
        check_name(name, &at(), "metadata.name").map(|e| e.to_string())
    }

    #[test]
    fn names_follow_kubernetes_rules() {
        assert_eq!(name_error("packets"), None);
        assert_eq!(name_error("tcp-v4.rtt"), None);
        assert_eq!(name_error("0x"), None);
        assert_eq!(
            name_error("Packets").as_deref(),
            Some(
                "x.yaml: metadata.name: invalid name `Packets`: \
                 only lowercase letters, digits, `-` and `.` are allowed"
            )
        );
        assert_eq!(
            name_error("-a").as_deref(),
            Some(
                "x.yaml: metadata.name: invalid name `-a`: must start and end with a letter or digit"
            )
        );
        assert!(name_error(&"a".repeat(254)).is_some());
    }
}
