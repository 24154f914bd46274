//! The install, `kubectl apply -k crd/deploy`: the objects `kubectl
//! kustomize` renders each parse into their typed Kubernetes object and
//! serialize back unchanged (so a misspelt field, which the typed objects
//! would drop, fails here), and the pieces agree with each other, with the
//! agent and with its image.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crd/deploy")
}

/// The documents of a YAML stream, as JSON.
fn parse_documents(text: &str, what: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{what}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The documents of one YAML file.
fn documents(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_documents(&text, &path.display().to_string())
}

/// What `kubectl kustomize DIR` renders: what `kubectl apply -k DIR` applies.
fn kustomize(dir: &Path) -> Vec<Value> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl (needed to render the install): {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_documents(
        &String::from_utf8_lossy(&out.stdout),
        &format!("kubectl kustomize {}", dir.display()),
    )
}

/// Parses `doc` as `T` and checks that nothing was lost on the way.
fn typed<T: DeserializeOwned + serde::Serialize>(doc: &Value, what: &str) -> T {
    let object: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&object).expect("serializes");
    if let Some(path) = bpfhost::testing::dropped_field(doc, &back) {
        panic!("{what}: `{path}` is not a field of the typed object (misspelt?)");
    }
    object
}

/// The Prometheus Operator's `ServiceMonitor`, as far as we use it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServiceMonitorSpec {
    selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    namespace_selector: NamespaceSelector,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NamespaceSelector {
    match_names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Endpoint {
    port: String,
    path: String,
    interval: String,
    scrape_timeout: String,
}

/// Every object the install creates, by kind.
#[derive(Default)]
struct Deploy {
    crds: Vec<CustomResourceDefinition>,
    namespaces: Vec<Namespace>,
    accounts: Vec<ServiceAccount>,
    roles: Vec<ClusterRole>,
    bindings: Vec<ClusterRoleBinding>,
    daemon_sets: Vec<DaemonSet>,
    services: Vec<Service>,
}

fn load() -> Deploy {
    let mut deploy = Deploy::default();
    for (i, doc) in kustomize(&deploy_dir()).iter().enumerate() {
        let what = format!("kubectl kustomize crd/deploy (document {})", i + 1);
        match doc["kind"].as_str().unwrap_or_default() {
            // Compared whole with `bpfhost crd` below (its integer bounds
            // come back as floats from the typed object: no round trip).
            "CustomResourceDefinition" => deploy.crds.push(
                serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{what}: {e}")),
            ),
            "Namespace" => deploy.namespaces.push(typed(doc, &what)),
            "ServiceAccount" => deploy.accounts.push(typed(doc, &what)),
            "ClusterRole" => deploy.roles.push(typed(doc, &what)),
            "ClusterRoleBinding" => deploy.bindings.push(typed(doc, &what)),
            "DaemonSet" => deploy.daemon_sets.push(typed(doc, &what)),
            "Service" => deploy.services.push(typed(doc, &what)),
            other => panic!("{what}: unexpected kind `{other}`"),
        }
    }
    deploy
}

/// The ClusterRole named `name`.
fn role<'a>(deploy: &'a Deploy, name: &str) -> &'a ClusterRole {
    deploy
        .roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no ClusterRole {name}"))
}

/// A role's rules as (API group, resource) → verbs.
fn rules_of(role: &ClusterRole) -> BTreeMap<(String, String), Vec<String>> {
    role.rules
        .iter()
        .flatten()
        .flat_map(|rule| {
            let groups = rule.api_groups.clone().unwrap_or_default();
            let resources = rule.resources.clone().unwrap_or_default();
            groups.into_iter().flat_map(move |group| {
                let verbs = rule.verbs.clone();
                resources
                    .clone()
                    .into_iter()
                    .map(move |resource| ((group.clone(), resource), verbs.clone()))
            })
        })
        .collect()
}

fn one<'a, T>(items: &'a [T], what: &str) -> &'a T {
    let [item] = items else {
        panic!("expected one {what}, found {}", items.len());
    };
    item
}

