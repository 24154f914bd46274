//! The host side of the WIT `lookups` interface: each store holds a
//! [`LookupSession`] that checks the grant and spends the collection's
//! budget before asking the agent's shared [`Lookups`].

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::bindings::{v0_2, v0_3};
use crate::lookup::{Budget, Grants, Lookup, Lookups, errno_name, syscall_name};

/// The lookups one plugin instance may make.
#[derive(Debug)]
pub(super) struct LookupSession {
    lookups: Arc<Lookups>,
    grants: Grants,
    per_collection: Budget,
    left: Budget,
}

impl LookupSession {
    pub(super) fn new(lookups: Arc<Lookups>, grants: Grants, per_collection: Budget) -> Self {
        Self {
            lookups,
            grants,
            per_collection,
            left: per_collection,
        }
    }

    /// Refills the budget: called before every collection.
    pub(super) fn reset(&mut self) {
        self.left = self.per_collection;
    }

    /// Whether a call to `lookup` may proceed: granted and within budget.
    /// The load-time check already refused components that import an
    /// ungranted function, so a refusal here is a second line of defence.
    fn allow(&mut self, lookup: Lookup) -> bool {
        if !self.grants.allows(lookup) {
            tracing::debug!(%lookup, "decoder called a lookup it was not granted");
            return false;
        }
        self.left.call()
    }
}

/// Adds the `lookups` interface of every hosted world to `linker`, served
/// by each store's session.
pub(super) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    session: fn(&mut T) -> &mut LookupSession,
) -> wasmtime::Result<()> {
    v0_3::lookups::add_to_linker::<T, HasSelf<LookupSession>>(linker, session)?;
    v0_2::lookups::add_to_linker::<T, HasSelf<LookupSession>>(linker, session)
}

/// The same functions in every world: one body, implemented for each
/// world's generated `Host` trait.
macro_rules! host_lookups {
    ($world:ident) => {
        impl $world::lookups::Host for LookupSession {
            fn kernel_symbol(&mut self, address: u64) -> Option<String> {
                if !self.allow(Lookup::Ksym) {
                    return None;
                }
                self.lookups.kernel_symbol(address, &mut self.left)
            }

            fn cgroup_path(&mut self, cgroup_id: u64) -> Option<String> {
                if !self.allow(Lookup::Cgroup) {
                    return None;
                }
                self.lookups.cgroup_path(cgroup_id, &mut self.left)
            }

            fn pod_of_cgroup(&mut self, cgroup_id: u64) -> Option<$world::lookups::Pod> {
                if !self.allow(Lookup::Pod) {
                    return None;
                }
                let pod = self.lookups.pod_of_cgroup(cgroup_id, &mut self.left)?;
                Some($world::lookups::Pod {
                    namespace: pod.namespace,
                    name: pod.name,
                    uid: pod.uid,
                    container: pod.container,
                    container_id: pod.container_id,
                })
            }

            fn interface_name(&mut self, ifindex: u32) -> Option<String> {
                if !self.allow(Lookup::Ifname) {
                    return None;
                }
                self.lookups.interface_name(ifindex, &mut self.left)
            }

            fn process_name(&mut self, pid: u32) -> Option<String> {
                if !self.allow(Lookup::Comm) {
                    return None;
                }
                self.lookups.process_name(pid, &mut self.left)
            }

            fn syscall_name(&mut self, number: u32) -> Option<String> {
                if !self.allow(Lookup::Syscall) {
                    return None;
                }
                syscall_name(number).map(str::to_owned)
            }

            fn errno_name(&mut self, value: i32) -> Option<String> {
                if !self.allow(Lookup::Errno) {
                    return None;
                }
                errno_name(value).map(str::to_owned)
            }

            fn block_device_name(&mut self, major: u32, minor: u32) -> Option<String> {
                if !self.allow(Lookup::Majorminor) {
                    return None;
                }
                self.lookups.block_device_name(major, minor, &mut self.left)
            }

            fn has_pci_ids(&mut self) -> bool {
                self.allow(Lookup::Pci) && self.lookups.has_pci_ids(&mut self.left)
            }

            fn pci_vendor_name(&mut self, vendor: u16) -> Option<String> {
                if !self.allow(Lookup::Pci) {
                    return None;
                }
                self.lookups.pci_vendor_name(vendor, &mut self.left)
            }

            fn pci_device_name(&mut self, vendor: u16, device: u16) -> Option<String> {
                if !self.allow(Lookup::Pci) {
                    return None;
                }
                self.lookups.pci_device_name(vendor, device, &mut self.left)
            }

            fn pci_class_name(&mut self, class: u8) -> Option<String> {
                if !self.allow(Lookup::Pci) {
                    return None;
                }
                self.lookups.pci_class_name(class, &mut self.left)
            }

            fn pci_subclass_name(&mut self, class: u8, subclass: u8) -> Option<String> {
                if !self.allow(Lookup::Pci) {
                    return None;
                }
                self.lookups
                    .pci_subclass_name(class, subclass, &mut self.left)
            }
        }
    };
}

host_lookups!(v0_3);
host_lookups!(v0_2);

#[cfg(test)]
mod tests {
    use super::v0_3::lookups::Host as _;
    use super::*;

    #[test]
    fn ungranted_calls_and_calls_past_the_budget_return_none() {
        let grants = Grants::parse(&["syscall"]).expect("valid");
        let budget = Budget { calls: 2, reads: 0 };
        let mut session = LookupSession::new(Arc::default(), grants, budget);
        assert_eq!(session.errno_name(2), None, "not granted");
        assert_eq!(session.syscall_name(1).as_deref(), Some("write"));
        assert_eq!(session.syscall_name(257).as_deref(), Some("openat"));
        assert_eq!(session.syscall_name(1), None, "budget spent");
        session.reset();
        assert_eq!(session.syscall_name(1).as_deref(), Some("write"));
    }
}
