//! pid → command name, from `/proc/<pid>/comm`.
//!
//! Pids are reused, so an answer (or a miss) is trusted for
//! [`CacheBounds::comm_ttl`] only.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use lru::LruCache;

use super::{Budget, CacheBounds, lru};
use crate::sys::lock;

#[derive(Debug)]
pub(super) struct Comms {
    proc: PathBuf,
    bounds: CacheBounds,
    /// pid → (name or a miss, read at).
    cache: Mutex<LruCache<u32, (Option<String>, Instant)>>,
}

impl Comms {
    pub(super) fn new(proc: PathBuf, bounds: CacheBounds) -> Self {
        Self {
            proc,
            bounds,
            cache: Mutex::new(lru(bounds.cache_entries)),
        }
    }

    pub(super) fn name(&self, pid: u32, now: Instant, budget: &mut Budget) -> Option<String> {
        let mut cache = lock(&self.cache);
        if let Some((name, at)) = cache.get(&pid)
            && now.saturating_duration_since(*at) < self.bounds.comm_ttl
        {
            return name.clone();
        }
        if !budget.read() {
            return None;
        }
        let name = std::fs::read_to_string(self.proc.join(pid.to_string()).join("comm"))
            .ok()
            .map(|comm| comm.trim_end_matches('\n').to_owned());
        cache.put(pid, (name.clone(), now));
        name
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_pid_resolves_and_is_reread_after_the_ttl() {
        let dir = tempfile::tempdir().expect("tempdir");
        let comm = dir.path().join("42/comm");
        std::fs::create_dir(dir.path().join("42")).expect("mkdir");
        std::fs::write(&comm, "nginx\n").expect("comm");
        let bounds = CacheBounds {
            comm_ttl: Duration::from_secs(10),
            ..CacheBounds::default()
        };
        let comms = Comms::new(dir.path().into(), bounds);
        let now = Instant::now();
        let mut budget = Budget::default();
        assert_eq!(comms.name(42, now, &mut budget).as_deref(), Some("nginx"));
        std::fs::write(&comm, "bash\n").expect("pid reused");
        assert_eq!(comms.name(42, now, &mut budget).as_deref(), Some("nginx"));
        let later = now + bounds.comm_ttl;
        assert_eq!(comms.name(42, later, &mut budget).as_deref(), Some("bash"));
        assert_eq!(comms.name(43, now, &mut budget), None);
        assert_eq!(budget.reads, Budget::default().reads - 3);
    }

    #[test]
    fn this_process_is_found() {
        let comms = Comms::new("/proc".into(), CacheBounds::default());
        let name = comms.name(std::process::id(), Instant::now(), &mut Budget::default());
        assert!(name.is_some_and(|n| !n.is_empty() && n.len() <= 15));
    }
}
