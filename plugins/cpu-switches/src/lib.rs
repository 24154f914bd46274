//! Decoder for `bpf/cpu_switches.bpf.c`: context switches per CPU, read
//! from a per-CPU counter with a `cpu` label rather than summed.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec};

const MAP: &str = "cpu_switches";

/// The one family it emits.
#[derive(Debug)]
pub struct CpuSwitches {
    switches: FamilyId,
}

impl Decoder for CpuSwitches {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let switches = spec.counter("context_switches", "Context switches, by CPU", &["cpu"]);
        spec.map(MAP);
        Ok(Self { switches })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        for entry in maps.get(MAP)?.entries() {
            out.sample_per_cpu(self.switches, &[], &entry, |v| Ok(v.u64()? as f64))?;
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(CpuSwitches);
