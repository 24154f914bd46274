//! Host lookups through real components: which lookups a component imports,
//! the grant check at load, answers and budgets at call time, and a
//! kubelet-shaped cgroup on the real v2 hierarchy resolved to its pod.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::*;
use crate::lookup::{Budget, Grants, Lookup, Lookups, Roots};
use crate::metrics::Value;
use crate::testing::{artifact, require_kernel};

fn wasm(plugin: &str) -> Vec<u8> {
    std::fs::read(artifact(&format!("plugins/{plugin}.wasm"))).expect("read plugin")
}

fn granting(names: &[&str]) -> Limits {
    Limits {
        lookups: Grants::parse(names).expect("valid grants"),
        ..Limits::default()
    }
}

/// `(labels joined by `,`, value)` of family `family`, sorted.
fn series(collection: &Collection, family: &str) -> Vec<(String, f64)> {
    let family = collection
        .families
        .iter()
        .find(|f| f.family.name == family)
        .unwrap_or_else(|| panic!("no family {family}"));
    family
        .series
        .iter()
        .map(|s| match s.value {
            Value::Number(v) => (s.labels.iter().collect::<Vec<_>>().join(","), v),
            ref other @ Value::Histogram { .. } => panic!("unexpected value {other:?}"),
        })
        .collect()
}

#[test]
fn a_component_imports_only_the_lookups_it_calls() {
    let rt = Runtime::new().expect("wasm engine");
    let used = |plugin: &str| {
        let (component, _) = rt.compile(&wasm(plugin)).expect("compile");
        imports::lookups_used(rt.engine(), &component)
    };
    for plugin in ["packets", "writes", "hostile"] {
        assert_eq!(
            used(plugin),
            [],
            "{plugin} calls no lookup and imports none"
        );
    }
    assert_eq!(used("lookups-comm"), [Lookup::Comm]);
    assert_eq!(used("lookups-probe"), Lookup::ALL);
}

#[test]
fn an_ungranted_lookup_is_refused_at_load_naming_the_grant() {
    let rt = Runtime::new().expect("wasm engine");
    let config = r#"{"pids": [1]}"#;
    let err = WasmDecoder::load(&rt, &wasm("lookups-comm"), config, Limits::default())
        .expect_err("comm is not granted");
    assert_eq!(
        err.to_string(),
        "the decoder calls lookups its manifest does not grant; add `comm` (for process-name) \
         to `decoder.lookups`"
    );
    // A component importing every lookup (as the toolchains of other
    // languages import whole interfaces) loads whatever is granted; the
    // ungranted lookups answer none.
    let mut probe = WasmDecoder::load(
        &rt,
        &wasm("lookups-probe"),
        r#"{"pids": [1], "syscalls": [257]}"#,
        granting(&["cgroup", "pod"]),
    )
    .expect("a whole-interface importer loads");
    let collection = probe.decode(&mut []).expect("decode");
    assert_eq!(
        series(&collection, "probe_name"),
        [
            ("comm,1,".to_owned(), 0.0),
            ("syscall,257,".to_owned(), 0.0)
        ]
    );
    WasmDecoder::load(&rt, &wasm("lookups-comm"), config, granting(&["comm"])).expect("granted");
}

/// A fake system: kallsyms, a process, an interface, a cgroup v2 tree and
/// the kubelet's log directories, all under one temp dir.
fn fake_roots(dir: &Path) -> Roots {
    let write = |relative: &str, text: &str| {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "proc/kallsyms",
        "ffffffff81000000 T _stext\nffffffff81003000 T vfs_write\nffffffff81004000 T vfs_read\n",
    );
    write("proc/4242/comm", "nginx\n");
    write(
        "proc/partitions",
        "major minor  #blocks  name\n\n 259        0  500107608 nvme0n1\n 259        2  1 nvme0n1p2\n",
    );
    write(
        "pci.ids",
        "8086  Intel Corporation\n\t1000  82542 Gigabit Ethernet Controller (Fiber)\n\
         C 02  Network controller\n\t00  Ethernet controller\n",
    );
    write("net/eth0/ifindex", "2\n");
    let cgroup = dir.join("cgroup");
    std::fs::create_dir_all(&cgroup).expect("cgroup root");
    write(
        "mountinfo",
        &format!(
            "41 35 0:38 / {} rw - cgroup2 cgroup2 rw\n",
            cgroup.display()
        ),
    );
    Roots {
        proc: dir.join("proc"),
        mountinfo: dir.join("mountinfo"),
        net: dir.join("net"),
        pod_logs: dir.join("pods"),
        container_logs: dir.join("containers"),
        pci_ids: vec![dir.join("missing.ids"), dir.join("pci.ids")],
    }
}

