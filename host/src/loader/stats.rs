//! What the kernel knows about each loaded program (`bpf_prog_info`): its
//! id, tag and type, and, while `kernel.bpf_stats_enabled` is on, how often
//! it ran and for how long. Read at scrape time: one `BPF_OBJ_GET_INFO_BY_FD`
//! per program and one small sysctl read.

use std::time::Duration;

use super::LoadedObject;

/// The sysctl that turns on run-time accounting of every BPF program.
pub const BPF_STATS_ENABLED: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// One loaded program as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStats {
    /// The program's function name.
    pub program: String,
    /// The kernel's id (as `bpftool prog show` lists it).
    pub id: u32,
    /// The program's tag: 16 lowercase hex digits, as bpftool prints it.
    pub tag: String,
    /// The program type as bpftool names it: `kprobe`, `tracepoint`, ...
    pub program_type: String,
    /// Run count and time; `None` while `kernel.bpf_stats_enabled` is off.
    pub run: Option<RunStats>,
}

/// Runs of a program since it was loaded, counted while stats were enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    pub count: u64,
    pub time: Duration,
}

impl LoadedObject {
    /// Every loaded program of the object (attached or not), by name.
    /// Programs left out by `autoload: false` are not loaded, so not listed.
    pub fn program_stats(&self) -> Vec<ProgramStats> {
        let with_runs = stats_enabled();
        let mut stats: Vec<ProgramStats> = self
            .ebpf
            .programs()
            .filter_map(|(name, program)| {
                let info = program.info().ok()?;
                Some(ProgramStats {
                    program: name.to_owned(),
                    id: info.id(),
                    tag: format!("{:016x}", info.tag()),
                    program_type: type_name(&format!("{:?}", info.program_type())),
                    run: with_runs.then(|| RunStats {
                        count: info.run_count(),
                        time: info.run_time(),
                    }),
                })
            })
            .collect();
        stats.sort_by(|a, b| a.program.cmp(&b.program));
        stats
    }
}

/// Whether `kernel.bpf_stats_enabled` is on; off when it cannot be read.
pub fn stats_enabled() -> bool {
    std::fs::read(BPF_STATS_ENABLED).is_ok_and(|v| v.trim_ascii() == b"1")
}

/// bpftool's name for a program type, from the kernel constant's name
/// (`BPF_PROG_TYPE_SCHED_CLS` is `sched_cls`).
fn type_name(constant: &str) -> String {
    match constant.strip_prefix("BPF_PROG_TYPE_") {
        Some(name) => name.to_ascii_lowercase(),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_types_read_as_bpftool_names_them() {
        assert_eq!(type_name("BPF_PROG_TYPE_TRACEPOINT"), "tracepoint");
        assert_eq!(type_name("BPF_PROG_TYPE_SCHED_CLS"), "sched_cls");
        assert_eq!(type_name("BPF_PROG_TYPE_RAW_TRACEPOINT"), "raw_tracepoint");
        assert_eq!(type_name("__MAX_BPF_PROG_TYPE"), "unknown");
    }
}
