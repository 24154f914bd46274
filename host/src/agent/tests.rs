//! The agent against fake map sources and decoders: no kernel, no wasm.

use std::sync::Arc;

use super::{Agent, Exporter};
use crate::decoder::{
    Collection, DecodeError, Decoder, DecoderSpec, PluginErrorKind, Row, assemble,
};
use crate::maps::{MapError, MapSnapshot, MapSource, ReadMethod};
use crate::metrics::{Family, MetricType, Value};

/// A map whose every read returns `entries` 4-byte keys 0..entries.
struct FakeMap {
    name: &'static str,
    entries: u32,
    fail: bool,
}

impl MapSource for FakeMap {
    fn name(&self) -> &str {
        self.name
    }

    fn read(&mut self, out: &mut MapSnapshot) -> Result<ReadMethod, MapError> {
        if self.fail {
            return Err(MapError::Syscall {
                map: self.name.into(),
                source: std::io::Error::from_raw_os_error(libc::EBADF),
            });
        }
        out.key_size = 4;
        out.value_size = 8;
        out.cpus = 1;
        out.entries = self.entries;
        out.keys.clear();
        out.values.clear();
        for k in 0..self.entries {
            out.keys.extend_from_slice(&k.to_le_bytes());
            out.values
                .extend_from_slice(&u64::from(k * 10).to_le_bytes());
        }
        Ok(ReadMethod::Batch)
    }
}

/// Emits one counter series per key, labelled by the key.
struct FakeDecoder {
    spec: DecoderSpec,
    error: bool,
}

impl FakeDecoder {
    fn new(family: &str, error: bool) -> Self {
        Self {
            spec: DecoderSpec {
                families: vec![Arc::new(Family {
                    name: family.into(),
                    help: "test".into(),
                    metric_type: MetricType::Counter,
                    unit: String::new(),
                    labels: vec!["key".into()],
                    buckets: vec![],
                })],
                maps: vec![],
            },
            error,
        }
    }
}

impl Decoder for FakeDecoder {
    fn spec(&self) -> &DecoderSpec {
        &self.spec
    }

    fn decode(&mut self, maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        if self.error {
            return Err(DecodeError::Plugin {
                kind: PluginErrorKind::Failed,
                message: "nope".into(),
            });
        }
        let map = &maps[0];
        let rows = (0..map.entries as usize).map(|i| Row {
            family: 0,
            labels: vec![
                u32::from_le_bytes(map.keys[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
                    .to_string(),
            ],
            value: Value::Number(1.0),
        });
        Ok(assemble(
            &self.spec,
            rows,
            crate::decoder::validate::Bounds::default(),
        ))
    }
}

fn exporter(name: &str, map_fails: bool, decoder_fails: bool) -> Exporter {
    Exporter::new(
        name,
        None,
        vec![Box::new(FakeMap {
            name: "m",
            entries: 3,
            fail: map_fails,
        })],
        Box::new(FakeDecoder::new(&format!("{name}_things"), decoder_fails)),
        2,
    )
}

fn value(scrape: &super::Scrape, family: &str, labels: &[&str]) -> Option<f64> {
    scrape
        .families
        .iter()
        .find(|f| f.family.name == family)?
        .series
        .iter()
        .find(|s| s.labels == labels)
        .map(|s| match s.value {
            Value::Number(v) => v,
            Value::Histogram { .. } => f64::NAN,
        })
}

#[test]
fn a_failing_exporter_costs_only_its_own_series() {
    let agent = Agent::new("n1");
    agent.insert(exporter("good", false, false));
    agent.insert(exporter("badmap", true, false));
    agent.insert(exporter("baddecode", false, true));
    agent.insert_failed("neverloaded", "invalid ELF");

    let scrape = agent.collect();
    let good = scrape
        .families
        .iter()
        .find(|f| f.family.name == "good_things")
        .expect("good family");
    assert_eq!(good.series.len(), 3);
    assert!(
        !scrape
            .families
            .iter()
            .any(|f| f.family.name.starts_with("bad"))
    );
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["good"]), Some(1.0));
    for down in ["badmap", "baddecode", "neverloaded"] {
        assert_eq!(
            value(&scrape, "bpfhost_exporter_up", &[down]),
            Some(0.0),
            "{down}"
        );
    }
    assert_eq!(
        value(&scrape, "bpfhost_exporter_decode_errors", &["badmap"]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_exporter_programs_attached", &["good"]),
        Some(2.0)
    );
    assert_eq!(
        value(&scrape, "bpfhost_exporter_map_entries", &["good", "m"]),
        Some(3.0)
    );

    let second = agent.collect();
    assert_eq!(
        value(&second, "bpfhost_exporter_decode_errors", &["baddecode"]),
        Some(2.0)
    );
    let status = |name: &str| agent.slot(name).expect("slot").status();
    assert_eq!(status("good").error, None);
    assert_eq!(
        status("baddecode").error.as_deref(),
        Some("decoder reported failed: nope")
    );
    assert_eq!(
        status("badmap").error.as_deref(),
        Some("reading map m: Bad file descriptor (os error 9)")
    );
    assert_eq!(status("neverloaded").state, "failed");
}

#[test]
fn exporters_are_replaced_and_removed_while_serving() {
    let agent = Agent::new("n1");
    agent.insert(exporter("a", false, false));
    agent.insert_failed("b", "not yet");
    let old = agent.insert(exporter("b", false, false)).expect("replaced");
    assert!(!old.is_running());
    assert!(agent.slot("b").expect("b").is_running());
    assert!(agent.remove("a").is_some());
    let scrape = agent.collect();
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["b"]), Some(1.0));
    assert_eq!(value(&scrape, "bpfhost_exporter_up", &["a"]), None);
    assert!(!scrape.families.iter().any(|f| f.family.name == "a_things"));
}
