//! Records of the event sources a decoder declared: what
//! [`Decoder::on_events`](crate::Decoder::on_events) receives.

use crate::{Error, Result};

/// Refers to a declared event source; cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(pub(crate) u32);

impl SourceId {
    /// The source declared `index`-th (from 0), for building [`Events`] in
    /// tests; decoders keep the ids [`Spec::events`](crate::Spec::events)
    /// returns.
    pub fn new(index: u32) -> Self {
        Self(index)
    }

    /// The source's position in declaration order (0 for the first).
    pub fn index(self) -> u32 {
        self.0
    }
}

/// One batch of records of one event source, in the order the kernel
/// produced them.
///
/// Records are the bytes the BPF program submitted (`bpf_ringbuf_submit`,
/// `bpf_perf_event_output`); perf event array records may carry up to 7
/// bytes of the kernel's padding at the end, so read them with a
/// [`Reader`](crate::Reader) rather than comparing their lengths.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    source: SourceId,
    records: u32,
    data: &'a [u8],
    now: u64,
}

impl<'a> Events<'a> {
    /// Wraps a batch in the host's layout: `records` records back to back,
    /// each a `u32` little-endian length and then its bytes. Tests build
    /// `data` with [`Events::encode`].
    pub fn new(source: SourceId, records: u32, data: &'a [u8]) -> Self {
        Self {
            source,
            records,
            data,
            now: 0,
        }
    }

    /// Sets the time the batch was handed over (`CLOCK_MONOTONIC` in ns).
    #[must_use]
    pub fn at(mut self, now: u64) -> Self {
        self.now = now;
        self
    }

    /// Lays records out as the host does, for tests and benchmarks.
    pub fn encode<R: AsRef<[u8]>>(records: &[R]) -> Vec<u8> {
        let mut data = Vec::new();
        for record in records {
            let record = record.as_ref();
            let len = u32::try_from(record.len()).expect("a record under 4 GiB");
            data.extend_from_slice(&len.to_le_bytes());
            data.extend_from_slice(record);
        }
        data
    }

    /// The source these records come from.
    pub fn source(&self) -> SourceId {
        self.source
    }

    /// When the host handed the batch over: `CLOCK_MONOTONIC` in
    /// nanoseconds, the clock of `bpf_ktime_get_ns`.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records as usize
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The records. A batch whose layout does not add up (which the host
    /// never sends) ends with an [`Error::BadMap`].
    pub fn records(&self) -> Records<'a> {
        Records {
            rest: self.data,
            left: self.records,
        }
    }
}

/// The records of a batch, see [`Events::records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    left: u32,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let record = self.rest.split_first_chunk::<4>().and_then(|(len, rest)| {
            let len = u32::from_le_bytes(*len) as usize;
            (len <= rest.len()).then(|| rest.split_at(len))
        });
        if let Some((record, rest)) = record {
            self.rest = rest;
            Some(Ok(record))
        } else {
            self.left = 0;
            Some(Err(Error::BadMap(
                "event batch ends inside a record".into(),
            )))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_encoded_and_a_truncated_batch_ends_in_an_error() {
        let data = Events::encode(&[&b"exec"[..], b"", b"0123456789abcdef"]);
        let events = Events::new(SourceId(1), 3, &data).at(42);
        assert_eq!(
            (events.source().index(), events.now(), events.len()),
            (1, 42, 3)
        );
        let got: Vec<&[u8]> = events.records().map(Result::unwrap).collect();
        assert_eq!(got, [&b"exec"[..], b"", b"0123456789abcdef"]);

        let cut = &data[..data.len() - 1];
        let mut records = Events::new(SourceId(0), 3, cut).records();
        assert!(records.next().unwrap().is_ok());
        assert!(records.next().unwrap().is_ok());
        let err = records.next().unwrap().unwrap_err();
        assert!(err.to_string().contains("ends inside a record"), "{err}");
        assert!(records.next().is_none());
    }
}