/// The kubelet's log entries for one pod and container.
fn kubelet_logs(roots: &Roots, namespace: &str, pod: &str, uid: &str, container: &str, id: &str) {
    let pod_dir = roots
        .pod_logs
        .join(format!("{namespace}_{pod}_{uid}/{container}"));
    std::fs::create_dir_all(pod_dir).expect("pod log dir");
    std::fs::create_dir_all(&roots.container_logs).expect("container log dir");
    let log = format!("{pod}_{namespace}_{container}-{id}.log");
    std::fs::write(roots.container_logs.join(log), "").expect("container log");
}

const UID: &str = "5c1f5e2a-3b7d-4c1e-9f00-1234567890ab";
const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn granted_lookups_answer_through_the_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let roots = fake_roots(dir.path());
    let cgroup = dir
        .path()
        .join(format!("cgroup/kubepods/burstable/pod{UID}/{ID}"));
    std::fs::create_dir_all(&cgroup).expect("pod cgroup");
    let id = std::fs::metadata(&cgroup).expect("stat").ino();
    kubelet_logs(&roots, "shop", "cart-7f9c", UID, "app", ID);
    let mut rt = Runtime::new().expect("wasm engine");
    rt.set_lookups(Lookups::new(roots, crate::lookup::CacheBounds::default()));
    let config = format!(
        r#"{{"cgroups": [{id}], "pids": [4242, 9], "ifindexes": [2], "syscalls": [257],
            "errnos": [-2], "addresses": [{}], "devices": [[259, 2], [8, 0]],
            "pci_vendors": [32902, 4318], "pci_devices": [[32902, 4096]], "pci_classes": [2],
            "pci_subclasses": [[2, 0], [2, 128]]}}"#,
        0xffff_ffff_8100_3010_u64
    );
    let mut decoder = WasmDecoder::load(
        &rt,
        &wasm("lookups-probe"),
        &config,
        granting(&[
            "ksym",
            "cgroup",
            "pod",
            "ifname",
            "comm",
            "syscall",
            "errno",
            "majorminor",
            "pci",
        ]),
    )
    .expect("all granted");
    let collection = decoder.decode(&mut []).expect("decode");
    assert_eq!(
        series(&collection, "probe_cgroup"),
        [(
            format!("{id},/kubepods/burstable/pod{UID}/{ID},shop,cart-7f9c,app,{ID}"),
            1.0
        )]
    );
    assert_eq!(
        series(&collection, "probe_name"),
        [
            ("comm,4242,nginx".to_owned(), 1.0),
            ("comm,9,".to_owned(), 0.0),
            ("errno,-2,ENOENT".to_owned(), 1.0),
            ("ifname,2,eth0".to_owned(), 1.0),
            ("ksym,0xffffffff81003010,vfs_write".to_owned(), 1.0),
            ("majorminor,259:2,nvme0n1p2".to_owned(), 1.0),
            ("majorminor,8:0,".to_owned(), 0.0),
            ("pci_class,02,Network controller".to_owned(), 1.0),
            (
                "pci_device,80861000,82542 Gigabit Ethernet Controller (Fiber)".to_owned(),
                1.0
            ),
            ("pci_ids,,yes".to_owned(), 1.0),
            ("pci_subclass,0200,Ethernet controller".to_owned(), 1.0),
            ("pci_subclass,0280,".to_owned(), 0.0),
            ("pci_vendor,10de,".to_owned(), 0.0),
            ("pci_vendor,8086,Intel Corporation".to_owned(), 1.0),
            ("syscall,257,openat".to_owned(), 1.0),
        ]
    );
}

#[test]
fn the_lookup_budget_caps_each_collection_and_refills() {
    let rt = Runtime::new().expect("wasm engine");
    let limits = Limits {
        lookup_budget: Budget { calls: 3, reads: 0 },
        ..Limits::all_lookups()
    };
    let config = r#"{"syscalls": [0, 1, 2, 3, 4]}"#;
    let mut decoder = WasmDecoder::load(&rt, &wasm("lookups-probe"), config, limits).expect("load");
    for _ in 0..2 {
        let collection = decoder.decode(&mut []).expect("decode");
        let answered = series(&collection, "probe_name")
            .iter()
            .filter(|(_, v)| *v > 0.5)
            .count();
        assert_eq!(answered, 3, "three calls per collection");
    }
}

