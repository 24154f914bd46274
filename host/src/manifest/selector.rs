//! Kubernetes label selectors: matching node labels, and checking a selector
//! before it is used.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::error::{Location, ManifestError};
use super::spec::{LabelSelector, LabelSelectorRequirement};

/// A `matchExpressions` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label is set to one of the values.
    In,
    /// The label is unset or set to none of the values.
    NotIn,
    /// The label is set, to any value.
    Exists,
    /// The label is unset.
    DoesNotExist,
}

impl Operator {
    /// Whether the operator takes `values` (`In`, `NotIn`) or must have none.
    pub fn needs_values(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn)
    }
}

/// An operator name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operator `{0}`")]
pub struct UnknownOperator(pub String);

impl FromStr for Operator {
    type Err = UnknownOperator;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "In" => Ok(Operator::In),
            "NotIn" => Ok(Operator::NotIn),
            "Exists" => Ok(Operator::Exists),
            "DoesNotExist" => Ok(Operator::DoesNotExist),
            other => Err(UnknownOperator(other.to_owned())),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        })
    }
}

impl LabelSelector {
    /// Whether `labels` satisfy every `matchLabels` entry and every
    /// `matchExpressions` requirement. The empty selector matches everything.
    ///
    /// A requirement with an unknown operator matches nothing; loading
    /// rejects such selectors (see [`LabelSelector::check`]).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|req| req.matches(labels))
    }

    /// Errors in the selector at `field` (e.g. `spec.nodeSelector`): unknown
    /// operators, empty keys, and `values` that do not fit the operator.
    pub fn check(&self, at: &Location, field: &str) -> Vec<ManifestError> {
        let mut errors = Vec::new();
        if self.match_labels.contains_key("") {
            errors.push(ManifestError::EmptyKey {
                at: at.boxed(),
                field: format!("{field}.matchLabels"),
            });
        }
        for (i, req) in self.match_expressions.iter().enumerate() {
            let field = format!("{field}.matchExpressions[{i}]");
            if req.key.is_empty() {
                errors.push(ManifestError::Empty {
                    at: at.boxed(),
                    field: format!("{field}.key"),
                });
            }
            match req.operator.parse::<Operator>() {
                Err(UnknownOperator(operator)) => errors.push(ManifestError::UnknownOperator {
                    at: at.boxed(),
                    field: format!("{field}.operator"),
                    operator,
                }),
                Ok(op) if op.needs_values() == req.values.is_empty() => {
                    errors.push(ManifestError::SelectorValues {
                        at: at.boxed(),
                        field: format!("{field}.values"),
                        operator: op.to_string(),
                        required: op.needs_values(),
                    });
                }
                Ok(_) => {}
            }
        }
        errors
    }
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy this one requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator.parse::<Operator>() {
            Ok(Operator::In) => value.is_some_and(|v| self.values.contains(v)),
            Ok(Operator::NotIn) => value.is_none_or(|v| !self.values.contains(v)),
            Ok(Operator::Exists) => value.is_some(),
            Ok(Operator::DoesNotExist) => value.is_none(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn selector(yaml: &str) -> LabelSelector {
        serde_yaml::from_str(yaml).expect("valid selector")
    }

    #[test]
    fn empty_selector_matches_every_node() {
        assert!(LabelSelector::default().matches(&labels(&[])));
        assert!(LabelSelector::default().matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_need_every_pair() {
        let sel = selector("matchLabels: {zone: a, role: edge}");
        assert!(sel.matches(&labels(&[("zone", "a"), ("role", "edge"), ("x", "y")])));
        assert!(!sel.matches(&labels(&[("zone", "a")])));
        assert!(!sel.matches(&labels(&[("zone", "b"), ("role", "edge")])));
    }

    #[test]
    fn each_operator() {
        let node = labels(&[("zone", "a"), ("gpu", "")]);
        let check = |expr: &str| selector(&format!("matchExpressions: [{expr}]")).matches(&node);
        assert!(check("{key: zone, operator: In, values: [a, b]}"));
        assert!(!check("{key: zone, operator: In, values: [b]}"));
        assert!(!check("{key: missing, operator: In, values: [a]}"));
        assert!(check("{key: zone, operator: NotIn, values: [b]}"));
        assert!(!check("{key: zone, operator: NotIn, values: [a]}"));
        assert!(check("{key: missing, operator: NotIn, values: [a]}"));
        assert!(check("{key: gpu, operator: Exists}"));
        assert!(!check("{key: missing, operator: Exists}"));
        assert!(check("{key: missing, operator: DoesNotExist}"));
        assert!(!check("{key: gpu, operator: DoesNotExist}"));
        assert!(!check("{key: zone, operator: Near, values: [a]}"));
    }

    #[test]
    fn labels_and_expressions_combine() {
        let sel = selector(
            "matchLabels: {zone: a}\nmatchExpressions: [{key: role, operator: NotIn, values: [db]}]",
        );
        assert!(sel.matches(&labels(&[("zone", "a"), ("role", "web")])));
        assert!(!sel.matches(&labels(&[("zone", "a"), ("role", "db")])));
    }

    #[test]
    fn check_reports_bad_requirements() {
        let sel = selector(
            "matchExpressions:\n\
             - {key: a, operator: Near}\n\
             - {key: b, operator: In}\n\
             - {key: '', operator: Exists, values: [x]}",
        );
        let at = Location::File(PathBuf::from("x.yaml"));
        let messages: Vec<String> = sel
            .check(&at, "spec.nodeSelector")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "x.yaml: spec.nodeSelector.matchExpressions[0].operator: unknown operator `Near`, \
                 expected one of `In`, `NotIn`, `Exists`, `DoesNotExist`",
                "x.yaml: spec.nodeSelector.matchExpressions[1].values: must be set for operator `In`",
                "x.yaml: spec.nodeSelector.matchExpressions[2].key: must not be empty",
                "x.yaml: spec.nodeSelector.matchExpressions[2].values: must be empty for operator `Exists`",
            ]
        );
    }
}
