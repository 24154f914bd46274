//! An exporter's programs as status and self-metrics show them: which are
//! attached, which are not and why (fixed at load), and what the kernel
//! counts for each (read at every collection through [`KernelObject`]).

use serde::Serialize;

use crate::loader::{LoadedObject, NotAttachedReason, ProgramStats};

/// The kernel side of an exporter, kept alive as long as the exporter:
/// dropping it detaches and unloads everything. The seam in front of
/// `bpf_prog_info`, so tests can run exporters without a kernel.
pub trait KernelObject: Send {
    /// The kernel's view of every loaded program; none by default.
    fn program_stats(&self) -> Vec<ProgramStats> {
        Vec::new()
    }

    /// The cgroup id map kept for the exporter (`spec.cgroupIdMap`), if
    /// any: its name and the errors keeping it in sync so far.
    fn cgroup_id_map_errors(&self) -> Option<(String, u64)> {
        None
    }
}

impl KernelObject for LoadedObject {
    fn program_stats(&self) -> Vec<ProgramStats> {
        LoadedObject::program_stats(self)
    }
}

/// Where a program of an exporter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgramState {
    /// Attached where its section or `programs:` entry says.
    Attached,
    /// Loaded and deliberately not attached (`attach: none`).
    Unattached,
    /// Failed to load or attach; the exporter runs without it
    /// (`attachPolicy: BestEffort`).
    Failed,
    /// Left out by `autoload: false`: neither loaded nor attached.
    Disabled,
}

/// One program of an exporter, for `/status` and self-metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramStatus {
    pub name: String,
    pub section: String,
    pub state: ProgramState,
    /// Where it is attached, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProgramStatus {
    /// Whether the program is meant to be attached: the programs the
    /// `bpfhost_program_attached` gauge covers (attached or failed).
    pub fn should_attach(&self) -> bool {
        matches!(self.state, ProgramState::Attached | ProgramState::Failed)
    }
}

/// Every program of a loaded object: attached ones first, in ELF order,
/// then those not attached.
pub fn program_statuses(object: &LoadedObject) -> Vec<ProgramStatus> {
    let attached = object.programs().iter().map(|p| {
        let unattached = p.target == crate::loader::UNATTACHED;
        ProgramStatus {
            name: p.name.clone(),
            section: p.section.clone(),
            state: if unattached {
                ProgramState::Unattached
            } else {
                ProgramState::Attached
            },
            target: (!unattached).then(|| p.target.clone()),
            error: None,
        }
    });
    let not_attached = object.not_attached().iter().map(|p| {
        let (state, error) = match &p.reason {
            NotAttachedReason::Disabled => (ProgramState::Disabled, None),
            NotAttachedReason::Failed(e) => (ProgramState::Failed, Some(crate::error_chain(e))),
        };
        ProgramStatus {
            name: p.name.clone(),
            section: p.section.clone(),
            state,
            target: None,
            error,
        }
    });
    attached.chain(not_attached).collect()
}
