//! Host lookups that decoder plugins may call: read-only, bounded, cached.
//!
//! A decoder sees raw numbers in BPF maps: kernel addresses, cgroup ids,
//! ifindexes, pids, syscall numbers, errno values. These lookups turn them
//! into names without handing the plugin any filesystem access:
//!
//! | lookup    | source                                            |
//! |-----------|---------------------------------------------------|
//! | `ksym`    | `/proc/kallsyms` (none under lockdown, see below) |
//! | `cgroup`  | the cgroup v2 hierarchy found in mountinfo         |
//! | `pod`     | the cgroup path plus the kubelet's log directories |
//! | `ifname`  | `/sys/class/net/*/ifindex`                         |
//! | `comm`    | `/proc/<pid>/comm`                                 |
//! | `syscall` | a table generated from the x86-64 UAPI headers     |
//! | `errno`   | a table generated from the errno UAPI headers      |
//! | `majorminor` | `/proc/partitions`                              |
//! | `pci`     | the PCI ID database (`/usr/share/misc/pci.ids`)    |
//!
//! Every filesystem root sits in [`Roots`], so tests point them at temp
//! dirs. Every cache is an LRU of [`CacheBounds::cache_entries`]; a miss that
//! would read the filesystem again is paced ([`CacheBounds::relist_interval`])
//! and costs one read of the caller's [`Budget`], which also caps the calls
//! of one collection. Under kernel lockdown ("confidentiality") kallsyms
//! shows every address as 0: the `ksym` lookup then always returns `None`.
//! Lookups never call the Kubernetes API.

mod cgroup;
mod comm;
mod errno;
#[rustfmt::skip]
mod errno_table;
mod grant;
mod ifname;
mod ksym;
mod majorminor;
mod pci;
mod pod;
mod syscall;
#[rustfmt::skip]
mod syscall_table;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use errno::errno_name;
pub use grant::{Grants, Lookup, UnknownLookup};
pub use pod::{Pod, PodRef, parse_pod_path};
pub use syscall::syscall_name;

/// Where the lookups read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// `/proc`: `kallsyms`, `partitions` and `<pid>/comm`.
    pub proc: PathBuf,
    /// mountinfo that names the cgroup v2 mount (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// `/sys/class/net`.
    pub net: PathBuf,
    /// The kubelet's `/var/log/pods` (`<namespace>_<pod>_<uid>/`).
    pub pod_logs: PathBuf,
    /// The kubelet's `/var/log/containers`
    /// (`<pod>_<namespace>_<container>-<id>.log`).
    pub container_logs: PathBuf,
    /// The PCI ID database, the first of these that exists.
    pub pci_ids: Vec<PathBuf>,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            proc: "/proc".into(),
            mountinfo: "/proc/self/mountinfo".into(),
            net: "/sys/class/net".into(),
            pod_logs: "/var/log/pods".into(),
            container_logs: "/var/log/containers".into(),
            // Debian's `pci.ids` package, then Fedora's `hwdata`.
            pci_ids: vec![
                "/usr/share/misc/pci.ids".into(),
                "/usr/share/hwdata/pci.ids".into(),
            ],
        }
    }
}

impl Roots {
    /// These roots with the kubelet's logs under `dir` (`/var/log` on a
    /// node; wherever a `DaemonSet` mounts it).
    #[must_use]
    pub fn with_kubelet_logs(self, dir: &std::path::Path) -> Self {
        Self {
            pod_logs: dir.join("pods"),
            container_logs: dir.join("containers"),
            ..self
        }
    }
}

/// Sizes and paces of the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// Entries of each cache.
    pub cache_entries: usize,
    /// Least time between two re-reads of a directory (cgroup walk, pod and
    /// interface listings, kallsyms) caused by misses.
    pub relist_interval: Duration,
    /// How long a process name is trusted (pids are reused).
    pub comm_ttl: Duration,
    /// Directories one cgroup walk visits at most.
    pub walk_dirs: usize,
    /// Deepest cgroup nesting a walk descends to.
    pub walk_depth: usize,
    /// Longest string a lookup returns, in bytes; longer ones are `None`.
    pub max_string_bytes: usize,
}

