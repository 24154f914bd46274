//! What libbpf users set from user space, on the real kernel: map sizes,
//! programs left out, and the attach policy.

use aya::maps::Map;

use super::tracing::assert_counts_writes;
use super::{
    assert_unloaded, drop_and_assert_unloaded, eventually, getppid, hits, load_overridden, lookup,
    u64_sum,
};
use crate::loader::{LoadError, LoadedObject, NotAttached, NotAttachedReason};
use crate::manifest::spec::{AttachPolicy, ProgramAttach};
use crate::testing::require_kernel;

const SIZED: &str = "bpf/fixtures/sized_at_load.bpf.o";
const BEST_EFFORT: &str = "bpf/fixtures/best_effort.bpf.o";

/// The kernel's `max_entries` of map `name`, read back from the map's info.
fn max_entries(object: &LoadedObject, name: &str) -> u32 {
    let Some(Map::HashMap(data) | Map::LruHashMap(data)) = object.ebpf().map(name) else {
        panic!("{name} is not a hash map of the object");
    };
    data.info().expect("map info").max_entries()
}

/// The names of the attached programs of `object`, and its one program
/// that is not attached.
fn attached_and_the_other(object: &LoadedObject) -> (Vec<&str>, &NotAttached) {
    let attached = object.programs().iter().map(|p| p.name.as_str()).collect();
    let [other] = object.not_attached() else {
        panic!("one program not attached: {:?}", object.not_attached());
    };
    (attached, other)
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn max_entries_override_sizes_a_map_the_elf_leaves_at_zero() {
    require_kernel();
    let object = load_overridden(
        SIZED,
        &[],
        &[("sized_at_load", 1000)],
        AttachPolicy::default(),
    )
    .expect("load with the map sized");
    assert_eq!(max_entries(&object, "sized_at_load"), 1000);
    let before = hits(&object);
    getppid();
    eventually("fx_sized to run", || {
        getppid();
        hits(&object) > before
    });
    let map = object.map("sized_at_load").expect("readable map");
    let key = std::process::id().to_le_bytes();
    assert_eq!(lookup(&map.fd, &key, 8).map(|v| u64_sum(&v)), Some(1));
    drop_and_assert_unloaded(object);

    let resized = load_overridden(
        BEST_EFFORT,
        &[],
        &[("writes_by_process", 17)],
        AttachPolicy::BestEffort,
    )
    .expect("load with the map resized");
    assert_eq!(
        max_entries(&resized, "writes_by_process"),
        17,
        "the ELF says 10240"
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_map_left_at_zero_without_an_override_is_refused_by_the_kernel() {
    require_kernel();
    let err = load_overridden(SIZED, &[], &[], AttachPolicy::default()).expect_err("max_entries 0");
    assert!(matches!(err, LoadError::Kernel { .. }), "{err:?}");
    assert_unloaded(&["fx_sized"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn an_override_of_a_missing_map_is_named_and_loads_nothing() {
    require_kernel();
    let err = load_overridden(SIZED, &[], &[("sized_at_laod", 3)], AttachPolicy::default())
        .expect_err("no such map");
    assert_eq!(
        err.to_string(),
        "maps: no map named \"sized_at_laod\" in the object (it has: hits, sized_at_load)"
    );
    let disabled = [ProgramAttach::disabled("fx_nope")];
    let err = load_overridden(
        SIZED,
        &disabled,
        &[("sized_at_load", 3)],
        AttachPolicy::default(),
    )
    .expect_err("no such program");
    assert_eq!(
        err.to_string(),
        "programs: no program named \"fx_nope\" in the object (it has: fx_sized)"
    );
    assert_unloaded(&["fx_sized"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn autoload_false_leaves_a_program_unloaded_while_the_others_run() {
    require_kernel();
    let disabled = [ProgramAttach::disabled("fx_be_missing")];
    let object = load_overridden(BEST_EFFORT, &disabled, &[], AttachPolicy::AllOrNothing)
        .expect("the program that cannot attach is left out");
    let (attached, left_out) = attached_and_the_other(&object);
    assert_eq!(attached, ["fx_be_writes"]);
    assert_eq!(left_out.name, "fx_be_missing");
    assert!(matches!(left_out.reason, NotAttachedReason::Disabled));
    // What this object loaded: the kernel-wide list is no witness, the
    // BestEffort tests load `fx_be_missing` from the same fixture meanwhile.
    let loaded: Vec<String> = object
        .program_stats()
        .into_iter()
        .map(|s| s.program)
        .collect();
    assert_eq!(loaded, ["fx_be_writes"]);

    assert_counts_writes(&object, "bpfh-autoload", 4);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn best_effort_runs_what_attached_and_all_or_nothing_fails() {
    require_kernel();
    let err = load_overridden(BEST_EFFORT, &[], &[], AttachPolicy::AllOrNothing)
        .expect_err("the kprobe target does not exist");
    assert!(err.is_attach(), "{err:?}");
    assert!(err.to_string().contains("fx_be_missing"), "{err}");
    assert_unloaded(&["fx_be_writes", "fx_be_missing"]);

    let object = load_overridden(BEST_EFFORT, &[], &[], AttachPolicy::BestEffort)
        .expect("best effort serves what attached");
    let (attached, failed) = attached_and_the_other(&object);
    assert_eq!(attached, ["fx_be_writes"]);
    assert_eq!(failed.name, "fx_be_missing");
    let NotAttachedReason::Failed(error) = &failed.reason else {
        panic!("{failed:?}");
    };
    assert!(error.is_attach(), "{error:?}");
    assert_counts_writes(&object, "bpfh-besteffort", 3);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn best_effort_with_nothing_attached_is_a_failure() {
    require_kernel();
    let only_the_missing = [ProgramAttach::disabled("fx_be_writes")];
    let err = load_overridden(
        BEST_EFFORT,
        &only_the_missing,
        &[],
        AttachPolicy::BestEffort,
    )
    .expect_err("nothing attached");
    assert!(
        matches!(err, LoadError::NoProgramAttached { .. }),
        "{err:?}"
    );
    assert!(err.is_attach());
    assert!(
        err.to_string().starts_with(
            "no program attached (attachPolicy BestEffort needs one): program fx_be_missing"
        ),
        "{err}"
    );
    assert_unloaded(&["fx_be_missing"]);
}
