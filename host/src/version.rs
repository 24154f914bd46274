//! What this build is: the release version and the commit it was built from
//! (set by `build.rs`).

/// The release version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The full git commit the agent was built from, or `unknown`.
pub const COMMIT: &str = env!("BPFHOST_GIT_COMMIT");

/// `bpfhost --version`'s text after the name: `0.1.0 (commit 0123abcd…)`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BPFHOST_GIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_is_a_full_hash_or_says_unknown() {
        assert!(
            COMMIT == "unknown"
                || (COMMIT.len() == 40 && COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{COMMIT}"
        );
        assert!(LONG.starts_with(VERSION) && LONG.contains(COMMIT));
    }
}
