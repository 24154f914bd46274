//! Readers against the real kernel (gated on root): the example programs
//! `bpf/execs.bpf.c` (a ring buffer) and `bpf/tcp_retransmits.bpf.c` (a
//! perf event array), loaded and attached through the loader.

mod bench;
mod drop;
mod execs;
mod lost;
mod retransmits;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::Batch;
use crate::loader::LoadedObject;
use crate::loader::kernel_tests::{eventually, load_with};
use crate::manifest::spec::GlobalValue;

/// `bpf/bench/events.bpf.c`, attached, producing for the calling thread
/// only (tests in other threads of the process make syscalls too).
fn producer() -> LoadedObject {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let globals = BTreeMap::from([(
        "target_pid".to_owned(),
        GlobalValue::Unsigned(u64::from(tid.cast_unsigned())),
    )]);
    load_with("bpf/bench/events.bpf.o", &[], &globals).expect("load the producer")
}

/// One record from the producer's ring buffer program.
fn getpid() {
    // SAFETY: getpid has no preconditions; the raw syscall is never
    // answered from a cache.
    unsafe { libc::syscall(libc::SYS_getpid) };
}

/// One record from the producer's perf event array program.
fn getpgid() {
    // SAFETY: getpgid(0) has no preconditions.
    unsafe { libc::syscall(libc::SYS_getpgid, 0) };
}

/// Waits until `accounted()` (records read, plus those counted lost) equals
/// `produced`. A perf buffer reports a loss only with the next sample that
/// fits, so while it does not, this calls `produce` for one more record.
fn account_for_all(produced: &mut u64, produce: impl Fn(), accounted: impl Fn() -> u64) {
    eventually("every record read or counted lost", || {
        if accounted() == *produced {
            return true;
        }
        produce();
        *produced += 1;
        false
    });
}

/// The `/proc` directory of this process's thread named `name` (a reader:
/// `ev-<exporter>`), once it has named itself.
fn thread_named(name: &str) -> PathBuf {
    let mut found = None;
    eventually(&format!("a thread named {name}"), || {
        found = std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(Result::ok)
            .map(|task| task.path())
            .find(|task| {
                std::fs::read_to_string(task.join("comm")).is_ok_and(|comm| comm.trim() == name)
            });
        found.is_some()
    });
    found.expect("found above")
}

/// Takes every batch off a queue on its own thread, until the readers (the
/// senders) are gone.
struct Collector {
    batches: Arc<Mutex<Vec<Batch>>>,
    thread: JoinHandle<()>,
}

impl Collector {
    fn start(queue: Receiver<Batch>) -> Self {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&batches);
        let thread = std::thread::spawn(move || {
            while let Ok(batch) = queue.recv() {
                sink.lock().expect("collector lock").push(batch);
            }
        });
        Self { batches, thread }
    }

    /// The records taken so far, each as a `Vec`.
    fn records(&self) -> Vec<Vec<u8>> {
        let batches = self.batches.lock().expect("collector lock");
        batches
            .iter()
            .flat_map(Batch::iter)
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Every batch, once the readers are dropped.
    fn finish(self) -> Vec<Batch> {
        self.thread.join().expect("collector thread");
        Arc::into_inner(self.batches)
            .expect("the collector thread is gone")
            .into_inner()
            .expect("collector lock")
    }
}

/// Runs `/bin/true` `n` times, one after the other; their pids.
fn run_true(n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| {
            let mut child = Command::new("/bin/true").spawn().expect("spawn /bin/true");
            let pid = child.id();
            assert!(child.wait().expect("wait /bin/true").success());
            pid
        })
        .collect()
}

/// An `execs` record: the pid and the comm (up to its NUL).
fn exec_record(record: &[u8]) -> (u32, String) {
    assert_eq!(
        record.len(),
        20,
        "an exec record is a u32 pid and 16 bytes of comm"
    );
    let pid = u32::from_le_bytes(record[..4].try_into().expect("4 bytes"));
    let comm = &record[4..];
    let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    (pid, String::from_utf8_lossy(&comm[..end]).into_owned())
}

/// The records among `records` of the processes `pids`, with their comm.
fn execs_of(records: &[Vec<u8>], pids: &[u32]) -> Vec<(u32, String)> {
    records
        .iter()
        .map(|r| exec_record(r))
        .filter(|(pid, _)| pids.contains(pid))
        .collect()
}
