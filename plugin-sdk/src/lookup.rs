//! Host lookups: names for the numbers decoders find in maps.
//!
//! BPF programs record raw ids: kernel addresses, cgroup ids, ifindexes,
//! pids, syscall numbers, errno values. A decoder has no filesystem of its
//! own, so the host answers these questions for it, from caches it bounds:
//!
//! | function             | manifest grant | answer                         |
//! |----------------------|----------------|--------------------------------|
//! | [`kernel_symbol`]    | `ksym`         | `vfs_write`                    |
//! | [`cgroup_path`]      | `cgroup`       | `/system.slice/sshd.service`   |
//! | [`pod_of_cgroup`]    | `pod`          | a [`Pod`]                      |
//! | [`interface_name`]   | `ifname`       | `eth0`                         |
//! | [`process_name`]     | `comm`         | `nginx`                        |
//! | [`syscall_name`]     | `syscall`      | `openat`                       |
//! | [`errno_name`]       | `errno`        | `ENOENT`                       |
//! | [`block_device_name`]| `majorminor`   | `nvme0n1p2`                    |
//! | [`pci_vendor_name`]  | `pci`          | `Intel Corporation`            |
//! | [`pci_device_name`]  | `pci`          | `82542 Gigabit Ethernet ...`   |
//! | [`pci_class_name`]   | `pci`          | `Network controller`           |
//! | [`pci_subclass_name`]| `pci`          | `Ethernet controller`          |
//! | [`has_pci_ids`]      | `pci`          | whether the host has `pci.ids` |
//!
//! `block_device_name` and the `pci` functions are new in
//! `bpfhost:decoder@0.2.1`: a decoder that calls them needs an agent of
//! that release or later.
//!
//! **Grants.** A decoder may only call what its manifest lists in
//! `spec.decoder.lookups`, e.g. `lookups: [pod, comm]`. The host reads
//! which functions the component imports and refuses to load it when one
//! is not granted, naming the grant to add. A decoder that calls none of
//! these functions imports nothing and needs no grant.
//!
//! **`None`.** Every function returns `None` when the host does not know
//! the answer (a process that exited, a cgroup outside Kubernetes, a kernel
//! in lockdown that hides symbol addresses) and when the collection's
//! lookup budget is spent: a decoder should fall back to the raw number.
//!
//! **Native tests.** Off `wasm32` there is no host: every function answers
//! from the current thread's [`fake::Fake`] (empty, so `None`, unless a test
//! installs one).
//!
//! ```no_run
//! use bpfhost_plugin_sdk::lookup;
//!
//! let cgroup_id = 4242;
//! let (namespace, pod) = match lookup::pod_of_cgroup(cgroup_id) {
//!     Some(p) => (p.namespace, p.name),
//!     None => (String::new(), String::new()),
//! };
//! let syscall = lookup::syscall_name(257).unwrap_or_else(|| "257".to_owned());
//! ```

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::bpfhost::decoder::lookups as host;

/// A Kubernetes pod and one of its containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pod {
    /// Namespace; empty while the kubelet has not listed the pod yet.
    pub namespace: String,
    /// Pod name; empty while the kubelet has not listed the pod yet.
    pub name: String,
    /// Pod UID, with dashes.
    pub uid: String,
    /// Container name; empty when unknown or for the pod's own cgroup.
    pub container: String,
    /// Container id; empty for the pod's own cgroup.
    pub container_id: String,
}

/// The kernel function containing `address` (grant `ksym`). Always `None`
/// where the kernel hides addresses (lockdown, `kptr_restrict`).
pub fn kernel_symbol(address: u64) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::kernel_symbol(address);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.kernel_symbols.get(&address).cloned())
}

/// The cgroup v2 path of a cgroup id as `bpf_get_current_cgroup_id()`
/// returns it, e.g. `/system.slice/sshd.service` (grant `cgroup`).
pub fn cgroup_path(cgroup_id: u64) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::cgroup_path(cgroup_id);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.cgroup_paths.get(&cgroup_id).cloned())
}

/// The pod and container of a cgroup id (grant `pod`); `None` for a cgroup
/// that is not a kubelet-managed pod's.
pub fn pod_of_cgroup(cgroup_id: u64) -> Option<Pod> {
    #[cfg(target_arch = "wasm32")]
    return host::pod_of_cgroup(cgroup_id).map(|p| Pod {
        namespace: p.namespace,
        name: p.name,
        uid: p.uid,
        container: p.container,
        container_id: p.container_id,
    });
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pods.get(&cgroup_id).cloned())
}

/// The name of a network interface in the agent's network namespace
/// (grant `ifname`).
pub fn interface_name(ifindex: u32) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::interface_name(ifindex);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.interfaces.get(&ifindex).cloned())
}

