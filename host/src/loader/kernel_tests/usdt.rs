//! USDT probes against the real kernel: a C target built here with gcc and
//! `<sys/sdt.h>`, and Debian's python3; counts read back exactly.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use aya::maps::HashMap;

use super::{eventually, hits, load_fixture};
use crate::loader::{LoadError, LoadedObject, ProgramKind, UsdtError};
use crate::manifest::spec::{AttachPoint, ProgramAttach, UsdtTarget};
use crate::testing::{artifacts_dir, require_kernel};

const FIXTURE: &str = "bpf/fixtures/usdt.bpf.o";
const SOURCE: &str = "src/loader/kernel_tests/usdt_target.c";

/// The C target, built once per test process.
fn target_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let dir = artifacts_dir().join(format!("usdt-target-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("target dir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(SOURCE);
        let gcc = |args: &[&str]| {
            let out = Command::new("gcc")
                .current_dir(&dir)
                .args(args)
                .output()
                .expect("run gcc");
            assert!(
                out.status.success(),
                "gcc {args:?}: {} (needs gcc and systemtap-sdt-dev)",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let source = source.to_str().expect("utf-8 path");
        gcc(&["-O2", "-DSEMAPHORE_PART", "-c", source, "-o", "sema.o"]);
        gcc(&["-O2", "-c", source, "-o", "main.o"]);
        gcc(&["-o", "usdt_target", "main.o", "sema.o"]);
        dir.join("usdt_target")
    })
}

/// A running target: each [`Target::fire`] fires every probe `n` times and
/// returns the semaphore's value.
struct Target {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    fn start(n: u32) -> Self {
        let mut child = Command::new(target_binary())
            .arg(n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start target");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn fire(&mut self) -> u32 {
        writeln!(self.stdin).expect("write to target");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read target");
        line.trim().parse().expect("semaphore value")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn usdt(binary: &str, name: &str, pid: Option<u32>, cookie: Option<u64>) -> UsdtTarget {
    UsdtTarget {
        binary: binary.to_owned(),
        provider: "bpfhost".to_owned(),
        name: name.to_owned(),
        pid,
        cookie,
    }
}

fn at(program: &str, target: UsdtTarget) -> ProgramAttach {
    ProgramAttach::at(program, AttachPoint::Usdt(target))
}

/// `usdt_args` as (cookie, argument count, arguments) → count.
fn counts(object: &LoadedObject) -> BTreeMap<(u64, i64, [i64; 3]), u64> {
    let map = object.ebpf().map("usdt_args").expect("usdt_args map");
    let map: HashMap<_, [u8; 40], u64> = HashMap::try_from(map).expect("hash map");
    map.iter()
        .map(|entry| {
            let (key, count) = entry.expect("entry");
            let word =
                |i: usize| i64::from_le_bytes(key[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
            (
                (
                    word(0).cast_unsigned(),
                    word(1),
                    [word(2), word(3), word(4)],
                ),
                count,
            )
        })
        .collect()
}

/// (cookie, argument count) of spec `id` in the object's `__bpf_usdt_specs`.
fn spec(object: &LoadedObject, id: u32) -> (u64, u16) {
    let Some(aya::maps::Map::Array(data)) = object.ebpf().map("__bpf_usdt_specs") else {
        panic!("the object has libbpf's spec map");
    };
    let value =
        crate::sys::map_lookup(data.fd().as_fd(), &id.to_ne_bytes(), 208).expect("spec lookup");
    let cookie = u64::from_le_bytes(value[192..200].try_into().expect("8 bytes"));
    let count = u16::from_le_bytes(value[200..202].try_into().expect("2 bytes"));
    (cookie, count)
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn constant_register_and_memory_arguments_and_a_semaphore_count_exactly() {
    require_kernel();
    let binary = target_binary().to_str().expect("utf-8").to_owned();
    let mut target = Target::start(5);
    let pid = Some(target.pid());
    let programs = [
        at("fx_usdt_args", usdt(&binary, "args", pid, Some(7))),
        at("fx_usdt_sema", usdt(&binary, "sema", pid, None)),
        ProgramAttach::disabled("fx_usdt_python"),
    ];
    let object = load_fixture(FIXTURE, &programs).expect("load");
    let targets: Vec<(&str, ProgramKind, &str)> = object
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.kind, p.target.as_str()))
        .collect();
    let pid = target.pid();
    assert_eq!(
        targets,
        [
            (
                "fx_usdt_args",
                ProgramKind::Usdt,
                format!("{binary}:bpfhost:args pid {pid} (1 site)").as_str()
            ),
            (
                "fx_usdt_sema",
                ProgramKind::Usdt,
                format!("{binary}:bpfhost:sema pid {pid} (1 site)").as_str()
            ),
        ]
    );
    // One spec id per distinct spec, in attach order, in the shared map.
    assert_eq!((spec(&object, 0), spec(&object, 1)), ((7, 3), (0, 1)));
    assert_eq!(spec(&object, 2), (0, 0), "no third spec");
    // The kernel raised the semaphore while the probe is attached.
    assert_eq!(target.fire(), 1);
    let mut want = BTreeMap::new();
    for i in 1..=5i64 {
        // -4@$-7 -8@%rdi -4@-12(%rsp), with cookie 7.
        want.insert((7, 3, [-7, i, 10 * i]), 1);
        // -8@%rdi, only fired while the semaphore is non-zero.
        want.insert((0, 1, [i, 0, 0]), 1);
    }
    assert_eq!(counts(&object), want);

    // Detached, the semaphore drops back and nothing more is counted.
    super::drop_and_assert_unloaded(object);
    eventually("the semaphore to drop to 0", || target.fire() == 0);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn byte_and_short_arguments_are_sign_extended_in_every_process_and_share_a_spec() {
    require_kernel();
    let binary = target_binary().to_str().expect("utf-8").to_owned();
    // Two programs on one probe with one cookie: one spec, shared.
    let programs = [
        at("fx_usdt_args", usdt(&binary, "small", None, Some(9))),
        at("fx_usdt_sema", usdt(&binary, "small", None, Some(9))),
        ProgramAttach::disabled("fx_usdt_python"),
    ];
    let object = load_fixture(FIXTURE, &programs).expect("load");
    assert_eq!((spec(&object, 0), spec(&object, 1)), ((9, 2), (0, 0)));
    // Started after the attach, in two processes: both are traced.
    for _ in 0..2 {
        let mut target = Target::start(3);
        assert_eq!(target.fire(), 0, "no probe on the semaphore");
    }
    let mut want = BTreeMap::new();
    for i in 1..=3i64 {
        // -1@%al -2@%dx: (signed char)-i, (short)(-100 * i); fx_usdt_sema
        // reads only the first.
        want.insert((9, 2, [-i, -100 * i, 0]), 2);
        want.insert((9, 2, [-i, 0, 0]), 2);
    }
    assert_eq!(counts(&object), want);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn python_imports_are_counted_by_module_name() {
    require_kernel();
    let programs = [
        ProgramAttach::disabled("fx_usdt_args"),
        ProgramAttach::disabled("fx_usdt_sema"),
    ];
    let object = load_fixture(FIXTURE, &programs).expect("load");
    let python = &object.programs()[0];
    assert_eq!(python.name, "fx_usdt_python");
    assert!(
        python
            .target
            .starts_with("/usr/bin/python3:python:import__find__load__start ("),
        "{}",
        python.target
    );
    // Python 3.11 (Debian 12's) fires function__entry only where C code
    // calls into Python, not on calls inlined in the interpreter loop
    // (restored in 3.12): `map` calls the function from C.
    // A module that does not exist is looked for (and the probe fired)
    // on every import; a longer name with the same start is not counted.
    let script = "for i in range(13):\n\
                  \x20   try:\n        import bpfhost_usdt_target\n\
                  \x20   except ImportError:\n        pass\n\
                  try:\n    import bpfhost_usdt_targets\n\
                  except ImportError:\n    pass\n";
    let status = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .status()
        .expect("run python3");
    assert!(status.success());
    assert_eq!(hits(&object), 13);
}

fn usdt_error(err: &LoadError) -> (&str, &str, &UsdtError) {
    match err {
        LoadError::Usdt {
            object,
            program,
            section,
            source,
            ..
        } => {
            assert_eq!(object, "test");
            (program, section, source.as_ref())
        }
        other => panic!("expected a USDT error, got {other:?}"),
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn bad_targets_are_named_and_release_what_was_attached() {
    require_kernel();
    let binary = target_binary().to_str().expect("utf-8").to_owned();
    let mut target = Target::start(1);
    let pid = Some(target.pid());
    // fx_usdt_args attaches first (on the semaphore probe); then
    // fx_usdt_sema fails. The semaphore staying 0 afterwards shows the
    // first probe went with the failed load.
    let load_then = |second: UsdtTarget| {
        let programs = [
            at("fx_usdt_args", usdt(&binary, "sema", pid, None)),
            at("fx_usdt_sema", second),
            ProgramAttach::disabled("fx_usdt_python"),
        ];
        load_fixture(FIXTURE, &programs).expect_err("second attach fails")
    };

    let err = load_then(usdt("/no/such/binary", "args", pid, None));
    let (program, section, source) = usdt_error(&err);
    assert_eq!((program, section), ("fx_usdt_sema", "usdt"));
    assert!(
        matches!(source, UsdtError::BinaryNotFound { binary, .. } if binary == "/no/such/binary"),
        "{source:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "object test: program fx_usdt_sema (section \"usdt\"): USDT /no/such/binary:bpfhost:args pid {}",
            target.pid()
        )
    );

    let err = load_then(usdt(&binary, "nope", pid, None));
    let (_, _, source) = usdt_error(&err);
    assert_eq!(
        source.to_string(),
        format!(
            "/proc/{}/root{binary} has no USDT probe bpfhost:nope \
             (it has: bpfhost:args, bpfhost:global, bpfhost:sema, bpfhost:small)",
            target.pid()
        )
    );

    let mut wrong_provider = usdt(&binary, "args", pid, None);
    wrong_provider.provider = "python".to_owned();
    let err = load_then(wrong_provider);
    assert!(matches!(usdt_error(&err).2, UsdtError::NoSuchProbe { .. }));

    let err = load_then(usdt(&binary, "global", pid, None));
    let (_, _, source) = usdt_error(&err);
    assert!(
        matches!(source, UsdtError::UnsupportedArg { provider, name, arg, .. }
            if provider == "bpfhost" && name == "global" && arg == "-4@bpfhost_counter(%rip)"),
        "{source:?}"
    );

    eventually("the semaphore to drop to 0", || target.fire() == 0);
}
