//! Block device `major:minor` → name, from `/proc/partitions`.
//!
//! The file is small and the kernel rewrites it as disks come and go, so
//! the whole table is re-read when a call comes at least
//! [`CacheBounds::relist_interval`] after the last read (hit or miss): a
//! removed disk is forgotten and a reused number renamed within that time.
//! The table keeps at most [`CacheBounds::cache_entries`] devices.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::{Budget, CacheBounds, due};
use crate::sys::lock;

/// Most bytes read from the file: a few hundred devices take a few KiB.
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug)]
pub(super) struct Partitions {
    path: PathBuf,
    bounds: CacheBounds,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    names: HashMap<(u32, u32), String>,
    read_at: Option<Instant>,
}

impl Partitions {
    pub(super) fn new(path: PathBuf, bounds: CacheBounds) -> Self {
        Self {
            path,
            bounds,
            state: Mutex::default(),
        }
    }

    pub(super) fn name(
        &self,
        major: u32,
        minor: u32,
        now: Instant,
        budget: &mut Budget,
    ) -> Option<String> {
        let mut state = lock(&self.state);
        if due(state.read_at, now, self.bounds.relist_interval) && budget.read() {
            state.read_at = Some(now);
            state.names = self.read();
        }
        state.names.get(&(major, minor)).cloned()
    }

    /// The devices the file lists; none when it cannot be read.
    fn read(&self) -> HashMap<(u32, u32), String> {
        let mut text = String::new();
        let read = std::fs::File::open(&self.path)
            .and_then(|file| file.take(MAX_FILE_BYTES).read_to_string(&mut text));
        if let Err(error) = read {
            tracing::debug!(path = %self.path.display(), %error, "cannot read block devices");
            return HashMap::new();
        }
        parse(&text, self.bounds)
    }
}

/// `major minor #blocks name` lines; the header and anything else that
/// does not have four fields with numeric ids is skipped.
fn parse(text: &str, bounds: CacheBounds) -> HashMap<(u32, u32), String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (major, minor, _blocks, name) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            if fields.next().is_some() || name.len() > bounds.max_string_bytes {
                return None;
            }
            Some(((major.parse().ok()?, minor.parse().ok()?), name.to_owned()))
        })
        .take(bounds.cache_entries)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const PARTITIONS: &str = "major minor  #blocks  name

   8        0  488386584 sda
   8        1     524288 sda1
   8       16  976762584 sdb
 259        0  500107608 nvme0n1
 259        1  499582976 nvme0n1p1
";

    fn bounds() -> CacheBounds {
        CacheBounds {
            relist_interval: Duration::from_secs(1),
            ..CacheBounds::default()
        }
    }

    #[test]
    fn devices_resolve_by_major_and_minor_and_the_header_is_skipped() {
        let table = parse(PARTITIONS, bounds());
        assert_eq!(table.len(), 5);
        assert_eq!(table[&(8, 0)], "sda");
        assert_eq!(table[&(8, 16)], "sdb");
        assert_eq!(table[&(259, 1)], "nvme0n1p1");
        let few = CacheBounds {
            cache_entries: 2,
            max_string_bytes: 4,
            ..bounds()
        };
        let table = parse(PARTITIONS, few);
        assert_eq!(table.len(), 2, "bounded: {table:?}");
        assert!(table.values().all(|name| name.len() <= 4), "{table:?}");
    }

    #[test]
    fn a_changed_file_is_read_again_after_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("partitions");
        std::fs::write(&path, PARTITIONS).expect("write");
        let partitions = Partitions::new(path.clone(), bounds());
        let now = Instant::now();
        let mut budget = Budget::default();
        assert_eq!(
            partitions.name(8, 1, now, &mut budget).as_deref(),
            Some("sda1")
        );
        assert_eq!(partitions.name(8, 32, now, &mut budget), None, "unknown");
        // sdb unplugged, sdc plugged in.
        std::fs::write(&path, PARTITIONS.replace("16  976762584 sdb", "32  1 sdc"))
            .expect("rewrite");
        assert_eq!(partitions.name(8, 32, now, &mut budget), None, "paced");
        assert_eq!(budget.reads, Budget::default().reads - 1, "one read so far");
        let later = now + Duration::from_secs(1);
        assert_eq!(
            partitions.name(8, 32, later, &mut budget).as_deref(),
            Some("sdc")
        );
        assert_eq!(
            partitions.name(8, 16, later, &mut budget),
            None,
            "forgotten"
        );
    }

    #[test]
    fn a_missing_file_and_a_spent_budget_answer_none() {
        let partitions = Partitions::new("/nonexistent/partitions".into(), bounds());
        assert_eq!(
            partitions.name(8, 0, Instant::now(), &mut Budget::default()),
            None
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("partitions");
        std::fs::write(&path, PARTITIONS).expect("write");
        let partitions = Partitions::new(path, bounds());
        let mut spent = Budget { calls: 1, reads: 0 };
        assert_eq!(partitions.name(8, 0, Instant::now(), &mut spent), None);
    }

    #[test]
    fn this_machines_partitions_parse() {
        let text = std::fs::read_to_string("/proc/partitions").expect("read /proc/partitions");
        let table = parse(&text, CacheBounds::default());
        let devices = text
            .lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(table.len(), devices, "every device of {text}");
    }
}