#[test]
fn deploy_manifests_are_typed_and_consistent() {
    let deploy = load();
    let namespace = one(&deploy.namespaces, "Namespace").metadata.name.clone();
    let account = one(&deploy.accounts, "ServiceAccount");
    assert_eq!(account.metadata.namespace, namespace);
    let binding = one(&deploy.bindings, "ClusterRoleBinding");
    assert_eq!(binding.role_ref.name, "bpfhost-agent");
    let subject = one(binding.subjects.as_deref().unwrap_or_default(), "subject");
    assert_eq!(
        (Some(&subject.name), &subject.namespace),
        (account.metadata.name.as_ref(), &namespace)
    );

    let daemon_set = one(&deploy.daemon_sets, "DaemonSet");
    assert_eq!(daemon_set.metadata.namespace, namespace);
    let pod = daemon_set
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    assert_eq!(pod.service_account_name, account.metadata.name);
    let pod_labels = daemon_set
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();

    let service = one(&deploy.services, "Service");
    let selector = service
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    assert!(
        !selector.is_empty() && selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)),
        "the Service selects the agent pods"
    );
    let annotations = service.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("prometheus.io/scrape").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        annotations.get("prometheus.io/port").map(String::as_str),
        Some("9387")
    );
}

#[test]
fn cluster_role_grants_only_what_the_agent_needs() {
    let deploy = load();
    let rules = rules_of(role(&deploy, "bpfhost-agent"));
    let expected: BTreeMap<(String, String), Vec<String>> = [
        ("bpfhost.dev", "bpfexporters", &["get", "list", "watch"][..]),
        ("bpfhost.dev", "bpfexporters/status", &["patch"]),
        ("", "configmaps", &["get", "list", "watch"]),
        ("", "nodes", &["get"]),
        ("events.k8s.io", "events", &["create", "patch"]),
    ]
    .into_iter()
    .map(|(g, r, v)| {
        (
            (g.to_owned(), r.to_owned()),
            v.iter().map(|s| (*s).to_owned()).collect(),
        )
    })
    .collect();
    assert_eq!(rules, expected);
}

#[test]
fn the_exporter_editor_role_is_not_aggregated_and_bound_to_nobody() {
    let deploy = load();
    let editor = role(&deploy, "bpfhost-exporter-editor");
    let labels = editor.metadata.labels.clone().unwrap_or_default();
    assert!(
        !labels
            .keys()
            .any(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to")),
        "{labels:?}"
    );
    assert!(editor.aggregation_rule.is_none());
    let rules = rules_of(editor);
    assert!(rules.contains_key(&("bpfhost.dev".to_owned(), "bpfexporters".to_owned())));
    assert!(
        !rules
            .keys()
            .any(|(_, resource)| resource.contains("status")),
        "people do not write the agents' status: {rules:?}"
    );
    assert!(
        deploy
            .bindings
            .iter()
            .all(|b| b.role_ref.name != "bpfhost-exporter-editor"),
        "the install binds the editor role to nobody"
    );
}

#[test]
fn agent_pod_has_capabilities_not_privilege() {
    let deploy = load();
    let daemon_set = one(&deploy.daemon_sets, "DaemonSet");
    let pod = daemon_set
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    let agent = one(&pod.containers, "container");
    let args = agent.args.clone().unwrap_or_default();
    assert_eq!(args.first().map(String::as_str), Some("run"));
    assert!(args.iter().any(|a| a == "--kube"), "{args:?}");
    let security = agent.security_context.as_ref().expect("securityContext");
    assert_ne!(security.privileged, Some(true));
    let caps = security.capabilities.as_ref().expect("capabilities");
    assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_owned()][..]));
    assert_eq!(
        caps.add.as_deref().unwrap_or_default(),
        ["BPF", "PERFMON", "NET_ADMIN", "NET_RAW", "SYS_RESOURCE"]
    );

    let env = agent.env.as_deref().unwrap_or_default();
    let node_name = env
        .iter()
        .find(|e| e.name == "NODE_NAME")
        .expect("NODE_NAME");
    let field = node_name
        .value_from
        .as_ref()
        .and_then(|v| v.field_ref.as_ref());
    assert_eq!(field.map(|f| f.field_path.as_str()), Some("spec.nodeName"));

    let port = one(agent.ports.as_deref().unwrap_or_default(), "port");
    assert_eq!(
        (port.container_port, port.name.as_deref()),
        (9387, Some("metrics"))
    );
    for (probe, path) in [
        (&agent.readiness_probe, "/readyz"),
        (&agent.liveness_probe, "/healthz"),
    ] {
        let get = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("httpGet probe");
        assert_eq!(get.path.as_deref(), Some(path));
    }
    // Kubernetes' grace period covers the agent's own bound on stopping.
    let grace = pod
        .termination_grace_period_seconds
        .expect("a grace period");
    let bound = i64::try_from(bpfhost::app::SHUTDOWN_BOUND.as_secs()).expect("small");
    assert!((bound..=3 * bound).contains(&grace), "{grace} s");

    let mounts: BTreeMap<&str, bool> = agent
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.mount_path.as_str(), m.read_only.unwrap_or(false)))
        .collect();
    for (path, read_only) in [
        ("/sys/fs/bpf", false),
        ("/sys/kernel/tracing", true),
        ("/sys/kernel/btf", true),
        ("/sys/fs/cgroup", true),
        ("/var/log/pods", true),
        ("/var/cache/bpfhost", false),
    ] {
        assert_eq!(mounts.get(path), Some(&read_only), "mount {path}");
    }
    assert!(
        args.iter().any(|a| a == "--cache-dir=/var/cache/bpfhost"),
        "{args:?}"
    );
}

