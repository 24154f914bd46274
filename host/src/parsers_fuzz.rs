//! Bounded fuzzing of the parsers that read what users and operators
//! write: manifests (YAML documents of `BpfExporter`s and `ConfigMap`s) and
//! the web configuration. Whatever the input, they return errors, never
//! panic. Inputs are built from the grammar's own pieces (keys, YAML
//! punctuation, values) so that most cases get past the YAML layer into the
//! checks behind it.

use std::path::Path;

use proptest::prelude::*;

/// Pieces a manifest or web config is made of, glued at random.
fn yaml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("apiVersion: bpfhost.dev/v1alpha1\n".to_owned()),
        Just("kind: BpfExporter\n".to_owned()),
        Just("kind: ConfigMap\n".to_owned()),
        Just("metadata: {name: x}\n".to_owned()),
        Just("spec:\n".to_owned()),
        Just("  object: {path: a.o, sha256: ".to_owned()),
        Just("  decoder: {builtin: ebpf-exporter, config: ".to_owned()),
        Just("  programs: [{name: p, attach: ".to_owned()),
        Just("  maps: {m: {maxEntries: ".to_owned()),
        Just("  globals: {g: ".to_owned()),
        Just("  nodeSelector: {matchExpressions: [{key: k, operator: ".to_owned()),
        Just("  limits: {timeout: ".to_owned()),
        Just("tls_server_config: {cert_file: c, key_file: k, ".to_owned()),
        Just("client_auth_type: ".to_owned()),
        Just("min_version: ".to_owned()),
        Just("cipher_suites: [".to_owned()),
        Just("basic_auth_users: {u: ".to_owned()),
        Just("http_server_config: {headers: {".to_owned()),
        Just("---\n".to_owned()),
        Just("}".to_owned()),
        Just("]".to_owned()),
        Just("\n".to_owned()),
        Just(": ".to_owned()),
        Just("- ".to_owned()),
        Just("&a *a ".to_owned()),
        Just("!!binary ".to_owned()),
        "[a-zA-Z0-9_./$-]{0,12}",
        "-?[0-9]{1,20}",
        ".{0,8}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn manifests_of_any_shape_give_errors_not_panics(text in yaml_like()) {
        let loaded = crate::manifest::load_str(Path::new("fuzz.yaml"), &text);
        for error in &loaded.errors {
            let _ = crate::error_chain(error);
        }
    }

    #[test]
    fn web_configs_of_any_shape_give_errors_not_panics(text in yaml_like()) {
        if let Ok(config) = crate::web::WebConfig::parse(&text, Path::new("/etc/web.yml"))
            && let Some(tls) = &config.tls_server_config
        {
            // The files do not exist: an error, whatever the settings.
            prop_assert!(crate::web::tls::server_config(tls, Path::new("/etc/web.yml")).is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_give_errors_not_panics(text in "\\PC{0,300}") {
        let _ = crate::manifest::load_str(Path::new("fuzz.yaml"), &text);
        let _ = crate::web::WebConfig::parse(&text, Path::new("/etc/web.yml"));
    }
}
