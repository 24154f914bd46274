//! Mount points from `/proc/self/mountinfo`: the cgroup v2 hierarchy is
//! `/sys/fs/cgroup` on pure-v2 hosts and `/sys/fs/cgroup/unified` on hybrid
//! ones; it is read from mountinfo, never assumed.

use std::path::PathBuf;

/// The mount point of the cgroup v2 hierarchy of this process, if any.
pub fn cgroup2_root() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_mount(&mountinfo)
}

/// The first `cgroup2` mount point in a mountinfo text.
///
/// Lines read `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER`.
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mount_point = before.split_whitespace().nth(4)?;
        Some(PathBuf::from(unescape(mount_point)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        if let Some(byte) = octal {
            out.push(byte);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_hosts_use_the_unified_mount() {
        let text = "\
35 24 0:30 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
41 35 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw
42 35 0:39 / /sys/fs/cgroup/cpu rw shared:11 - cgroup cgroup rw,cpu";
        assert_eq!(cgroup2_mount(text), Some("/sys/fs/cgroup/unified".into()));
    }

    #[test]
    fn pure_v2_hosts_use_sys_fs_cgroup_and_escapes_are_decoded() {
        let text = "30 1 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate";
        assert_eq!(cgroup2_mount(text), Some("/sys/fs/cgroup".into()));
        let text = r"30 1 0:26 / /mnt/my\040cgroup rw - cgroup2 none rw";
        assert_eq!(cgroup2_mount(text), Some("/mnt/my cgroup".into()));
        assert_eq!(cgroup2_mount("30 1 0:26 / /x rw - tmpfs t rw"), None);
    }
}
