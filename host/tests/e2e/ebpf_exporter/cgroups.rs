//! `cgroup_id_map` under `bpfhost ebpf-exporter`: execs counted per cgroup
//! by `bpf/ebpf-exporter/cgroup_execs.bpf.c`, split by whether the agent
//! put the cgroup in the config's map, for both kinds of map.

use std::path::Path;
use std::time::{Duration, Instant};

use bpfhost::testing::{TestCgroups, require_kernel};

use super::super::support::{Scrape, get, sh_running_true};
use super::{Running, assert_label_names, first_scrape, free_addr, spawn, write_configs};

/// `cgroup_id_map` of type `hash`, as upstream's `cgroup_id_map.yaml`;
/// `REGEXP` is replaced by the test's.
const HASH: &str = "\
metrics:
  counters:
    - name: cgroup_execs_total
      help: Program executions in the cgroups of the cgroup id map
      labels:
        - name: cgroup
          size: 8
          decoders:
            - name: uint
            - name: cgroup
    - name: cgroup_execs_unmatched_total
      help: Program executions in other cgroups
      labels:
        - name: cgroup
          size: 8
          decoders:
            - name: uint
            - name: cgroup
cgroup_id_map:
  name: cgroup_ids
  type: hash
  regexps:
    - REGEXP
";

/// The `cgrp_storage` kind, as upstream's `cgroup_id_map_cgrp_storage.yaml`.
const STORAGE: &str = "\
metrics:
  counters:
    - name: cgroup_storage_execs_total
      help: Program executions in the cgroups whose storage the agent set
      labels:
        - name: cgroup
          size: 8
          decoders:
            - name: uint
            - name: cgroup
cgroup_id_map:
  name: cgroup_ids_storage
  type: cgrp_storage
  regexps:
    - REGEXP
";

const OBJECT: &str = "ebpf-exporter/cgroup_execs";
const MATCHED: &str = "ebpf_exporter_cgroup_execs_total";
const UNMATCHED: &str = "ebpf_exporter_cgroup_execs_unmatched_total";
const STORED: &str = "ebpf_exporter_cgroup_storage_execs_total";

/// Runs `/bin/true` `n` times from a shell that moved itself into `cgroup`
/// first: exactly `n` execs there.
fn exec_in(cgroup: &Path, n: usize) {
    let loop_over = vec!["x"; n].join(" ");
    sh_running_true(&format!(
        "echo $$ > {}/cgroup.procs && for i in {loop_over}; do /bin/true; done",
        cgroup.display()
    ));
}

/// The `cgroup` decoder's label of `cgroup`: its path relative to the v2
/// root under `/sys/fs/cgroup`, as `ebpf_exporter` shows it on a v2-only
/// host (also on a hybrid one, where the v2 root is elsewhere).
fn label(cgroup: &Path) -> String {
    let root = bpfhost::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
    let relative = cgroup.strip_prefix(root).expect("under the v2 root");
    format!("/sys/fs/cgroup/{}", relative.display())
}

fn count(scrape: &Scrape, family: &str, cgroup: &Path) -> f64 {
    scrape.value_or_zero(family, &[("cgroup", &label(cgroup))])
}

/// Both configs on the same object, matching cgroups by `regexp`.
fn configs(regexp: &str) -> tempfile::TempDir {
    let quoted = format!("'{regexp}'");
    write_configs(&[
        ("cgroup_execs", &HASH.replace("REGEXP", &quoted), OBJECT),
        (
            "cgroup_storage",
            &STORAGE.replace("REGEXP", &quoted),
            OBJECT,
        ),
    ])
}

fn start(dir: &Path) -> (std::net::SocketAddr, Running) {
    let addr = free_addr();
    let agent = spawn(
        dir,
        &[
            "--config.names=cgroup_execs,cgroup_storage",
            &format!("--web.listen-address={addr}"),
        ],
    );
    (addr, agent)
}

#[tokio::test]
#[ignore = "needs root and a BPF-capable kernel"]
async fn cgroup_id_maps_follow_cgroups_and_label_counts_exactly() {
    require_kernel();
    let cgroups = TestCgroups::new("e2e");
    let (early, _) = cgroups.make("match-early");
    let (other, _) = cgroups.make("other-early");
    let dir = configs(&format!("^{}/match-", cgroups.path().display()));
    let (addr, mut agent) = start(dir.path());
    let first = first_scrape(addr, "/metrics", &mut agent).await;
    assert_eq!(first.status, 200, "{}", first.body);
    for config in ["cgroup_execs", "cgroup_storage"] {
        assert_eq!(
            first.value("ebpf_exporter_enabled_configs", &[("name", config)]),
            Some(1.0),
            "{config} did not load:\n{}",
            first.body
        );
    }

    // Cgroups there at load: the initial fill.
    exec_in(&early, 5);
    exec_in(&other, 3);
    let scrape = get(addr, "/metrics", None).await;
    assert_eq!(count(&scrape, MATCHED, &early), 5.0, "{}", scrape.body);
    assert_eq!(count(&scrape, UNMATCHED, &early), 0.0, "{}", scrape.body);
    assert_eq!(count(&scrape, STORED, &early), 5.0, "{}", scrape.body);
    assert_eq!(count(&scrape, UNMATCHED, &other), 3.0, "{}", scrape.body);
    assert_eq!(count(&scrape, MATCHED, &other), 0.0, "{}", scrape.body);
    assert_eq!(count(&scrape, STORED, &other), 0.0, "{}", scrape.body);
    for family in [MATCHED, UNMATCHED, STORED] {
        assert!(
            scrape.body.contains(&format!("# TYPE {family} counter")),
            "{family}:\n{}",
            scrape.body
        );
        assert_label_names(&scrape, family, &["cgroup"]);
    }

    // A cgroup created while the agent runs joins both maps: exec there
    // until both count it (and its path resolves), then every exec is in
    // exactly one of the hash's two families.
    let (late, _) = cgroups.make("match-late");
    let started = Instant::now();
    let mut runs = 0.0;
    let scrape = loop {
        exec_in(&late, 1);
        runs += 1.0;
        let scrape = get(addr, "/metrics", None).await;
        if count(&scrape, MATCHED, &late) > 0.0 && count(&scrape, STORED, &late) > 0.0 {
            break scrape;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} never counted as matched:\n{}",
            late.display(),
            scrape.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (matched, stored) = (
        count(&scrape, MATCHED, &late),
        count(&scrape, STORED, &late),
    );
    // Execs before the path resolved are labelled by id; count the late
    // cgroup's id-labelled series too.
    let unmatched: f64 = scrape
        .body
        .lines()
        .filter(|l| l.starts_with(&format!("{UNMATCHED}{{")))
        .filter(|l| {
            l.contains(&format!("cgroup=\"{}\"", label(&late)))
                || l.contains("cgroup=\"unknown_cgroup_id:")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(matched + unmatched, runs, "{}", scrape.body);
    exec_in(&late, 4);
    let after = get(addr, "/metrics", None).await;
    assert_eq!(
        count(&after, MATCHED, &late),
        matched + 4.0,
        "{}",
        after.body
    );
    assert_eq!(count(&after, STORED, &late), stored + 4.0, "{}", after.body);
    assert_eq!(count(&after, MATCHED, &early), 5.0, "{}", after.body);
    after.assert_promtool_accepts();
}
