//! Batches: records of one source back to back, each a `u32`
//! little-endian length and then its bytes (no padding), with the limits
//! that close a batch (a record count, a delay since its first record).

use std::time::{Duration, Instant};

/// One batch of records from one source, as the decoder receives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Index of the source in the decoder's declaration.
    pub source: u32,
    /// Number of records in `data`.
    pub records: u32,
    /// Records back to back, each: `u32` little-endian length, then the
    /// bytes (no padding).
    pub data: Vec<u8>,
}

impl Batch {
    /// The records' bytes, in order. Stops at the first truncated record
    /// (a well-formed batch has none).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.data.as_slice();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let record = tail.get(..len)?;
            rest = &tail[len..];
            Some(record)
        })
    }

    /// The batch in pieces, each of as many records as the caller asks for
    /// when it takes it (see [`Pieces::next_piece`]).
    pub fn pieces(&self) -> Pieces<'_> {
        Pieces {
            rest: self.data.as_slice(),
        }
    }
}

/// Pieces of a batch in order, in the batch's layout; see [`Batch::pieces`].
#[derive(Debug)]
pub struct Pieces<'a> {
    rest: &'a [u8],
}

impl<'a> Pieces<'a> {
    /// The next piece: up to `records` records (at least one), their count
    /// and bytes. Stops at the first truncated record, like [`Batch::iter`].
    pub fn next_piece(&mut self, records: u32) -> Option<(u32, &'a [u8])> {
        let (mut count, mut len) = (0, 0);
        while count < records.max(1) {
            let Some((prefix, tail)) = self.rest[len..].split_first_chunk::<4>() else {
                break;
            };
            let record = u32::from_le_bytes(*prefix) as usize;
            if record > tail.len() {
                break;
            }
            len += 4 + record;
            count += 1;
        }
        if count == 0 {
            return None;
        }
        let (piece, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some((count, piece))
    }
}

/// When a source's batch is handed on, and what the reader drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// A batch is handed on when it holds this many records (at least 1).
    pub max_records: u32,
    /// ... or when this long has passed since its first record.
    pub max_delay: Duration,
    /// The bound of the exporter's queue, in batches, for whoever creates
    /// it (`std::sync::mpsc::sync_channel`); the readers only `try_send`.
    pub queue_batches: usize,
    /// Records shorter than this are dropped as
    /// [`DropReason::TooShort`](super::DropReason::TooShort).
    pub min_record_size: u32,
}

impl Default for BatchLimits {
    /// Up to 4,096 records or 10 ms, a queue of 64 batches, any size.
    fn default() -> Self {
        Self {
            max_records: 4096,
            max_delay: Duration::from_millis(10),
            queue_batches: 64,
            min_record_size: 0,
        }
    }
}

/// The batch a reader is filling.
#[derive(Debug)]
pub(super) struct Pending {
    source: u32,
    max_records: u32,
    max_delay: Duration,
    batch: Batch,
    /// When the batch's first record arrived; `None` while it is empty.
    started: Option<Instant>,
}

impl Pending {
    pub(super) fn new(source: u32, limits: &BatchLimits) -> Self {
        Self {
            source,
            max_records: limits.max_records.max(1),
            max_delay: limits.max_delay,
            batch: Batch {
                source,
                ..Batch::default()
            },
            started: None,
        }
    }

    /// Appends a record given in up to two parts (a perf sample that wraps
    /// around its buffer); true when the batch is now full.
    pub(super) fn push(&mut self, head: &[u8], tail: &[u8]) -> bool {
        if self.started.is_none() {
            self.started = Some(Instant::now());
        }
        let data = &mut self.batch.data;
        let len = (head.len() + tail.len()) as u32;
        data.reserve(4 + len as usize);
        data.extend_from_slice(&len.to_le_bytes());
        data.extend_from_slice(head);
        data.extend_from_slice(tail);
        self.batch.records += 1;
        self.batch.records >= self.max_records
    }

    /// When the batch must be handed on, if it holds anything.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.started.map(|started| started + self.max_delay)
    }

    /// The batch so far, if not empty; the next one starts empty, with room
    /// for as many bytes as this one held.
    pub(super) fn take(&mut self) -> Option<Batch> {
        if self.batch.records == 0 {
            return None;
        }
        self.started = None;
        let next = Batch {
            source: self.source,
            records: 0,
            data: Vec::with_capacity(self.batch.data.len()),
        };
        Some(std::mem::replace(&mut self.batch, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_records: u32) -> BatchLimits {
        BatchLimits {
            max_records,
            ..BatchLimits::default()
        }
    }

    #[test]
    fn records_are_length_prefixed_back_to_back() {
        let mut pending = Pending::new(3, &limits(10));
        assert!(!pending.push(b"abc", b""));
        assert!(!pending.push(b"de", b"fg")); // a wrapped perf sample
        assert!(!pending.push(b"", b""));
        let batch = pending.take().expect("three records");
        assert_eq!(batch.source, 3);
        assert_eq!(batch.records, 3);
        assert_eq!(
            batch.data,
            [
                &[3, 0, 0, 0][..],
                b"abc",
                &[4, 0, 0, 0],
                b"defg",
                &[0, 0, 0, 0]
            ]
            .concat()
        );
        assert_eq!(
            batch.iter().collect::<Vec<_>>(),
            [&b"abc"[..], b"defg", b""]
        );
    }

    #[test]
    fn a_batch_is_full_at_max_records_and_starts_over_empty() {
        let mut pending = Pending::new(0, &limits(2));
        assert!(pending.deadline().is_none());
        assert!(!pending.push(b"1", b""));
        let deadline = pending.deadline().expect("a record started the clock");
        assert!(deadline > Instant::now());
        assert!(pending.push(b"2", b""));
        assert_eq!(pending.take().map(|b| b.records), Some(2));
        assert!(pending.take().is_none());
        assert!(pending.deadline().is_none());
    }

    /// Records in the batch layout.
    fn layout(records: &[&[u8]]) -> Vec<u8> {
        let mut data = Vec::new();
        for record in records {
            data.extend_from_slice(&(record.len() as u32).to_le_bytes());
            data.extend_from_slice(record);
        }
        data
    }

    #[test]
    fn pieces_hold_at_most_the_records_asked_for_in_the_same_layout() {
        let mut pending = Pending::new(0, &limits(10));
        for record in [&b"a"[..], b"bc", b"", b"def", b"g", b"hi"] {
            pending.push(record, b"");
        }
        let batch = pending.take().expect("six records");
        let mut pieces = batch.pieces();
        let mut take = |n| {
            pieces
                .next_piece(n)
                .map(|(count, bytes)| (count, bytes.to_vec()))
        };
        assert_eq!(take(2), Some((2, layout(&[b"a", b"bc"]))));
        assert_eq!(take(0), Some((1, layout(&[b""]))));
        assert_eq!(take(2), Some((2, layout(&[b"def", b"g"]))));
        assert_eq!(take(100), Some((1, layout(&[b"hi"]))));
        assert_eq!(take(1), None);
        assert_eq!(batch.pieces().next_piece(100), Some((6, &batch.data[..])));
    }

    #[test]
    fn a_truncated_batch_iterates_its_whole_records_only() {
        let batch = Batch {
            source: 0,
            records: 2,
            data: [&[1, 0, 0, 0][..], b"x", &[9, 0, 0, 0], b"short"].concat(),
        };
        assert_eq!(batch.iter().collect::<Vec<_>>(), [&b"x"[..]]);
    }
}
