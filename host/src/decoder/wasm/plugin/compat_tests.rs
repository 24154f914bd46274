//! Components built for an earlier release of the WIT package keep
//! working: `plugins/fixtures/released/<version>/` holds components as
//! that release's SDK built them, committed as bytes.

use super::*;
use crate::lookup::{Grants, Lookup};
use crate::metrics::Value;

fn released(version: &str, plugin: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/fixtures/released")
        .join(version)
        .join(format!("{plugin}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `probe_name` series of the lookups probe: `lookup,key,name` and value.
fn probe_names(collection: &crate::decoder::Collection) -> Vec<(String, Value)> {
    let family = collection
        .families
        .iter()
        .find(|f| f.family.name == "probe_name")
        .expect("probe_name");
    family
        .series
        .iter()
        .map(|s| {
            (
                s.labels.iter().collect::<Vec<_>>().join(","),
                s.value.clone(),
            )
        })
        .collect()
}

/// The versioned `bpfhost:decoder` interfaces a component imports.
fn package_imports(rt: &Runtime, wasm: &[u8]) -> Vec<String> {
    let (component, _) = rt.compile(wasm).expect("compile");
    let mut names: Vec<String> = component
        .component_type()
        .imports(rt.engine())
        .map(|(name, _)| name.to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_0_2_0_component_loads_and_decodes_a_map_unchanged() {
    let rt = Runtime::new().expect("wasm engine");
    let wasm = released("0.2.0", "packets");
    assert_eq!(package_imports(&rt, &wasm), ["bpfhost:decoder/types@0.2.0"]);
    let mut decoder = WasmDecoder::load(&rt, &wasm, "{}", Limits::default()).expect("loads");
    assert_eq!(decoder.spec().maps, ["packets_by_proto"]);
    let mut maps = [tests::packets_snapshot(2, &[(6, &[5, 6]), (17, &[0, 3])])];
    let collection = decoder.decode(&mut maps).expect("decode");
    assert_eq!(
        tests::first_label_and_value(&collection),
        [
            ("TCP".to_owned(), Value::Number(11.0)),
            ("UDP".to_owned(), Value::Number(3.0)),
        ]
    );
}

#[test]
fn a_0_2_0_component_calls_its_lookups_through_the_newer_host() {
    let rt = Runtime::new().expect("wasm engine");
    let wasm = released("0.2.0", "lookups-probe");
    assert_eq!(
        package_imports(&rt, &wasm),
        [
            "bpfhost:decoder/lookups@0.2.0",
            "bpfhost:decoder/types@0.2.0"
        ]
    );
    let (component, _) = rt.compile(&wasm).expect("compile");
    assert_eq!(
        imports::lookups_used(rt.engine(), &component),
        Lookup::ALL
            .into_iter()
            .filter(|l| l.since() == "0.2.0")
            .collect::<Vec<_>>()
    );
    // It imports every 0.2.0 lookup, as whole-interface toolchains do, so
    // it loads without grants (the new lookups are not needed) and its
    // ungranted calls answer none.
    let mut ungranted = WasmDecoder::load(&rt, &wasm, r#"{"syscalls": [257]}"#, Limits::default())
        .expect("loads without grants");
    assert_eq!(
        probe_names(&ungranted.decode(&mut []).expect("decode")),
        [("syscall,257,".to_owned(), Value::Number(0.0))]
    );
    let limits = Limits {
        lookups: Grants::parse(&[
            "ksym", "cgroup", "pod", "ifname", "comm", "syscall", "errno",
        ])
        .expect("valid"),
        ..Limits::default()
    };
    let config = r#"{"syscalls": [257, 100000], "errnos": [-2]}"#;
    let mut decoder = WasmDecoder::load(&rt, &wasm, config, limits).expect("loads");
    let names = probe_names(&decoder.decode(&mut []).expect("decode"));
    assert_eq!(
        names,
        [
            ("errno,-2,ENOENT".to_owned(), Value::Number(1.0)),
            ("syscall,100000,".to_owned(), Value::Number(0.0)),
            ("syscall,257,openat".to_owned(), Value::Number(1.0)),
        ]
    );
}

#[test]
fn a_0_2_1_component_decodes_beside_a_0_3_one_with_its_own_bindings() {
    let rt = Runtime::new().expect("wasm engine");
    let old = released("0.2.1", "packets");
    assert_eq!(package_imports(&rt, &old), ["bpfhost:decoder/types@0.2.1"]);
    let mut old = WasmDecoder::load(&rt, &old, "{}", Limits::default()).expect("loads");
    let mut new = tests::load(&rt, "packets");
    let wasm = std::fs::read(crate::testing::artifact("plugins/packets.wasm")).expect("read");
    assert_eq!(package_imports(&rt, &wasm), ["bpfhost:decoder/types@0.3.0"]);
    assert_eq!(old.spec(), new.spec());
    assert_eq!(old.spec().events, []);
    for _ in 0..2 {
        let mut maps = [tests::packets_snapshot(2, &[(6, &[5, 6]), (17, &[0, 3])])];
        let from_old = old.decode(&mut maps).expect("decode");
        // The snapshot's buffers came back for the next decoder.
        let from_new = new.decode(&mut maps).expect("decode");
        assert_eq!(
            tests::first_label_and_value(&from_old),
            tests::first_label_and_value(&from_new)
        );
        assert_eq!(
            tests::first_label_and_value(&from_old),
            [
                ("TCP".to_owned(), Value::Number(11.0)),
                ("UDP".to_owned(), Value::Number(3.0)),
            ]
        );
    }
    // A 0.2 decoder declares no event source; were it handed a batch, the
    // host refuses it for the guest, which is not called.
    let mut batch = crate::decoder::EventBatch::default();
    let err = old.on_events(&mut batch).expect_err("no events in 0.2");
    assert!(err.to_string().contains("takes no events"), "{err}");
    assert!(old.is_live());
}

#[test]
fn a_0_2_1_component_calls_the_lookups_0_2_1_added() {
    let rt = Runtime::new().expect("wasm engine");
    let wasm = released("0.2.1", "lookups-probe");
    assert_eq!(
        package_imports(&rt, &wasm),
        [
            "bpfhost:decoder/lookups@0.2.1",
            "bpfhost:decoder/types@0.2.1"
        ]
    );
    let limits = Limits {
        lookups: Grants::parse(&["syscall", "errno", "majorminor", "pci"]).expect("valid"),
        ..Limits::default()
    };
    let config = r#"{"syscalls": [1], "errnos": [13]}"#;
    let mut decoder = WasmDecoder::load(&rt, &wasm, config, limits).expect("loads");
    assert_eq!(
        probe_names(&decoder.decode(&mut []).expect("decode")),
        [
            ("errno,13,EACCES".to_owned(), Value::Number(1.0)),
            ("syscall,1,write".to_owned(), Value::Number(1.0)),
        ]
    );
}
