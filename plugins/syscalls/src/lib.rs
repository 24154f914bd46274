//! Decoder for `bpf/syscalls.bpf.c`: system calls by name. The program
//! counts by number in a per-CPU hash; the agent's `syscall` lookup (grant
//! it in the manifest) gives the name.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Reader, Result, Spec, lookup};

const MAP: &str = "syscalls_by_nr";

/// The one family it emits.
#[derive(Debug)]
pub struct Syscalls {
    calls: FamilyId,
}

impl Decoder for Syscalls {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let calls = spec.counter("syscalls", "System calls entered, by name", &["syscall"]);
        spec.map(MAP);
        Ok(Self { calls })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        for entry in maps.get(MAP)?.entries() {
            let nr = Reader::key(entry.key).u32()?;
            let name = lookup::syscall_name(nr).unwrap_or_else(|| format!("nr_{nr}"));
            out.sample(self.calls, &[&name], entry.sum_u64()? as f64);
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Syscalls);
