//! A cursor that reads C struct fields, in declaration order, out of key and
//! value bytes.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Error, Result};

/// Which bytes a [`Reader`] reads; named in its error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// A map key.
    Key,
    /// A map value (one CPU's value for per-CPU maps).
    Value,
    /// Any other bytes.
    Data,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Key => "key",
            Self::Value => "value",
            Self::Data => "data",
        })
    }
}

/// Reads the fields of a C struct one after the other, the way the compiler
/// laid them out.
///
/// Every read first skips the padding a C compiler puts before a field of
/// that type: integers are aligned to their size, IP addresses to 4 bytes
/// (`__be32`, `struct in6_addr`), char and byte arrays not at all. So a key
/// declared as
///
/// ```c
/// struct key { __u32 pid; __u8 proto; __be16 port; __u64 cgroup; char comm[16]; };
/// ```
///
/// reads field by field, with no offsets to compute:
///
/// ```no_run
/// # use bpfhost_plugin_sdk::{Reader, Result};
/// # fn f(key: &[u8]) -> Result<()> {
/// let mut k = Reader::key(key);
/// let pid = k.u32()?;
/// let proto = k.u8()?;
/// let port = k.u16_be()?; // at offset 6: one byte of padding skipped
/// let cgroup = k.u64()?; // at offset 8
/// let comm = k.c_str(16)?;
/// # Ok(()) }
/// ```
///
/// Alignment is relative to the start of the bytes, which is where the
/// struct starts. For `__attribute__((packed))` structs use
/// [`packed`](Self::packed); [`skip`](Self::skip), [`align`](Self::align)
/// and [`seek`](Self::seek) cover nested structs and explicit offsets.
///
/// Integers are little-endian (the BPF byte order on x86 and arm64) unless
/// the method name ends in `_be` (network byte order, e.g. ports).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    part: Part,
    aligned: bool,
}

macro_rules! int_readers {
    ($($(#[$doc:meta])* $name:ident: $ty:ty, $from:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(&mut self) -> Result<$ty> {
            const N: usize = size_of::<$ty>();
            let bytes = self.take(N, N)?;
            let mut raw = [0u8; N];
            raw.copy_from_slice(bytes);
            Ok(<$ty>::$from(raw))
        }
    )*};
}

impl<'a> Reader<'a> {
    /// A reader over a map key.
    #[inline]
    pub fn key(bytes: &'a [u8]) -> Self {
        Self::with_part(bytes, Part::Key)
    }

    /// A reader over a map value (one CPU's value for per-CPU maps).
    #[inline]
    pub fn value(bytes: &'a [u8]) -> Self {
        Self::with_part(bytes, Part::Value)
    }

