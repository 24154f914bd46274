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
}

impl Lookup {
    /// Every lookup, in the order messages list them.
    pub const ALL: [Lookup; 7] = [
        Self::Ksym,
        Self::Cgroup,
        Self::Pod,
        Self::Ifname,
        Self::Comm,
        Self::Syscall,
        Self::Errno,
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
        }
    }

    /// The function of the WIT `lookups` interface that needs this grant.
    pub fn wit_function(self) -> &'static str {
        match self {
            Self::Ksym => "kernel-symbol",
            Self::Cgroup => "cgroup-path",
            Self::Pod => "pod-of-cgroup",
            Self::Ifname => "interface-name",
            Self::Comm => "process-name",
            Self::Syscall => "syscall-name",
            Self::Errno => "errno-name",
        }
    }

    /// The lookup behind a WIT function name, if it is one.
    pub fn of_wit_function(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.wit_function() == name)
    }

    /// The valid names, for messages: `ksym, cgroup, ...`.
    pub fn valid_names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    fn bit(self) -> u8 {
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
pub struct Grants(u8);

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
            assert_eq!(Lookup::of_wit_function(lookup.wit_function()), Some(lookup));
        }
        let err = "kallsyms".parse::<Lookup>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown lookup `kallsyms`: expected one of ksym, cgroup, pod, ifname, comm, \
             syscall, errno"
        );
    }

    #[test]
    fn grants_hold_exactly_what_was_named() {
        let grants = Grants::parse(&["pod", "comm"]).expect("valid");
        assert!(grants.allows(Lookup::Pod) && grants.allows(Lookup::Comm));
        assert!(!grants.allows(Lookup::Cgroup));
        assert_eq!(format!("{grants:?}"), "{Pod, Comm}");
        assert!(!Grants::default().allows(Lookup::Errno));
        assert!(Lookup::ALL.iter().all(|l| Grants::all().allows(*l)));
    }
}