impl Default for CacheBounds {
    fn default() -> Self {
        Self {
            cache_entries: 16_384,
            relist_interval: Duration::from_secs(5),
            comm_ttl: Duration::from_secs(10),
            walk_dirs: 100_000,
            walk_depth: 32,
            max_string_bytes: 4096,
        }
    }
}

/// What one collection may spend on lookups. Once spent, lookups return
/// `None` until the next collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Lookup calls, cached or not.
    pub calls: u32,
    /// Calls that read the filesystem (a cache miss).
    pub reads: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            calls: 100_000,
            reads: 256,
        }
    }
}

impl Budget {
    /// Spends one call; false when none is left.
    pub fn call(&mut self) -> bool {
        spend(&mut self.calls)
    }

    /// Spends one filesystem read; false when none is left.
    pub fn read(&mut self) -> bool {
        spend(&mut self.reads)
    }
}

fn spend(left: &mut u32) -> bool {
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}

/// The lookups of one agent, shared by all its decoders.
#[derive(Debug)]
pub struct Lookups {
    bounds: CacheBounds,
    ksyms: ksym::Kallsyms,
    cgroups: cgroup::CgroupPaths,
    pods: pod::PodIndex,
    interfaces: ifname::Interfaces,
    comms: comm::Comms,
    partitions: majorminor::Partitions,
    pci: pci::PciIds,
}

impl Default for Lookups {
    /// The real system's roots and the default bounds.
    fn default() -> Self {
        Self::new(Roots::default(), CacheBounds::default())
    }
}

impl Lookups {
    /// Lookups reading under `roots`. Nothing is read until the first call.
    pub fn new(roots: Roots, bounds: CacheBounds) -> Self {
        Self {
            ksyms: ksym::Kallsyms::new(roots.proc.join("kallsyms")),
            cgroups: cgroup::CgroupPaths::new(roots.mountinfo, bounds),
            pods: pod::PodIndex::new(roots.pod_logs, roots.container_logs, bounds),
            interfaces: ifname::Interfaces::new(roots.net, bounds),
            partitions: majorminor::Partitions::new(roots.proc.join("partitions"), bounds),
            comms: comm::Comms::new(roots.proc, bounds),
            pci: pci::PciIds::new(roots.pci_ids, bounds),
            bounds,
        }
    }

    /// The kernel function or object containing `address`.
    pub fn kernel_symbol(&self, address: u64, budget: &mut Budget) -> Option<String> {
        self.bounded(
            self.ksyms
                .lookup(address, Instant::now(), self.bounds, budget),
        )
    }

    /// The path of cgroup `id` below the v2 root, e.g. `/system.slice/x.service`.
    pub fn cgroup_path(&self, id: u64, budget: &mut Budget) -> Option<String> {
        self.bounded(self.cgroups.path(id, Instant::now(), budget))
    }

    /// The pod and container of cgroup `id`.
    pub fn pod_of_cgroup(&self, id: u64, budget: &mut Budget) -> Option<Pod> {
        let path = self.cgroups.path(id, Instant::now(), budget)?;
        let pod = self.pods.resolve(&path, Instant::now(), budget)?;
        let fits = [
            &pod.namespace,
            &pod.name,
            &pod.uid,
            &pod.container,
            &pod.container_id,
        ]
        .iter()
        .all(|s| s.len() <= self.bounds.max_string_bytes);
        fits.then_some(pod)
    }

    /// The name of network interface `ifindex` in the agent's namespace.
    pub fn interface_name(&self, ifindex: u32, budget: &mut Budget) -> Option<String> {
        self.bounded(self.interfaces.name(ifindex, Instant::now(), budget))
    }

    /// The command name (`comm`) of process `pid`.
    pub fn process_name(&self, pid: u32, budget: &mut Budget) -> Option<String> {
        self.bounded(self.comms.name(pid, Instant::now(), budget))
    }

    /// The name of block device `major`:`minor`, e.g. `sda`.
    pub fn block_device_name(&self, major: u32, minor: u32, budget: &mut Budget) -> Option<String> {
        self.partitions.name(major, minor, Instant::now(), budget)
    }

