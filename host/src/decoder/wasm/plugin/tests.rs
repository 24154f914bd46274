use super::*;
use crate::maps::MapType;
use crate::metrics::Value;
use crate::testing::artifact;

fn runtime() -> Runtime {
    Runtime::new().expect("wasm engine")
}

fn load(runtime: &Runtime, plugin: &str) -> WasmDecoder {
    let wasm = std::fs::read(artifact(&format!("plugins/{plugin}.wasm"))).expect("read plugin");
    WasmDecoder::load(runtime, &wasm, "{}", Limits::default()).expect("load plugin")
}

fn packets_snapshot(cpus: u32, counts: &[(u32, &[u64])]) -> MapSnapshot {
    let mut snap = MapSnapshot {
        name: "packets_by_proto".into(),
        map_type: Some(MapType::PerCpuArray),
        key_size: 4,
        value_size: 8,
        cpus,
        entries: counts.len() as u32,
        ..MapSnapshot::default()
    };
    for (key, per_cpu) in counts {
        snap.keys.extend_from_slice(&key.to_le_bytes());
        for v in *per_cpu {
            snap.values.extend_from_slice(&v.to_le_bytes());
        }
    }
    snap
}

#[test]
fn packets_plugin_declares_its_family_and_decodes_a_per_cpu_snapshot() {
    let rt = runtime();
    let mut decoder = load(&rt, "packets");
    let spec = decoder.spec().clone();
    assert_eq!(spec.families.len(), 1);
    assert_eq!(spec.families[0].name, "ip_packets");
    assert_eq!(spec.maps, ["packets_by_proto"]);

    let mut maps = [packets_snapshot(
        2,
        &[(6, &[5, 6]), (17, &[0, 3]), (200, &[1, 0]), (1, &[0, 0])],
    )];
    let keys_before = maps[0].keys.clone();
    let collection = decoder.decode(&mut maps).expect("decode");
    assert_eq!(collection.invalid_rows, 0);
    let series: Vec<(String, Value)> = collection.families[0]
        .series
        .iter()
        .map(|s| (s.labels[0].clone(), s.value.clone()))
        .collect();
    assert_eq!(
        series,
        [
            ("TCP".to_owned(), Value::Number(11.0)),
            ("UDP".to_owned(), Value::Number(3.0)),
            ("200".to_owned(), Value::Number(1.0)),
        ]
    );
    assert_eq!(
        maps[0].keys, keys_before,
        "buffers are handed back for reuse"
    );
}

#[test]
fn a_plugin_error_is_reported_as_such_and_the_instance_survives() {
    let rt = runtime();
    let mut decoder = load(&rt, "writes");
    let mut wrong = [packets_snapshot(1, &[])];
    wrong[0].name = "writes_by_process".into();
    let err = decoder.decode(&mut wrong).expect_err("wrong key size");
    assert!(
        matches!(&err, DecodeError::Plugin { kind: crate::decoder::PluginErrorKind::BadMap, message } if message.contains("expected 20-byte keys")),
        "{err}"
    );
    assert!(decoder.is_live());
}

#[test]
fn garbage_bytes_are_rejected_as_not_a_component() {
    let rt = runtime();
    let err =
        WasmDecoder::load(&rt, b"\0asm garbage", "{}", Limits::default()).expect_err("garbage");
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
}
