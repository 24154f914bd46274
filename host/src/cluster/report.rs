//! Reporting to the cluster: this node's entry of each exporter's
//! `status.nodes`, and Events when an exporter fails or recovers.
//!
//! Each agent applies its own entry with server-side apply under the field
//! manager `bpfhost/<node>`; `status.nodes` is a list-map keyed by `node`,
//! so the API server merges the entries of every agent (see
//! [`crate::manifest::BpfExporterStatus`]). Applying an empty `status`
//! under the same manager removes the entry. A patch is sent only when the
//! entry changes; one that fails is retried at the next pass.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter as EventReporter};
use kube::{Api, Client};

use super::desired::Target;
use crate::agent::{Failure, Outcome, ProgramStatus, Stage};
use crate::manifest::{
    API_VERSION, BpfExporterResource, KIND, NodeCondition, NodeStatus, VERIFIER_LOG_TAIL_MAX,
};

/// Field manager of the agent on `node`: the owner of that node's entry.
pub fn field_manager(node: &str) -> String {
    format!("bpfhost/{node}")
}

/// The `reportingController` of the agent's Events.
pub const CONTROLLER: &str = "bpfhost.dev/agent";

/// This node's entry for an exporter whose last run ended in `outcome`.
/// Conditions keep their `lastTransitionTime` from `previous` while their
/// status stays the same.
pub fn node_status(
    node: &str,
    target: &Target,
    outcome: &Outcome,
    previous: Option<&NodeStatus>,
) -> NodeStatus {
    use NodeCondition::{DecoderReady, ObjectLoaded, ProgramsAttached};
    let (states, message, verifier_log) = match outcome {
        Outcome::Running { failed } if failed.is_empty() => (
            [
                (ObjectLoaded, "True", "Loaded"),
                (ProgramsAttached, "True", "Attached"),
                (DecoderReady, "True", "Ready"),
            ],
            None,
            None,
        ),
        Outcome::Running { failed } => (
            [
                (ObjectLoaded, "True", "Loaded"),
                (ProgramsAttached, "False", "PartiallyAttached"),
                (DecoderReady, "True", "Ready"),
            ],
            Some(not_attached_message(failed)),
            None,
        ),
        Outcome::Failed(failure) => (
            failed_conditions(failure),
            Some(failure_message(failure)),
            failure.verifier_log.as_deref().map(clip_log),
        ),
    };
    let now = Time(Timestamp::now());
    let conditions = states
        .into_iter()
        .map(|(kind, status, reason)| {
            let last = previous
                .and_then(|p| p.condition(kind))
                .filter(|c| c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            // A partial attach says on its condition which programs are missing.
            let message = match (&message, kind, outcome) {
                (Some(m), ProgramsAttached, Outcome::Running { .. }) => {
                    truncate(m, CONDITION_MESSAGE_MAX)
                }
                _ => String::new(),
            };
            Condition {
                type_: kind.as_str().to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message,
                last_transition_time: last,
                observed_generation: target.generation,
            }
        })
        .collect();
    NodeStatus {
        node: node.to_owned(),
        conditions,
        message,
        observed_generation: target.generation,
        verifier_log_tail: verifier_log,
    }
}

/// Longest condition message, in bytes (Kubernetes allows 32768).
const CONDITION_MESSAGE_MAX: usize = 4096;

/// What a running exporter's status says about the programs that did not
/// attach under `attachPolicy: BestEffort`.
fn not_attached_message(failed: &[ProgramStatus]) -> String {
    let programs: Vec<String> = failed
        .iter()
        .map(|p| match &p.error {
            Some(error) => format!("{} ({error})", p.name),
            None => p.name.clone(),
        })
        .collect();
    format!(
        "serving without {} program(s) that did not attach (attachPolicy BestEffort): {}",
        failed.len(),
        programs.join("; ")
    )
}

type ConditionStates = [(NodeCondition, &'static str, &'static str); 3];

/// The conditions of a failure: the stage that failed is `False`, those
/// before it `True`, those after it were not attempted (`Unknown`). The
/// decoder starts first, then the object loads, then programs attach.
fn failed_conditions(failure: &Failure) -> ConditionStates {
    let mut states = stage_conditions(failure);
    // A precise reason (`DigestMismatch`) replaces the stage's generic one.
    if let Some(reason) = failure.reason {
        for state in states
            .iter_mut()
            .filter(|(_, status, _)| *status == "False")
        {
            state.2 = reason;
        }
    }
    states
}

fn stage_conditions(failure: &Failure) -> ConditionStates {
    use NodeCondition::{DecoderReady, ObjectLoaded, ProgramsAttached};
    const NOT_ATTEMPTED: &str = "NotAttempted";
    match failure.stage {
        Stage::Manifest => [
            (ObjectLoaded, "False", "InvalidSpec"),
            (ProgramsAttached, "False", "InvalidSpec"),
            (DecoderReady, "False", "InvalidSpec"),
        ],
        Stage::Decoder => [
            (ObjectLoaded, "Unknown", NOT_ATTEMPTED),
            (ProgramsAttached, "Unknown", NOT_ATTEMPTED),
            (DecoderReady, "False", "DecoderFailed"),
        ],
        Stage::Object => [
            (
                ObjectLoaded,
                "False",
                if failure.verifier_log.is_some() {
                    "VerifierRejected"
                } else {
                    "LoadFailed"
                },
            ),
            (ProgramsAttached, "Unknown", NOT_ATTEMPTED),
            (DecoderReady, "True", "Ready"),
        ],
        Stage::Attach => [
            (ObjectLoaded, "True", "Loaded"),
            (ProgramsAttached, "False", "AttachFailed"),
            (DecoderReady, "True", "Ready"),
        ],
    }
}

fn failure_message(failure: &Failure) -> String {
    if failure.previous_serving {
        format!("{}\n(the previous version keeps serving)", failure.message)
    } else {
        failure.message.clone()
    }
}

/// The end of a verifier log, within the schema's bound, cut at a line.
fn clip_log(log: &str) -> String {
    if log.len() <= VERIFIER_LOG_TAIL_MAX {
        return log.to_owned();
    }
    let mut start = log.len() - VERIFIER_LOG_TAIL_MAX;
    while !log.is_char_boundary(start) {
        start += 1;
    }
    let tail = &log[start..];
    tail.find('\n').map_or(tail, |i| &tail[i + 1..]).to_owned()
}

/// Whether two entries say the same, timestamps aside.
fn same(a: &NodeStatus, b: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in &mut s.conditions {
            c.last_transition_time = Time(Timestamp::UNIX_EPOCH);
        }
        s
    };
    strip(a) == strip(b)
}

