//! Loading and resolution tests across the module, and the golden error
//! messages in `testdata/errors/` (re-bless with `BLESS=1`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A valid exporter document named `name` with the given `spec` body.
fn exporter(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\nspec:\n{spec}"
    )
}

const INLINE_SPEC: &str = "  object: {inline: AA==}\n  decoder: {inline: AA==}\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write test file");
    path
}

fn messages(errors: &[ManifestError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn names(loaded: &Loaded) -> Vec<&str> {
    loaded.exporters.iter().map(Manifest::name).collect()
}

#[test]
fn multi_document_file_loads_exporters_and_config_maps() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "packets.bpf.o", "ELF");
    let text = [
        exporter(
            "packets",
            "  nodeSelector: {matchLabels: {role: edge}}\n  object: {path: packets.bpf.o}\n  \
             decoder:\n    configMapKeyRef: {name: wasm, key: packets.wasm}\n    \
             config: {ports: [80, 443]}\n",
        ),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wasm}\nbinaryData: {packets.wasm: AGFzbQ==}\n"
            .to_owned(),
        exporter("rtt", INLINE_SPEC),
    ]
    .join("---\n");
    let file = write(dir.path(), "all.yaml", &text);

    let loaded = load_paths(&[&file]);
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    assert_eq!(names(&loaded), ["packets", "rtt"]);
    assert_eq!(loaded.config_maps.len(), 1);

    let packets = &loaded.exporters[0];
    assert_eq!(packets.file(), Some(file.as_path()));
    assert_eq!(packets.document(), Some(1));
    assert_eq!(packets.base_dir, dir.path());
    assert_eq!(packets.namespace(), "default");
    let object = packets.object_bytes(&loaded.config_maps).expect("object");
    assert_eq!(object, b"ELF");
    let decoder = packets
        .decoder_bytes(&loaded.config_maps, &Builtins::none())
        .expect("decoder");
    assert_eq!(decoder, b"\0asm");
    assert_eq!(packets.decoder_config_json(), r#"{"ports":[80,443]}"#);
    assert!(packets.selects(&BTreeMap::from([("role".into(), "edge".into())])));
    assert!(!packets.selects(&BTreeMap::new()));

    let rtt = &loaded.exporters[1];
    assert_eq!(rtt.document(), Some(3));
    assert_eq!(rtt.object_bytes(&loaded.config_maps).expect("inline"), [0]);
    assert_eq!(rtt.decoder_config_json(), "{}");
}

#[test]
fn programs_and_globals_read_as_in_a_cluster() {
    let spec = "  object: {inline: AA==}\n  programs:\n    \
                - {name: count, attach: {kprobe: {function: tcp_sendmsg}}}\n    \
                - {name: sample, attach: {perfEvent: {event: cpu-clock, frequency: 99}}}\n    \
                - {name: idle, attach: none}\n  \
                globals: {filter_pid: 42, min_us: -1, verbose: true}\n  \
                decoder: {inline: AA==}\n";
    let loaded = load_str(Path::new("p.yaml"), &exporter("p", spec));
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    let spec = &loaded.exporters[0].exporter.spec;
    assert_eq!(
        spec.programs[0].attach,
        Some(AttachPoint::Kprobe(ProbeTarget {
            function: "tcp_sendmsg".into(),
            offset: 0
        }))
    );
    assert_eq!(spec.programs[2].attach, Some(AttachPoint::None));
    assert!(spec.programs.iter().all(ProgramAttach::loads));
    assert_eq!(spec.attach_policy, AttachPolicy::AllOrNothing);
    assert_eq!(spec.globals["filter_pid"], GlobalValue::Unsigned(42));
    assert_eq!(spec.globals["min_us"], GlobalValue::Signed(-1));
    assert_eq!(loaded.exporters[0].base_dir, Path::new("."));
}

#[test]
fn usdt_entries_and_usdt_attach_points_are_the_same_thing() {
    let spec = "  object: {inline: AA==}\n  programs:\n    \
                - {name: entry, usdt: {binary: python3, provider: python, name: function__entry, pid: 42}}\n    \
                - {name: query, attach: {usdt: {binary: /usr/sbin/mysqld, provider: mysql, name: query__start, cookie: 7}}}\n  \
                decoder: {inline: AA==}\n";
    let loaded = load_str(Path::new("u.yaml"), &exporter("u", spec));
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    let programs = &loaded.exporters[0].exporter.spec.programs;
    assert_eq!(
        programs[0].attach_point(),
        Some(AttachPoint::Usdt(UsdtTarget {
            binary: "python3".into(),
            provider: "python".into(),
            name: "function__entry".into(),
            pid: Some(42),
            cookie: None,
        }))
    );
    assert_eq!(programs[0].attach, None);
    assert_eq!(
        programs[1].attach_point(),
        Some(AttachPoint::Usdt(UsdtTarget {
            binary: "/usr/sbin/mysqld".into(),
            provider: "mysql".into(),
            name: "query__start".into(),
            pid: None,
            cookie: Some(7),
        }))
    );
    // The issue's form serializes back as written.
    let text = serde_yaml::to_string(&programs[0]).expect("serialize");
    assert_eq!(
        text,
        "name: entry\nusdt:\n  binary: python3\n  provider: python\n  name: function__entry\n  pid: 42\n"
    );
}

