//! Small helpers over the operating system and the standard library that
//! every area uses: mount points from mountinfo, poison-tolerant locks,
//! one element of a BPF map, the monotonic clock, uprobes linked through `perf_event_open` and
//! `BPF_LINK_CREATE`.
//!
//! This module sits below everything else in the crate and imports nothing
//! from it, so any area may use it without tying itself to another.

mod bpf_map;
mod clock;
mod mountinfo;
mod sync;
mod uprobe;

pub use bpf_map::{map_lookup, map_update};
pub use clock::monotonic_ns;
pub use mountinfo::{cgroup2_mount, cgroup2_root};
pub use sync::{lock, read, write};
pub use uprobe::{UprobeLink, UprobeSite, attach_uprobe, uprobe_pmu_available};