/// Writes this node's status entries and Events.
pub struct StatusWriter {
    client: Client,
    node: String,
    manager: String,
    recorder: Recorder,
    /// The entry last applied, per resource (namespace, name).
    applied: BTreeMap<(String, String), NodeStatus>,
}

impl std::fmt::Debug for StatusWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWriter")
            .field("node", &self.node)
            .field("applied", &self.applied.len())
            .finish_non_exhaustive()
    }
}

/// A status write that failed; it is retried at the next pass.
#[derive(Debug, thiserror::Error)]
#[error("cannot update the status of BpfExporter {namespace}/{name}")]
pub struct ReportError {
    pub namespace: String,
    pub name: String,
    #[source]
    pub source: kube::Error,
}

impl StatusWriter {
    /// A writer for the agent of `node`.
    pub fn new(client: Client, node: &str) -> Self {
        let reporter = EventReporter {
            controller: CONTROLLER.to_owned(),
            instance: Some(node.to_owned()),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            node: node.to_owned(),
            manager: field_manager(node),
            applied: BTreeMap::new(),
        }
    }

    /// Applies this node's entry for `target` if it changed, and publishes
    /// an Event when the exporter starts failing, fails differently, or
    /// recovers.
    pub async fn report(&mut self, target: &Target, outcome: &Outcome) -> Result<(), ReportError> {
        let key = (target.namespace.clone(), target.name.clone());
        let previous = self.applied.get(&key);
        let entry = node_status(&self.node, target, outcome, previous);
        if previous.is_some_and(|p| same(p, &entry)) {
            return Ok(());
        }
        let event = event(previous, &entry);
        self.apply(target, Some(&entry)).await?;
        if let Some(event) = event {
            // Events are best effort: the status already says it all.
            if let Err(error) = self.recorder.publish(&event, &target.reference).await {
                tracing::warn!(exporter = %target.name, error = %crate::error_chain(&error), "cannot publish an Event");
            }
        }
        self.applied.insert(key, entry);
        Ok(())
    }

    /// Removes this node's entry from `target` (the exporter no longer
    /// selects this node, or its resource is gone from the desired set).
    pub async fn remove(&mut self, target: &Target) -> Result<(), ReportError> {
        self.apply(target, None).await?;
        self.applied
            .remove(&(target.namespace.clone(), target.name.clone()));
        Ok(())
    }

    /// Forgets resources that no longer exist (their status went with them).
    pub fn retain(&mut self, exists: impl Fn(&str, &str) -> bool) {
        self.applied.retain(|(ns, name), _| exists(ns, name));
    }

