//! Which namespaces' `BpfExporter`s an agent acts on (`--namespaces`).
//!
//! Creating a `BpfExporter` runs code in the kernel of every node it
//! selects, so a cluster may limit the namespaces whose exporters agents
//! load. Exporters elsewhere still get a status entry saying why they do
//! not run; the `ConfigMap`s of other namespaces are never watched (the
//! agent's RBAC then needs to read them only in these namespaces).

use std::collections::BTreeSet;
use std::fmt;

/// The namespaces an agent acts on: all, or a set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    namespaces: Option<BTreeSet<String>>,
}

impl Scope {
    /// Every namespace.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only `namespaces`; an empty list means every namespace.
    pub fn only<I, S>(namespaces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: BTreeSet<String> = namespaces
            .into_iter()
            .map(Into::into)
            .filter(|n| !n.is_empty())
            .collect();
        Self {
            namespaces: (!set.is_empty()).then_some(set),
        }
    }

    /// Whether exporters and `ConfigMap`s of `namespace` are acted on.
    pub fn allows(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|set| set.contains(namespace))
    }

    /// The namespaces, when limited.
    pub fn namespaces(&self) -> Option<&BTreeSet<String>> {
        self.namespaces.as_ref()
    }

    /// Why an exporter of `namespace` does not run here.
    pub fn refusal(&self, namespace: &str) -> String {
        format!(
            "namespace {namespace} is not among the namespaces this agent acts on ({self}); \
             an administrator sets them with the agent's --namespaces flag"
        )
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespaces {
            None => f.write_str("all"),
            Some(set) => {
                let names: Vec<&str> = set.iter().map(String::as_str).collect();
                f.write_str(&names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_allows_its_namespaces_only() {
        let scope = Scope::only(["monitoring", "team-a", ""]);
        assert!(scope.allows("monitoring") && scope.allows("team-a"));
        assert!(!scope.allows("default"));
        assert!(scope.refusal("default").contains("(monitoring, team-a)"));
        assert!(Scope::all().allows("anything"));
        assert_eq!(Scope::only(Vec::<String>::new()), Scope::all());
    }
}
