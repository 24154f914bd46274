//! Label values as one hashable byte string, built in a reused buffer so a
//! hit costs no allocation.

use std::hash::{Hash, Hasher};

/// A label set's key as a map keeps it. Hashed as its bytes alone: the
/// standard `Hash` of a byte slice also hashes its length, which foldhash
/// mixes in through a 128-bit shift that wasm32 has no instruction for (a
/// library call per event); the bytes already encode every length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key(Box<[u8]>);

impl Key {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// A key to look up, borrowed from a [`KeyBuf`]; hashes as [`Key`] does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup<'k>(&'k [u8]);

impl Hash for Lookup<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

impl hashbrown::Equivalent<Key> for Lookup<'_> {
    #[inline]
    fn equivalent(&self, key: &Key) -> bool {
        *self.0 == *key.0
    }
}

impl From<Lookup<'_>> for Key {
    fn from(lookup: Lookup<'_>) -> Self {
        Self(lookup.0.into())
    }
}

/// Encodes label values as `len (u32 LE) ++ bytes` each.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyBuf {
    buf: Vec<u8>,
}

impl KeyBuf {
    /// The key of `labels`, valid until the next call.
    #[inline]
    pub(crate) fn key(&mut self, labels: &[&str]) -> Lookup<'_> {
        self.buf.clear();
        for label in labels {
            // A label value longer than 4 GiB cannot reach a decoder.
            let len = u32::try_from(label.len()).unwrap_or(u32::MAX);
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf.extend_from_slice(label.as_bytes());
        }
        Lookup(&self.buf)
    }
}

/// The label values of a key made by [`KeyBuf::key`], into `out`.
pub(crate) fn labels<'k>(mut key: &'k [u8], out: &mut Vec<&'k str>) {
    out.clear();
    while let Some((len, rest)) = key.split_first_chunk::<4>() {
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (value, rest) = rest.split_at(len);
        // Keys are only ever made from `&str`s.
        out.push(std::str::from_utf8(value).unwrap_or_default());
        key = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_do_not_run_together() {
        let mut buf = KeyBuf::default();
        let a = buf.key(&["ab", "c"]).0.to_vec();
        let b = buf.key(&["a", "bc"]).0.to_vec();
        assert_ne!(a, b);
        let mut out = Vec::new();
        labels(&a, &mut out);
        assert_eq!(out, ["ab", "c"]);
        let none = buf.key(&[]).0.to_vec();
        labels(&none, &mut out);
        assert_eq!(out, [""; 0]);
        let empty_value = buf.key(&[""]).0.to_vec();
        labels(&empty_value, &mut out);
        assert_eq!(out, [""]);
    }
}
