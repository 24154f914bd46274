//! `perf_event` programs: one software event per online CPU.

use aya::programs::PerfEvent;
use aya::programs::perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent};

use super::{Context, attach_error, load_error, program_mut};
use crate::loader::error::LoadError;
use crate::loader::section::{DEFAULT_PERF_FREQUENCY, ProgramKind};
use crate::manifest::spec::PerfEventTarget;

/// Software events by their `perf` names.
pub const SOFTWARE_EVENTS: &[(&str, SoftwareEvent)] = &[
    ("cpu-clock", SoftwareEvent::CpuClock),
    ("task-clock", SoftwareEvent::TaskClock),
    ("page-faults", SoftwareEvent::PageFaults),
    ("context-switches", SoftwareEvent::ContextSwitches),
    ("cpu-migrations", SoftwareEvent::CpuMigrations),
    ("minor-faults", SoftwareEvent::PageFaultsMin),
    ("major-faults", SoftwareEvent::PageFaultsMaj),
];

/// Loads the program and opens the event on every online CPU.
pub(super) fn attach(
    cx: &mut Context<'_>,
    name: &str,
    target: &PerfEventTarget,
) -> Result<String, LoadError> {
    let Some(&(_, event)) = SOFTWARE_EVENTS.iter().find(|(n, _)| *n == target.event) else {
        return Err(LoadError::UnknownPerfEvent {
            program: name.to_owned(),
            event: target.event.clone(),
        });
    };
    let (policy, rate) = match (target.period, target.frequency) {
        (Some(period), _) => (
            SamplePolicy::Period(period),
            format!("every {period} events"),
        ),
        (None, frequency) => {
            let hz = frequency.unwrap_or(DEFAULT_PERF_FREQUENCY);
            (SamplePolicy::Frequency(hz), format!("{hz} Hz"))
        }
    };
    let cpus = aya::util::online_cpus()
        .map_err(|(_, e)| LoadError::attach(name, target.event.clone(), e))?;
    let text = format!("{} at {rate} on {} cpus", target.event, cpus.len());
    let kind = ProgramKind::PerfEvent;
    let p: &mut PerfEvent = program_mut(cx.ebpf, name)?;
    p.load().map_err(|e| load_error(name, kind, &text, e))?;
    for cpu in cpus {
        p.attach(
            PerfEventConfig::Software(event),
            PerfEventScope::AllProcessesOneCpu { cpu },
            policy,
            false,
        )
        .map_err(|e| attach_error(name, kind, &text, e))?;
    }
    Ok(text)
}
