//! Writing cgroups into one kind of map: the seam in front of the kernel.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::path::Path;

use crate::manifest::CgroupIdMapKind;
use crate::maps::sys;

/// The value of every cgroup in the map.
const PRESENT: u64 = 1;

/// Where the matching cgroups go.
pub trait Target: Send + std::fmt::Debug {
    /// Puts cgroup `id` (the directory at `path`) in the map.
    fn insert(&mut self, id: u64, path: &Path) -> io::Result<()>;
    /// Takes cgroup `id`, which no longer exists or matches, out.
    fn remove(&mut self, id: u64) -> io::Result<()>;
}

/// A map in the kernel.
#[derive(Debug)]
pub struct KernelTarget {
    fd: OwnedFd,
    kind: CgroupIdMapKind,
}

impl KernelTarget {
    /// The map `fd`, whose shape fits `kind` (checked by the caller: the
    /// kernel reads as many key and value bytes as the map says).
    pub fn new(fd: OwnedFd, kind: CgroupIdMapKind) -> Self {
        Self { fd, kind }
    }
}

impl Target for KernelTarget {
    fn insert(&mut self, id: u64, path: &Path) -> io::Result<()> {
        let value = PRESENT.to_ne_bytes();
        match self.kind {
            CgroupIdMapKind::Hash => sys::update(self.fd.as_fd(), &id.to_ne_bytes(), &value),
            CgroupIdMapKind::CgrpStorage => {
                // The storage is keyed by an open fd of the cgroup's directory.
                let dir = File::open(path)?;
                let key = (dir.as_raw_fd() as u32).to_ne_bytes();
                sys::update(self.fd.as_fd(), &key, &value)
            }
        }
    }

    fn remove(&mut self, id: u64) -> io::Result<()> {
        match self.kind {
            CgroupIdMapKind::Hash => match sys::delete(self.fd.as_fd(), &id.to_ne_bytes()) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
                other => other,
            },
            // The kernel frees a cgroup's storage with the cgroup; one that
            // still exists but no longer matches (renamed) keeps its value.
            CgroupIdMapKind::CgrpStorage => Ok(()),
        }
    }
}
