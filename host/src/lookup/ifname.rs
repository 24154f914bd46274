//! ifindex → interface name, from `/sys/class/net/<name>/ifindex`.
//!
//! The whole directory is listed on the first miss and again on a miss at
//! most every [`CacheBounds::relist_interval`]; the listing replaces the cache, so
//! a renamed or removed interface is forgotten. Names are those of the
//! agent's network namespace.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::{Budget, CacheBounds, due};
use crate::sys::lock;

#[derive(Debug)]
pub(super) struct Interfaces {
    net: PathBuf,
    bounds: CacheBounds,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    names: HashMap<u32, String>,
    listed_at: Option<Instant>,
}

impl Interfaces {
    pub(super) fn new(net: PathBuf, bounds: CacheBounds) -> Self {
        Self {
            net,
            bounds,
            state: Mutex::default(),
        }
    }

    pub(super) fn name(&self, ifindex: u32, now: Instant, budget: &mut Budget) -> Option<String> {
        let mut state = lock(&self.state);
        if let Some(name) = state.names.get(&ifindex) {
            return Some(name.clone());
        }
        if !due(state.listed_at, now, self.bounds.relist_interval) || !budget.read() {
            return None;
        }
        state.listed_at = Some(now);
        state.names = self.list();
        state.names.get(&ifindex).cloned()
    }

    fn list(&self) -> HashMap<u32, String> {
        let Ok(entries) = std::fs::read_dir(&self.net) else {
            return HashMap::new();
        };
        entries
            .flatten()
            .take(self.bounds.cache_entries)
            .filter_map(|entry| {
                let index = std::fs::read_to_string(entry.path().join("ifindex")).ok()?;
                let name = entry.file_name().into_string().ok()?;
                Some((index.trim().parse().ok()?, name))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn add(net: &std::path::Path, name: &str, index: u32) {
        std::fs::create_dir_all(net.join(name)).expect("mkdir");
        std::fs::write(net.join(name).join("ifindex"), format!("{index}\n")).expect("ifindex");
    }

    #[test]
    fn an_ifindex_resolves_and_new_interfaces_appear_after_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        add(dir.path(), "lo", 1);
        add(dir.path(), "eth0", 2);
        std::fs::write(dir.path().join("bonding_masters"), "").expect("stray file");
        let bounds = CacheBounds {
            relist_interval: Duration::from_secs(1),
            ..CacheBounds::default()
        };
        let ifs = Interfaces::new(dir.path().into(), bounds);
        let now = Instant::now();
        let mut budget = Budget::default();
        assert_eq!(ifs.name(2, now, &mut budget).as_deref(), Some("eth0"));
        assert_eq!(ifs.name(1, now, &mut budget).as_deref(), Some("lo"));
        add(dir.path(), "veth7", 7);
        assert_eq!(ifs.name(7, now, &mut budget), None);
        let later = now + Duration::from_secs(1);
        assert_eq!(ifs.name(7, later, &mut budget).as_deref(), Some("veth7"));
    }

    #[test]
    fn this_machines_loopback_is_found() {
        let ifs = Interfaces::new("/sys/class/net".into(), CacheBounds::default());
        assert_eq!(
            ifs.name(1, Instant::now(), &mut Budget::default())
                .as_deref(),
            Some("lo")
        );
    }
}
