//! Walking the cgroup v2 hierarchy into cgroup ids and paths.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirEntryExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

/// Every cgroup under `root` (`root` included) by id: the directory's
/// inode number, which is what `bpf_get_current_cgroup_id()` returns.
/// `visit` sees each directory before it is listed (where the watch goes,
/// so that a child created during the walk is never missed). A directory
/// removed during the walk is left out; other errors are returned with the
/// cgroups seen.
pub(super) fn walk(
    root: &Path,
    visit: &mut dyn FnMut(&Path),
) -> (BTreeMap<u64, PathBuf>, Vec<(PathBuf, io::Error)>) {
    let mut cgroups = BTreeMap::new();
    let mut errors = Vec::new();
    match fs::metadata(root) {
        Ok(meta) => {
            cgroups.insert(meta.ino(), root.to_owned());
        }
        Err(error) => {
            errors.push((root.to_owned(), error));
            return (cgroups, errors);
        }
    }
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        visit(&dir);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                errors.push((dir, e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    errors.push((dir.clone(), e));
                    continue;
                }
            };
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let path = entry.path();
                cgroups.insert(entry.ino(), path.clone());
                pending.push(path);
            }
        }
    }
    (cgroups, errors)
}
