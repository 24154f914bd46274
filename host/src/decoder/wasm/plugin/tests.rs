use super::*;
use crate::decoder::validate::DropReason;
use crate::decoder::wasm::Compiled;
use crate::maps::MapType;
use crate::metrics::Value;
use crate::testing::artifact;

pub(super) fn runtime() -> Runtime {
    Runtime::new().expect("wasm engine")
}

pub(super) fn load(runtime: &Runtime, plugin: &str) -> WasmDecoder {
    let wasm = std::fs::read(artifact(&format!("plugins/{plugin}.wasm"))).expect("read plugin");
    WasmDecoder::load(runtime, &wasm, "{}", Limits::default()).expect("load plugin")
}

pub(super) fn packets_snapshot(cpus: u32, counts: &[(u32, &[u64])]) -> MapSnapshot {
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
    assert_eq!(
        first_label_and_value(&collection),
        [
            ("200".to_owned(), Value::Number(1.0)),
            ("TCP".to_owned(), Value::Number(11.0)),
            ("UDP".to_owned(), Value::Number(3.0)),
        ]
    );
    assert_eq!(
        maps[0].keys, keys_before,
        "buffers are handed back for reuse"
    );
}

/// `(first label, value)` of each series of the first family; asserts
/// that nothing was dropped.
pub(super) fn first_label_and_value(collection: &Collection) -> Vec<(String, Value)> {
    assert_eq!(collection.dropped, [0; DropReason::ALL.len()]);
    collection.families[0]
        .series
        .iter()
        .map(|s| (s.labels[0].to_owned(), s.value.clone()))
        .collect()
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
    assert!(matches!(err, PluginLoadError::Compile(_)), "{err}");
}

/// What the WASI escape fixture saw, attempt by attempt.
fn escape_outcomes(decoder: &mut WasmDecoder) -> std::collections::BTreeMap<String, String> {
    let collection = decoder.decode(&mut []).expect("decode");
    collection.families[0]
        .series
        .iter()
        .map(|s| (s.labels[0].to_owned(), s.labels[1].to_owned()))
        .collect()
}

#[test]
fn a_wasi_guest_gets_no_file_environment_or_network() {
    let rt = runtime();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let wasm = std::fs::read(artifact("plugins/wasi-escape.wasm")).expect("read plugin");
    let limits = Limits {
        deadline: std::time::Duration::from_secs(20),
        ..Limits::default()
    };
    let mut decoder = WasmDecoder::load(&rt, &wasm, &format!(r#"{{"port":{port}}}"#), limits)
        .expect("a WASI 0.2 component loads");
    let seen = escape_outcomes(&mut decoder);
    eprintln!("{seen:#?}");
    for attempt in crate::testing::WASI_ESCAPES {
        assert!(
            seen[*attempt].starts_with("denied"),
            "{attempt}: {}",
            seen[*attempt]
        );
    }
    assert_eq!(seen["env"], "empty");
    assert_eq!(seen["args"], "empty");
    // Standard output takes everything, and logs only what the cap allows.
    assert_eq!(seen["stdout_10mb"], "allowed");
    assert_eq!(seen["stderr"], "allowed");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection reached the loopback port"
    );
    assert!(decoder.is_live(), "the guest keeps running");
}

#[test]
fn a_core_module_is_refused_as_such() {
    let rt = runtime();
    // The smallest core module: what a WASI 0.1 toolchain emits, unwrapped.
    let module = b"\0asm\x01\0\0\0";
    let err = WasmDecoder::load(&rt, module, "{}", Limits::default()).expect_err("refused");
    assert!(matches!(err, PluginLoadError::CoreModule), "{err}");
    assert!(err.to_string().contains("WASI 0.1"), "{err}");
}

#[test]
fn a_plugin_built_for_wit_0_1_is_refused_naming_the_versions() {
    let rt = runtime();
    let wasm = std::fs::read(artifact("plugins/old-wit.wasm")).expect("read plugin");
    let err = WasmDecoder::load(&rt, &wasm, "{}", Limits::default()).expect_err("refused");
    assert!(
        matches!(&err, PluginLoadError::WitVersion { found, .. } if found == "0.1.0"),
        "refused for its version, not: {err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("it imports bpfhost:decoder/types@0.1.0")
            && message.contains("this agent accepts bpfhost:decoder@0.2.0, @0.2.1, @0.3.0:"),
        "{message}"
    );
}

#[test]
fn memory_in_use_is_reported_while_an_instance_runs() {
    let rt = runtime();
    let mut decoder = load(&rt, "writes");
    let before = decoder.memory_bytes().expect("live instance");
    assert!(before >= 64 << 10, "at least one wasm page: {before}");
    assert!(before <= Limits::default().memory_bytes as u64);
    let mut snapshot = [packets_snapshot(1, &[])];
    snapshot[0].name = "writes_by_process".into();
    let _ = decoder.decode(&mut snapshot);
    assert!(decoder.memory_bytes().expect("still live") >= before);
}

#[test]
fn the_component_cache_serves_a_second_load_without_compiling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rt = runtime();
    rt.enable_cache(dir.path()).expect("cache");
    let wasm = std::fs::read(artifact("plugins/writes.wasm")).expect("read plugin");
    let (_, first) = rt.compile(&wasm).expect("compile");
    let (_, second) = rt.compile(&wasm).expect("cached");
    assert_eq!((first, second), (Compiled::Miss, Compiled::Hit));
    // The cached component runs like a freshly compiled one.
    WasmDecoder::load(&rt, &wasm, "{}", Limits::default()).expect("load from cache");
}

mod hostile {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::decoder::TrapKind;

