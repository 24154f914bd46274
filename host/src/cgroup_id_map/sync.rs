//! The matching cgroups against what the map holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::RegexSet;

use super::CgroupIdMapError;
use super::scan::walk;
use super::target::Target;

/// One map's state: the cgroups this sync put in it.
#[derive(Debug)]
pub(super) struct Sync {
    map: String,
    root: PathBuf,
    regexps: RegexSet,
    target: Box<dyn Target>,
    /// The cgroups in the map, by id.
    known: BTreeMap<u64, PathBuf>,
}

impl Sync {
    pub(super) fn new(
        map: String,
        root: PathBuf,
        regexps: RegexSet,
        target: Box<dyn Target>,
    ) -> Self {
        Self {
            map,
            root,
            regexps,
            target,
            known: BTreeMap::new(),
        }
    }

    pub(super) fn map(&self) -> &str {
        &self.map
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn known(&self) -> &BTreeMap<u64, PathBuf> {
        &self.known
    }

    /// Walks the hierarchy (`visit` sees every directory first) and writes
    /// the difference: new matching cgroups in, vanished ones out. Every
    /// failure is returned; a cgroup that could not be written is tried
    /// again at the next rescan.
    pub(super) fn rescan(&mut self, visit: &mut dyn FnMut(&Path)) -> Vec<CgroupIdMapError> {
        let (cgroups, walk_errors) = walk(&self.root, visit);
        let mut errors: Vec<_> = walk_errors
            .into_iter()
            .map(|(path, source)| CgroupIdMapError::Read {
                map: self.map.clone(),
                path,
                source,
            })
            .collect();
        let wanted: BTreeMap<u64, PathBuf> = cgroups
            .into_iter()
            .filter(|(_, path)| self.regexps.is_match(&path.to_string_lossy()))
            .collect();
        let gone: Vec<u64> = self
            .known
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            let path = self.known.remove(&id).unwrap_or_default();
            if let Err(source) = self.target.remove(id) {
                errors.push(self.write_error(id, path.clone(), source));
                self.known.insert(id, path);
            }
        }
        for (id, path) in wanted {
            if self.known.contains_key(&id) {
                continue;
            }
            match self.target.insert(id, &path) {
                Ok(()) => {
                    self.known.insert(id, path);
                }
                // Removed since the walk saw it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => errors.push(self.write_error(id, path, source)),
            }
        }
        errors
    }

    fn write_error(&self, id: u64, path: PathBuf, source: std::io::Error) -> CgroupIdMapError {
        CgroupIdMapError::Write {
            map: self.map.clone(),
            id,
            path,
            source,
        }
    }
}
