//! Uprobes opened through the `uprobe` perf PMU and linked to a BPF program
//! with `BPF_LINK_CREATE`: what aya's `UProbe::attach` does, plus the
//! semaphore (reference counter) offset the kernel increments while the
//! probe exists, which aya cannot pass.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// The PMU's type number, for `perf_event_attr.type`.
const UPROBE_TYPE: &str = "/sys/bus/event_source/devices/uprobe/type";
/// `config` bit where the reference counter offset starts.
const REF_CTR_OFFSET_SHIFT: u32 = 32;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PERF_EVENT: u32 = 41;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

/// One uprobe site: a file offset in a binary, and optionally its semaphore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UprobeSite<'a> {
    /// The binary (a path the kernel can open).
    pub path: &'a Path,
    /// File offset of the probed instruction.
    pub offset: u64,
    /// File offset of the semaphore (`unsigned short`), or 0.
    pub ref_ctr_offset: u64,
    /// Only this process; every process when `None`.
    pub pid: Option<u32>,
    /// What `bpf_get_attach_cookie()` returns in the program.
    pub cookie: u64,
}

/// A uprobe linked to a program. Dropping it detaches the program and
/// removes the probe.
#[derive(Debug)]
pub struct UprobeLink {
    // Fields drop in order: the link before the event it holds.
    _link: OwnedFd,
    _event: OwnedFd,
}

/// The first fields of `struct perf_event_attr` (`PERF_ATTR_SIZE_VER5`);
/// the kernel takes the zeroed rest as defaults.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    tail: [u64; 5],
}

/// `union bpf_attr` for `BPF_LINK_CREATE` with a perf event target.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    bpf_cookie: u64,
    tail: [u64; 6],
}

/// Opens a uprobe at `site` and links `program` (a kprobe-type program) to it.
pub fn attach_uprobe(program: BorrowedFd<'_>, site: &UprobeSite<'_>) -> io::Result<UprobeLink> {
    let pmu_type = read_pmu_type()?;
    let path = CString::new(site.path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    if site.ref_ctr_offset >> (64 - REF_CTR_OFFSET_SHIFT) != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "semaphore offset does not fit in 32 bits",
        ));
    }
    let attr = PerfEventAttr {
        type_: pmu_type,
        size: size_of::<PerfEventAttr>() as u32,
        config: site.ref_ctr_offset << REF_CTR_OFFSET_SHIFT,
        config1: path.as_ptr() as u64,
        config2: site.offset,
        ..PerfEventAttr::default()
    };
    // Every process: pid -1 on one CPU (a uprobe fires on every CPU anyway).
    let (pid, cpu) = match site.pid {
        Some(pid) => (
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?,
            -1,
        ),
        None => (-1, 0),
    };
    // SAFETY: `attr` is a valid perf_event_attr of the size it declares, and
    // `path` outlives the call (the kernel copies the string).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            std::ptr::from_ref(&attr),
            pid,
            cpu,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    let event = owned_fd(fd)?;
    let link = link_create(program, &event, site.cookie)?;
    // SAFETY: PERF_EVENT_IOC_ENABLE takes no argument.
    if unsafe { libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(UprobeLink {
        _link: link,
        _event: event,
    })
}

fn link_create(program: BorrowedFd<'_>, event: &OwnedFd, cookie: u64) -> io::Result<OwnedFd> {
    let fd = |fd: i32| u32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF));
    let attr = LinkCreateAttr {
        prog_fd: fd(program.as_raw_fd())?,
        target_fd: fd(event.as_raw_fd())?,
        attach_type: BPF_PERF_EVENT,
        bpf_cookie: cookie,
        ..LinkCreateAttr::default()
    };
    // SAFETY: `attr` is a valid bpf_attr for BPF_LINK_CREATE of the size given.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_CREATE,
            std::ptr::from_ref(&attr),
            size_of::<LinkCreateAttr>(),
        )
    };
    owned_fd(rc)
}

/// Whether the kernel can create uprobes through the perf PMU.
pub fn uprobe_pmu_available() -> bool {
    Path::new(UPROBE_TYPE).exists()
}

fn read_pmu_type() -> io::Result<u32> {
    let text = fs::read_to_string(UPROBE_TYPE)?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{UPROBE_TYPE}: {text:?}"),
        )
    })
}

fn owned_fd(rc: libc::c_long) -> io::Result<OwnedFd> {
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let raw = i32::try_from(rc).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the syscall returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_have_the_kernel_sizes() {
        assert_eq!(size_of::<PerfEventAttr>(), 112); // PERF_ATTR_SIZE_VER5
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config1), 56);
        assert_eq!(std::mem::offset_of!(LinkCreateAttr, bpf_cookie), 16);
    }
}
