//! The lookups a manifest can grant a decoder, by name.

use std::fmt;
use std::str::FromStr;

/// One host lookup, as a manifest names it in `decoder.lookups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lookup {
    /// Kernel symbol of an address (`/proc/kallsyms`).
    Ksym,
    /// Cgroup v2 path of a cgroup id.
    Cgroup,
    /// Kubernetes pod, namespace and container of a cgroup id.
    Pod,
    /// Network interface name of an ifindex.
    Ifname,
    /// Command name of a process id.
    Comm,
    /// x86-64 system call name of a syscall number.
    Syscall,
    /// Symbolic name of an errno value.
    Errno,
    /// Block device name of a major and minor number (`/proc/partitions`).
    Majorminor,
    /// PCI vendor, device, class and subclass names (the PCI ID database).
    Pci,
}

impl Lookup {
    /// Every lookup, in the order messages list them.
    pub const ALL: [Lookup; 9] = [
        Self::Ksym,
        Self::Cgroup,
        Self::Pod,
        Self::Ifname,
        Self::Comm,
        Self::Syscall,
        Self::Errno,
        Self::Majorminor,
        Self::Pci,
    ];

    /// The name a manifest uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ksym => "ksym",
            Self::Cgroup => "cgroup",
            Self::Pod => "pod",
            Self::Ifname => "ifname",
            Self::Comm => "comm",
            Self::Syscall => "syscall",
            Self::Errno => "errno",
            Self::Majorminor => "majorminor",
            Self::Pci => "pci",
        }
    }

    /// The functions of the WIT `lookups` interface that need this grant.
    pub fn wit_functions(self) -> &'static [&'static str] {
        match self {
            Self::Ksym => &["kernel-symbol"],
            Self::Cgroup => &["cgroup-path"],
            Self::Pod => &["pod-of-cgroup"],
            Self::Ifname => &["interface-name"],
            Self::Comm => &["process-name"],
            Self::Syscall => &["syscall-name"],
            Self::Errno => &["errno-name"],
            Self::Majorminor => &["block-device-name"],
            Self::Pci => &[
                "has-pci-ids",
                "pci-vendor-name",
                "pci-device-name",
                "pci-class-name",
                "pci-subclass-name",
            ],
        }
    }

    /// The lookup behind a WIT function name, if it is one.
    pub fn of_wit_function(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.wit_functions().contains(&name))
    }

    /// The first version of the WIT package whose `lookups` interface has
    /// this lookup's functions.
    pub fn since(self) -> &'static str {
        match self {
            Self::Majorminor | Self::Pci => "0.2.1",
            _ => "0.2.0",
        }
    }

    /// The valid names, for messages: `ksym, cgroup, ...`.
    pub fn valid_names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lookup name that is not one of [`Lookup::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lookup `{name}`: expected one of {}", Lookup::valid_names())]
pub struct UnknownLookup {
    pub name: String,
}

impl FromStr for Lookup {
    type Err = UnknownLookup;

    fn from_str(name: &str) -> Result<Self, UnknownLookup> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == name)
            .ok_or_else(|| UnknownLookup {
                name: name.to_owned(),
            })
    }
}

/// The set of lookups a decoder may call; empty by default.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants(u16);

impl Grants {
    /// No lookup at all.
    pub const NONE: Grants = Grants(0);

    /// Every lookup.
    pub fn all() -> Self {
        Lookup::ALL.into_iter().collect()
    }

    /// Whether `lookup` is granted.
    pub fn allows(self, lookup: Lookup) -> bool {
        self.0 & lookup.bit() != 0
    }

    /// Adds `lookup`.
    pub fn grant(&mut self, lookup: Lookup) {
        self.0 |= lookup.bit();
    }

    /// The lookups of both.
    #[must_use]
    pub fn union(self, other: Grants) -> Grants {
        Grants(self.0 | other.0)
    }

    /// Parses manifest names; the first unknown one is the error.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownLookup> {
        names.iter().map(|n| n.as_ref().parse::<Lookup>()).collect()
    }
}

impl FromIterator<Lookup> for Grants {
    fn from_iter<I: IntoIterator<Item = Lookup>>(iter: I) -> Self {
        let mut grants = Self::NONE;
        for lookup in iter {
            grants.grant(lookup);
        }
        grants
    }
}

impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(Lookup::ALL.into_iter().filter(|l| self.allows(*l)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_list_the_valid_ones() {
        for lookup in Lookup::ALL {
            assert_eq!(lookup.as_str().parse::<Lookup>(), Ok(lookup));
            for function in lookup.wit_functions() {
                assert_eq!(Lookup::of_wit_function(function), Some(lookup));
            }
        }
        assert_eq!(Lookup::of_wit_function("pci-class-name"), Some(Lookup::Pci));
        let err = "kallsyms".parse::<Lookup>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown lookup `kallsyms`: expected one of ksym, cgroup, pod, ifname, comm, \
             syscall, errno, majorminor, pci"
        );
    }

    #[test]
    fn grants_hold_exactly_what_was_named() {
        let grants = Grants::parse(&["pod", "comm", "pci"]).expect("valid");
        assert!(grants.allows(Lookup::Pod) && grants.allows(Lookup::Comm));
        assert!(grants.allows(Lookup::Pci));
        assert!(!grants.allows(Lookup::Cgroup) && !grants.allows(Lookup::Majorminor));
        assert_eq!(format!("{grants:?}"), "{Pod, Comm, Pci}");
        assert!(!Grants::default().allows(Lookup::Errno));
        let more = grants.union(Grants::parse(&["errno"]).expect("valid"));
        assert_eq!(format!("{more:?}"), "{Pod, Comm, Errno, Pci}");
        assert!(Lookup::ALL.iter().all(|l| Grants::all().allows(*l)));
    }
}