#[test]
fn overrides_and_attach_policy_read_as_libbpf_users_set_them() {
    let spec = "  object: {inline: AA==}\n  programs:\n    \
                - {name: trace_fentry, autoload: false}\n    \
                - {name: trace_kprobe, attach: {kprobe: {function: vfs_read}}}\n    \
                - {name: trace_tp, autoload: true}\n  \
                maps: {counts: {maxEntries: 8192}, starts: {maxEntries: 1}}\n  \
                attachPolicy: BestEffort\n  \
                decoder: {inline: AA==}\n";
    let loaded = load_str(Path::new("o.yaml"), &exporter("o", spec));
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    let spec = &loaded.exporters[0].exporter.spec;
    assert_eq!(spec.programs[0], ProgramAttach::disabled("trace_fentry"));
    assert!(spec.programs[1].loads() && spec.programs[2].loads());
    assert_eq!(spec.maps["counts"].max_entries, 8192);
    assert_eq!(spec.maps["starts"].max_entries, 1);
    assert_eq!(spec.attach_policy, AttachPolicy::BestEffort);
    // What the agent fingerprints and `bpfhost validate` prints reads back.
    let text = serde_yaml::to_string(spec).expect("serialize");
    assert!(text.contains("autoload: false"), "{text}");
    assert!(text.contains("attachPolicy: BestEffort"), "{text}");
    assert_eq!(
        serde_yaml::from_str::<BpfExporterSpec>(&text).expect("parse back"),
        *spec
    );
}

#[test]
fn directory_loads_yaml_files_in_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "b.yaml", &exporter("b", INLINE_SPEC));
    write(dir.path(), "a.yml", &exporter("a", INLINE_SPEC));
    write(dir.path(), "c.json", &exporter("c", INLINE_SPEC));
    write(dir.path(), ".hidden.yaml", &exporter("hidden", INLINE_SPEC));
    fs::create_dir(dir.path().join("sub.yaml")).expect("mkdir");
    write(
        &dir.path().join("sub.yaml"),
        "d.yaml",
        &exporter("d", INLINE_SPEC),
    );

    let loaded = load_paths(&[dir.path()]);
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    assert_eq!(names(&loaded), ["a", "b"]);
}

#[test]
fn one_bad_document_leaves_the_others_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = [
        exporter("first", INLINE_SPEC),
        exporter("bad", "  object: {inline: AA==}\n"),
        exporter("last", INLINE_SPEC),
    ]
    .join("---\n");
    let file = write(dir.path(), "x.yaml", &text);
    let other = write(dir.path(), "y.yaml", &exporter("other", INLINE_SPEC));

    let loaded = load_paths(&[&file, &other]);
    assert_eq!(names(&loaded), ["first", "last", "other"]);
    assert_eq!(
        messages(&loaded.errors),
        [format!(
            "{} (document 2): spec: missing field `decoder`",
            file.display()
        )]
    );
}

#[test]
fn config_map_key_ref_uses_the_exporter_namespace_across_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = "  object: {configMapKeyRef: {name: elf, key: a.o}}\n  \
                decoder: {configMapKeyRef: {name: elf, key: cfg}}\n";
    // The helper's name goes into a flow mapping, so it can carry a namespace.
    let prod = exporter("p, namespace: prod", spec);
    let exporters = write(
        dir.path(),
        "exporters.yaml",
        &[exporter("d", spec), prod].join("---\n"),
    );
    let maps = write(
        dir.path(),
        "maps.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elf, namespace: prod}\n\
         binaryData: {a.o: cHJvZA==}\ndata: {cfg: text}\n",
    );

    let loaded = load_paths(&[&exporters, &maps]);
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    let [default, prod] = &loaded.exporters[..] else {
        panic!("expected two exporters, got {:?}", names(&loaded));
    };
    assert_eq!(
        prod.object_bytes(&loaded.config_maps).expect("prod elf"),
        b"prod"
    );
    assert_eq!(
        prod.decoder_bytes(&loaded.config_maps, &Builtins::none())
            .expect("prod cfg"),
        b"text"
    );
    let err = default
        .object_bytes(&loaded.config_maps)
        .expect_err("no configmap in default");
    assert_eq!(
        err.to_string(),
        format!(
            "{} (document 1): spec.object.configMapKeyRef: configmap `default/elf` not found",
            exporters.display()
        )
    );
}

#[test]
fn missing_manifest_path_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.yaml");
    let loaded = load_paths(&[&missing]);
    assert_eq!(
        messages(&loaded.errors),
        [format!("{}: does not exist", missing.display())]
    );
}

