//! x86-64 syscall number → name, from a table generated from the kernel's
//! UAPI header (`cargo xtask gen-tables`).

use super::syscall_table::SYSCALLS;

/// The name of x86-64 system call `number` (`1` → `write`).
pub fn syscall_name(number: u32) -> Option<&'static str> {
    SYSCALLS
        .binary_search_by_key(&number, |(n, _)| *n)
        .ok()
        .map(|i| SYSCALLS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_numbers_have_their_names() {
        assert_eq!(syscall_name(0), Some("read"));
        assert_eq!(syscall_name(1), Some("write"));
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(257), Some("openat"));
        assert_eq!(syscall_name(321), Some("bpf"));
        assert_eq!(syscall_name(100_000), None);
        assert!(SYSCALLS.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    }
}
