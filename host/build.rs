//! Records the git commit the agent is built from, for `bpfhost --version`,
//! the landing page and the image's labels.
//!
//! `BPFHOST_GIT_COMMIT` in the environment wins (a build from a source
//! tarball, or an image build that passes it in); otherwise `git rev-parse`
//! in the source tree; otherwise `unknown`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BPFHOST_GIT_COMMIT");
    let commit = std::env::var("BPFHOST_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BPFHOST_GIT_COMMIT={commit}");
}

/// HEAD's commit, and rebuild triggers on what moves it.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    // HEAD names a branch whose ref file (or packed-refs) moves on commit;
    // in a worktree these live in different git directories.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", absolute(&p).display());
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", absolute(&p).display());
    }
    git(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40)
}

fn absolute(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        std::env::current_dir().map_or(path.clone(), |dir| dir.join(path))
    }
}
