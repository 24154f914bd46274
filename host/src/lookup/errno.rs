//! errno value → name, from a table generated from the kernel's UAPI
//! headers (`cargo xtask gen-tables`).

use super::errno_table::ERRNOS;

/// The name of an errno value (`2` → `ENOENT`). Negative values, as kernel
/// functions return them (`-2`), name the same error.
pub fn errno_name(value: i32) -> Option<&'static str> {
    let number = value.unsigned_abs();
    ERRNOS
        .binary_search_by_key(&number, |(n, _)| *n)
        .ok()
        .map(|i| ERRNOS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_values_have_their_names() {
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_name(-2), Some("ENOENT"));
        assert_eq!(errno_name(11), Some("EAGAIN"), "not its alias EWOULDBLOCK");
        assert_eq!(errno_name(110), Some("ETIMEDOUT"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(i32::MIN), None);
        assert!(ERRNOS.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    }
}
