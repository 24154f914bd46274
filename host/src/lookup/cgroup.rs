//! Cgroup id → cgroup v2 path.
//!
//! A cgroup id (`bpf_get_current_cgroup_id()`) is the inode number of the
//! cgroup's directory in the v2 hierarchy. On a miss the hierarchy, found
//! from mountinfo, is walked breadth-first (at most [`CacheBounds::walk_dirs`]
//! directories, [`CacheBounds::walk_depth`] deep, once per
//! [`CacheBounds::relist_interval`]) and every directory seen is cached.
//! Cgroup ids are not reused, so cached paths never go stale; a removed
//! cgroup only ages out of the LRU.

use std::collections::VecDeque;
use std::os::unix::fs::{DirEntryExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use lru::LruCache;

use super::{Budget, CacheBounds, due, lru};
use crate::sys::cgroup2_mount;
use crate::sys::lock;

#[derive(Debug)]
pub(super) struct CgroupPaths {
    mountinfo: PathBuf,
    bounds: CacheBounds,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    root: Option<PathBuf>,
    paths: LruCache<u64, String>,
    walked_at: Option<Instant>,
}

impl CgroupPaths {
    pub(super) fn new(mountinfo: PathBuf, bounds: CacheBounds) -> Self {
        Self {
            mountinfo,
            bounds,
            state: Mutex::new(State {
                root: None,
                paths: lru(bounds.cache_entries),
                walked_at: None,
            }),
        }
    }

    /// The path of cgroup `id` relative to the v2 root, starting with `/`.
    pub(super) fn path(&self, id: u64, now: Instant, budget: &mut Budget) -> Option<String> {
        let mut state = lock(&self.state);
        if let Some(path) = state.paths.get(&id) {
            return Some(path.clone());
        }
        if !due(state.walked_at, now, self.bounds.relist_interval) || !budget.read() {
            return None;
        }
        state.walked_at = Some(now);
        if state.root.is_none() {
            state.root = std::fs::read_to_string(&self.mountinfo)
                .ok()
                .and_then(|text| cgroup2_mount(&text));
        }
        let root = state.root.clone()?;
        walk(&root, self.bounds, &mut state.paths, id)
    }
}

/// Walks the hierarchy under `root`, caching every directory; returns the
/// path of `wanted` if the walk met it.
fn walk(
    root: &Path,
    bounds: CacheBounds,
    paths: &mut LruCache<u64, String>,
    wanted: u64,
) -> Option<String> {
    let mut found = None;
    let mut note = |ino: u64, path: String| {
        if ino == wanted {
            found = Some(path.clone());
        }
        paths.put(ino, path);
    };
    let root_ino = std::fs::metadata(root).ok()?.ino();
    note(root_ino, "/".to_owned());
    let mut queue = VecDeque::from([(root.to_path_buf(), String::new(), 0)]);
    let mut visited = 1;
    while let Some((dir, relative, depth)) = queue.pop_front() {
        if depth >= bounds.walk_depth {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if visited >= bounds.walk_dirs {
                return found;
            }
            visited += 1;
            let path = format!("{relative}/{}", entry.file_name().to_string_lossy());
            note(entry.ino(), path.clone());
            queue.push_back((entry.path(), path, depth + 1));
        }
    }
    found
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;

    /// A fake hierarchy under a temp dir and a mountinfo naming it.
    pub(crate) struct Fixture {
        pub(crate) dir: tempfile::TempDir,
        pub(crate) mountinfo: PathBuf,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("cgroup");
            std::fs::create_dir(&root).expect("cgroup root");
            let mountinfo = dir.path().join("mountinfo");
            std::fs::write(
                &mountinfo,
                format!(
                    "35 24 0:30 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n\
                     41 35 0:38 / {} rw - cgroup2 cgroup2 rw\n",
                    root.display()
                ),
            )
            .expect("mountinfo");
            Self { dir, mountinfo }
        }

        /// Creates `relative` (`a/b/c`) and returns its id.
        pub(crate) fn mkdir(&self, relative: &str) -> u64 {
            let path = self.dir.path().join("cgroup").join(relative);
            std::fs::create_dir_all(&path).expect("mkdir");
            std::fs::metadata(&path).expect("stat").ino()
        }
    }

    fn paced(interval: Duration) -> CacheBounds {
        CacheBounds {
            relist_interval: interval,
            ..CacheBounds::default()
        }
    }

    #[test]
    fn an_id_resolves_to_its_path_below_the_v2_mount() {
        let fx = Fixture::new();
        let id = fx.mkdir("kubepods.slice/kubepods-burstable.slice");
        let other = fx.mkdir("system.slice/sshd.service");
        let paths = CgroupPaths::new(fx.mountinfo.clone(), CacheBounds::default());
        let mut budget = Budget::default();
        let now = Instant::now();
        assert_eq!(
            paths.path(id, now, &mut budget).as_deref(),
            Some("/kubepods.slice/kubepods-burstable.slice")
        );
        // One walk cached the whole tree: the next id costs no read.
        assert_eq!(
            paths.path(other, now, &mut budget).as_deref(),
            Some("/system.slice/sshd.service")
        );
        assert_eq!(budget.reads, Budget::default().reads - 1);
    }

    #[test]
    fn a_new_cgroup_is_found_once_the_walk_interval_has_passed() {
        let fx = Fixture::new();
        let paths = CgroupPaths::new(fx.mountinfo.clone(), paced(Duration::from_secs(5)));
        let mut budget = Budget::default();
        let now = Instant::now();
        assert_eq!(paths.path(1, now, &mut budget), None);
        let id = fx.mkdir("late.scope");
        assert_eq!(paths.path(id, now, &mut budget), None, "walks are paced");
        let later = now + Duration::from_secs(5);
        assert_eq!(
            paths.path(id, later, &mut budget).as_deref(),
            Some("/late.scope")
        );
    }

    #[test]
    fn walks_are_bounded_in_breadth_depth_and_budget() {
        let fx = Fixture::new();
        let deep = fx.mkdir("a/b/c/d");
        for i in 0..10 {
            fx.mkdir(&format!("wide/{i}"));
        }
        let shallow = CacheBounds {
            walk_depth: 2,
            relist_interval: Duration::ZERO,
            ..CacheBounds::default()
        };
        let paths = CgroupPaths::new(fx.mountinfo.clone(), shallow);
        assert_eq!(
            paths.path(deep, Instant::now(), &mut Budget::default()),
            None
        );

        let narrow = CacheBounds {
            walk_dirs: 3,
            relist_interval: Duration::ZERO,
            ..CacheBounds::default()
        };
        let paths = CgroupPaths::new(fx.mountinfo.clone(), narrow);
        assert_eq!(
            paths.path(deep, Instant::now(), &mut Budget::default()),
            None
        );

        let paths = CgroupPaths::new(fx.mountinfo.clone(), paced(Duration::ZERO));
        let mut broke = Budget {
            calls: 10,
            reads: 0,
        };
        assert_eq!(paths.path(deep, Instant::now(), &mut broke), None);
        assert_eq!(
            paths
                .path(deep, Instant::now(), &mut Budget::default())
                .as_deref(),
            Some("/a/b/c/d")
        );
    }

    #[test]
    fn without_a_v2_mount_nothing_resolves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mountinfo = dir.path().join("mountinfo");
        std::fs::write(
            &mountinfo,
            "35 24 0:30 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n",
        )
        .expect("mountinfo");
        let paths = CgroupPaths::new(mountinfo, CacheBounds::default());
        assert_eq!(paths.path(1, Instant::now(), &mut Budget::default()), None);
    }
}