/// A cgroup directory tree removed on drop, deepest first.
struct CgroupTree(Vec<PathBuf>);

impl CgroupTree {
    fn create(root: &Path, relative: &str) -> Self {
        let mut dirs = Vec::new();
        let mut path = root.to_path_buf();
        for component in relative.split('/') {
            path.push(component);
            if !path.exists() {
                std::fs::create_dir(&path)
                    .unwrap_or_else(|e| panic!("creating cgroup {}: {e}", path.display()));
                dirs.push(path.clone());
            }
        }
        Self(dirs)
    }

    fn id(&self) -> u64 {
        let leaf = self.0.last().expect("created a cgroup");
        std::fs::metadata(leaf).expect("stat cgroup").ino()
    }
}

impl Drop for CgroupTree {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            if let Err(e) = std::fs::remove_dir(dir) {
                eprintln!("cannot remove cgroup {}: {e}", dir.display());
            }
        }
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_kubelet_shaped_cgroup_on_the_real_hierarchy_resolves_to_its_pod() {
    require_kernel();
    let root = crate::sys::cgroup2_root().expect("a cgroup v2 hierarchy in mountinfo");
    // A private parent keeps the test away from a real kubelet's cgroups.
    let parent = format!("bpfhost-test-{}", std::process::id());
    let uid_ = UID.replace('-', "_");
    let systemd = CgroupTree::create(
        &root,
        &format!(
            "{parent}/kubepods.slice/kubepods-besteffort.slice/\
             kubepods-besteffort-pod{uid_}.slice/cri-containerd-{ID}.scope"
        ),
    );
    let other = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    let cgroupfs = CgroupTree::create(&root, &format!("{parent}/kubepods/pod{UID}/{other}"));

    let logs = tempfile::tempdir().expect("tempdir");
    let roots = Roots {
        pod_logs: logs.path().join("pods"),
        container_logs: logs.path().join("containers"),
        ..Roots::default()
    };
    kubelet_logs(&roots, "shop", "cart-7f9c", UID, "app", ID);
    kubelet_logs(&roots, "shop", "cart-7f9c", UID, "sidecar", other);
    let mut rt = Runtime::new().expect("wasm engine");
    rt.set_lookups(Lookups::new(roots, crate::lookup::CacheBounds::default()));
    let config = format!(r#"{{"cgroups": [{}, {}]}}"#, systemd.id(), cgroupfs.id());
    let mut decoder =
        WasmDecoder::load(&rt, &wasm("lookups-probe"), &config, Limits::all_lookups())
            .expect("load");
    let collection = decoder.decode(&mut []).expect("decode");
    let mut want = vec![
        (
            format!(
                "{},/{parent}/kubepods.slice/kubepods-besteffort.slice/\
                 kubepods-besteffort-pod{uid_}.slice/cri-containerd-{ID}.scope,\
                 shop,cart-7f9c,app,{ID}",
                systemd.id()
            ),
            1.0,
        ),
        (
            format!(
                "{},/{parent}/kubepods/pod{UID}/{other},shop,cart-7f9c,sidecar,{other}",
                cgroupfs.id()
            ),
            1.0,
        ),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(series(&collection, "probe_cgroup"), want);
    // The cgroupfs tree shares the private parent the systemd one created.
    drop(cgroupfs);
    drop(systemd);
    assert!(!root.join(parent).exists(), "the test cgroups are removed");
}

impl Limits {
    /// The defaults, with every lookup granted.
    fn all_lookups() -> Self {
        Self {
            lookups: Grants::all(),
            ..Self::default()
        }
    }
}

#[test]
fn without_a_pci_database_the_plugin_is_told_and_every_pci_name_is_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let roots = Roots {
        pci_ids: vec![dir.path().join("none.ids")],
        ..fake_roots(dir.path())
    };
    let mut rt = Runtime::new().expect("wasm engine");
    rt.set_lookups(Lookups::new(roots, crate::lookup::CacheBounds::default()));
    let config = r#"{"pci_vendors": [32902], "pci_classes": [2]}"#;
    let mut decoder = WasmDecoder::load(&rt, &wasm("lookups-probe"), config, Limits::all_lookups())
        .expect("load");
    let collection = decoder.decode(&mut []).expect("decode");
    assert_eq!(
        series(&collection, "probe_name"),
        [
            ("pci_class,02,".to_owned(), 0.0),
            ("pci_ids,,".to_owned(), 0.0),
            ("pci_vendor,8086,".to_owned(), 0.0),
        ]
    );
}
