//! The kernel's monotonic clock, the one `bpf_ktime_get_ns` reads.

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_with_the_standard_librarys_clock() {
        let (a, std_a) = (monotonic_ns(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (b, waited) = (monotonic_ns(), std_a.elapsed());
        assert!(a > 0 && b > a);
        // Both read CLOCK_MONOTONIC: the two intervals agree within 5 ms.
        let ours = b - a;
        let theirs = u64::try_from(waited.as_nanos()).unwrap();
        assert!(ours.abs_diff(theirs) < 5_000_000, "{ours} vs {theirs}");
    }
}
