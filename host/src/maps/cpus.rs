//! The number of possible CPUs: the number of slots in a per-CPU value.

use std::io;

const POSSIBLE: &str = "/sys/devices/system/cpu/possible";

/// Possible CPUs of this machine, from sysfs.
pub fn possible() -> io::Result<u32> {
    let text = std::fs::read_to_string(POSSIBLE)?;
    parse(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot parse {POSSIBLE}: {text:?}"),
        )
    })
}

/// Counts the CPUs in a list such as `0-3,5,7-8`.
pub fn parse(list: &str) -> Option<u32> {
    let mut total = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        total += if let Some((a, b)) = part.split_once('-') {
            b.parse::<u32>().ok()?.checked_sub(a.parse().ok()?)? + 1
        } else {
            part.parse::<u32>().ok()?;
            1
        };
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_cpu_lists() {
        assert_eq!(super::parse("0-1\n"), Some(2));
        assert_eq!(super::parse("0"), Some(1));
        assert_eq!(super::parse("0-3,5,7-8"), Some(7));
        assert_eq!(super::parse("3-1"), None);
        assert_eq!(super::parse(""), None);
        assert_eq!(super::parse("x"), None);
    }

    #[test]
    fn this_machine_has_cpus() {
        assert!(super::possible().expect("sysfs") >= 1);
    }
}
