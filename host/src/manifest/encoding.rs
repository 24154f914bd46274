//! Base64 fields of manifests (`inline` sources, `ConfigMap` `binaryData`),
//! with errors that point at the byte as written.

use base64::Engine as _;

use super::error::{Location, ManifestError};

/// Decodes standard base64, ignoring ASCII whitespace (so text wrapped by
/// `base64` or a YAML block scalar works). Error offsets count bytes of
/// `text` as written.
pub(crate) fn decode_base64(
    text: &str,
    at: &Location,
    field: &str,
) -> Result<Vec<u8>, ManifestError> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|error| ManifestError::InvalidBase64 {
            at: at.boxed(),
            field: field.to_owned(),
            error: original_offsets(text, error),
        })
}

/// Rewrites offsets into whitespace-free text as offsets into `text`.
fn original_offsets(text: &str, error: base64::DecodeError) -> base64::DecodeError {
    use base64::DecodeError as E;
    let original = |offset: usize| {
        text.bytes()
            .enumerate()
            .filter(|(_, b)| !b.is_ascii_whitespace())
            .nth(offset)
            .map_or(offset, |(index, _)| index)
    };
    match error {
        E::InvalidByte(offset, byte) => E::InvalidByte(original(offset), byte),
        E::InvalidLastSymbol(offset, byte) => E::InvalidLastSymbol(original(offset), byte),
        other @ (E::InvalidLength(_) | E::InvalidPadding) => other,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn at() -> Location {
        Location::File(PathBuf::from("x.yaml"))
    }

    #[test]
    fn base64_ignores_whitespace() {
        let bytes = decode_base64("aGVs\n  bG8=\n", &at(), "f").expect("valid base64");
        assert_eq!(bytes, b"hello");
    }

    #[test]
    fn base64_error_offsets_count_original_text() {
        let err = decode_base64("aGVs\nb#G8=", &at(), "spec.object.inline").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "x.yaml: spec.object.inline: invalid base64: invalid character `#` at offset 6"
        );
    }
}
