//! The narrow seam over `bpf(2)` that map reading needs.
//!
//! aya 0.16 has neither batch lookups nor maps whose key and value sizes are
//! only known at run time, so these few commands are issued directly.
//! [`BpfSys`] lets the reading logic run against a fake in unit tests.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// What reading needs to know about a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMapInfo {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// The `bpf(2)` commands map reading uses. Errors are the raw errno.
///
/// The kernel writes as many bytes as the map's own key and value sizes say,
/// whatever the length of the buffers handed in, so the methods that take
/// buffers are `unsafe`: callers promise the sizes.
pub trait BpfSys: Send {
    /// `BPF_OBJ_GET_INFO_BY_FD` on a map.
    fn map_info(&self, fd: BorrowedFd<'_>) -> io::Result<RawMapInfo>;

    /// `BPF_MAP_LOOKUP_BATCH`. `count` is the capacity in entries on input
    /// and the number copied on output, also when the result is `ENOENT`
    /// (the end of the map).
    ///
    /// # Safety
    /// `keys` must hold `count` keys and `values` `count` values of the map's
    /// sizes (per-CPU values: every CPU's 8-byte-aligned slot); the batch
    /// tokens must hold at least 8 bytes and the map's key size.
    unsafe fn lookup_batch(
        &self,
        fd: BorrowedFd<'_>,
        in_batch: Option<&[u8]>,
        out_batch: &mut [u8],
        keys: &mut [u8],
        values: &mut [u8],
        count: &mut u32,
    ) -> io::Result<()>;

    /// `BPF_MAP_GET_NEXT_KEY`; `key = None` asks for the first key.
    ///
    /// # Safety
    /// `key` and `next` must each hold at least the map's key size.
    unsafe fn get_next_key(
        &self,
        fd: BorrowedFd<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()>;

    /// `BPF_MAP_LOOKUP_ELEM`.
    ///
    /// # Safety
    /// `key` must hold the map's key size and `value` its whole value (all
    /// CPU slots for per-CPU maps).
    unsafe fn lookup(&self, fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()>;
}

/// The real kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel;

/// A zeroed `union bpf_attr`, big enough for every command used here.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Self {
        Self([0; 128])
    }

    fn u32_at(&mut self, offset: usize, v: u32) -> &mut Self {
        self.0[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn u64_at(&mut self, offset: usize, v: u64) -> &mut Self {
        self.0[offset..offset + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn read_u32(&self, offset: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.0[offset..offset + 4]);
        u32::from_ne_bytes(b)
    }

    /// Issues `bpf(cmd, self, size)`.
    fn call(&mut self, cmd: libc::c_long, size: usize) -> io::Result<libc::c_long> {
        // SAFETY: `self` is a zero-initialised attr of at least `size` bytes
        // whose pointer fields point at live buffers of the sizes the kernel
        // derives from the map's key and value sizes (checked by callers).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                self.0.as_mut_ptr(),
                size as libc::c_uint,
            )
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    }
}

fn ptr(buf: &[u8]) -> u64 {
    buf.as_ptr() as u64
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

impl BpfSys for Kernel {
    fn map_info(&self, fd: BorrowedFd<'_>) -> io::Result<RawMapInfo> {
        // struct bpf_map_info starts with type, id, key_size, value_size,
        // max_entries (u32 each); the kernel fills at most `info_len` bytes.
        let mut info = [0u8; 80];
        let mut attr = Attr::new();
        attr.u32_at(0, fd_u32(fd))
            .u32_at(4, info.len() as u32)
            .u64_at(8, info.as_mut_ptr() as u64);
        attr.call(BPF_OBJ_GET_INFO_BY_FD, 16)?;
        let field = |i: usize| {
            u32::from_ne_bytes([
                info[i * 4],
                info[i * 4 + 1],
                info[i * 4 + 2],
                info[i * 4 + 3],
            ])
        };
        Ok(RawMapInfo {
            map_type: field(0),
            key_size: field(2),
            value_size: field(3),
            max_entries: field(4),
        })
    }

    unsafe fn lookup_batch(
        &self,
        fd: BorrowedFd<'_>,
        in_batch: Option<&[u8]>,
        out_batch: &mut [u8],
        keys: &mut [u8],
        values: &mut [u8],
        count: &mut u32,
    ) -> io::Result<()> {
        // struct { u64 in_batch, out_batch, keys, values; u32 count, map_fd;
        //          u64 elem_flags, flags; }
        let mut attr = Attr::new();
        attr.u64_at(0, in_batch.map_or(0, ptr))
            .u64_at(8, out_batch.as_mut_ptr() as u64)
            .u64_at(16, keys.as_mut_ptr() as u64)
            .u64_at(24, values.as_mut_ptr() as u64)
            .u32_at(32, *count)
            .u32_at(36, fd_u32(fd));
        let result = attr.call(BPF_MAP_LOOKUP_BATCH, 56);
        *count = attr.read_u32(32);
        result.map(drop)
    }

    unsafe fn get_next_key(
        &self,
        fd: BorrowedFd<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        let mut attr = Attr::new();
        attr.u32_at(0, fd_u32(fd))
            .u64_at(8, key.map_or(0, ptr))
            .u64_at(16, next.as_mut_ptr() as u64);
        attr.call(BPF_MAP_GET_NEXT_KEY, 24).map(drop)
    }

    unsafe fn lookup(&self, fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        let mut attr = Attr::new();
        attr.u32_at(0, fd_u32(fd))
            .u64_at(8, ptr(key))
            .u64_at(16, value.as_mut_ptr() as u64);
        attr.call(BPF_MAP_LOOKUP_ELEM, 32).map(drop)
    }
}

/// Creates a map (`BPF_MAP_CREATE`); for tests and benchmarks that fill
/// maps without a BPF program.
pub fn create_map(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> io::Result<OwnedFd> {
    let mut attr = Attr::new();
    attr.u32_at(0, map_type)
        .u32_at(4, key_size)
        .u32_at(8, value_size)
        .u32_at(12, max_entries);
    let fd = attr.call(BPF_MAP_CREATE, 48)?;
    // SAFETY: BPF_MAP_CREATE returned a new file descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Writes one element (`BPF_MAP_UPDATE_ELEM`, `BPF_ANY`). For per-CPU maps
/// `value` holds every CPU's slot.
pub fn update(fd: BorrowedFd<'_>, key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.u32_at(0, fd_u32(fd))
        .u64_at(8, ptr(key))
        .u64_at(16, ptr(value));
    attr.call(BPF_MAP_UPDATE_ELEM, 32).map(drop)
}

/// Deletes one element (`BPF_MAP_DELETE_ELEM`).
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.u32_at(0, fd_u32(fd)).u64_at(8, ptr(key));
    attr.call(BPF_MAP_DELETE_ELEM, 32).map(drop)
}
