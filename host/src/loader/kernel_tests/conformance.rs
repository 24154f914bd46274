//! Conformance with libbpf: every object of the corpus in
//! `bpf/conformance/` that `bpftool prog loadall` loads on this kernel,
//! bpfhost's loader loads too (every program loaded, none attached).

use std::process::Command;

use super::{
    assert_unloaded, drop_and_assert_unloaded, eventually, getppid, load_fixture, lookup, u64_sum,
};
use crate::loader::LoadError;
use crate::loader::elf::ElfInfo;
use crate::manifest::spec::{AttachPoint, ProgramAttach};
use crate::testing::conformance::{self, Figures, Verdict};
use crate::testing::{artifact, require_kernel};

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn bpfhost_loads_every_corpus_object_libbpf_loads() {
    require_kernel();
    let bpftool = Command::new("bpftool").arg("version").output();
    assert!(
        bpftool.is_ok_and(|o| o.status.success()),
        "bpftool is missing: .ci/install installs it (apt-get install bpftool)"
    );
    let objects = conformance::objects(&artifact("bpf/conformance")).expect("read the corpus");
    let sources = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../bpf/conformance"))
        .expect("read bpf/conformance")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bpf.c"))
        })
        .count();
    assert_eq!(objects.len(), sources, "one object per source: {objects:?}");
    let rows: Vec<_> = objects.iter().map(|o| conformance::compare(o)).collect();

    // Reported, not failed: what libbpf itself refuses on this kernel.
    eprintln!("{}", conformance::table(&rows, 100));
    eprintln!("{}", Figures::of(&rows));
    let regressions: Vec<String> = rows
        .iter()
        .filter(|r| r.is_regression())
        .map(|r| {
            let detail = |v: &Verdict| match v {
                Verdict::Loaded => "loaded".to_owned(),
                Verdict::Refused { detail, .. } => detail.clone(),
            };
            format!(
                "{}\n  libbpf: {}\n  bpfhost: {}",
                r.object.display(),
                detail(&r.libbpf),
                detail(&r.bpfhost)
            )
        })
        .collect();
    assert!(
        regressions.is_empty(),
        "libbpf loads these objects and bpfhost refuses them:\n{}",
        regressions.join("\n\n")
    );

    // Neither side leaves anything loaded (kernel names are 15 bytes).
    let mut names: Vec<String> = Vec::new();
    for object in &objects {
        let elf = std::fs::read(object).expect("read object");
        let info = ElfInfo::parse(&elf).expect("parse object");
        names.extend(
            info.programs
                .iter()
                .map(|p| p.name.chars().take(15).collect()),
        );
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_unloaded(&names);
}

/// `ksyscall/openat` is a kprobe on the system call's wrapper function,
/// where libbpf attaches it; this kernel may lack kprobes altogether.
#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn ksyscall_programs_attach_to_the_syscall_wrapper() {
    require_kernel();
    let result = load_fixture("bpf/conformance/ksyscall.bpf.o", &[]);
    let prefix = crate::loader::section::SYSCALL_WRAPPER_PREFIX.unwrap_or("sys_");
    let wrapper = format!("{prefix}openat");
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        let object = result.expect("ksyscall programs attach where the kernel has kprobes");
        let targets: Vec<&str> = object
            .programs()
            .iter()
            .map(|p| p.target.as_str())
            .collect();
        assert!(targets.iter().all(|t| t.contains(&wrapper)), "{targets:?}");
        return;
    }
    let err = result.expect_err("no kprobe PMU");
    assert!(
        matches!(&err, LoadError::KprobesUnsupported { program, target }
            if program == "openat_entry" && *target == wrapper),
        "{err:?}"
    );
    assert_unloaded(&["openat_entry", "openat_exit"]);
}

/// A slot the object fills (`.values = { [1] = &tail_target }`) holds the
/// program: `tail_target`, loaded but not attached, only runs through
/// `tail_caller`'s tail call.
#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn program_arrays_initialized_in_the_object_take_tail_calls() {
    require_kernel();
    let object = load_fixture(
        "bpf/conformance/tail_calls.bpf.o",
        &[ProgramAttach::at("tail_target", AttachPoint::None)],
    )
    .expect("load");
    let tails = object.map("tails").expect("tails map");
    eventually("a tail call into tail_target", || {
        getppid();
        lookup(&tails.fd, &0u32.to_le_bytes(), 8).is_some_and(|v| u64_sum(&v) > 0)
    });
    drop_and_assert_unloaded(object);
}

/// A map of maps initialized in the object (`.values = { [0] = &inner_a }`)
/// holds the inner map: the program finds it through the outer one.
#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn maps_of_maps_initialized_in_the_object_hold_their_inner_maps() {
    require_kernel();
    let object = load_fixture("bpf/conformance/array_of_maps.bpf.o", &[]).expect("load");
    let inner = object.map("inner_a").expect("inner map");
    eventually("a count through the outer map", || {
        getppid();
        lookup(&inner.fd, &0u32.to_le_bytes(), 8).is_some_and(|v| u64_sum(&v) > 0)
    });
    drop_and_assert_unloaded(object);
}

/// An array keyed by a struct is created without BTF, as libbpf's retry
/// creates it, and counts under its key.
#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn arrays_keyed_by_a_struct_load_and_count() {
    require_kernel();
    let object = load_fixture("bpf/conformance/array_struct_key.bpf.o", &[]).expect("load");
    let buckets = object.map("buckets").expect("buckets map");
    let cpus = super::possible_cpus();
    eventually("a count in bucket 0", || {
        getppid();
        lookup(&buckets.fd, &0u32.to_le_bytes(), 8 * cpus).is_some_and(|v| u64_sum(&v) > 0)
    });
    drop_and_assert_unloaded(object);
}
