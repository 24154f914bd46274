//! Response bodies reused across scrapes.
//!
//! A 100k-series exposition is ~11 MiB. Allocating it afresh at every
//! scrape costs page faults on every byte and, with glibc, leaves multi-MiB
//! holes in the heap for other allocations to pin. A [`BodyPool`] hands out
//! buffers and takes them back when the HTTP layer drops the body it was
//! given, so in steady state a scrape encodes into the memory the previous
//! one used.

use std::sync::Mutex;

use crate::sys::lock;

use axum::body::Bytes;

/// Spare response buffers.
#[derive(Debug)]
pub struct BodyPool {
    spare: Mutex<Vec<Vec<u8>>>,
    /// Spare buffers kept at most: concurrent scrapes beyond this allocate.
    keep: usize,
}

/// A buffer whose capacity is more than this many times what it last held
/// is let go rather than kept: the exporters shrank.
const SHRINK: usize = 4;

impl BodyPool {
    /// A pool keeping at most `keep` spare buffers.
    pub const fn new(keep: usize) -> Self {
        Self {
            spare: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// An empty buffer: a spare one, or a new one of `capacity` bytes.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        lock(&self.spare)
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// `body` as the HTTP layer's bytes, returned to the pool when dropped.
    pub fn share(&'static self, body: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent { body, pool: self })
    }

    /// Takes `body` back, unless the pool is full or it is far too big for
    /// what it held.
    pub fn put(&self, mut body: Vec<u8>) {
        if body.capacity() > SHRINK * body.len().max(1) {
            return;
        }
        let mut spare = lock(&self.spare);
        if spare.len() < self.keep {
            body.clear();
            spare.push(body);
        }
    }

    #[cfg(test)]
    fn spare(&self) -> usize {
        lock(&self.spare).len()
    }
}

/// A body on loan to the HTTP layer.
struct Lent {
    body: Vec<u8>,
    pool: &'static BodyPool,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_body_comes_back_empty_with_its_memory() {
        static POOL: BodyPool = BodyPool::new(1);
        let mut body = POOL.take(16);
        body.extend_from_slice(b"metric_total 1\n");
        let address = body.as_ptr();
        let bytes = POOL.share(body);
        assert_eq!(&bytes[..], b"metric_total 1\n");
        let clone = bytes.clone();
        drop(bytes);
        assert_eq!(POOL.spare(), 0, "still lent while a clone lives");
        drop(clone);
        let again = POOL.take(16);
        assert_eq!(again, b"");
        assert_eq!(again.as_ptr(), address, "the same memory");
        assert!(again.capacity() >= 15);
    }

    #[test]
    fn keeps_at_most_its_limit_and_lets_oversized_buffers_go() {
        static POOL: BodyPool = BodyPool::new(1);
        let (mut a, mut b) = (POOL.take(8), POOL.take(8));
        a.extend_from_slice(b"a 1\n");
        b.extend_from_slice(b"b 1\n");
        drop((POOL.share(a), POOL.share(b)));
        assert_eq!(POOL.spare(), 1);
        let mut big = Vec::with_capacity(1 << 20);
        big.push(b'x');
        let _ = POOL.take(0);
        drop(POOL.share(big));
        assert_eq!(POOL.spare(), 0, "1 MiB kept for one byte is let go");
    }
}
