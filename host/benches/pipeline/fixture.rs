//! Real BPF maps filled through `bpf(2)` with synthetic flows.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use bpfhost::maps::MapType;
use bpfhost::maps::sys;
use bpfhost_plugin_flows::{KEY_SIZE, key};

/// The map types the benchmark fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hash,
    PerCpuHash,
}

impl Kind {
    pub const ALL: [Self; 2] = [Self::Hash, Self::PerCpuHash];

    pub fn name(self) -> &'static str {
        match self {
            Self::Hash => "hash",
            Self::PerCpuHash => "percpu_hash",
        }
    }

    fn map_type(self) -> MapType {
        match self {
            Self::Hash => MapType::Hash,
            Self::PerCpuHash => MapType::PerCpuHash,
        }
    }
}

/// Possible CPUs (the slots of a per-CPU value), as the kernel counts them.
pub fn possible_cpus() -> usize {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .expect("read /sys/devices/system/cpu/possible");
    text.trim()
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>().expect("cpu number") - a.parse::<usize>().expect("cpu number")
                    + 1
            }
            None => 1,
        })
        .sum()
}

/// The `i`-th synthetic flow: a distinct source per entry, so every entry is
/// its own series.
pub fn flow_key(i: u32) -> [u8; KEY_SIZE] {
    let dport = [443, 80, 53, 8080][(i % 4) as usize];
    let proto = if dport == 53 { 17 } else { 6 };
    key(
        Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff)),
        Ipv4Addr::new(192, 168, 0, 1),
        32768 + (i % 28_000) as u16,
        dport,
        proto,
    )
}

/// Creates a map of `kind` with room for exactly `entries` and fills it.
pub fn filled(kind: Kind, entries: u32) -> OwnedFd {
    let fd = sys::create_map(kind.map_type().to_raw(), KEY_SIZE as u32, 8, entries)
        .unwrap_or_else(|e| panic!("creating a {} map of {entries}: {e}", kind.name()));
    fill(fd.as_fd(), kind, 0..entries);
    fd
}

/// Writes flows `range` into `fd`.
pub fn fill(fd: BorrowedFd<'_>, kind: Kind, range: std::ops::Range<u32>) {
    let cpus = match kind {
        Kind::Hash => 1,
        Kind::PerCpuHash => possible_cpus(),
    };
    let mut value = vec![0u8; 8 * cpus];
    for i in range {
        for (cpu, slot) in value.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            slot.copy_from_slice(&(u64::from(i) + 1 + cpu as u64).to_ne_bytes());
        }
        sys::update(fd, &flow_key(i), &value)
            .unwrap_or_else(|e| panic!("filling a {} map at entry {i}: {e}", kind.name()));
    }
}
