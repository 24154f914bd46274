//! Events through the sandbox: `on-events` of 0.3.0 components, state kept
//! between calls, traps, and components of 0.2 that take none.

use super::*;
use crate::decoder::{EventSource, PluginErrorKind};
use crate::metrics::Value;
use crate::testing::artifact;

fn execs_record(pid: u32, comm: &str) -> Vec<u8> {
    let mut r = pid.to_le_bytes().to_vec();
    let mut name = [0u8; 16];
    name[..comm.len()].copy_from_slice(comm.as_bytes());
    r.extend_from_slice(&name);
    r
}

/// Records in the host's batch layout.
fn batch(source: u32, records: &[Vec<u8>]) -> EventBatch {
    let mut data = Vec::new();
    for r in records {
        data.extend_from_slice(&u32::try_from(r.len()).unwrap().to_le_bytes());
        data.extend_from_slice(r);
    }
    EventBatch {
        source,
        records: u32::try_from(records.len()).unwrap(),
        data,
    }
}

fn values(collection: &Collection, family: &str) -> Vec<(String, Value)> {
    let mut got: Vec<(String, Value)> = collection
        .families
        .iter()
        .filter(|f| f.family.name == family)
        .flat_map(|f| &f.series)
        .map(|s| {
            (
                s.labels.iter().collect::<Vec<_>>().join(","),
                s.value.clone(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got
}

#[test]
fn a_0_3_component_declares_its_sources_and_counts_what_batches_carry() {
    let rt = tests::runtime();
    let mut decoder = tests::load(&rt, "execs");
    assert_eq!(
        decoder.spec().events,
        [EventSource {
            map: "execs".into(),
            min_record_size: 20,
        }]
    );
    assert_eq!(decoder.spec().maps, [""; 0]);
    let mut first = batch(0, &[execs_record(1, "true"), execs_record(2, "sh")]);
    let before = first.clone();
    decoder.on_events(&mut first).expect("handled");
    assert_eq!(first, before, "the batch's buffer is handed back");
    decoder
        .on_events(&mut batch(0, &[execs_record(3, "true")]))
        .expect("handled");
    let collection = decoder.decode(&mut []).expect("decode");
    assert_eq!(
        values(&collection, "process_execs"),
        [
            ("sh".to_owned(), Value::Number(1.0)),
            ("true".to_owned(), Value::Number(2.0)),
        ]
    );
}

#[test]
fn a_handler_that_traps_restarts_the_instance_and_loses_its_state() {
    let rt = tests::runtime();
    let wasm = std::fs::read(artifact("plugins/hostile.wasm")).expect("read plugin");
    let config = r#"{"fault": "panic", "phase": "events", "events": "ring"}"#;
    let limits = Limits {
        restart: crate::decoder::wasm::RestartPolicy {
            first_delay: std::time::Duration::ZERO,
            ..Default::default()
        },
        ..Limits::default()
    };
    let mut decoder = WasmDecoder::load(&rt, &wasm, config, limits).expect("loads");
    let err = decoder
        .on_events(&mut batch(0, &[vec![1, 2, 3]]))
        .expect_err("traps");
    assert!(
        matches!(
            err,
            DecodeError::Trap {
                kind: TrapKind::Unreachable,
                ..
            }
        ),
        "{err}"
    );
    assert!(!decoder.is_live(), "the instance is discarded");
    // Scrapes go on: decode restarts the instance, which behaves there.
    let collection = decoder.decode(&mut []).expect("restarted");
    assert_eq!(
        values(&collection, "hostile_ok"),
        [
            ("calls".to_owned(), Value::Number(1.0)),
            ("events".to_owned(), Value::Number(0.0)),
            ("fine".to_owned(), Value::Number(1.0)),
        ]
    );

    let config = r#"{"events": "ring"}"#;
    let mut decoder = WasmDecoder::load(&rt, &wasm, config, Limits::default()).expect("loads");
    for _ in 0..3 {
        decoder
            .on_events(&mut batch(0, &[vec![0; 8], vec![0; 8]]))
            .expect("handled");
    }
    let collection = decoder.decode(&mut []).expect("decode");
    assert!(
        values(&collection, "hostile_ok").contains(&("events".to_owned(), Value::Number(6.0))),
        "state kept between calls"
    );
}

#[test]
fn a_decoder_without_a_handler_refuses_batches_with_an_error_of_its_own() {
    let rt = tests::runtime();
    // Built with this SDK, but declares no source and handles none.
    let mut decoder = tests::load(&rt, "writes");
    let err = decoder
        .on_events(&mut batch(0, &[vec![0; 4]]))
        .expect_err("refused");
    assert!(
        matches!(&err, DecodeError::Plugin { kind: PluginErrorKind::Failed, message } if message.contains("does not handle events")),
        "{err}"
    );
    assert!(decoder.is_live(), "an error is not a trap");
}
