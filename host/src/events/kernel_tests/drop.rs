//! Dropping the readers: their threads stop at once, and every fd they
//! opened (epoll sets, stop eventfds, perf buffers) closes with the maps
//! they took. Counted in a process of its own, where no other test opens
//! or closes fds meanwhile.

use std::process::Command;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use aya::maps::MapData;

use crate::events::{BatchLimits, Readers};
use crate::loader::LoadedObject;
use crate::loader::kernel_tests::{eventually, load_fixture};
use crate::testing::require_kernel;

/// Set in the child process, which runs the test body.
const CHILD: &str = "BPFHOST_EVENTS_DROP_CHILD";
const TEST: &str =
    "events::kernel_tests::drop::dropping_readers_stops_them_at_once_and_closes_everything";

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|comm| comm.starts_with(prefix))
        .count()
}

/// The kernel id of map `name` of `object`.
fn map_id(object: &LoadedObject, name: &str) -> u32 {
    let fd = object
        .any_map_fd(name)
        .expect("map")
        .try_clone_to_owned()
        .expect("dup");
    MapData::from_fd(fd)
        .expect("map data")
        .info()
        .expect("map info")
        .id()
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn dropping_readers_stops_them_at_once_and_closes_everything() {
    require_kernel();
    if std::env::var_os(CHILD).is_none() {
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                TEST,
                "--exact",
                "--include-ignored",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .expect("run the test in a process of its own");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "{}",
            stdout
                .lines()
                .filter(|l| l.contains("stopped in"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        return;
    }

    let before = open_fds();
    let mut execs = load_fixture("bpf/execs.bpf.o", &[]).expect("load execs");
    let mut retransmits = load_fixture("bpf/tcp_retransmits.bpf.o", &[]).expect("load retransmits");
    let ids = [map_id(&execs, "execs"), map_id(&retransmits, "retransmits")];
    let sources = vec![
        execs.take_event_map("execs").expect("take execs"),
        retransmits
            .take_event_map("retransmits")
            .expect("take retransmits"),
    ];
    let loaded = open_fds();
    let (tx, _rx) = sync_channel(1);
    let limits = [BatchLimits::default(); 2];
    let (readers, _counters) = Readers::start("evdrop", sources, &limits, tx).expect("start");
    let cpus = aya::util::online_cpus().expect("online cpus").len();
    // Each reader: an epoll fd and a stop eventfd; the perf event array
    // also a perf event per CPU.
    assert_eq!(open_fds(), loaded + 2 * 2 + cpus);
    // A thread names itself once it runs.
    eventually("two named reader threads", || {
        threads_named("ev-evdrop") == 2
    });

    let stopping = Instant::now();
    drop(readers);
    let stopped = stopping.elapsed();
    println!("readers stopped in {stopped:?}");
    assert!(
        stopped < Duration::from_millis(100),
        "stopping took {stopped:?}"
    );
    assert_eq!(threads_named("ev-evdrop"), 0);
    // The maps the readers took are closed with them.
    assert_eq!(open_fds(), loaded - 2);
    drop((execs, retransmits));
    assert_eq!(open_fds(), before);
    eventually("the event maps to be freed", || {
        ids.iter().all(|&id| MapData::from_id(id).is_err())
    });
}
