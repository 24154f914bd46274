//! A decoder that reads the host's files through `std::fs`, for the sandbox
//! tests: built for `wasm32-wasip2`, its component imports
//! `wasi:filesystem`, which the agent does not offer, so loading it must
//! fail with a message naming the import.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec};

/// Counts the entries of `/`, if it ever gets to run.
#[derive(Debug)]
pub struct Snoop {
    entries: FamilyId,
}

impl Decoder for Snoop {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let entries = spec.gauge("snooped_root_entries", "Entries of the host's `/`.", &[]);
        Ok(Self { entries })
    }

    fn decode(&mut self, _maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let n = std::fs::read_dir("/").map_or(0, Iterator::count);
        out.sample(self.entries, &[], n as f64);
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Snoop);
