//! Cgroup path → Kubernetes pod and container, with no API call.
//!
//! The kubelet names pod cgroups after the pod UID and container cgroups
//! after the container id, under either cgroup driver:
//!
//! - systemd: `/kubepods.slice/kubepods-burstable.slice/`
//!   `kubepods-burstable-pod<uid with _ for ->.slice/cri-containerd-<id>.scope`
//! - cgroupfs: `/kubepods/burstable/pod<uid>/<id>`
//!
//! (guaranteed pods sit directly under `kubepods`, best-effort ones under
//! `besteffort`). Namespace and pod name come from the kubelet's pod log
//! directories, `/var/log/pods/<namespace>_<pod>_<uid>/`, and the container
//! name from `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`.
//! Both are listed on the first miss and again on a miss at most every
//! [`CacheBounds::relist_interval`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::{Budget, CacheBounds, due};
use crate::sys::lock;

/// A pod and container, as the `pod` lookup returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pod {
    /// Empty when the kubelet's log directory does not (yet) list the pod.
    pub namespace: String,
    /// Empty when the kubelet's log directory does not (yet) list the pod.
    pub name: String,
    pub uid: String,
    /// Container name; empty when unknown or for a pod-level cgroup.
    pub container: String,
    /// Container id; empty for a pod-level cgroup.
    pub container_id: String,
}

/// What a cgroup path alone tells: pod UID and container id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// With dashes, as the API shows it.
    pub uid: String,
    /// Empty for the pod's own cgroup.
    pub container_id: String,
}

/// Container runtimes' scope prefixes under the systemd driver.
const RUNTIME_PREFIXES: [&str; 4] = ["cri-containerd-", "crio-", "docker-", "containerd-"];

/// The pod and container of a kubelet-managed cgroup path, if it is one.
pub fn parse_pod_path(path: &str) -> Option<PodRef> {
    let mut components = path.split('/').filter(|c| !c.is_empty());
    // Everything the kubelet creates sits below a `kubepods` cgroup.
    components.find(|c| c.contains("kubepods"))?;
    let mut components = components.skip_while(|c| pod_uid(c).is_none());
    let uid = pod_uid(components.next()?)?;
    let container_id = match components.next() {
        Some(c) => container_id(c)?,
        None => String::new(),
    };
    Some(PodRef { uid, container_id })
}

/// `pod<uid>` (cgroupfs) or `kubepods-<class>-pod<uid_>.slice` (systemd).
fn pod_uid(component: &str) -> Option<String> {
    let name = component.strip_suffix(".slice").unwrap_or(component);
    let raw = match name.strip_prefix("pod") {
        Some(rest) => rest,
        None => &name[name.rfind("-pod")? + 4..],
    };
    let uid = raw.replace('_', "-");
    let valid = !uid.is_empty()
        && uid.len() <= 64
        && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    valid.then_some(uid)
}

/// `<runtime>-<id>.scope` (systemd) or `<id>` (cgroupfs).
fn container_id(component: &str) -> Option<String> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    let id = RUNTIME_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| id.to_owned())
}

#[derive(Debug)]
pub(super) struct PodIndex {
    pod_logs: PathBuf,
    container_logs: PathBuf,
    bounds: CacheBounds,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// uid → (namespace, pod).
    pods: HashMap<String, (String, String)>,
    /// container id → container name.
    containers: HashMap<String, String>,
    listed_at: Option<Instant>,
}

impl PodIndex {
    pub(super) fn new(pod_logs: PathBuf, container_logs: PathBuf, bounds: CacheBounds) -> Self {
        Self {
            pod_logs,
            container_logs,
            bounds,
            state: Mutex::default(),
        }
    }

    /// The pod of a cgroup path; `None` when the path is not a pod's.
    pub(super) fn resolve(&self, path: &str, now: Instant, budget: &mut Budget) -> Option<Pod> {
        let PodRef { uid, container_id } = parse_pod_path(path)?;
        let mut state = lock(&self.state);
        let known = state.pods.contains_key(&uid)
            && (container_id.is_empty() || state.containers.contains_key(&container_id));
        if !known && due(state.listed_at, now, self.bounds.relist_interval) && budget.read() {
            state.listed_at = Some(now);
            let limit = self.bounds.cache_entries;
            state.pods = list(&self.pod_logs, limit, pod_dir);
            state.containers = list(&self.container_logs, limit, container_log);
        }
        let (namespace, name) = state.pods.get(&uid).cloned().unwrap_or_default();
        let container = state
            .containers
            .get(&container_id)
            .cloned()
            .unwrap_or_default();
        Some(Pod {
            namespace,
            name,
            uid,
            container,
            container_id,
        })
    }
}

/// At most `limit` entries of `dir` that `parse` understands.
fn list<V>(dir: &Path, limit: usize, parse: fn(&str) -> Option<(String, V)>) -> HashMap<String, V> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| parse(e.file_name().to_str()?))
        .take(limit)
        .collect()
}

/// `<namespace>_<pod>_<uid>` → (uid, (namespace, pod)). None of the three
/// may contain `_` in Kubernetes.
fn pod_dir(name: &str) -> Option<(String, (String, String))> {
    let mut parts = name.split('_');
    let (namespace, pod, uid) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [namespace, pod, uid].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some((uid.to_owned(), (namespace.to_owned(), pod.to_owned())))
}

