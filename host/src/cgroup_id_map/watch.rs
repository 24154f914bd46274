//! inotify on every directory of the hierarchy, and the thread that
//! rescans on each burst of events.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::sync::Sync;
use super::{CgroupIdMapError, Ids, RESCAN_EVERY};
use crate::sys::lock;

/// What the rescanning thread has done, for [`Watcher::wait_until`].
#[derive(Debug, Default)]
struct Progress {
    ids: Vec<(u64, PathBuf)>,
    /// Errors of the rescans after the first fill, for self-metrics.
    errors: u64,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    rescanned: Condvar,
}

/// The thread keeping one map in sync; stopped and joined on drop.
#[derive(Debug)]
pub(super) struct Watcher {
    shared: Arc<Shared>,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Fills the map once (an error here fails the start) and starts the
    /// thread.
    pub(super) fn start(mut sync: Sync) -> Result<Self, CgroupIdMapError> {
        let map = sync.map().to_owned();
        let watch_error = |path: &Path, source| CgroupIdMapError::Watch {
            map: map.clone(),
            path: path.to_owned(),
            source,
        };
        let inotify = Inotify::new().map_err(|e| watch_error(sync.root(), e))?;
        let stop = eventfd().map_err(|e| watch_error(sync.root(), e))?;
        let mut watch_errors = Vec::new();
        let mut errors = sync.rescan(&mut |dir| {
            if let Err(e) = inotify.add(dir) {
                watch_errors.push((dir.to_owned(), e));
            }
        });
        errors.extend(
            watch_errors
                .into_iter()
                .filter(|(_, e)| e.kind() != io::ErrorKind::NotFound)
                .map(|(path, e)| watch_error(&path, e)),
        );
        if !errors.is_empty() {
            return Err(errors.remove(0));
        }
        let shared = Arc::new(Shared::default());
        publish(&shared, &sync);
        let thread_shared = Arc::clone(&shared);
        let thread_stop = stop.try_clone().map_err(|e| watch_error(sync.root(), e))?;
        let thread = std::thread::Builder::new()
            .name(format!("cgroup-ids-{}", sync.map()))
            .spawn(move || run(&mut sync, &inotify, &thread_stop, &thread_shared))
            .map_err(|e| watch_error(Path::new("(a thread)"), e))?;
        Ok(Self {
            shared,
            stop,
            thread: Some(thread),
        })
    }

    pub(super) fn ids(&self) -> Vec<(u64, PathBuf)> {
        lock(&self.shared.progress).ids.clone()
    }

    /// Errors of the rescans so far (the first fill's fail the start).
    pub(super) fn errors(&self) -> u64 {
        lock(&self.shared.progress).errors
    }

    /// Waits until the ids in the map satisfy `done`, at most `timeout`;
    /// whether they did.
    pub(super) fn wait_until(&self, timeout: Duration, done: &dyn Fn(&Ids) -> bool) -> bool {
        let progress = lock(&self.shared.progress);
        let (progress, _) = self
            .shared
            .rescanned
            .wait_timeout_while(progress, timeout, |p| !done(&p.ids))
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        done(&progress.ids)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd.
        let written = unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr().cast(), 8) };
        if written == 8
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// The thread: wait for events, the stop signal or [`RESCAN_EVERY`]; drain
/// the events and rescan.
fn run(sync: &mut Sync, inotify: &Inotify, stop: &OwnedFd, shared: &Shared) {
    let timeout = i32::try_from(RESCAN_EVERY.as_millis()).unwrap_or(i32::MAX);
    loop {
        let mut fds = [
            libc::pollfd {
                fd: inotify.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: polls two pollfds of a live array.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(map = sync.map(), %error, "cgroup id map: poll failed; no longer kept in sync");
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        if let Err(error) = inotify.drain() {
            tracing::warn!(map = sync.map(), %error, "cgroup id map: reading inotify events");
        }
        let mut refused = 0usize;
        let errors = sync.rescan(&mut |dir| {
            if inotify.add(dir).is_err() {
                refused += 1;
            }
        });
        for error in &errors {
            tracing::warn!(error = %crate::error_chain(error), "cgroup id map: rescan");
        }
        lock(&shared.progress).errors += errors.len() as u64;
        if refused > 0 {
            tracing::debug!(
                map = sync.map(),
                refused,
                "cgroup id map: directories not watched; rescanned every {RESCAN_EVERY:?}"
            );
        }
        publish(shared, sync);
    }
}

fn publish(shared: &Shared, sync: &Sync) {
    lock(&shared.progress).ids = sync
        .known()
        .iter()
        .map(|(id, path)| (*id, path.clone()))
        .collect();
    shared.rescanned.notify_all();
}

/// An inotify instance watching directories for children created, removed
/// or moved.
#[derive(Debug)]
struct Inotify(OwnedFd);

impl Inotify {
    fn new() -> io::Result<Self> {
        // SAFETY: no pointers; returns a new fd or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: inotify_init1 returned a new fd we own.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watches `dir` (again: the kernel keeps one watch per inode).
    fn add(&self, dir: &Path) -> io::Result<()> {
        let path = CString::new(dir.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mask = libc::IN_CREATE
            | libc::IN_DELETE
            | libc::IN_MOVED_FROM
            | libc::IN_MOVED_TO
            | libc::IN_ONLYDIR;
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(self.0.as_raw_fd(), path.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reads every pending event; what they say does not matter, as the
    /// whole hierarchy is walked next (an overflow included).
    fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reads at most `buf.len()` bytes into a live buffer.
            let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                continue;
            }
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock => Ok(()),
                io::ErrorKind::Interrupted => continue,
                _ if n == 0 => Ok(()),
                _ => Err(error),
            };
        }
    }
}

/// A non-blocking eventfd: the stop signal.
fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: no pointers; returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: eventfd returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