    async fn apply(&self, target: &Target, entry: Option<&NodeStatus>) -> Result<(), ReportError> {
        apply_entry(&self.client, &self.manager, target, entry)
            .await
            .map_err(|source| ReportError {
                namespace: target.namespace.clone(),
                name: target.name.clone(),
                source,
            })
    }
}

/// Server-side applies `entry` as the only entry `manager` owns in the
/// status of `target` (none: removes it).
pub async fn apply_entry(
    client: &Client,
    manager: &str,
    target: &Target,
    entry: Option<&NodeStatus>,
) -> Result<(), kube::Error> {
    let api: Api<BpfExporterResource> = Api::namespaced(client.clone(), &target.namespace);
    let nodes: Vec<&NodeStatus> = entry.into_iter().collect();
    let patch = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": target.name, "namespace": target.namespace},
        "status": {"nodes": nodes},
    });
    api.patch_status(
        &target.name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(drop)
}

/// The Event for a change of entry, if it deserves one.
fn event(previous: Option<&NodeStatus>, entry: &NodeStatus) -> Option<Event> {
    let was_failing = previous.is_some_and(|p| p.message.is_some());
    match (&entry.message, was_failing) {
        (Some(message), _) => {
            if previous.is_some_and(|p| p.message.as_ref() == Some(message)) {
                return None;
            }
            let reason = entry
                .conditions
                .iter()
                .find(|c| c.status == "False")
                .map_or("Failed", |c| c.reason.as_str());
            Some(Event {
                type_: EventType::Warning,
                reason: reason.to_owned(),
                note: Some(truncate(message, 1000)),
                action: "Load".to_owned(),
                secondary: None,
            })
        }
        (None, true) => Some(Event {
            type_: EventType::Normal,
            reason: "Recovered".to_owned(),
            note: Some(format!("running on node {}", entry.node)),
            action: "Load".to_owned(),
            secondary: None,
        }),
        (None, false) => None,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            namespace: "obs".into(),
            name: "x".into(),
            generation: Some(7),
            reference: k8s_openapi::api::core::v1::ObjectReference::default(),
            has_entry: false,
        }
    }

    #[test]
    fn a_digest_mismatch_names_itself_as_the_reason() {
        let mismatch = Failure {
            stage: Stage::Object,
            message: "spec.object.sha256: the bytes read have SHA-256 ...".into(),
            verifier_log: None,
            previous_serving: false,
            reason: Some("DigestMismatch"),
        };
        let states = failed_conditions(&mismatch);
        assert!(
            states
                .iter()
                .any(|(c, s, r)| *c == NodeCondition::ObjectLoaded
                    && *s == "False"
                    && *r == "DigestMismatch"),
            "{states:?}"
        );
        assert!(
            states
                .iter()
                .all(|(_, s, r)| *s == "False" || *r != "DigestMismatch")
        );
    }

    fn failure(stage: Stage, verifier_log: Option<&str>) -> Outcome {
        Outcome::Failed(Failure {
            stage,
            message: "boom".into(),
            verifier_log: verifier_log.map(str::to_owned),
            previous_serving: false,
            reason: None,
        })
    }

    fn states(entry: &NodeStatus) -> Vec<(String, String, String)> {
        entry
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
            .collect()
    }

    #[test]
    fn each_stage_sets_the_conditions_before_and_after_it() {
        let running = node_status("n1", &target(), &Outcome::running(), None);
        assert!(running.ready());
        assert_eq!(running.observed_generation, Some(7));
        assert_eq!(running.message, None);

        let verifier = node_status(
            "n1",
            &target(),
            &failure(Stage::Object, Some("R0 !read_ok")),
            None,
        );
        assert_eq!(
            states(&verifier),
            [
                (
                    "ObjectLoaded".into(),
                    "False".into(),
                    "VerifierRejected".into()
                ),
                (
                    "ProgramsAttached".into(),
                    "Unknown".into(),
                    "NotAttempted".into()
                ),
                ("DecoderReady".into(), "True".into(), "Ready".into()),
            ]
        );
        assert_eq!(verifier.verifier_log_tail.as_deref(), Some("R0 !read_ok"));

        let attach = node_status("n1", &target(), &failure(Stage::Attach, None), None);
        assert_eq!(
            field(&attach, NodeCondition::ObjectLoaded, |c| &c.status),
            "True"
        );
        assert_eq!(
            field(&attach, NodeCondition::ProgramsAttached, |c| &c.reason),
            "AttachFailed"
        );

        let decoder = node_status("n1", &target(), &failure(Stage::Decoder, None), None);
        assert_eq!(
            field(&decoder, NodeCondition::DecoderReady, |c| &c.status),
            "False"
        );
        assert_eq!(
            field(&decoder, NodeCondition::ObjectLoaded, |c| &c.status),
            "Unknown"
        );
    }

    /// One field of condition `kind` of `entry`.
    fn field(entry: &NodeStatus, kind: NodeCondition, get: fn(&Condition) -> &String) -> &str {
        entry
            .condition(kind)
            .map_or("(absent)", |c| get(c).as_str())
    }

    #[test]
    fn a_partial_attach_names_the_missing_programs_and_warns() {
        let failed = ProgramStatus {
            name: "trace_kprobe".into(),
            section: "kprobe/nope".into(),
            state: crate::agent::ProgramState::Failed,
            target: None,
            error: Some("program trace_kprobe: attaching to nope failed".into()),
        };
        let outcome = Outcome::Running {
            failed: vec![failed],
        };
        let entry = node_status("n1", &target(), &outcome, None);
        assert_eq!(
            states(&entry),
            [
                ("ObjectLoaded".into(), "True".into(), "Loaded".into()),
                (
                    "ProgramsAttached".into(),
                    "False".into(),
                    "PartiallyAttached".into()
                ),
                ("DecoderReady".into(), "True".into(), "Ready".into()),
            ]
        );
        let expected = "serving without 1 program(s) that did not attach (attachPolicy BestEffort): \
                        trace_kprobe (program trace_kprobe: attaching to nope failed)";
        assert_eq!(
            field(&entry, NodeCondition::ProgramsAttached, |c| &c.message),
            expected
        );
        assert_eq!(
            field(&entry, NodeCondition::ObjectLoaded, |c| &c.message),
            ""
        );
        assert_eq!(entry.message.as_deref(), Some(expected));
        assert!(!entry.ready());
        let warning = event(None, &entry).expect("a partial attach is an event");
        assert_eq!(
            (warning.type_, warning.reason.as_str()),
            (EventType::Warning, "PartiallyAttached")
        );
        let all = node_status("n1", &target(), &Outcome::running(), Some(&entry));
        assert_eq!(
            event(Some(&entry), &all).map(|e| e.reason),
            Some("Recovered".to_owned())
        );
    }

    #[test]
    fn transition_times_move_only_when_a_condition_changes() {
        let mut old = node_status("n1", &target(), &failure(Stage::Attach, None), None);
        for c in &mut old.conditions {
            c.last_transition_time = Time(Timestamp::UNIX_EPOCH);
        }
        let new = node_status("n1", &target(), &Outcome::running(), Some(&old));
        let time = |kind| new.condition(kind).map(|c| c.last_transition_time.0);
        assert_eq!(
            time(NodeCondition::ObjectLoaded),
            Some(Timestamp::UNIX_EPOCH),
            "stayed True"
        );
        assert_ne!(
            time(NodeCondition::ProgramsAttached),
            Some(Timestamp::UNIX_EPOCH),
            "became True"
        );
        assert!(!same(&old, &new));
        let again = node_status("n1", &target(), &Outcome::running(), Some(&new));
        assert!(same(&new, &again), "nothing to patch");
    }

    #[test]
    fn long_verifier_logs_keep_their_end_within_the_schema_bound() {
        let mut log = String::new();
        for i in 0..2000 {
            std::fmt::Write::write_fmt(&mut log, format_args!("{i}: r1 = r2\n")).expect("write");
        }
        let clipped = clip_log(&log);
        assert!(clipped.len() <= VERIFIER_LOG_TAIL_MAX);
        assert!(clipped.ends_with("1999: r1 = r2\n"));
        assert!(
            clipped.starts_with(char::is_numeric),
            "cut at a line: {:?}",
            &clipped[..20]
        );
    }

    #[test]
    fn events_on_new_failures_and_on_recovery_only() {
        let failing = node_status("n1", &target(), &failure(Stage::Decoder, None), None);
        let running = node_status("n1", &target(), &Outcome::running(), None);
        let first = event(None, &failing).expect("a failure is an event");
        assert_eq!(
            (first.type_, first.reason.as_str()),
            (EventType::Warning, "DecoderFailed")
        );
        assert!(
            event(Some(&failing), &failing).is_none(),
            "same failure: no new event"
        );
        let recovered = event(Some(&failing), &running).expect("recovery is an event");
        assert_eq!(recovered.reason, "Recovered");
        assert!(event(None, &running).is_none(), "a plain load is no event");
    }
}
