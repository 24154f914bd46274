//! Tracing attach kinds on the real kernel, and the demo `writes` program.

use std::collections::BTreeMap;

use super::{
    assert_unloaded, drop_and_assert_unloaded, eventually, getppid, hits, load_fixture, load_with,
    lookup, u64_sum,
};
use crate::loader::{LoadError, ProgramKind};
use crate::manifest::spec::{AttachPoint, GlobalValue, ProgramAttach, UprobeTarget};
use crate::testing::require_kernel;

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn tracepoints_attach_by_both_section_spellings() {
    require_kernel();
    let object = load_fixture("bpf/fixtures/tracepoint.bpf.o", &[]).expect("load");
    let targets: Vec<(&str, &str)> = object
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("fx_tp", "syscalls/sys_enter_getppid"),
            ("fx_tp_short", "syscalls/sys_exit_getppid")
        ]
    );
    assert!(object.programs().iter().all(|p| p.id.is_some()));
    for _ in 0..5 {
        getppid();
    }
    assert!(hits(&object) >= 10, "enter and exit both counted");
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn raw_tracepoints_attach() {
    require_kernel();
    let object = load_fixture("bpf/fixtures/raw_tp.bpf.o", &[]).expect("load");
    getppid();
    assert!(hits(&object) > 0);
    assert_eq!(object.programs()[0].kind, ProgramKind::RawTracepoint);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn btf_tracepoints_attach_and_read_typed_pointers() {
    require_kernel();
    let object = load_fixture("bpf/fixtures/tp_btf.bpf.o", &[]).expect("load");
    eventually("a sched_switch", || {
        std::thread::yield_now();
        hits(&object) > 0
    });
    drop_and_assert_unloaded(object);
}

/// The path `core_array.bpf.c` counts openat(2) calls of.
const CORE_ARRAY_MARKER: &std::ffi::CStr = c"/nonexistent/bpfhost-core-array";
/// How many times the test opens it.
const CORE_ARRAY_OPENS: u64 = 5;

/// Issue 12: CO-RE relocations into array members (`ctx->args[1]`, access
/// string 0:2:1, and a raw tracepoint's `ctx->args[1]`) failed in aya 0.14
/// with "array index out of bounds" where libbpf loads them.
#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn core_relocation_into_array_member_reads_syscall_args() {
    require_kernel();
    let mut globals = BTreeMap::new();
    globals.insert(
        "target_tgid".to_owned(),
        GlobalValue::Unsigned(u64::from(std::process::id())),
    );
    let object =
        load_with("bpf/fixtures/core_array.bpf.o", &[], &globals).expect("load core_array");
    let kinds: Vec<(&str, ProgramKind)> = object
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("fx_core_openat", ProgramKind::Tracepoint),
            ("fx_core_openat_flex", ProgramKind::Tracepoint),
            ("fx_core_raw_tp", ProgramKind::RawTracepoint),
        ]
    );
    for _ in 0..CORE_ARRAY_OPENS {
        // SAFETY: the path is NUL-terminated; the call fails with ENOENT.
        let fd = unsafe {
            libc::openat(
                libc::AT_FDCWD,
                CORE_ARRAY_MARKER.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        assert_eq!(fd, -1, "the marker path does not exist");
    }
    let map = object.map("opens").expect("opens map");
    let counts: Vec<u64> = (0u32..3)
        .map(|slot| u64_sum(&lookup(&map.fd, &slot.to_le_bytes(), 8).expect("slot exists")))
        .collect();
    assert_eq!(
        counts, [CORE_ARRAY_OPENS; 3],
        "each program read the path (args[1]) and flags (args[2]) of every openat"
    );
    drop_and_assert_unloaded(object);
}

/// The uprobe test's target: a function of this test binary.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bpfhost_uprobe_target(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(3))
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn uprobes_attach_to_this_binary_and_to_libc() {
    require_kernel();
    let exe = std::env::current_exe().expect("current exe");
    let programs = [ProgramAttach::at(
        "fx_uprobe",
        AttachPoint::Uprobe(UprobeTarget {
            target: exe.display().to_string(),
            function: Some("bpfhost_uprobe_target".into()),
            offset: 0,
            pid: Some(std::process::id()),
        }),
    )];
    let object = load_fixture("bpf/fixtures/uprobe.bpf.o", &programs).expect("load");
    for i in 0..3 {
        std::hint::black_box(bpfhost_uprobe_target(i));
    }
    assert!(hits(&object) >= 3, "uprobe fired for each call");
    let libc_probe = &object.programs()[1];
    assert_eq!(libc_probe.kind, ProgramKind::Uretprobe);
    assert_eq!(libc_probe.target, "libc.so.6:getppid");
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn perf_event_samples_cpu_clock_on_every_cpu() {
    require_kernel();
    let object = load_fixture("bpf/fixtures/perf_event.bpf.o", &[]).expect("load");
    assert!(
        object.programs()[0]
            .target
            .starts_with("cpu-clock at 99 Hz on ")
    );
    eventually("a cpu-clock sample", || hits(&object) > 0);
    drop_and_assert_unloaded(object);
}

/// Whether securityfs says lockdown is on (false when it is not mounted).
fn lockdown_active() -> bool {
    std::fs::read_to_string("/sys/kernel/security/lockdown")
        .is_ok_and(|mode| !mode.contains("[none]"))
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn fentry_reports_lockdown() {
    require_kernel();
    let err = match load_fixture("bpf/fixtures/fentry.bpf.o", &[]) {
        Ok(object) => {
            // A kernel without lockdown: fentry simply works.
            assert!(!lockdown_active(), "loaded although lockdown is active");
            drop_and_assert_unloaded(object);
            return;
        }
        Err(err) => err,
    };
    assert!(
        matches!(&err, LoadError::LockdownForbidsTracing { program, .. } if program == "fx_fentry"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("kernel lockdown forbids fentry/fexit")
    );
    assert_unloaded(&["fx_fentry", "fx_fexit"]);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn kprobe_reports_missing_kprobe_support() {
    require_kernel();
    let result = load_fixture("bpf/fixtures/kprobe.bpf.o", &[]);
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        result.expect("kprobes attach where the kernel has them");
        return;
    }
    let err = result.expect_err("no kprobe PMU");
    assert!(
        matches!(&err, LoadError::KprobesUnsupported { program, target } if program == "fx_kprobe" && target == "do_unlinkat"),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not support kprobes"));
    assert_unloaded(&["fx_kprobe", "fx_kretprobe"]);
}

/// The `writes_by_process` key of a thread of this process named `comm`.
fn writes_key(comm: &str) -> Vec<u8> {
    let mut key = std::process::id().to_le_bytes().to_vec();
    let mut name = [0u8; 16];
    name[..comm.len()].copy_from_slice(comm.as_bytes());
    key.extend_from_slice(&name);
    key
}

/// Writes `times` bytes to /dev/null from a new thread named `comm` (unique
/// per test: test threads' own names are truncated to the same 15 bytes).
fn write_to_dev_null(comm: &str, times: u64) {
    use std::io::Write;
    std::thread::Builder::new()
        .name(comm.to_owned())
        .spawn(move || {
            let mut null = std::fs::File::create("/dev/null").expect("open /dev/null");
            for _ in 0..times {
                null.write_all(b"x").expect("write");
            }
        })
        .expect("spawn writer")
        .join()
        .expect("writer finished");
}

/// Writes `times` bytes to /dev/null from a thread named `comm` and asserts
/// that the writes program of `object` counted every one.
pub(super) fn assert_counts_writes(object: &crate::loader::LoadedObject, comm: &str, times: u64) {
    write_to_dev_null(comm, times);
    let map = object.map("writes_by_process").expect("map");
    let count = lookup(&map.fd, &writes_key(comm), 8).map(|v| u64_sum(&v));
    assert_eq!(count, Some(times), "writes counted for {comm}");
}

fn load_writes(target_tgid: u32) -> crate::loader::LoadedObject {
    let mut globals = BTreeMap::new();
    globals.insert(
        "target_tgid".to_owned(),
        GlobalValue::Unsigned(u64::from(target_tgid)),
    );
    load_with("bpf/writes.bpf.o", &[], &globals).expect("load writes")
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn writes_program_counts_this_process_when_targeted() {
    require_kernel();
    let object = load_writes(std::process::id());
    let names: Vec<&str> = object.maps().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["writes_by_process"],
        ".rodata is not a readable map"
    );
    assert_counts_writes(&object, "bpfh-writes-7", 7);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn writes_global_filters_out_other_processes() {
    require_kernel();
    let object = load_writes(1);
    write_to_dev_null("bpfh-writes-3", 3);
    let map = object.map("writes_by_process").expect("map");
    assert_eq!(
        lookup(&map.fd, &writes_key("bpfh-writes-3"), 8),
        None,
        "target_tgid=1 skips us"
    );
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn kconfig_externs_resolve_to_the_running_kernel() {
    require_kernel();
    let object = load_fixture("bpf/fixtures/kconfig.bpf.o", &[]).expect("load");
    getppid();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("release");
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    // The fixture stores LINUX_KERNEL_VERSION when CONFIG_BPF_SYSCALL is set.
    assert_eq!(hits(&object), (a << 16) + (b << 8) + c.min(255));
    drop_and_assert_unloaded(object);
}