/// The command name of a process, as in `/proc/<pid>/comm` (grant `comm`).
pub fn process_name(pid: u32) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::process_name(pid);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.processes.get(&pid).cloned())
}

/// The name of an x86-64 system call number, e.g. `257` → `openat`
/// (grant `syscall`).
pub fn syscall_name(number: u32) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::syscall_name(number);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.syscalls.get(&number).cloned())
}

/// The symbolic name of an errno value; `2` and `-2` are both `ENOENT`
/// (grant `errno`).
pub fn errno_name(value: i32) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::errno_name(value);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.errnos.get(&value.wrapping_abs()).cloned())
}

/// The name of block device `major`:`minor` from `/proc/partitions`, e.g.
/// `8`, `1` → `sda1` (grant `majorminor`).
pub fn block_device_name(major: u32, minor: u32) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::block_device_name(major, minor);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.block_devices.get(&(major, minor)).cloned())
}

/// Whether the host has a PCI ID database (`pci.ids`); without one every
/// `pci_` function answers `None` (grant `pci`).
pub fn has_pci_ids() -> bool {
    #[cfg(target_arch = "wasm32")]
    return host::has_pci_ids();
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pci_ids.then_some(())).is_some()
}

/// The name of a PCI vendor, e.g. `0x8086` → `Intel Corporation` (grant
/// `pci`).
pub fn pci_vendor_name(vendor: u16) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::pci_vendor_name(vendor);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pci_vendors.get(&vendor).cloned())
}

/// The name of device `device` of PCI vendor `vendor` (grant `pci`).
pub fn pci_device_name(vendor: u16, device: u16) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::pci_device_name(vendor, device);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pci_devices.get(&(vendor, device)).cloned())
}

/// The name of a PCI device class, e.g. `0x02` → `Network controller`
/// (grant `pci`).
pub fn pci_class_name(class: u8) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::pci_class_name(class);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pci_classes.get(&class).cloned())
}

/// The name of subclass `subclass` of PCI class `class`, e.g. `0x02`,
/// `0x00` → `Ethernet controller` (grant `pci`).
pub fn pci_subclass_name(class: u8, subclass: u8) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::pci_subclass_name(class, subclass);
    #[cfg(not(target_arch = "wasm32"))]
    fake::answer(|f| f.pci_subclasses.get(&(class, subclass)).cloned())
}

/// Answers for native unit tests of a decoder (not built for `wasm32`).
///
/// ```
/// use bpfhost_plugin_sdk::lookup::{self, fake, fake::Fake};
///
/// let mut fake = Fake::default();
/// fake.processes.insert(42, "nginx".to_owned());
/// fake::install(fake);
/// assert_eq!(lookup::process_name(42).as_deref(), Some("nginx"));
/// assert_eq!(lookup::process_name(43), None);
/// ```
#[cfg(not(target_arch = "wasm32"))]
pub mod fake {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::Pod;

    /// What each lookup answers, by key; a missing key answers `None`.
    #[derive(Debug, Clone, Default)]
    pub struct Fake {
        /// For [`super::kernel_symbol`].
        pub kernel_symbols: HashMap<u64, String>,
        /// For [`super::cgroup_path`].
        pub cgroup_paths: HashMap<u64, String>,
        /// For [`super::pod_of_cgroup`].
        pub pods: HashMap<u64, Pod>,
        /// For [`super::interface_name`].
        pub interfaces: HashMap<u32, String>,
        /// For [`super::process_name`].
        pub processes: HashMap<u32, String>,
        /// For [`super::syscall_name`].
        pub syscalls: HashMap<u32, String>,
        /// For [`super::errno_name`], by positive value.
        pub errnos: HashMap<i32, String>,
        /// For [`super::block_device_name`], by `(major, minor)`.
        pub block_devices: HashMap<(u32, u32), String>,
        /// For [`super::has_pci_ids`]; the `pci_` lookups answer from the
        /// maps below whatever it says.
        pub pci_ids: bool,
        /// For [`super::pci_vendor_name`].
        pub pci_vendors: HashMap<u16, String>,
        /// For [`super::pci_device_name`], by `(vendor, device)`.
        pub pci_devices: HashMap<(u16, u16), String>,
        /// For [`super::pci_class_name`].
        pub pci_classes: HashMap<u8, String>,
        /// For [`super::pci_subclass_name`], by `(class, subclass)`.
        pub pci_subclasses: HashMap<(u8, u8), String>,
    }

    thread_local! {
        static FAKE: RefCell<Fake> = RefCell::new(Fake::default());
    }

    /// Makes the lookups on this thread answer from `fake`.
    pub fn install(fake: Fake) {
        FAKE.with(|f| *f.borrow_mut() = fake);
    }

    pub(super) fn answer<T>(read: impl FnOnce(&Fake) -> Option<T>) -> Option<T> {
        FAKE.with(|f| read(&f.borrow()))
    }
}
