//! Finding the binary a user-space probe names, the way libbpf does: a
//! name with a `/` is a path; a library file name (`libc.so.6`) is looked
//! up in `LD_LIBRARY_PATH` and the standard library directories; any other
//! name in `PATH`. With a process id, paths are read through that
//! process's root (`/proc/PID/root`), so a probe can target a container.

use std::path::{Path, PathBuf};

/// Where libbpf looks for a library given by file name, after
/// `LD_LIBRARY_PATH`.
const LIBRARY_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

/// The binary `name` resolves to, or every place it was looked for.
pub fn resolve(name: &str, pid: Option<u32>) -> Result<PathBuf, Vec<PathBuf>> {
    let root = pid.map(|pid| PathBuf::from(format!("/proc/{pid}/root")));
    let within = |path: &Path| match &root {
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_owned(),
    };
    let candidates: Vec<PathBuf> = if name.contains('/') {
        vec![within(Path::new(name))]
    } else {
        search_dirs(name)
            .into_iter()
            .map(|dir| within(&dir.join(name)))
            .collect()
    };
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or(candidates)
}

/// A library file name (`libc.so.6`) resolved to a path in this mount
/// namespace, if it is one and it is found.
pub fn find_library(name: &str) -> Option<PathBuf> {
    (is_library(name) && !name.contains('/'))
        .then(|| resolve(name, None).ok())
        .flatten()
}

fn is_library(name: &str) -> bool {
    name.contains(".so")
}

/// The directories a bare name is looked up in, in order.
fn search_dirs(name: &str) -> Vec<PathBuf> {
    let (variable, fixed): (&str, &[&str]) = if is_library(name) {
        ("LD_LIBRARY_PATH", LIBRARY_DIRS)
    } else {
        ("PATH", &[])
    };
    let from_env = std::env::var_os(variable).unwrap_or_default();
    std::env::split_paths(&from_env)
        .filter(|dir| dir.is_absolute())
        .chain(fixed.iter().map(PathBuf::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_file_names_resolve_in_the_library_dirs() {
        let libc = find_library("libc.so.6").expect("libc.so.6");
        assert!(libc.is_absolute() && libc.is_file(), "{}", libc.display());
        assert_eq!(find_library("libc"), None);
        assert_eq!(find_library("/bin/true"), None);
    }

    #[test]
    fn executables_resolve_through_path_and_paths_stay_paths() {
        let sh = resolve("sh", None).expect("sh in PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(resolve("/bin/sh", None), Ok(PathBuf::from("/bin/sh")));
        assert_eq!(
            resolve("/no/such/binary", None),
            Err(vec![PathBuf::from("/no/such/binary")])
        );
    }

    #[test]
    fn a_pid_reads_through_that_process_root() {
        let pid = std::process::id();
        assert_eq!(
            resolve("/bin/sh", Some(pid)),
            Ok(PathBuf::from(format!("/proc/{pid}/root/bin/sh")))
        );
        let searched = resolve("no-such-binary-bpfhost", Some(pid)).expect_err("missing");
        assert!(
            searched
                .iter()
                .all(|p| p.starts_with(format!("/proc/{pid}/root/"))),
            "{searched:?}"
        );
    }
}
