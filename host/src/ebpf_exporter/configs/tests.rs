use std::path::Path;

use super::*;

const TIMERS: &str = "\
metrics:
  counters:
    - name: softirqs_total
      help: Softirqs by kind
      labels:
        - name: kind
          size: 4
          decoders:
            - name: static_map
              static_map: {0: hi, 1: timer}
";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn messages(loaded: &Loaded, dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    loaded
        .errors
        .iter()
        .map(|e| e.to_string().replace(&prefix, ""))
        .collect()
}

#[test]
fn a_config_becomes_an_exporter_of_the_builtin_decoder() {
    let dir = dir_with(&[("timers.yaml", TIMERS), ("timers.bpf.o", "ELF")]);
    let configs = ConfigSet::new(dir.path().to_owned(), "timers").expect("names");
    let loaded = configs.load();
    assert!(
        loaded.errors.is_empty(),
        "{:?}",
        messages(&loaded, dir.path())
    );
    let [manifest] = loaded.exporters.as_slice() else {
        panic!("one exporter expected, got {}", loaded.exporters.len());
    };
    assert_eq!(manifest.name(), "timers");
    assert_eq!(
        manifest.file(),
        Some(dir.path().join("timers.yaml").as_path())
    );
    let spec = &manifest.exporter.spec;
    assert_eq!(spec.object.path.as_deref(), Some("timers.bpf.o"));
    assert_eq!(
        manifest.object_bytes(&loaded.config_maps).expect("object"),
        b"ELF"
    );
    assert_eq!(spec.decoder.builtin.as_deref(), Some(DECODER));
    let expected: Value = serde_yaml::from_str(TIMERS).expect("yaml");
    assert_eq!(spec.decoder.config.as_ref(), Some(&expected));
    let lookups: Vec<&str> = manifest
        .granted_lookups()
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert!(
        lookups.is_empty(),
        "static_map needs no lookup: {lookups:?}"
    );
    assert_eq!(spec.decoder.lookups, lookups);
}

#[test]
fn names_become_kubernetes_names_and_keep_their_config_label() {
    let configs = ConfigSet::new("/x".into(), "kfree_skb, timers").expect("names");
    assert_eq!(
        configs.names(),
        [
            ConfigName {
                config: "kfree_skb".into(),
                exporter: "kfree-skb".into()
            },
            ConfigName {
                config: "timers".into(),
                exporter: "timers".into()
            },
        ]
    );
}

#[test]
fn unusable_names_are_refused() {
    let error = |names: &str| ConfigSet::new("/x".into(), names).expect_err(names);
    assert_eq!(error(""), NamesError::Empty);
    assert_eq!(error("a,,b"), NamesError::Invalid(String::new()));
    assert_eq!(error("../etc/x"), NamesError::Invalid("../etc/x".into()));
    assert_eq!(error("a,a"), NamesError::Duplicate("a".into()));
    assert_eq!(
        error("kfree_skb,kfree-skb").to_string(),
        "--config.names: `kfree_skb` and `kfree-skb` both become exporter `kfree-skb`"
    );
}

#[test]
fn a_bad_config_names_its_file_and_the_others_still_load() {
    let dir = dir_with(&[
        ("timers.yaml", TIMERS),
        ("timers.bpf.o", "ELF"),
        ("broken.yaml", "metrics: [\n"),
        ("broken.bpf.o", "ELF"),
        ("list.yaml", "- 1\n"),
        ("list.bpf.o", "ELF"),
        ("noobj.yaml", TIMERS),
        ("kaddr.yaml", "kaddrs: {a: b}\nmetrics: {}\n"),
        ("kaddr.bpf.o", "ELF"),
    ]);
    let configs = ConfigSet::new(
        dir.path().to_owned(),
        "timers,missing,broken,list,noobj,kaddr",
    )
    .expect("names");
    let loaded = configs.load();
    let names: Vec<&str> = loaded.exporters.iter().map(Manifest::name).collect();
    assert_eq!(names, ["timers"]);
    let messages = messages(&loaded, dir.path());
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert_eq!(messages[0], "missing.yaml: does not exist");
    assert!(
        messages[1].starts_with("broken.yaml: invalid yaml: "),
        "{}",
        messages[1]
    );
    assert_eq!(
        messages[2],
        "list.yaml: expected a mapping: an ebpf_exporter config with `metrics`"
    );
    assert_eq!(messages[3], "noobj.bpf.o: does not exist");
    assert!(
        messages[4].starts_with("kaddr.yaml: kaddrs: invalid type: map"),
        "{}",
        messages[4]
    );
}