#[test]
fn unreadable_manifest_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("binary.yaml");
    fs::write(&file, [0xff, 0xfe, 0x00]).expect("write");
    let loaded = load_paths(&[&file]);
    assert_eq!(
        messages(&loaded.errors),
        [format!(
            "{}: cannot read: stream did not contain valid UTF-8",
            file.display()
        )]
    );
}

#[test]
fn syntax_error_has_line_and_column() {
    let text = format!(
        "{}---\nmetadata:\n  name: x\n   bad: y\n",
        exporter("good", INLINE_SPEC)
    );
    let loaded = load_str(Path::new("x.yaml"), &text);
    assert_eq!(names(&loaded), ["good"]);
    let [ManifestError::Syntax { line, column, .. }] = &loaded.errors[..] else {
        panic!(
            "expected one syntax error, got {:?}",
            messages(&loaded.errors)
        );
    };
    assert_eq!(
        (*line, *column),
        (Some(10), Some(7)),
        "line and column within the file"
    );
}

#[test]
fn cluster_resources_are_validated_and_resolve_against_base_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.o", "ELF");
    let resource: BpfExporter = serde_yaml::from_str(&exporter(
        "a",
        "  object: {path: a.o}\n  decoder: {inline: AA==}\n",
    ))
    .expect("valid resource");
    let manifest = Manifest::from_resource(resource.clone(), dir.path().to_owned()).expect("valid");
    assert_eq!(manifest.file(), None);
    assert_eq!(
        manifest.object_bytes(&ConfigMaps::new()).expect("read"),
        b"ELF"
    );

    let mut escaping = resource.clone();
    escaping.spec.object.path = Some("../../etc/shadow".into());
    let errors = Manifest::from_resource(escaping, dir.path().to_owned()).expect_err("escapes");
    assert_eq!(
        messages(&errors),
        [
            "BpfExporter default/a: spec.object.path: `../../etc/shadow` must be a relative path \
          without `..` for a cluster resource"
        ]
    );

    let mut bad = resource;
    bad.spec.decoder.path = Some("a.wasm".into());
    let errors = Manifest::from_resource(bad, dir.path().to_owned()).expect_err("two sources");
    assert_eq!(
        messages(&errors),
        [
            "BpfExporter default/a: spec.decoder: exactly one of path, inline, configMapKeyRef, \
             builtin must be set, found path and inline"
        ]
    );
}

/// Every `testdata/errors/*.yaml` is loaded and each loaded exporter's
/// sources are read; the errors must match the `.txt` beside it.
#[test]
fn golden_error_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/manifest/testdata/errors");
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read testdata/errors")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let mut failed = Vec::new();
    for case in &cases {
        let actual = render_errors(case, &dir);
        let golden = case.with_extension("txt");
        if bless {
            fs::write(&golden, &actual).expect("write golden file");
            continue;
        }
        let expected = fs::read_to_string(&golden).unwrap_or_default();
        if expected != actual {
            failed.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                golden.display()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "golden error messages differ (re-bless with BLESS=1):\n{}",
        failed.join("\n")
    );
}

/// The load and resolution errors of one case, one per line, with the
/// testdata directory removed from paths.
fn render_errors(case: &Path, dir: &Path) -> String {
    let loaded = load_paths(&[case]);
    let mut errors = loaded.errors;
    for manifest in &loaded.exporters {
        errors.extend(manifest.object_bytes(&loaded.config_maps).err());
        errors.extend(
            manifest
                .decoder_bytes(&loaded.config_maps, &Builtins::none())
                .err(),
        );
    }
    let prefix = format!("{}/", dir.display());
    let mut text = String::new();
    for error in &errors {
        text.push_str(&error.to_string().replace(&prefix, ""));
        text.push('\n');
    }
    text
}

#[test]
fn a_builtin_decoder_is_granted_what_its_config_needs_unless_the_manifest_lists_lookups() {
    let text = [
        exporter(
            "implied",
            "  object: {inline: AA==}\n  decoder: {builtin: ebpf-exporter, config: {metrics: \
             {counters: [{name: e, help: h, labels: [{name: e, size: 4, decoders: [{name: uint}, \
             {name: errno}]}]}]}}}\n",
        ),
        exporter(
            "explicit",
            "  object: {inline: AA==}\n  decoder: {builtin: ebpf-exporter, lookups: [ksym]}\n",
        ),
        exporter("plain", INLINE_SPEC),
    ]
    .join("---\n");
    let loaded = load_str(Path::new("x.yaml"), &text);
    assert!(loaded.errors.is_empty(), "{:?}", messages(&loaded.errors));
    let granted: Vec<Vec<&str>> = loaded
        .exporters
        .iter()
        .map(|m| m.granted_lookups().iter().map(|l| l.as_str()).collect())
        .collect();
    assert_eq!(granted, [vec!["errno"], vec!["ksym"], vec![],]);
    let importable: Vec<usize> = loaded
        .exporters
        .iter()
        .map(|m| m.importable_lookups().len())
        .collect();
    assert_eq!(importable, [7, 7, 0], "a builtin may import all it calls");
}