    fn hostile(
        runtime: &Runtime,
        config: &str,
        limits: Limits,
    ) -> Result<WasmDecoder, PluginLoadError> {
        let wasm = std::fs::read(artifact("plugins/hostile.wasm")).expect("read plugin");
        WasmDecoder::load(runtime, &wasm, config, limits)
    }

    fn trap_of(config: &str, limits: Limits) -> (TrapKind, Duration) {
        let rt = runtime();
        let mut decoder = hostile(&rt, config, limits).expect("init is fine");
        let started = Instant::now();
        let err = decoder.decode(&mut []).expect_err("the fault fires");
        let elapsed = started.elapsed();
        assert!(!decoder.is_live(), "a trap discards the instance");
        match err {
            DecodeError::Trap { kind, message } => {
                eprintln!("{config}: {kind:?} after {elapsed:?}: {message}");
                (kind, elapsed)
            }
            other => panic!("expected a trap, got {other}"),
        }
    }

    #[test]
    fn a_loop_still_meets_its_deadline_after_the_runtime_is_dropped() {
        // The agent drops its runtime on shutdown or reload while a
        // collection may still be in a decoder: the epoch must keep
        // ticking for that call, or it spins forever.
        let rt = runtime();
        let limits = Limits {
            deadline: Duration::from_millis(300),
            ..Limits::default()
        };
        let mut decoder = hostile(&rt, r#"{"fault":"loop"}"#, limits).expect("init is fine");
        let (done, finished) = std::sync::mpsc::channel();
        let call = std::thread::spawn(move || {
            let result = decoder.decode(&mut []);
            let _ = done.send(result.map(|_| ()));
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(rt);
        let result = finished
            .recv_timeout(Duration::from_secs(20))
            .expect("the call returned after the runtime was dropped");
        assert!(
            matches!(
                result,
                Err(DecodeError::Trap {
                    kind: TrapKind::Timeout,
                    ..
                })
            ),
            "{result:?}"
        );
        call.join().expect("decode thread");
    }

    #[test]
    fn an_endless_loop_is_stopped_at_the_deadline() {
        let limits = Limits {
            deadline: Duration::from_millis(200),
            ..Limits::default()
        };
        let (kind, elapsed) = trap_of(r#"{"fault":"loop"}"#, limits);
        assert_eq!(kind, TrapKind::Timeout);
        assert!(
            elapsed < Duration::from_secs(5),
            "stopped after {elapsed:?}"
        );
    }

    #[test]
    fn a_memory_bomb_hits_the_cap() {
        let limits = Limits {
            memory_bytes: 16 << 20,
            ..Limits::default()
        };
        assert_eq!(
            trap_of(r#"{"fault":"memory-bomb"}"#, limits).0,
            TrapKind::Memory
        );
    }

    #[test]
    fn deep_recursion_overflows_the_bounded_stack() {
        let (kind, _) = trap_of(r#"{"fault":"recursion"}"#, Limits::default());
        assert!(
            matches!(kind, TrapKind::StackOverflow | TrapKind::OutOfBounds),
            "{kind:?}"
        );
    }

    #[test]
    fn a_guest_panic_is_an_unreachable_trap() {
        assert_eq!(
            trap_of(r#"{"fault":"panic"}"#, Limits::default()).0,
            TrapKind::Unreachable
        );
    }

    #[test]
    fn after_a_trap_a_fresh_instance_runs_until_quarantine() {
        let rt = runtime();
        let limits = Limits {
            restart: crate::decoder::wasm::RestartPolicy {
                first_delay: Duration::ZERO,
                quarantine_after: 3,
                ..Default::default()
            },
            ..Limits::default()
        };
        let mut decoder = hostile(&rt, r#"{"fault":"panic"}"#, limits).expect("init");
        for _ in 0..3 {
            assert!(matches!(
                decoder.decode(&mut []),
                Err(DecodeError::Trap { .. })
            ));
        }
        assert!(decoder.quarantined());
        let err = decoder.decode(&mut []).expect_err("quarantined");
        assert!(
            err.to_string()
                .contains("quarantined after 3 traps in a row"),
            "{err}"
        );
    }

    #[test]
    fn a_restart_waits_for_the_back_off() {
        let rt = runtime();
        let mut decoder = hostile(&rt, r#"{"fault":"panic"}"#, Limits::default()).expect("init");
        assert!(matches!(
            decoder.decode(&mut []),
            Err(DecodeError::Trap { .. })
        ));
        let err = decoder.decode(&mut []).expect_err("backing off");
        assert!(err.to_string().contains("restarting after a trap"), "{err}");
    }

    #[test]
    fn a_fault_in_init_fails_the_load_with_the_trap() {
        let rt = runtime();
        let err = hostile(
            &rt,
            r#"{"fault":"panic","phase":"init"}"#,
            Limits::default(),
        )
        .expect_err("init traps");
        assert!(
            matches!(
                err,
                PluginLoadError::Init(DecodeError::Trap {
                    kind: TrapKind::Unreachable,
                    ..
                })
            ),
            "{err}"
        );
        let err =
            hostile(&rt, r#"{"fault":"nonsense"}"#, Limits::default()).expect_err("bad config");
        let message = crate::error_chain(&err);
        assert!(message.contains("invalid config"), "{message}");
    }

    #[test]
    fn a_well_behaved_run_returns_its_gauge() {
        let rt = runtime();
        let mut decoder = hostile(&rt, "{}", Limits::default()).expect("init");
        let c = decoder.decode(&mut []).expect("decode");
        assert_eq!(c.families[0].series[0].value, Value::Number(1.0));
    }
}