#[test]
fn kaddrs_become_globals_and_leave_the_decoder_config() {
    let dir = dir_with(&[
        ("k.yaml", "kaddrs: [jiffies_64]\nmetrics: {counters: []}\n"),
        ("k.bpf.o", "ELF"),
        ("kallsyms", "ffffffff82a3c5e0 D jiffies_64\n"),
    ]);
    let mut configs = ConfigSet::new(dir.path().to_owned(), "k").expect("names");
    configs.kallsyms = Kallsyms::at(dir.path().join("kallsyms"));
    let (exporter, _) = configs.exporter("k").expect("config");
    assert_eq!(
        exporter.spec.globals.get("kaddr_jiffies_64"),
        Some(&GlobalValue::Unsigned(0xffff_ffff_82a3_c5e0))
    );
    let config = exporter.spec.decoder.config.expect("config");
    assert!(config.get("kaddrs").is_none(), "{config}");

    fs::write(dir.path().join("k.yaml"), "kaddrs: [nope]\nmetrics: {}\n").expect("write");
    let error = configs
        .exporter("k")
        .expect_err("unknown symbol")
        .to_string();
    let kallsyms = dir.path().join("kallsyms");
    assert_eq!(
        error,
        format!(
            "{}: kaddrs[0]: kernel symbol `nope` not found in {}",
            dir.path().join("k.yaml").display(),
            kallsyms.display()
        )
    );
}

#[test]
fn an_exporter_is_granted_the_lookups_its_configs_decoders_need_and_no_others() {
    // `biolatency.yaml`'s device label, and a stack.
    let config = "\
metrics:
  counters:
    - name: stacks_total
      help: Stacks
      labels:
        - name: stack
          size: 16
          decoders:
            - name: kstack
        - name: device
          size: 4
          decoders:
            - name: majorminor
";
    let dir = dir_with(&[("bio.yaml", config), ("bio.bpf.o", "ELF")]);
    let loaded = ConfigSet::new(dir.path().to_owned(), "bio")
        .expect("names")
        .load();
    let [manifest] = loaded.exporters.as_slice() else {
        panic!("{:?}", messages(&loaded, dir.path()));
    };
    assert_eq!(
        manifest.exporter.spec.decoder.lookups,
        ["ksym", "majorminor"]
    );
    let granted: Vec<&str> = manifest
        .granted_lookups()
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert_eq!(granted, ["ksym", "majorminor"]);
}

#[test]
fn cgroup_id_map_leaves_the_decoder_config_for_the_spec() {
    let config = format!(
        "{TIMERS}cgroup_id_map:\n  name: cgroup_ids\n  type: cgrp_storage\n  regexps: ['^.*(system.slice/.*)$']\n"
    );
    let dir = dir_with(&[("cg.yaml", &config), ("cg.bpf.o", "ELF")]);
    let loaded = ConfigSet::new(dir.path().to_owned(), "cg")
        .expect("names")
        .load();
    assert!(
        loaded.errors.is_empty(),
        "{:?}",
        messages(&loaded, dir.path())
    );
    let spec = &loaded.exporters[0].exporter.spec;
    assert_eq!(
        spec.cgroup_id_map,
        Some(CgroupIdMapSpec {
            map: "cgroup_ids".to_owned(),
            kind: CgroupIdMapKind::CgrpStorage,
            regexps: vec!["^.*(system.slice/.*)$".to_owned()],
        })
    );
    let expected: Value = serde_yaml::from_str(TIMERS).expect("yaml");
    assert_eq!(spec.decoder.config.as_ref(), Some(&expected));
}

#[test]
fn cgroup_id_map_without_a_type_is_a_hash_and_a_bad_one_names_the_file() {
    let hash = format!("{TIMERS}cgroup_id_map: {{name: ids, regexps: [x]}}\n");
    let typo = format!("{TIMERS}cgroup_id_map: {{name: ids, regexps: [x], typ: hash}}\n");
    let broken = format!("{TIMERS}cgroup_id_map: {{name: ids, regexps: ['(']}}\n");
    let dir = dir_with(&[
        ("hash.yaml", &hash),
        ("hash.bpf.o", "ELF"),
        ("typo.yaml", &typo),
        ("typo.bpf.o", "ELF"),
        ("broken.yaml", &broken),
        ("broken.bpf.o", "ELF"),
    ]);
    let loaded = ConfigSet::new(dir.path().to_owned(), "hash,typo,broken")
        .expect("names")
        .load();
    let [manifest] = loaded.exporters.as_slice() else {
        panic!("only `hash` loads: {:?}", messages(&loaded, dir.path()));
    };
    let spec = manifest
        .exporter
        .spec
        .cgroup_id_map
        .as_ref()
        .expect("a map");
    assert_eq!(spec.kind, CgroupIdMapKind::Hash);
    let errors = messages(&loaded, dir.path());
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("typo.yaml")
            && errors[0].contains("cgroup_id_map")
            && errors[0].contains("`typ`"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("broken.yaml") && errors[1].contains("spec.cgroupIdMap.regexps[0]"),
        "{errors:?}"
    );
}