    /// Whether the host has a PCI ID database.
    pub fn has_pci_ids(&self, budget: &mut Budget) -> bool {
        self.pci.available(budget)
    }

    /// The name of PCI vendor `vendor`.
    pub fn pci_vendor_name(&self, vendor: u16, budget: &mut Budget) -> Option<String> {
        self.pci.vendor(vendor, budget)
    }

    /// The name of device `device` of PCI vendor `vendor`.
    pub fn pci_device_name(&self, vendor: u16, device: u16, budget: &mut Budget) -> Option<String> {
        self.pci.device(vendor, device, budget)
    }

    /// The name of PCI device class `class`.
    pub fn pci_class_name(&self, class: u8, budget: &mut Budget) -> Option<String> {
        self.pci.class(class, budget)
    }

    /// The name of subclass `subclass` of PCI device class `class`.
    pub fn pci_subclass_name(
        &self,
        class: u8,
        subclass: u8,
        budget: &mut Budget,
    ) -> Option<String> {
        self.pci.subclass(class, subclass, budget)
    }

    fn bounded(&self, s: Option<String>) -> Option<String> {
        s.filter(|s| s.len() <= self.bounds.max_string_bytes)
    }
}

/// An LRU of `entries` (at least one).
fn lru<K: std::hash::Hash + Eq, V>(entries: usize) -> lru::LruCache<K, V> {
    lru::LruCache::new(
        std::num::NonZeroUsize::new(entries.max(1)).unwrap_or(std::num::NonZeroUsize::MIN),
    )
}

/// Whether a re-read last done at `last` may run again at `now`.
fn due(last: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_runs_out_and_stays_out() {
        let mut budget = Budget { calls: 2, reads: 1 };
        assert!(budget.call() && budget.call());
        assert!(!budget.call());
        assert!(budget.read());
        assert!(!budget.read());
    }

    #[test]
    fn a_cgroup_id_resolves_to_its_path_and_pod_through_the_roots() {
        let uid = "5c1f5e2a-3b7d-4c1e-9f00-1234567890ab";
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let fx = cgroup::tests::Fixture::new();
        let path = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/\
             cri-containerd-{id}.scope",
            uid.replace('-', "_")
        );
        let cgroup = fx.mkdir(&path[1..]);
        let logs = fx.dir.path();
        std::fs::create_dir_all(logs.join(format!("pods/shop_cart-7f9c_{uid}/app"))).expect("pod");
        std::fs::create_dir(logs.join("containers")).expect("containers");
        std::fs::write(
            logs.join(format!("containers/cart-7f9c_shop_app-{id}.log")),
            "",
        )
        .expect("container log");
        let roots = Roots {
            mountinfo: fx.mountinfo.clone(),
            pod_logs: logs.join("pods"),
            container_logs: logs.join("containers"),
            ..Roots::default()
        };
        let lookups = Lookups::new(roots.clone(), CacheBounds::default());
        let mut budget = Budget::default();
        assert_eq!(lookups.cgroup_path(cgroup, &mut budget), Some(path));
        let pod = lookups.pod_of_cgroup(cgroup, &mut budget).expect("a pod");
        assert_eq!(
            (
                pod.namespace.as_str(),
                pod.name.as_str(),
                pod.container.as_str()
            ),
            ("shop", "cart-7f9c", "app")
        );
        assert_eq!((pod.uid.as_str(), pod.container_id.as_str()), (uid, id));

        let short = CacheBounds {
            max_string_bytes: 16,
            ..CacheBounds::default()
        };
        let lookups = Lookups::new(roots, short);
        assert_eq!(lookups.cgroup_path(cgroup, &mut budget), None, "too long");
        assert_eq!(lookups.pod_of_cgroup(cgroup, &mut budget), None, "too long");
    }

    #[test]
    fn re_reads_are_paced() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        assert!(due(None, now, second));
        assert!(!due(Some(now), now, second));
        assert!(due(Some(now), now + second, second));
    }
}
