//! Every load error a user can hit, and that failed loads leave nothing
//! behind.

use std::collections::BTreeMap;

use super::{assert_unloaded, load_fixture, load_with};
use crate::loader::{LoadError, LoadRequest, load};
use crate::manifest::spec::{
    AttachPoint, AttachPolicy, GlobalValue, ProgramAttach, XdpMode, XdpTarget,
};
use crate::testing::require_kernel;

fn xdp_on(interface: &str) -> AttachPoint {
    AttachPoint::Xdp(XdpTarget {
        interface: interface.into(),
        mode: XdpMode::Default,
    })
}

#[test]
fn garbage_bytes_are_invalid_elf() {
    let err = load(&LoadRequest {
        exporter: "x",
        elf: b"\x7fELF but not really",
        globals: &BTreeMap::new(),
        programs: &[],
        maps: &BTreeMap::new(),
        attach_policy: AttachPolicy::AllOrNothing,
    })
    .expect_err("garbage");
    assert!(matches!(err, LoadError::InvalidElf { .. }), "{err:?}");
    assert_eq!(err.to_string(), "invalid eBPF ELF object");
}

#[test]
fn unknown_program_in_programs_is_named() {
    let programs = [ProgramAttach::at("nope", AttachPoint::None)];
    let err = load_fixture("bpf/fixtures/xdp.bpf.o", &programs).expect_err("unknown");
    assert!(
        matches!(&err, LoadError::UnknownProgram { program, available } if program == "nope" && available == "fx_xdp"),
        "{err:?}"
    );
}

#[test]
fn duplicate_programs_entries_are_rejected() {
    let entry = ProgramAttach::at("fx_xdp", xdp_on("lo"));
    let err = load_fixture("bpf/fixtures/xdp.bpf.o", &[entry.clone(), entry]).expect_err("dup");
    assert!(
        matches!(&err, LoadError::DuplicateProgram { program } if program == "fx_xdp"),
        "{err:?}"
    );
}

#[test]
fn unknown_section_is_named() {
    let err = load_fixture("bpf/fixtures/unknown_section.bpf.o", &[]).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "program fx_bogus: unknown section \"bogus/thing\""
    );
}

#[test]
fn bare_xdp_needs_an_interface() {
    let err = load_fixture("bpf/fixtures/xdp.bpf.o", &[]).expect_err("no target");
    assert!(
        matches!(&err, LoadError::MissingTarget { program, needs, .. } if program == "fx_xdp" && *needs == "an interface"),
        "{err:?}"
    );
}

#[test]
fn attach_points_must_fit_the_program_kind() {
    let programs = [ProgramAttach::at(
        "fx_xdp",
        AttachPoint::Tracepoint("syscalls/sys_enter_write".into()),
    )];
    let err = load_fixture("bpf/fixtures/xdp.bpf.o", &programs).expect_err("mismatch");
    assert!(
        matches!(
            err,
            LoadError::AttachKindMismatch {
                kind: "xdp",
                attach: "tracepoint",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_global_is_named() {
    let mut globals = BTreeMap::new();
    globals.insert("no_such_global".to_owned(), GlobalValue::Unsigned(1));
    let err = load_with("bpf/writes.bpf.o", &[], &globals).expect_err("unknown global");
    assert!(err.to_string().contains("\"no_such_global\""), "{err}");
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn missing_interface_is_reported() {
    require_kernel();
    let programs = [ProgramAttach::at("fx_xdp", xdp_on("nosuchif0"))];
    let err = load_fixture("bpf/fixtures/xdp.bpf.o", &programs).expect_err("no interface");
    assert!(
        matches!(&err, LoadError::InterfaceNotFound { interface, .. } if interface == "nosuchif0"),
        "{err:?}"
    );
    assert_unloaded(&["fx_xdp"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn verifier_rejection_carries_the_log_tail() {
    require_kernel();
    let err = load_fixture("bpf/fixtures/verifier_reject.bpf.o", &[]).expect_err("rejected");
    let LoadError::Verifier {
        program, log_tail, ..
    } = &err
    else {
        panic!("expected a verifier error, got {err:?}");
    };
    assert_eq!(program, "fx_reject");
    assert_ne!(log_tail, "");
    assert!(log_tail.lines().count() <= crate::loader::VERIFIER_LOG_TAIL_LINES);
    assert_unloaded(&["fx_reject"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn partial_failure_releases_what_was_attached() {
    require_kernel();
    let err = load_fixture("bpf/fixtures/partial.bpf.o", &[]).expect_err("third fails");
    assert!(
        matches!(&err, LoadError::Attach { program, target, .. } if program == "fx_part_bad" && target == "syscalls/sys_enter_no_such_call"),
        "{err:?}"
    );
    assert_unloaded(&["fx_part_ok1", "fx_part_ok2", "fx_part_bad"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn programs_can_stay_unattached() {
    require_kernel();
    let programs = [ProgramAttach::at("fx_xdp", AttachPoint::None)];
    let object = load_fixture("bpf/fixtures/xdp.bpf.o", &programs).expect("load");
    assert_eq!(object.programs()[0].target, "unattached");
    super::drop_and_assert_unloaded(object);
}
