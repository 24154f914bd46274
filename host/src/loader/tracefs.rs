//! Making sure tracefs is mounted: aya reads tracepoint ids (and, without a
//! kprobe PMU, probe events) from it, and a fresh machine does not mount it.

use std::io;
use std::path::Path;
use std::sync::Mutex;

use super::error::LoadError;

/// Where tracefs is mounted when bpfhost mounts it.
pub const TRACEFS: &str = "/sys/kernel/tracing";
/// The older location, under debugfs.
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Serialises check-then-mount, so concurrent loads mount at most once.
static MOUNTING: Mutex<()> = Mutex::new(());

/// Ensures tracefs is mounted, mounting it at [`TRACEFS`] when it is not.
///
/// Must run before aya's first tracefs lookup: aya remembers the answer.
pub fn ensure_mounted() -> Result<(), LoadError> {
    let _guard = crate::sys::lock(&MOUNTING);
    if is_populated(Path::new(TRACEFS)) || is_populated(Path::new(DEBUGFS_TRACING)) {
        return Ok(());
    }
    mount().map_err(|error| LoadError::TracefsMissing {
        path: TRACEFS.into(),
        error,
    })
}

/// A mounted tracefs is a non-empty directory (the mount point is empty).
fn is_populated(path: &Path) -> bool {
    path.read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
}

fn mount() -> io::Result<()> {
    let source = c"nodev";
    let target = c"/sys/kernel/tracing";
    let fstype = c"tracefs";
    // SAFETY: all pointers are valid NUL-terminated strings for the duration
    // of the call; a null data pointer is allowed for tracefs.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "needs root and a BPF-capable kernel"]
    fn tracefs_is_mounted_after_ensure() {
        crate::testing::require_kernel();
        ensure_mounted().expect("tracefs mounted");
        assert!(is_populated(Path::new(TRACEFS)) || is_populated(Path::new(DEBUGFS_TRACING)));
    }

    #[test]
    fn an_empty_directory_is_not_a_mounted_tracefs() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_populated(dir.path()));
        assert!(!is_populated(&dir.path().join("missing")));
    }
}
