//! Compiled components on disk, so a restart (or reloading the same decoder)
//! does not compile again.
//!
//! An entry is `<dir>/<engine>/<sha256 of the wasm>.cwasm`, where `<engine>`
//! is a hash of the engine's compatibility hash (wasmtime version and the
//! settings that shape compiled code): a new agent build never reads an old
//! build's code. Loading compiled code skips wasm validation, so the
//! directory must be writable by the agent alone; a directory others can
//! write to is refused.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Why the cache directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot create the component cache {}", dir.display())]
    Create {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing the component cache {}: it must be owned by this user and not writable by others (mode {mode:o})",
        dir.display()
    )]
    Unsafe { dir: PathBuf, mode: u32 },
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    /// Read from the cache.
    Hit,
    /// Compiled now (and stored, when the cache is writable).
    Miss,
}

/// A directory of compiled components for one engine.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// Opens (creating with mode 0700) the cache for `engine` under `root`.
    pub fn open(root: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("{:016x}", hasher.finish()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| CacheError::Create {
                dir: dir.clone(),
                source,
            })?;
        for d in [root, dir.as_path()] {
            let meta = std::fs::metadata(d).map_err(|source| CacheError::Create {
                dir: d.to_path_buf(),
                source,
            })?;
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            if meta.uid() != me || meta.mode() & 0o022 != 0 {
                return Err(CacheError::Unsafe {
                    dir: d.to_path_buf(),
                    mode: meta.mode() & 0o7777,
                });
            }
        }
        Ok(Self { dir })
    }

    /// The compiled component for `wasm`: from the cache, or compiled and
    /// stored. A cache entry that cannot be read is compiled again.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, Compiled)> {
        let path = self.dir.join(format!("{:x}.cwasm", Sha256::digest(wasm)));
        if path.exists() {
            // SAFETY: the entry was written by `Component::serialize` of this
            // engine configuration (the directory is keyed by its
            // compatibility hash), into a directory only this user can write.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, Compiled::Hit)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %crate::error_chain(e.as_ref()), "unusable cached component; compiling again");
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %crate::error_chain(&e), "cannot store the compiled component");
        }
        Ok((component, Compiled::Miss))
    }
}

/// Writes the entry atomically: a temporary file renamed into place.
fn store(path: &Path, component: &Component) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// The smallest component: no imports, no exports.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn compiles_once_then_reads_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let cache = ComponentCache::open(dir.path(), &engine).expect("open");
        let (_, first) = cache.load(&engine, EMPTY).expect("compile");
        assert_eq!(first, Compiled::Miss);
        let (_, second) = cache.load(&engine, EMPTY).expect("cached");
        assert_eq!(second, Compiled::Hit);
        // A new cache over the same directory (a restarted agent) hits too.
        let reopened = ComponentCache::open(dir.path(), &engine).expect("reopen");
        assert_eq!(
            reopened.load(&engine, EMPTY).expect("cached").1,
            Compiled::Hit
        );
    }

    #[test]
    fn a_corrupt_entry_is_compiled_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let cache = ComponentCache::open(dir.path(), &engine).expect("open");
        cache.load(&engine, EMPTY).expect("compile");
        for entry in std::fs::read_dir(&cache.dir).expect("read dir") {
            std::fs::write(entry.expect("entry").path(), b"garbage").expect("corrupt");
        }
        assert_eq!(
            cache.load(&engine, EMPTY).expect("recompile").1,
            Compiled::Miss
        );
        assert_eq!(cache.load(&engine, EMPTY).expect("cached").1, Compiled::Hit);
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let err = ComponentCache::open(dir.path(), &Engine::default()).expect_err("refused");
        assert!(
            matches!(err, CacheError::Unsafe { mode: 0o777, .. }),
            "{err}"
        );
    }
}
