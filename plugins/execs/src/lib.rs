//! Decoder for `bpf/execs.bpf.c`: programs started, by command, from exec
//! events.
//!
//! The program submits one record per `execve` to the ring buffer `execs`:
//! `struct { __u32 pid; char comm[16]; }`, `comm` being the new program's.
//! Each record adds one to `process_execs_total{comm}`; a command not seen
//! for `expireAfterSeconds` (config, default 3600, 0 for never) leaves the
//! output.

use std::time::Duration;

use bpfhost_plugin_sdk::state::CounterSet;
use bpfhost_plugin_sdk::{
    Config, Decoder, Events, FamilyId, Maps, Output, Reader, Result, SourceId, Spec,
};

/// `struct exec_event` in `bpf/execs.bpf.c`.
const RECORD_SIZE: usize = 4 + 16;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    #[serde(default = "an_hour")]
    expire_after_seconds: u64,
}

fn an_hour() -> u64 {
    3600
}

/// The decoder's state: the family, the source and the counts so far.
#[derive(Debug)]
pub struct Execs {
    family: FamilyId,
    source: SourceId,
    counts: CounterSet,
}

impl Decoder for Execs {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let settings: Settings = config.parse()?;
        let mut counts = CounterSet::new();
        if settings.expire_after_seconds > 0 {
            counts = counts.expire_after(Duration::from_secs(settings.expire_after_seconds));
        }
        Ok(Self {
            family: spec.counter(
                "process_execs",
                "Programs started (execve), by command",
                &["comm"],
            ),
            source: spec.events("execs", RECORD_SIZE),
            counts,
        })
    }

    fn on_events(&mut self, events: &Events<'_>) -> Result<()> {
        debug_assert_eq!(events.source(), self.source);
        for record in events.records() {
            let mut r = Reader::new(record?);
            let _pid = r.u32()?;
            let comm = r.c_str(16)?;
            self.counts.inc(&[&comm], events.now());
        }
        Ok(())
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        self.counts.emit(out, self.family, maps.now());
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Execs);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::MapSnapshot;

    use super::*;

    fn record(pid: u32, comm: &str) -> Vec<u8> {
        let mut r = pid.to_le_bytes().to_vec();
        let mut name = [0u8; 16];
        name[..comm.len()].copy_from_slice(comm.as_bytes());
        r.extend_from_slice(&name);
        r
    }

    fn counts(decoder: &mut Execs, now: u64) -> Vec<(String, f64)> {
        let mut out = Output::default();
        let none: [MapSnapshot; 0] = [];
        decoder.decode(&Maps::new(&none).at(now), &mut out).unwrap();
        let mut got: Vec<(String, f64)> = out
            .samples()
            .into_iter()
            .map(|s| (s.labels[0].clone(), s.value))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        got
    }

    #[test]
    fn counts_execs_by_command_and_forgets_quiet_ones() {
        let mut spec = Spec::default();
        let config = Config::new(r#"{"expireAfterSeconds": 10}"#);
        let mut decoder = Execs::init(&config, &mut spec).unwrap();
        assert_eq!(spec.event_sources()[0].name(), "execs");
        assert_eq!(spec.event_sources()[0].min_record_size(), 20);

        let data = Events::encode(&[record(1, "true"), record(2, "bash"), record(3, "true")]);
        let second = 1_000_000_000;
        decoder
            .on_events(&Events::new(decoder.source, 3, &data).at(second))
            .unwrap();
        assert_eq!(
            counts(&mut decoder, 2 * second),
            [("bash".into(), 1.0), ("true".into(), 2.0)]
        );
        let data = Events::encode(&[record(4, "true")]);
        decoder
            .on_events(&Events::new(decoder.source, 1, &data).at(8 * second))
            .unwrap();
        assert_eq!(counts(&mut decoder, 12 * second), [("true".into(), 3.0)]);
    }

    #[test]
    fn unknown_settings_are_refused() {
        let err = Execs::init(&Config::new(r#"{"expire": 1}"#), &mut Spec::default()).unwrap_err();
        assert!(err.to_string().contains("expire"), "{err}");
    }
}
