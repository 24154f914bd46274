//! Decoder for `bpf/sleep_latency.bpf.c`: `clock_nanosleep(2)` latency as a
//! Prometheus histogram in seconds.
//!
//! The program keeps a per-CPU array: slot `i` counts calls that took
//! `[2^(i-1), 2^i)` nanoseconds, and the slot after the last holds the sum.

use bpfhost_plugin_sdk::{
    Buckets, Config, Decoder, FamilyId, Histograms, Maps, Output, Reader, Result, Spec,
};

const MAP: &str = "sleep_latency_ns";
const SLOTS: usize = 40;

/// The histogram family and its bucket layout.
#[derive(Debug)]
pub struct SleepLatency {
    latency: FamilyId,
    buckets: Buckets,
}

impl Decoder for SleepLatency {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let buckets = Buckets::exp2(SLOTS).sum_slot().scale(1e-9);
        let latency = spec.histogram(
            "sleep_duration_seconds",
            "Time clock_nanosleep(2) calls took",
            &[],
            &buckets.bounds()?,
        );
        spec.map(MAP);
        Ok(Self { latency, buckets })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let mut histograms = Histograms::new(&self.buckets);
        for entry in maps.get(MAP)?.entries() {
            let slot = Reader::key(entry.key).u32()?;
            histograms.add_entry(&[], slot.into(), &entry)?;
        }
        histograms.emit(out, self.latency);
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(SleepLatency);
