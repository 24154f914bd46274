//! Reading a whole map into a [`MapSnapshot`]: batches first, key by key
//! where the kernel cannot batch.

use std::collections::HashSet;
use std::io;
use std::os::fd::BorrowedFd;

use super::sys::BpfSys;
use super::{BpfCommand, MapSnapshot};

/// `ENOTSUPP`, the kernel-internal errno some map types return for batch ops.
const ENOTSUPP: i32 = 524;

/// Entries asked for per batch call at first; grown when a hash bucket does
/// not fit.
const FIRST_CHUNK: u32 = 4096;

/// The layout of one map's entries.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub key_size: usize,
    /// Bytes per entry in the values buffer (all CPU slots for per-CPU maps).
    pub stride: usize,
    pub max_entries: u32,
}

/// Whether an error from the first batch call means "this map cannot batch".
pub fn batch_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS | libc::EPERM | ENOTSUPP)
    )
}

/// Reads every entry with `BPF_MAP_LOOKUP_BATCH`, reusing the snapshot's
/// buffers. Fails with the first call's error when batching is unsupported.
pub fn batch(
    sys: &dyn BpfSys,
    fd: BorrowedFd<'_>,
    layout: Layout,
    out: &mut MapSnapshot,
) -> io::Result<()> {
    // Every call of this function is `BPF_MAP_LOOKUP_BATCH`.
    let Layout {
        key_size, stride, ..
    } = layout;
    // For hash maps the token is a bucket index, for arrays a key.
    let token_size = key_size.max(8);
    let mut tokens = vec![0u8; 2 * token_size];
    let mut chunk = FIRST_CHUNK.min(layout.max_entries.max(1));
    let mut entries = 0usize;
    let mut first = true;
    loop {
        let capacity = entries + chunk as usize;
        grow(&mut out.keys, capacity * key_size);
        grow(&mut out.values, capacity * stride);
        let (in_tok, out_tok) = tokens.split_at_mut(token_size);
        let mut count = chunk;
        // SAFETY: the key and value windows hold `chunk` entries of this
        // map's key size and stride; the tokens hold max(key size, 8) bytes.
        let result = unsafe {
            sys.lookup_batch(
                fd,
                (!first).then_some(&*in_tok),
                out_tok,
                &mut out.keys[entries * key_size..capacity * key_size],
                &mut out.values[entries * stride..capacity * stride],
                &mut count,
            )
        };
        entries += (count as usize).min(chunk as usize);
        match result {
            Ok(()) => {
                in_tok.copy_from_slice(out_tok);
                first = false;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
            // A hash bucket holds more entries than we asked for.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && count == 0 => {
                chunk = chunk.saturating_mul(2);
            }
            Err(e) => return Err(e),
        }
    }
    out.entries = entries as u32;
    out.keys.truncate(entries * key_size);
    out.values.truncate(entries * stride);
    Ok(())
}

/// Reads every entry key by key. Entries deleted during the walk are
/// skipped; a walk that restarts after a concurrent delete yields no key
/// twice; the walk is bounded even if the map churns forever. An error
/// names the command that failed.
pub fn iterate(
    sys: &dyn BpfSys,
    fd: BorrowedFd<'_>,
    layout: Layout,
    out: &mut MapSnapshot,
) -> Result<(), (BpfCommand, io::Error)> {
    let Layout {
        key_size, stride, ..
    } = layout;
    out.keys.clear();
    out.values.clear();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut current: Option<Vec<u8>> = None;
    let mut next = vec![0u8; key_size];
    let mut value = vec![0u8; stride];
    let max_steps = u64::from(layout.max_entries) * 4 + 16;
    for _ in 0..max_steps {
        // SAFETY: `current` and `next` hold exactly the map's key size.
        match unsafe { sys.get_next_key(fd, current.as_deref(), &mut next) } {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
            Err(e) => return Err((BpfCommand::GetNextKey, e)),
        }
        if seen.insert(next.clone()) {
            // SAFETY: `next` holds a key and `value` one stride, the map's
            // whole value.
            match unsafe { sys.lookup(fd, &next, &mut value) } {
                Ok(()) => {
                    out.keys.extend_from_slice(&next);
                    out.values.extend_from_slice(&value);
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err((BpfCommand::LookupElem, e)),
            }
        }
        current.get_or_insert_with(Vec::new).clone_from(&next);
    }
    out.entries = (out.keys.len() / key_size.max(1)) as u32;
    Ok(())
}

/// Makes `buf` at least `len` bytes long without shrinking its allocation.
fn grow(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}
