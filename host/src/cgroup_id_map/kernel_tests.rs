//! The map kept in sync in the kernel: cgroups created and removed under
//! `/sys/fs/cgroup`, the map read back with `bpf(2)`.

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::loader::{LoadRequest, LoadedObject, load};
use crate::manifest::AttachPolicy;
use crate::maps::sys::BpfSys as _;
use crate::testing::{TestCgroups, artifact, require_kernel};

const WAIT: Duration = Duration::from_secs(10);

fn object() -> LoadedObject {
    let elf = fs::read(artifact("bpf/ebpf-exporter/cgroup_execs.bpf.o")).expect("read object");
    load(&LoadRequest {
        exporter: "test",
        elf: &elf,
        globals: &std::collections::BTreeMap::new(),
        programs: &[],
        maps: &std::collections::BTreeMap::new(),
        attach_policy: AttachPolicy::AllOrNothing,
    })
    .expect("loads")
}

/// Every key of the `hash` map `cgroup_ids`, each checked to hold 1.
fn hash_keys(object: &LoadedObject) -> BTreeSet<u64> {
    let map = aya::maps::HashMap::<_, u64, u64>::try_from(
        object.ebpf().map("cgroup_ids").expect("cgroup_ids"),
    )
    .expect("a u64 hash");
    map.iter()
        .map(|entry| {
            let (key, value) = entry.expect("entry");
            assert_eq!(value, 1, "cgroup {key} holds {value}");
            key
        })
        .collect()
}

/// The value in the `cgrp_storage` of cgroup `path`, if it has one.
fn storage(object: &LoadedObject, path: &Path) -> Option<u64> {
    let map = object
        .any_map_fd("cgroup_ids_storage")
        .expect("cgroup_ids_storage");
    let dir = fs::File::open(path).expect("open cgroup");
    let key = (dir.as_raw_fd() as u32).to_ne_bytes();
    let mut value = [0u8; 8];
    // SAFETY: the map's key is a 4-byte fd and its value 8 bytes.
    match unsafe { Kernel.lookup(map, &key, &mut value) } {
        Ok(()) => Some(u64::from_ne_bytes(value)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
        Err(e) => panic!("lookup in cgroup_ids_storage: {e}"),
    }
}

fn spec(map: &str, kind: CgroupIdMapKind, dir: &Path) -> CgroupIdMapSpec {
    CgroupIdMapSpec {
        map: map.to_owned(),
        kind,
        regexps: vec![format!("^{}/match-", regex::escape(&dir.to_string_lossy()))],
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn hash_map_holds_exactly_the_matching_cgroups_as_they_come_and_go() {
    require_kernel();
    let object = object();
    let cgroups = TestCgroups::new("hash");
    let (_, before) = cgroups.make("match-before");
    cgroups.make("other-before");
    let fd = object.any_map_fd("cgroup_ids").expect("map");
    let running = CgroupIdMap::start(
        &spec("cgroup_ids", CgroupIdMapKind::Hash, cgroups.path()),
        fd,
        None,
    )
    .expect("starts");
    assert_eq!(hash_keys(&object), BTreeSet::from([before]), "initial fill");

    let (created_path, created) = cgroups.make("match-created");
    let (_, nested) = cgroups.make("match-created/nested");
    cgroups.make("other-created");
    assert!(
        running.wait_until(WAIT, &|ids| ids.len() == 3),
        "created cgroups never reached the map: {:?}",
        running.ids()
    );
    assert_eq!(
        hash_keys(&object),
        BTreeSet::from([before, created, nested])
    );

    fs::remove_dir(created_path.join("nested")).expect("rmdir");
    fs::remove_dir(&created_path).expect("rmdir");
    assert!(
        running.wait_until(WAIT, &|ids| ids.len() == 1),
        "removed cgroups stayed in the map: {:?}",
        running.ids()
    );
    assert_eq!(hash_keys(&object), BTreeSet::from([before]));
    drop(running);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn cgrp_storage_is_set_in_the_matching_cgroups_only() {
    require_kernel();
    let object = object();
    let cgroups = TestCgroups::new("storage");
    let (before, _) = cgroups.make("match-before");
    let (other, _) = cgroups.make("other-before");
    let fd = object.any_map_fd("cgroup_ids_storage").expect("map");
    let running = CgroupIdMap::start(
        &spec(
            "cgroup_ids_storage",
            CgroupIdMapKind::CgrpStorage,
            cgroups.path(),
        ),
        fd,
        None,
    )
    .expect("starts");
    assert_eq!(storage(&object, &before), Some(1), "initial fill");
    assert_eq!(storage(&object, &other), None);

    let (created, created_id) = cgroups.make("match-created");
    let (other_created, _) = cgroups.make("other-created");
    assert!(
        running.wait_until(WAIT, &|ids| ids.iter().any(|(id, _)| *id == created_id)),
        "created cgroup never reached the map: {:?}",
        running.ids()
    );
    assert_eq!(storage(&object, &created), Some(1));
    assert_eq!(storage(&object, &other_created), None);

    fs::remove_dir(&created).expect("rmdir");
    assert!(
        running.wait_until(WAIT, &|ids| ids.len() == 1),
        "a removed cgroup stayed known: {:?}",
        running.ids()
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_map_of_the_wrong_shape_is_refused_naming_it() {
    require_kernel();
    let object = object();
    let counters = object.any_map_fd("cgroup_execs_total").expect("map");
    let storage = object.any_map_fd("cgroup_ids_storage").expect("map");
    let root = Path::new("/sys/fs/cgroup");
    let wrong_kind = CgroupIdMap::start(
        &spec("cgroup_ids_storage", CgroupIdMapKind::Hash, root),
        storage,
        None,
    )
    .expect_err("a cgrp_storage map is not a hash");
    assert_eq!(
        wrong_kind.to_string(),
        "cgroup id map `cgroup_ids_storage`: a `hash` map must be a hash or LRU hash with \
         8-byte keys and values, this one is of type 32 with 4-byte keys and 8-byte values"
    );
    let wrong_storage = CgroupIdMap::start(
        &spec("cgroup_execs_total", CgroupIdMapKind::CgrpStorage, root),
        counters,
        None,
    )
    .expect_err("an LRU hash is not a cgrp_storage");
    assert!(
        wrong_storage
            .to_string()
            .contains("this one is of type 9 with 8-byte keys"),
        "{wrong_storage}"
    );
}
