//! `cgroup_id_map`: a BPF map of cgroup ids the agent keeps in sync with the
//! cgroup v2 hierarchy, so that a program can tell whether the current task
//! runs in a cgroup of interest (`ebpf_exporter`'s `cgroup_id_map`).
//!
//! The cgroups whose full path (`/sys/fs/cgroup/system.slice/cron.service`)
//! matches one of the regexps are put in the map when it is loaded, then as
//! they are created; removed ones leave it. Two kinds of map, as upstream:
//! a hash keyed by cgroup id (the directory's inode number, what
//! `bpf_get_current_cgroup_id()` returns) and `BPF_MAP_TYPE_CGRP_STORAGE`,
//! whose storage the kernel frees with the cgroup. The value is `1u64`.
//!
//! Changes are seen through inotify on every directory of the hierarchy;
//! any event (or a lost one: a queue overflow, a watch the kernel refused,
//! or a quiet [`RESCAN_EVERY`]) leads to a walk of the whole hierarchy and
//! the difference is written, so nothing depends on reading events right.
//!
//! - `scan.rs`: walking the hierarchy into ids and paths;
//! - `target.rs`: writing one map kind (the seam before the kernel);
//! - `sync.rs`: the matching cgroups against what the map holds;
//! - `watch.rs`: inotify and the thread that rescans.

mod scan;
mod sync;
mod target;
mod watch;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::manifest::{CgroupIdMapKind, CgroupIdMapSpec};
use crate::maps::sys::{BpfSys as _, Kernel};

use sync::Sync;
pub use target::{KernelTarget, Target};
use watch::Watcher;

/// The cgroups in a map: ids with their paths, by id.
pub type Ids = [(u64, PathBuf)];

/// How long the hierarchy may go unwalked when no event arrives.
pub const RESCAN_EVERY: Duration = Duration::from_secs(30);

const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
const BPF_MAP_TYPE_CGRP_STORAGE: u32 = 32;

/// Why a cgroup id map cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum CgroupIdMapError {
    #[error("cgroup id map `{map}`: the object has no such map (it has: {available})")]
    NoSuchMap { map: String, available: String },
    #[error("cgroup id map `{map}`: cannot read the map's info")]
    MapInfo {
        map: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "cgroup id map `{map}`: a `{kind}` map must be {expected}, this one is of type {map_type} \
         with {key_size}-byte keys and {value_size}-byte values"
    )]
    Shape {
        map: String,
        kind: &'static str,
        expected: &'static str,
        map_type: u32,
        key_size: u32,
        value_size: u32,
    },
    #[error("cgroup id map `{map}`: regexp `{regexp}`")]
    Regexp {
        map: String,
        regexp: String,
        #[source]
        source: regex::Error,
    },
    #[error("cgroup id map `{map}`: no cgroup v2 hierarchy is mounted")]
    NoHierarchy { map: String },
    #[error("cgroup id map `{map}`: cannot read {}", .path.display())]
    Read {
        map: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cgroup id map `{map}`: cannot watch {}", .path.display())]
    Watch {
        map: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cgroup id map `{map}`: cannot write cgroup {} (id {id})", .path.display())]
    Write {
        map: String,
        id: u64,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A running cgroup id map: filled when started, kept in sync by a thread
/// until dropped.
#[derive(Debug)]
pub struct CgroupIdMap {
    map: String,
    watcher: Watcher,
}

impl CgroupIdMap {
    /// Checks the map `fd` (named `spec.map`) fits `spec.kind`, fills it
    /// with the matching cgroups of the hierarchy at `root` (the cgroup v2
    /// mount when `None`) and starts keeping it in sync.
    pub fn start(
        spec: &CgroupIdMapSpec,
        fd: BorrowedFd<'_>,
        root: Option<&Path>,
    ) -> Result<Self, CgroupIdMapError> {
        let map = spec.map.clone();
        check_shape(&map, spec.kind, fd)?;
        let fd: OwnedFd = fd
            .try_clone_to_owned()
            .map_err(|source| CgroupIdMapError::MapInfo {
                map: map.clone(),
                source,
            })?;
        let root = match root {
            Some(root) => root.to_owned(),
            None => crate::sys::cgroup2_root()
                .ok_or(CgroupIdMapError::NoHierarchy { map: map.clone() })?,
        };
        let target = Box::new(KernelTarget::new(fd, spec.kind));
        Self::with_target(spec, root, target)
    }

    /// [`CgroupIdMap::start`] writing into `target`: the seam tests use.
    pub fn with_target(
        spec: &CgroupIdMapSpec,
        root: PathBuf,
        target: Box<dyn Target>,
    ) -> Result<Self, CgroupIdMapError> {
        let regexps = regex::RegexSet::new(&spec.regexps).map_err(|source| {
            let regexp = spec
                .regexps
                .iter()
                .find(|r| regex::Regex::new(r).is_err())
                .cloned()
                .unwrap_or_default();
            CgroupIdMapError::Regexp {
                map: spec.map.clone(),
                regexp,
                source,
            }
        })?;
        let sync = Sync::new(spec.map.clone(), root, regexps, target);
        let watcher = Watcher::start(sync)?;
        Ok(Self {
            map: spec.map.clone(),
            watcher,
        })
    }

    /// The map's name.
    pub fn map(&self) -> &str {
        &self.map
    }

    /// Errors keeping the map in sync since the start (each also logged):
    /// writes the kernel refused, directories that could not be read.
    pub fn errors(&self) -> u64 {
        self.watcher.errors()
    }

    /// The ids now in the map, with their paths.
    pub fn ids(&self) -> Vec<(u64, PathBuf)> {
        self.watcher.ids()
    }

    /// Waits until the ids in the map satisfy `done`, at most `timeout`
    /// (each rescan is a chance); whether they did.
    pub fn wait_until(&self, timeout: Duration, done: &dyn Fn(&Ids) -> bool) -> bool {
        self.watcher.wait_until(timeout, done)
    }
}

/// A `hash` map has `u64` keys (hash or LRU hash), a `cgrp_storage` one is
/// `BPF_MAP_TYPE_CGRP_STORAGE` (keyed by a cgroup fd, `u32`); both hold
/// `u64` values.
fn check_shape(
    map: &str,
    kind: CgroupIdMapKind,
    fd: BorrowedFd<'_>,
) -> Result<(), CgroupIdMapError> {
    let info = Kernel
        .map_info(fd)
        .map_err(|source| CgroupIdMapError::MapInfo {
            map: map.to_owned(),
            source,
        })?;
    let (name, expected, fits) = match kind {
        CgroupIdMapKind::Hash => (
            "hash",
            "a hash or LRU hash with 8-byte keys and values",
            matches!(info.map_type, BPF_MAP_TYPE_HASH | BPF_MAP_TYPE_LRU_HASH)
                && info.key_size == 8,
        ),
        CgroupIdMapKind::CgrpStorage => (
            "cgrp_storage",
            "BPF_MAP_TYPE_CGRP_STORAGE (32) with 8-byte values",
            info.map_type == BPF_MAP_TYPE_CGRP_STORAGE && info.key_size == 4,
        ),
    };
    if fits && info.value_size == 8 {
        return Ok(());
    }
    Err(CgroupIdMapError::Shape {
        map: map.to_owned(),
        kind: name,
        expected,
        map_type: info.map_type,
        key_size: info.key_size,
        value_size: info.value_size,
    })
}
