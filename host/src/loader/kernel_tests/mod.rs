//! Loader tests against the real kernel (gated on root), and the small
//! helpers they share: fixtures, a raw map lookup, the loaded-program list
//! and a veth pair in its own network namespace.

mod array_keys;
mod conformance;
mod errors;
mod net;
mod overrides;
mod tracing;
mod usdt;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};

use super::{LoadError, LoadRequest, LoadedObject, load};
use crate::manifest::spec::{AttachPolicy, GlobalValue, MapOverride, ProgramAttach};
use crate::testing::artifact;

/// The bytes of a BPF artifact, e.g. `bpf/fixtures/socket.bpf.o`.
pub fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(artifact(relative)).expect("read BPF artifact")
}

/// Loads a fixture with explicit attach points and globals.
pub fn load_with(
    relative: &str,
    programs: &[ProgramAttach],
    globals: &BTreeMap<String, GlobalValue>,
) -> Result<LoadedObject, LoadError> {
    let elf = fixture(relative);
    load(&LoadRequest {
        exporter: "test",
        elf: &elf,
        globals,
        programs,
        maps: &BTreeMap::new(),
        attach_policy: AttachPolicy::AllOrNothing,
    })
}

/// Loads a fixture with map sizes, attach points and an attach policy.
pub fn load_overridden(
    relative: &str,
    programs: &[ProgramAttach],
    maps: &[(&str, u32)],
    attach_policy: AttachPolicy,
) -> Result<LoadedObject, LoadError> {
    let elf = fixture(relative);
    let maps = maps
        .iter()
        .map(|&(name, max_entries)| (name.to_owned(), MapOverride { max_entries }))
        .collect();
    load(&LoadRequest {
        exporter: "test",
        elf: &elf,
        globals: &BTreeMap::new(),
        programs,
        maps: &maps,
        attach_policy,
    })
}

/// Loads a fixture with explicit attach points and no globals.
pub fn load_fixture(relative: &str, programs: &[ProgramAttach]) -> Result<LoadedObject, LoadError> {
    load_with(relative, programs, &BTreeMap::new())
}

/// Calls getppid(2), the syscall most fixtures count.
pub fn getppid() {
    // SAFETY: getppid has no preconditions.
    let _ = unsafe { libc::getppid() };
}

/// Looks a key up through a map fd; `None` when absent.
pub fn lookup(fd: &OwnedFd, key: &[u8], value_len: usize) -> Option<Vec<u8>> {
    crate::sys::map_lookup(fd.as_fd(), key, value_len).ok()
}

/// Sum over CPUs of a per-CPU `u64` slot, or the plain `u64` value.
pub fn u64_sum(bytes: &[u8]) -> u64 {
    bytes
        .as_chunks::<8>()
        .0
        .iter()
        .copied()
        .map(u64::from_le_bytes)
        .sum()
}

/// Number of possible CPUs (the per-CPU value stride).
pub fn possible_cpus() -> usize {
    aya::util::nr_cpus().expect("possible cpus").get() as usize
}

/// The fixture counter `hits[0]`.
pub fn hits(object: &LoadedObject) -> u64 {
    let map = object.map("hits").expect("fixture has a hits map");
    u64_sum(&lookup(&map.fd, &0u32.to_le_bytes(), 8).expect("hits[0] exists"))
}

/// Names of every program loaded in the kernel.
pub fn loaded_program_names() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|info| info.name_as_str().map(str::to_owned))
        .collect()
}

/// Asserts none of `names` is loaded in the kernel any more. The kernel
/// frees programs after an RCU grace period, so this polls briefly.
pub fn assert_unloaded(names: &[&str]) {
    eventually(&format!("programs {names:?} to unload"), || {
        let loaded = loaded_program_names();
        names.iter().all(|name| !loaded.iter().any(|l| l == name))
    });
}

/// Polls `check` (which may also generate events) until it holds, for at
/// most five seconds; panics naming `what` otherwise.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Drops `object` and asserts that none of its programs is still loaded
/// (by kernel program id, so concurrent tests cannot interfere). The kernel
/// frees programs after an RCU grace period, so this polls briefly.
pub fn drop_and_assert_unloaded(object: LoadedObject) {
    let ids: Vec<u32> = object
        .ebpf()
        .programs()
        .filter_map(|(_, p)| p.info().ok())
        .map(|info| info.id())
        .collect();
    assert!(!ids.is_empty(), "the object had loaded programs");
    drop(object);
    eventually(&format!("program ids {ids:?} to unload"), || {
        aya::programs::loaded_programs()
            .filter_map(Result::ok)
            .all(|info| !ids.contains(&info.id()))
    });
}

pub use crate::testing::netns::Veth;
