//! Encoding manifest `globals:` values into the bytes of the ELF symbols
//! they override, before aya creates the `.rodata`/`.data` maps.

use std::collections::BTreeMap;

use super::elf::ElfInfo;
use super::error::LoadError;
use crate::manifest::spec::GlobalValue;

/// Encodes every override to its symbol's size: `(name, bytes)` pairs ready
/// for `EbpfLoader::override_global`.
pub fn encode_all(
    info: &ElfInfo,
    globals: &BTreeMap<String, GlobalValue>,
) -> Result<Vec<(String, Vec<u8>)>, LoadError> {
    globals
        .iter()
        .map(|(name, value)| {
            let global = info
                .global(name)
                .filter(|g| g.overridable())
                .ok_or_else(|| LoadError::UnknownGlobal { name: name.clone() })?;
            Ok((name.clone(), encode(name, value, global.size)?))
        })
        .collect()
}

/// Encodes one value for a symbol of `size` bytes: integers and booleans
/// little-endian (range-checked), bytes and strings NUL-padded.
pub fn encode(name: &str, value: &GlobalValue, size: u64) -> Result<Vec<u8>, LoadError> {
    let invalid = |reason| LoadError::InvalidGlobal {
        name: name.to_owned(),
        size,
        reason,
    };
    let len = usize::try_from(size).map_err(|_| invalid("symbol too large"))?;
    if len == 0 {
        return Err(invalid("the symbol has no size"));
    }
    let mut out = vec![0u8; len];
    match value {
        GlobalValue::Bool(b) => out[0] = u8::from(*b),
        GlobalValue::Unsigned(v) => {
            if len > 8 {
                return Err(invalid("integers fit globals of 1, 2, 4 or 8 bytes"));
            }
            if len < 8 && *v >> (len * 8) != 0 {
                return Err(invalid("integer out of range"));
            }
            out.copy_from_slice(&v.to_le_bytes()[..len]);
        }
        GlobalValue::Signed(v) => {
            if len > 8 {
                return Err(invalid("integers fit globals of 1, 2, 4 or 8 bytes"));
            }
            let bits = len * 8;
            if bits < 64 {
                let min = -(1i64 << (bits - 1));
                let max = (1i64 << (bits - 1)) - 1;
                if *v < min || *v > max {
                    return Err(invalid("integer out of range"));
                }
            }
            out.copy_from_slice(&v.to_le_bytes()[..len]);
        }
        GlobalValue::Bytes(bytes) => {
            if bytes.len() > len {
                return Err(invalid("more bytes than the symbol holds"));
            }
            out[..bytes.len()].copy_from_slice(bytes);
        }
        GlobalValue::String(s) => {
            if s.len() >= len {
                return Err(invalid("string too long (it needs a terminating NUL)"));
            }
            out[..s.len()].copy_from_slice(s.as_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn ok(value: &GlobalValue, size: u64) -> Vec<u8> {
        encode("g", value, size).expect("encodes")
    }

    fn err(value: &GlobalValue, size: u64) -> String {
        encode("g", value, size).expect_err("rejected").to_string()
    }

    #[test]
    fn integers_encode_little_endian_to_the_symbol_size() {
        assert_eq!(ok(&GlobalValue::Unsigned(0x1234), 4), [0x34, 0x12, 0, 0]);
        assert_eq!(ok(&GlobalValue::Unsigned(255), 1), [255]);
        assert_eq!(ok(&GlobalValue::Signed(-2), 2), [0xfe, 0xff]);
        assert_eq!(
            ok(&GlobalValue::Signed(i64::MIN), 8),
            i64::MIN.to_le_bytes()
        );
        assert_eq!(ok(&GlobalValue::Bool(true), 1), [1]);
        assert_eq!(ok(&GlobalValue::Bool(true), 4), [1, 0, 0, 0]);
    }

    #[test]
    fn out_of_range_integers_are_rejected() {
        assert!(err(&GlobalValue::Unsigned(256), 1).contains("out of range"));
        assert!(err(&GlobalValue::Signed(-129), 1).contains("out of range"));
        assert!(err(&GlobalValue::Signed(32768), 2).contains("out of range"));
        assert!(err(&GlobalValue::Unsigned(1), 16).contains("1, 2, 4 or 8"));
    }

    #[test]
    fn strings_and_bytes_are_nul_padded() {
        assert_eq!(ok(&GlobalValue::String("ab".into()), 4), *b"ab\0\0");
        assert_eq!(ok(&GlobalValue::Bytes(vec![1, 2]), 3), [1, 2, 0]);
        assert!(err(&GlobalValue::String("abcd".into()), 4).contains("too long"));
        assert!(err(&GlobalValue::Bytes(vec![0; 5]), 4).contains("more bytes"));
    }

    #[test]
    fn globals_resolve_against_the_elf_and_unknown_ones_are_named() {
        let bytes = std::fs::read(artifact("bpf/fixtures/globals.bpf.o")).expect("fixture");
        let info = ElfInfo::parse(&bytes).expect("parse");
        let mut globals = BTreeMap::new();
        globals.insert("g_s16".to_owned(), GlobalValue::Signed(-1));
        globals.insert("g_name".to_owned(), GlobalValue::String("eth0".into()));
        let encoded = encode_all(&info, &globals).expect("encodes");
        assert_eq!(encoded[0], ("g_name".to_owned(), b"eth0\0\0\0\0".to_vec()));
        assert_eq!(encoded[1], ("g_s16".to_owned(), vec![0xff, 0xff]));

        globals.insert("nope".to_owned(), GlobalValue::Unsigned(1));
        let message = encode_all(&info, &globals)
            .expect_err("unknown")
            .to_string();
        assert!(message.contains("\"nope\""), "{message}");
    }
}