/// `<pod>_<namespace>_<container>-<id>.log` → (id, container).
fn container_log(name: &str) -> Option<(String, String)> {
    let (rest, id) = name.strip_suffix(".log")?.rsplit_once('-')?;
    let mut parts = rest.split('_');
    let (_pod, _namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || container.is_empty() || id.is_empty() {
        return None;
    }
    Some((id.to_owned(), container.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const UID: &str = "5c1f5e2a-3b7d-4c1e-9f00-1234567890ab";
    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn pod_ref(container_id: &str) -> PodRef {
        PodRef {
            uid: UID.to_owned(),
            container_id: container_id.to_owned(),
        }
    }

    #[test]
    fn kubelet_layouts_of_both_cgroup_drivers_parse() {
        let u = UID.replace('-', "_");
        for path in [
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u}.slice/cri-containerd-{ID}.scope"
            ),
            format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{u}.slice/crio-{ID}.scope"
            ),
            format!("/kubepods.slice/kubepods-pod{u}.slice/docker-{ID}.scope"),
            format!(
                "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod{u}.slice/cri-containerd-{ID}.scope"
            ),
            format!("/kubepods/burstable/pod{UID}/{ID}"),
            format!("/kubepods/besteffort/pod{UID}/{ID}"),
            format!("/kubepods/pod{UID}/{ID}"),
        ] {
            assert_eq!(parse_pod_path(&path), Some(pod_ref(ID)), "{path}");
        }
        assert_eq!(
            parse_pod_path(&format!("/kubepods/pod{UID}")),
            Some(pod_ref(""))
        );
        assert_eq!(
            parse_pod_path(&format!("/kubepods.slice/kubepods-pod{u}.slice")),
            Some(pod_ref(""))
        );
    }

    #[test]
    fn other_paths_are_not_pods() {
        for path in [
            "/",
            "/system.slice/sshd.service",
            "/kubepods.slice",
            "/kubepods/burstable",
            &format!("/user.slice/pod{UID}/{ID}"),
            &format!("/kubepods/pod{UID}/crio-conmon-{ID}.scope"),
            "/kubepods/podnot-a-uid!/x",
        ] {
            assert_eq!(parse_pod_path(path), None, "{path}");
        }
    }

    #[test]
    fn log_directory_names_give_namespace_pod_and_container() {
        assert_eq!(
            pod_dir(&format!("kube-system_coredns-5d78c9869d-abcde_{UID}")),
            Some((
                UID.into(),
                ("kube-system".into(), "coredns-5d78c9869d-abcde".into())
            ))
        );
        assert_eq!(pod_dir("too_many_under_scores"), None);
        assert_eq!(pod_dir("missing_parts"), None);
        assert_eq!(
            container_log(&format!(
                "coredns-5d78c9869d-abcde_kube-system_coredns-{ID}.log"
            )),
            Some((ID.into(), "coredns".into()))
        );
        assert_eq!(container_log("no-extension"), None);
    }

    /// `/var/log/pods` and `/var/log/containers` in a temp dir.
    struct Logs(tempfile::TempDir);

    impl Logs {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            for sub in ["pods", "containers"] {
                std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
            }
            Self(dir)
        }

        fn add(&self, namespace: &str, pod: &str, container: &str) {
            let root = self.0.path();
            std::fs::create_dir_all(root.join(format!("pods/{namespace}_{pod}_{UID}/{container}")))
                .expect("pod dir");
            std::fs::write(
                root.join(format!("containers/{pod}_{namespace}_{container}-{ID}.log")),
                "",
            )
            .expect("container log");
        }

        fn index(&self, interval: Duration) -> PodIndex {
            let bounds = CacheBounds {
                relist_interval: interval,
                ..CacheBounds::default()
            };
            PodIndex::new(
                self.0.path().join("pods"),
                self.0.path().join("containers"),
                bounds,
            )
        }
    }

    #[test]
    fn a_container_cgroup_resolves_to_namespace_pod_and_container() {
        let logs = Logs::new();
        logs.add("shop", "cart-7f9c", "app");
        let index = logs.index(Duration::from_secs(5));
        let pod = index
            .resolve(
                &format!("/kubepods/pod{UID}/{ID}"),
                Instant::now(),
                &mut Budget::default(),
            )
            .expect("a pod path");
        assert_eq!(
            pod,
            Pod {
                namespace: "shop".into(),
                name: "cart-7f9c".into(),
                uid: UID.into(),
                container: "app".into(),
                container_id: ID.into(),
            }
        );
    }

    #[test]
    fn a_pod_that_appears_later_is_found_after_the_relist_interval() {
        let logs = Logs::new();
        let index = logs.index(Duration::from_secs(5));
        let path = format!("/kubepods/pod{UID}/{ID}");
        let now = Instant::now();
        let mut budget = Budget::default();
        let unknown = index.resolve(&path, now, &mut budget).expect("a pod path");
        assert_eq!((unknown.name.as_str(), unknown.uid.as_str()), ("", UID));
        logs.add("shop", "cart-7f9c", "app");
        let paced = index.resolve(&path, now + Duration::from_secs(1), &mut budget);
        assert_eq!(paced.expect("a pod path").name, "", "listings are paced");
        let later = index.resolve(&path, now + Duration::from_secs(5), &mut budget);
        assert_eq!(later.expect("a pod path").name, "cart-7f9c");
        assert_eq!(budget.reads, Budget::default().reads - 2);
        assert_eq!(index.resolve("/system.slice", now, &mut budget), None);
    }
}
