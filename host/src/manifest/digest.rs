//! Pinned sources: `sha256: <hex>` on an object or decoder source. The
//! agent hashes the bytes it read and refuses others, so what runs in the
//! kernel and the sandbox is what was reviewed, whichever way the bytes
//! travelled (file, inline, `ConfigMap`, built-in).

use sha2::{Digest as _, Sha256};

use super::error::{Location, ManifestError};

/// The SHA-256 of `bytes`, as 64 lowercase hex digits (what `sha256sum`
/// prints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks that `digest` (at `field`) is 64 hex digits.
pub(crate) fn check(digest: &str, at: &Location, field: &str) -> Result<(), ManifestError> {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ManifestError::InvalidFormat {
            at: at.boxed(),
            field: field.to_owned(),
            value: digest.to_owned(),
            expected: "a SHA-256 digest: 64 hex digits (sha256sum FILE)",
        })
    }
}

/// Passes `bytes` when they hash to `expected` (any case), or when no
/// digest is pinned.
pub(crate) fn verify(
    bytes: Vec<u8>,
    expected: Option<&str>,
    at: &Location,
    field: &str,
) -> Result<Vec<u8>, ManifestError> {
    let Some(expected) = expected else {
        return Ok(bytes);
    };
    check(expected, at, field)?;
    let actual = sha256_hex(&bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(bytes)
    } else {
        Err(ManifestError::DigestMismatch {
            at: at.boxed(),
            field: field.to_owned(),
            expected: expected.to_ascii_lowercase(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn at() -> Location {
        Location::File("m.yaml".into())
    }

    #[test]
    fn the_bytes_must_hash_to_the_pinned_digest() {
        assert_eq!(sha256_hex(b"hello"), HELLO);
        let field = "spec.object.sha256";
        assert_eq!(
            verify(b"hello".to_vec(), Some(HELLO), &at(), field).expect("pinned"),
            b"hello"
        );
        let upper = HELLO.to_ascii_uppercase();
        assert!(verify(b"hello".to_vec(), Some(&upper), &at(), field).is_ok());
        assert!(verify(b"other".to_vec(), None, &at(), field).is_ok());
        let mismatch = verify(b"hellO".to_vec(), Some(HELLO), &at(), field).expect_err("differs");
        let message = mismatch.to_string();
        assert!(
            matches!(mismatch, ManifestError::DigestMismatch { .. }),
            "{message}"
        );
        assert!(
            message.contains(HELLO) && message.contains(field),
            "{message}"
        );
        let bad = verify(b"x".to_vec(), Some("abc"), &at(), field).expect_err("not a digest");
        assert!(bad.to_string().contains("64 hex digits"), "{bad}");
    }
}
