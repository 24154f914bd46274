//! Small helpers over the operating system and the standard library that
//! every area uses: mount points from mountinfo, poison-tolerant locks.
//!
//! This module sits below everything else in the crate and imports nothing
//! from it, so any area may use it without tying itself to another.

mod mountinfo;
mod sync;

pub use mountinfo::{cgroup2_mount, cgroup2_root};
pub use sync::{lock, read, write};
