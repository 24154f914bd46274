//! Reading single fields out of C-layout key and value bytes at explicit
//! offsets. To read a whole struct, [`Reader`](crate::Reader) reads fields in
//! declaration order and inserts the C padding itself.

use crate::{Error, Result};

fn field<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N]> {
    bytes
        .get(offset..offset + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Error::BadMap(format!(
                "{N}-byte field at offset {offset} is past the end of {} bytes",
                bytes.len()
            ))
        })
}

/// A `u8` at `offset`.
pub fn u8_at(bytes: &[u8], offset: usize) -> Result<u8> {
    Ok(field::<1>(bytes, offset)?[0])
}

/// A little-endian (host order on x86 and arm64) `u16` at `offset`.
pub fn u16_le(bytes: &[u8], offset: usize) -> Result<u16> {
    field(bytes, offset).map(u16::from_le_bytes)
}

/// A little-endian `u32` at `offset`.
pub fn u32_le(bytes: &[u8], offset: usize) -> Result<u32> {
    field(bytes, offset).map(u32::from_le_bytes)
}

/// A little-endian `u64` at `offset`.
pub fn u64_le(bytes: &[u8], offset: usize) -> Result<u64> {
    field(bytes, offset).map(u64::from_le_bytes)
}

/// A big-endian (network order) `u16` at `offset`, e.g. a port.
pub fn u16_be(bytes: &[u8], offset: usize) -> Result<u16> {
    field(bytes, offset).map(u16::from_be_bytes)
}

/// A big-endian (network order) `u32` at `offset`, e.g. an IPv4 address.
pub fn u32_be(bytes: &[u8], offset: usize) -> Result<u32> {
    field(bytes, offset).map(u32::from_be_bytes)
}

/// A NUL-terminated `char[len]` at `offset`, lossily decoded as UTF-8.
pub fn c_str(bytes: &[u8], offset: usize, len: usize) -> Result<String> {
    let raw = bytes.get(offset..offset + len).ok_or_else(|| {
        Error::BadMap(format!(
            "char[{len}] at offset {offset} is past the end of {} bytes",
            bytes.len()
        ))
    })?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_and_big_endian_fields() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];
        assert_eq!(u16_le(&b, 1).unwrap(), 0x0302);
        assert_eq!(u16_be(&b, 1).unwrap(), 0x0203);
        assert_eq!(u32_le(&b, 0).unwrap(), 0x0403_0201);
        assert_eq!(u32_be(&b, 0).unwrap(), 0x0102_0304);
        assert_eq!(u64_le(&b, 1).unwrap(), 0x0908_0706_0504_0302);
    }

    #[test]
    fn out_of_range_field_is_a_bad_map_error() {
        let err = u32_le(&[0; 3], 0).unwrap_err();
        assert_eq!(
            err,
            Error::BadMap("4-byte field at offset 0 is past the end of 3 bytes".into())
        );
    }

    #[test]
    fn c_str_stops_at_nul_and_tolerates_none() {
        assert_eq!(c_str(b"xxbash\0\0junk", 2, 8).unwrap(), "bash");
        assert_eq!(c_str(b"abcd", 0, 4).unwrap(), "abcd");
    }
}