    /// A reader over any other bytes.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_part(bytes, Part::Data)
    }

    #[inline]
    fn with_part(bytes: &'a [u8], part: Part) -> Self {
        Self {
            bytes,
            pos: 0,
            part,
            aligned: true,
        }
    }

    /// Stops inserting C padding before fields: for
    /// `__attribute__((packed))` structs.
    #[must_use]
    pub fn packed(mut self) -> Self {
        self.aligned = false;
        self
    }

    /// The offset the next read starts from (before any padding).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left after [`position`](Self::position).
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Moves to an absolute offset, e.g. an `offsetof()` value. Fails when
    /// the offset is past the end.
    pub fn seek(&mut self, offset: usize) -> Result<&mut Self> {
        if offset > self.bytes.len() {
            return Err(self.too_short(offset, 0));
        }
        self.pos = offset;
        Ok(self)
    }

    /// Skips `n` bytes (padding, or fields the decoder does not need).
    #[inline]
    pub fn skip(&mut self, n: usize) -> Result<&mut Self> {
        self.take(n, 1)?;
        Ok(self)
    }

    /// Skips to the next multiple of `n` (a power of two), as C does before
    /// a nested struct whose largest member is `n` bytes.
    pub fn align(&mut self, n: usize) -> Result<&mut Self> {
        let target = self.pos.next_multiple_of(n.max(1));
        self.seek(target)
    }

    int_readers! {
        /// A `__u8`.
        u8: u8, from_le_bytes;
        /// A `__u16`, little-endian.
        u16: u16, from_le_bytes;
        /// A `__u32`, little-endian.
        u32: u32, from_le_bytes;
        /// A `__u64`, little-endian.
        u64: u64, from_le_bytes;
        /// A `__s8`.
        i8: i8, from_le_bytes;
        /// A `__s16`, little-endian.
        i16: i16, from_le_bytes;
        /// A `__s32`, little-endian.
        i32: i32, from_le_bytes;
        /// A `__s64`, little-endian.
        i64: i64, from_le_bytes;
        /// A `__be16` in network byte order, e.g. a port.
        u16_be: u16, from_be_bytes;
        /// A `__be32` in network byte order.
        u32_be: u32, from_be_bytes;
        /// A `__be64` in network byte order.
        u64_be: u64, from_be_bytes;
        /// A signed 16-bit integer in network byte order.
        i16_be: i16, from_be_bytes;
        /// A signed 32-bit integer in network byte order.
        i32_be: i32, from_be_bytes;
        /// A signed 64-bit integer in network byte order.
        i64_be: i64, from_be_bytes;
    }

    /// An IPv4 address stored as the kernel stores it (`__be32`,
    /// `struct in_addr`); displays as `10.0.0.1`.
    pub fn ipv4(&mut self) -> Result<Ipv4Addr> {
        let b = self.take(4, 4)?;
        Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }

    /// An IPv6 address (`struct in6_addr`, `__u8[16]` aligned to 4);
    /// displays as `2001:db8::1`.
    pub fn ipv6(&mut self) -> Result<Ipv6Addr> {
        let mut raw = [0u8; 16];
        raw.copy_from_slice(self.take(16, 4)?);
        Ok(Ipv6Addr::from(raw))
    }

    /// A `char[len]` holding a NUL-terminated string (e.g. a task's
    /// `comm`), up to the first NUL or the whole array when there is none.
    /// Invalid UTF-8 becomes `U+FFFD`; valid text is borrowed, not copied.
    pub fn c_str(&mut self, len: usize) -> Result<Cow<'a, str>> {
        let raw = self.take(len, 1)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Ok(String::from_utf8_lossy(&raw[..end]))
    }

    /// `len` raw bytes (a `__u8[len]`).
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        self.take(len, 1)
    }

    /// A `__u8[N]` as an array, e.g. a MAC address.
    pub fn byte_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut raw = [0u8; N];
        raw.copy_from_slice(self.take(N, 1)?);
        Ok(raw)
    }

    /// A fixed C array of any element: `r.array(Reader::u32)` reads a
    /// `__u32[N]`, with `N` taken from the type of the result.
    pub fn array<T: Copy + Default, const N: usize>(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<[T; N]> {
        let mut out = [T::default(); N];
        for slot in &mut out {
            *slot = read(self)?;
        }
        Ok(out)
    }

    /// A C array whose length is known only at run time, e.g. histogram
    /// slots: `r.vec(27, Reader::u64)`.
    pub fn vec<T>(
        &mut self,
        len: usize,
        mut read: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        (0..len).map(|_| read(self)).collect()
    }

    /// Takes `len` bytes after aligning to `align`, or fails without moving.
    #[inline]
    fn take(&mut self, len: usize, align: usize) -> Result<&'a [u8]> {
        let start = if self.aligned {
            self.pos.next_multiple_of(align)
        } else {
            self.pos
        };
        let bytes = start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| self.too_short(start, len))?;
        self.pos = start + len;
        Ok(bytes)
    }

    #[cold]
    fn too_short(&self, offset: usize, need: usize) -> Error {
        Error::TooShort {
            part: self.part,
            offset,
            need,
            have: self.bytes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_width_in_both_byte_orders() {
        let b: Vec<u8> = (1..=16).collect();
        let mut r = Reader::new(&b).packed();
        assert_eq!(r.u8().unwrap(), 0x01);
        assert_eq!(r.u16().unwrap(), 0x0302);
        assert_eq!(r.u32().unwrap(), 0x0706_0504);
        assert_eq!(r.u64().unwrap(), 0x0f0e_0d0c_0b0a_0908);
        let mut r = Reader::new(&b);
        assert_eq!(r.u16_be().unwrap(), 0x0102);
        assert_eq!(r.u32_be().unwrap(), 0x0506_0708);
        assert_eq!(r.u64_be().unwrap(), 0x090a_0b0c_0d0e_0f10);
    }

    #[test]
    fn reads_signed_integers() {
        let mut b = Vec::new();
        b.extend_from_slice(&(-2i8).to_le_bytes());
        b.push(0);
        b.extend_from_slice(&(-300i16).to_le_bytes());
        b.extend_from_slice(&(-70_000i32).to_le_bytes());
        b.extend_from_slice(&(-5_000_000_000i64).to_le_bytes());
        b.extend_from_slice(&(-2i16).to_be_bytes());
        let mut r = Reader::new(&b);
        assert_eq!(r.i8().unwrap(), -2);
        assert_eq!(r.i16().unwrap(), -300);
        assert_eq!(r.i32().unwrap(), -70_000);
        assert_eq!(r.i64().unwrap(), -5_000_000_000);
        assert_eq!(r.i16_be().unwrap(), -2);
    }

    #[test]
    fn inserts_c_padding_unless_packed() {
        // struct { __u8 a; __u32 b; }: b at offset 4, or 1 when packed.
        let b = [7, 0xaa, 0xbb, 0xcc, 1, 0, 0, 0];
        let mut r = Reader::new(&b);
        r.u8().unwrap();
        assert_eq!(r.u32().unwrap(), 1);
        let mut r = Reader::new(&b).packed();
        r.u8().unwrap();
        assert_eq!(r.u32().unwrap(), 0x01cc_bbaa);
    }

    #[test]
    fn skip_align_and_seek_move_the_cursor() {
        let b = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut r = Reader::new(&b).packed();
        assert_eq!(r.skip(1).unwrap().u8().unwrap(), 1);
        assert_eq!(r.align(4).unwrap().u8().unwrap(), 4);
        assert_eq!(r.seek(8).unwrap().u8().unwrap(), 8);
        assert_eq!(r.remaining(), 0);
        assert_eq!(r.position(), 9);
    }

    #[test]
    fn addresses_strings_and_arrays() {
        let mut b = vec![10, 0, 0, 1];
        b.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        b.extend_from_slice(b"bash\0xyz");
        b.extend_from_slice(&[1, 0, 2, 0]);
        let mut r = Reader::new(&b);
        assert_eq!(r.ipv4().unwrap().to_string(), "10.0.0.1");
        assert_eq!(r.ipv6().unwrap().to_string(), "2001:db8::7");
        assert_eq!(r.c_str(8).unwrap(), "bash");
        let pair: [u16; 2] = r.array(Reader::u16).unwrap();
        assert_eq!(pair, [1, 2]);
    }

    #[test]
    fn c_str_without_nul_takes_the_whole_array_and_is_lossy() {
        let mut r = Reader::new(b"abcd\xffz");
        assert_eq!(r.c_str(4).unwrap(), "abcd");
        assert_eq!(r.c_str(2).unwrap(), "\u{fffd}z");
    }

    #[test]
    fn short_reads_name_the_part_offset_and_sizes_and_do_not_move() {
        let b = [0u8; 6];
        let mut r = Reader::key(&b);
        r.u32().unwrap();
        let err = r.u64().unwrap_err();
        assert_eq!(
            err.to_string(),
            "key too short: need 8 bytes at offset 8, have 6"
        );
        assert_eq!(r.position(), 4);
        let err = Reader::value(&b)
            .packed()
            .skip(4)
            .unwrap()
            .u64()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "value too short: need 8 bytes at offset 4, have 6"
        );
        let err = Reader::new(&b).seek(7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data too short: need 0 bytes at offset 7, have 6"
        );
    }

    #[test]
    fn vec_reads_a_run_time_sized_array() {
        let b: Vec<u8> = [3u64, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(Reader::value(&b).vec(2, Reader::u64).unwrap(), [3, 5]);
        assert!(Reader::value(&b).vec(3, Reader::u64).is_err());
    }
}
