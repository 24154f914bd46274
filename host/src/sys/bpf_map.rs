//! Reading and writing one element of a BPF map by its file descriptor
//! (`BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`), whatever its value type.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;

/// `union bpf_attr` for the element commands.
#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// Runs an element command on `map`: the kernel reads `key` and reads or
/// writes `value`, each of the map's size.
fn elem(command: libc::c_long, map: BorrowedFd<'_>, key: &[u8], value: u64) -> io::Result<()> {
    let attr = ElemAttr {
        map_fd: u32::try_from(map.as_raw_fd())
            .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?,
        pad: 0,
        key: key.as_ptr() as u64,
        value,
        flags: 0, // BPF_ANY
    };
    // SAFETY: the kernel reads the map's key size from `key` and reads or
    // writes the map's value size at `value`; callers size both buffers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            std::ptr::from_ref(&attr),
            size_of::<ElemAttr>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes `value` at `key` of an array or hash map. The caller passes
/// buffers of the map's key and value sizes.
pub fn map_update(map: BorrowedFd<'_>, key: &[u8], value: &[u8]) -> io::Result<()> {
    elem(BPF_MAP_UPDATE_ELEM, map, key, value.as_ptr() as u64)
}

/// The value at `key`, `value_len` bytes (the map's value size, times the
/// possible CPUs for a per-CPU map).
pub fn map_lookup(map: BorrowedFd<'_>, key: &[u8], value_len: usize) -> io::Result<Vec<u8>> {
    let mut value = vec![0u8; value_len];
    elem(BPF_MAP_LOOKUP_ELEM, map, key, value.as_mut_ptr() as u64)?;
    Ok(value)
}
