//! Helpers shared by the unit and integration tests: locating the artifacts
//! `cargo xtask build` produces, and gating tests that need a real kernel.
#![doc(hidden)]

pub mod conformance;
pub mod netns;

use std::path::PathBuf;

/// Environment variable that turns a missing kernel capability into a test
/// failure instead of a loud skip. CI sets it.
pub const REQUIRE_KERNEL_ENV: &str = "BPFHOST_REQUIRE_KERNEL";

/// Where `cargo xtask build` puts BPF objects and wasm components:
/// `$BPFHOST_ARTIFACTS`, else `$CARGO_TARGET_DIR/artifacts`, else
/// `<workspace>/target/artifacts`.
pub fn artifacts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BPFHOST_ARTIFACTS") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("artifacts")
}

/// Path of one artifact, e.g. `bpf/packets.bpf.o` or `plugins/packets.wasm`.
///
/// # Panics
/// When the artifact is missing, with the command that builds it.
pub fn artifact(relative: &str) -> PathBuf {
    let path = artifacts_dir().join(relative);
    assert!(
        path.exists(),
        "missing test artifact {}: run `cargo xtask build` first",
        path.display()
    );
    path
}

/// Whether this process is root, and so may load BPF programs here.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The first line of every real-kernel test. Such tests are also
/// `#[ignore = "needs root and a BPF-capable kernel"]`, so plain `cargo test`
/// reports them as ignored, and `cargo xtask test` runs them
/// (`--include-ignored`) as root or when [`REQUIRE_KERNEL_ENV`] is set.
/// Fails the test with a clear message when it was asked to run without
/// root.
///
/// # Panics
/// When this process is not root.
pub fn require_kernel() {
    assert!(
        is_root(),
        "this test loads BPF programs and needs root and a BPF-capable kernel; \
         run it as root, or leave it ignored (plain `cargo test` does)"
    );
}

/// For the benchmark, which has no ignore attribute: whether it may load BPF
/// programs. When it may not, prints a loud skip notice, or panics when
/// [`REQUIRE_KERNEL_ENV`] is set.
pub fn kernel_available(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os(REQUIRE_KERNEL_ENV).is_none(),
        "{what}: needs root to load BPF programs, and {REQUIRE_KERNEL_ENV} is set"
    );
    eprintln!("\n*** SKIPPED {what}: needs root and a BPF-capable kernel ***\n");
    false
}

/// The first field of `written` that `parsed` lost or changed, as a path
/// (`.spec.template.spec.hostPID`); `None` when every written field
/// survived. Fields `parsed` adds (defaults) are ignored.
///
/// Typed Kubernetes objects ignore unknown fields, so parsing a manifest and
/// serializing it back, then calling this, is how a test catches a typo.
pub fn dropped_field(written: &serde_json::Value, parsed: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    fn walk(written: &Value, parsed: &Value, path: &str) -> Option<String> {
        match (written, parsed) {
            (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(key, value)| {
                let child = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => walk(value, other, &child),
                    None => Some(child),
                }
            }),
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| walk(x, y, &format!("{path}[{i}]"))),
            _ => (written != parsed).then(|| path.to_owned()),
        }
    }
    walk(written, parsed, "")
}

/// What the `wasi-escape` test decoder tries that WASI must deny it: its
/// `attempt` label values (`plugins/fixtures/wasi-escape`).
pub const WASI_ESCAPES: &[&str] = &[
    "read_file",
    "read_dir",
    "write_file",
    "connect",
    "bind",
    "resolve",
];

/// A directory of test cgroups under the cgroup v2 root
/// (`bpfhost-test-<tag>-<pid>`), removed with its children when dropped.
#[derive(Debug)]
pub struct TestCgroups(PathBuf);

impl TestCgroups {
    /// # Panics
    /// Without a cgroup v2 hierarchy or the right to create in it.
    pub fn new(tag: &str) -> Self {
        let root = crate::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
        let dir = root.join(format!("bpfhost-test-{tag}-{}", std::process::id()));
        std::fs::create_dir(&dir).expect("mkdir under the cgroup v2 root");
        Self(dir)
    }

    /// The directory holding the test's cgroups.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Creates cgroup `name` (`a/b` nests) and returns its path and id.
    ///
    /// # Panics
    /// When it cannot be created.
    pub fn make(&self, name: &str) -> (PathBuf, u64) {
        use std::os::unix::fs::MetadataExt as _;
        let path = self.0.join(name);
        std::fs::create_dir(&path).expect("mkdir cgroup");
        let id = std::fs::metadata(&path).expect("stat cgroup").ino();
        (path, id)
    }
}

impl Drop for TestCgroups {
    fn drop(&mut self) {
        // Deepest first: a cgroup with children cannot be removed.
        let mut dirs = vec![self.0.clone()];
        let mut i = 0;
        while i < dirs.len() {
            if let Ok(entries) = std::fs::read_dir(&dirs[i]) {
                dirs.extend(
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path()),
                );
            }
            i += 1;
        }
        for dir in dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