#[test]
fn the_install_carries_the_generated_crd_and_the_built_image() {
    let deploy = load();
    let crd = one(&deploy.crds, "CustomResourceDefinition");
    assert_eq!(
        serde_json::to_value(crd).expect("serializes"),
        serde_json::to_value(bpfhost::manifest::crd()).expect("serializes"),
        "the installed CRD is the one `bpfhost crd` prints"
    );
    // Every namespaced object lands in the agent's namespace.
    let namespace = one(&deploy.namespaces, "Namespace").metadata.name.clone();
    let daemon_set = one(&deploy.daemon_sets, "DaemonSet");
    assert_eq!(daemon_set.metadata.namespace, namespace);
    assert_eq!(
        one(&deploy.services, "Service").metadata.namespace,
        namespace
    );

    // `cargo xtask image` tags localhost/bpfhost:<version>; the install
    // runs exactly that.
    let pod = daemon_set
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    let agent = one(&pod.containers, "container");
    assert_eq!(
        agent.image.as_deref(),
        Some(concat!("localhost/bpfhost:", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        agent.command.as_deref(),
        Some(&["/usr/local/bin/bpfhost".to_owned()][..])
    );
}

#[test]
fn the_servicemonitor_install_adds_only_the_servicemonitor() {
    let base = kustomize(&deploy_dir());
    let mut with_monitor = kustomize(&deploy_dir().join("../deploy-with-servicemonitor"));
    let at = with_monitor
        .iter()
        .position(|doc| doc["kind"] == "ServiceMonitor")
        .expect("a ServiceMonitor");
    let monitor = with_monitor.remove(at);
    assert_eq!(with_monitor, base);
    assert_eq!(
        monitor,
        documents(&deploy_dir().join("prometheus-operator/servicemonitor.yaml"))[0]
    );
}

#[test]
fn service_monitor_scrapes_the_service() {
    let path = deploy_dir().join("prometheus-operator/servicemonitor.yaml");
    let [doc] = &documents(&path)[..] else {
        panic!("expected one document in {}", path.display());
    };
    let monitor: ServiceMonitor = serde_json::from_value(doc.clone()).expect("a ServiceMonitor");
    assert_eq!(
        (monitor.api_version.as_str(), monitor.kind.as_str()),
        ("monitoring.coreos.com/v1", "ServiceMonitor")
    );
    let deploy = load();
    let service = one(&deploy.services, "Service");
    let labels = service.metadata.labels.clone().unwrap_or_default();
    let wanted = monitor
        .spec
        .selector
        .match_labels
        .clone()
        .unwrap_or_default();
    assert!(!wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v)));
    assert_eq!(
        Some(&monitor.spec.namespace_selector.match_names),
        service
            .metadata
            .namespace
            .as_ref()
            .map(|n| vec![n.clone()])
            .as_ref()
    );
    assert_eq!(monitor.metadata.namespace, service.metadata.namespace);
    let endpoint = one(&monitor.spec.endpoints, "endpoint");
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    assert!(
        ports
            .iter()
            .any(|p| p.name.as_deref() == Some(endpoint.port.as_str()))
    );
    assert_eq!(endpoint.path, "/metrics");
    assert!(!endpoint.interval.is_empty() && !endpoint.scrape_timeout.is_empty());
}
