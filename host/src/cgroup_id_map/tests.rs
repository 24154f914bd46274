//! The sync against a directory tree standing in for the hierarchy (ids are
//! inode numbers there too) and a fake map.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::sys::lock;

/// A map in memory; `fail` makes every write fail.
#[derive(Debug, Default, Clone)]
struct FakeMap {
    entries: Arc<Mutex<BTreeMap<u64, PathBuf>>>,
    fail: Arc<Mutex<bool>>,
}

impl Target for FakeMap {
    fn insert(&mut self, id: u64, path: &Path) -> io::Result<()> {
        if *lock(&self.fail) {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        lock(&self.entries).insert(id, path.to_owned());
        Ok(())
    }

    fn remove(&mut self, id: u64) -> io::Result<()> {
        lock(&self.entries).remove(&id);
        Ok(())
    }
}

fn spec(regexps: &[&str]) -> CgroupIdMapSpec {
    CgroupIdMapSpec {
        map: "cgroup_ids".to_owned(),
        kind: CgroupIdMapKind::Hash,
        regexps: regexps.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn id(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").ino()
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn initial_fill_holds_exactly_the_matching_directories() {
    let root = tempfile::tempdir().expect("tempdir");
    for dir in [
        "system.slice/a.service",
        "system.slice/b.service/nested",
        "user.slice/x",
    ] {
        fs::create_dir_all(root.path().join(dir)).expect("mkdir");
    }
    let map = FakeMap::default();
    let running = CgroupIdMap::with_target(
        &spec(&["system.slice/.*service$", "/x$"]),
        root.path().to_owned(),
        Box::new(map.clone()),
    )
    .expect("starts");
    let expected: BTreeMap<u64, PathBuf> = [
        "system.slice/a.service",
        "system.slice/b.service",
        "user.slice/x",
    ]
    .iter()
    .map(|d| {
        let path = root.path().join(d);
        (id(&path), path)
    })
    .collect();
    assert_eq!(*lock(&map.entries), expected);
    assert_eq!(running.ids(), expected.into_iter().collect::<Vec<_>>());
}

#[test]
fn created_and_removed_directories_follow_without_a_restart() {
    let root = tempfile::tempdir().expect("tempdir");
    let map = FakeMap::default();
    let running = CgroupIdMap::with_target(
        &spec(&["/pod[0-9]+$"]),
        root.path().to_owned(),
        Box::new(map.clone()),
    )
    .expect("starts");
    assert!(lock(&map.entries).is_empty());
    // Nested under a directory created after the start: its watch is added
    // by the rescan the parent's creation causes.
    let pod = root.path().join("kubepods/burstable/pod7");
    fs::create_dir_all(&pod).expect("mkdir");
    fs::create_dir(root.path().join("kubepods/other")).expect("mkdir");
    let pod_id = id(&pod);
    assert!(
        running.wait_until(WAIT, &|ids| ids.iter().any(|(i, _)| *i == pod_id)),
        "pod7 never reached the map: {:?}",
        running.ids()
    );
    assert_eq!(*lock(&map.entries), BTreeMap::from([(pod_id, pod.clone())]));
    fs::remove_dir(&pod).expect("rmdir");
    assert!(
        running.wait_until(WAIT, &|ids| ids.is_empty()),
        "pod7 stayed in the map: {:?}",
        running.ids()
    );
    assert!(lock(&map.entries).is_empty());
}

#[test]
fn a_map_that_refuses_writes_fails_the_start_naming_map_and_cgroup() {
    let root = tempfile::tempdir().expect("tempdir");
    fs::create_dir(root.path().join("match")).expect("mkdir");
    let map = FakeMap::default();
    *lock(&map.fail) = true;
    let error = CgroupIdMap::with_target(&spec(&["match"]), root.path().to_owned(), Box::new(map))
        .expect_err("the first write fails");
    let message = crate::error_chain(&error);
    assert!(
        message.starts_with("cgroup id map `cgroup_ids`: cannot write cgroup "),
        "{message}"
    );
    assert!(message.contains("/match (id "), "{message}");
    assert!(message.contains("Argument list too long"), "{message}");
}

#[test]
fn writes_refused_after_the_start_are_counted_and_the_map_catches_up_later() {
    let root = tempfile::tempdir().expect("tempdir");
    let map = FakeMap::default();
    let running = CgroupIdMap::with_target(
        &spec(&["match"]),
        root.path().to_owned(),
        Box::new(map.clone()),
    )
    .expect("starts");
    assert_eq!((running.map(), running.errors()), ("cgroup_ids", 0));
    *lock(&map.fail) = true;
    let dir = root.path().join("match");
    fs::create_dir(&dir).expect("mkdir");
    // Every rescan retries the write and counts its failure.
    let deadline = std::time::Instant::now() + WAIT;
    while running.errors() == 0 {
        assert!(std::time::Instant::now() < deadline, "no error counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lock(&map.entries).is_empty());
    *lock(&map.fail) = false;
    fs::create_dir(root.path().join("other")).expect("mkdir");
    assert!(
        running.wait_until(WAIT, &|ids| ids.iter().any(|(i, _)| *i == id(&dir))),
        "caught up once writes succeed: {:?}",
        running.ids()
    );
}

#[test]
fn a_regexp_that_does_not_compile_is_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let error = CgroupIdMap::with_target(
        &spec(&["ok", "(unclosed"]),
        root.path().to_owned(),
        Box::new(FakeMap::default()),
    )
    .expect_err("refused");
    assert!(
        error.to_string() == "cgroup id map `cgroup_ids`: regexp `(unclosed`",
        "{error}"
    );
}

#[test]
fn a_missing_root_is_an_error_naming_it() {
    let error = CgroupIdMap::with_target(
        &spec(&["x"]),
        PathBuf::from("/nonexistent/cgroup/root"),
        Box::new(FakeMap::default()),
    )
    .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "cgroup id map `cgroup_ids`: cannot read /nonexistent/cgroup/root"
    );
}
