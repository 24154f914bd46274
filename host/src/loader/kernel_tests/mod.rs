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
use std::process::Command;

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

/// Runs a command and panics with its output if it fails.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn command");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth pair: `name` in the host namespace (10.X.0.1/24), its peer in
/// namespace `name-ns` (10.X.0.2/24). Dropping it deletes both.
pub struct Veth {
    pub name: String,
    pub peer_ip: String,
    netns: String,
}

impl Veth {
    pub fn create(name: &str, subnet: u8) -> Self {
        let netns = format!("{name}-ns");
        let peer = format!("{name}p");
        // Leftovers of an interrupted run.
        let _ = Command::new("ip").args(["netns", "del", &netns]).output();
        let _ = Command::new("ip").args(["link", "del", name]).output();
        run(&["ip", "netns", "add", &netns]);
        let veth = Self {
            name: name.to_owned(),
            peer_ip: format!("10.{subnet}.0.2"),
            netns: netns.clone(),
        };
        run(&[
            "ip", "link", "add", name, "type", "veth", "peer", "name", &peer, "netns", &netns,
        ]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.{subnet}.0.1/24"),
            "dev",
            name,
        ]);
        run(&["ip", "link", "set", name, "up"]);
        let in_ns = |args: &[&str]| {
            let mut full = vec!["ip", "netns", "exec", &netns];
            full.extend_from_slice(args);
            run(&full);
        };
        in_ns(&[
            "ip",
            "addr",
            "add",
            &format!("10.{subnet}.0.2/24"),
            "dev",
            &peer,
        ]);
        in_ns(&["ip", "link", "set", &peer, "up"]);
        in_ns(&["ip", "link", "set", "lo", "up"]);
        veth
    }

    /// Sends a UDP datagram to the peer (the peer answers ARP, so traffic
    /// flows both ways).
    pub fn send_traffic(&self) {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind udp");
        let _ = socket.send_to(b"bpfhost", format!("{}:9", self.peer_ip));
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}
