//! A test decoder that calls one host lookup, `process-name`, so the
//! agent's tests can pin that a component imports only the lookups it calls
//! (and needs only the `comm` grant).
//!
//! Config: `{"pids": [pid]}`. Emits `probe_comm{pid, comm}` 1 per pid.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec, lookup};

/// The pids to resolve and the one family.
#[derive(Debug)]
pub struct Comm {
    pids: Vec<u32>,
    comm: FamilyId,
}

impl Decoder for Comm {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Pids {
            pids: Vec<u32>,
        }
        let comm = spec.gauge("probe_comm", "Process names of pids.", &["pid", "comm"]);
        let Pids { pids } = config.parse()?;
        Ok(Self { pids, comm })
    }

    fn decode(&mut self, _maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        for &pid in &self.pids {
            let comm = lookup::process_name(pid).unwrap_or_default();
            out.sample(self.comm, &[&pid.to_string(), &comm], 1.0);
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Comm);
