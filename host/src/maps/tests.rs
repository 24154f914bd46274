//! Map reading: the logic against a fake `bpf(2)`, then real kernel maps.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;

use super::sys::{self, BpfSys, RawMapInfo};
use super::{KernelMap, MapSnapshot, MapSource, MapType, ReadMethod};
use crate::testing::require_kernel;

/// An in-memory hash map with scripted misbehaviour.
#[derive(Default)]
struct Fake {
    entries: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    key_size: u32,
    value_size: u32,
    /// Errno of every batch call, if batching is "unsupported".
    batch_errno: Option<i32>,
    /// Entries per bucket; a batch smaller than a bucket gets ENOSPC.
    bucket: usize,
    /// Keys that vanish when they are looked up.
    vanish: Vec<Vec<u8>>,
    /// After this many `get_next_key` calls, restart from the first key once.
    restart_after: Option<usize>,
    calls: Mutex<usize>,
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl BpfSys for Fake {
    fn map_info(&self, _fd: BorrowedFd<'_>) -> io::Result<RawMapInfo> {
        Ok(RawMapInfo {
            map_type: 1,
            key_size: self.key_size,
            value_size: self.value_size,
            max_entries: 1000,
        })
    }

    unsafe fn lookup_batch(
        &self,
        _fd: BorrowedFd<'_>,
        in_batch: Option<&[u8]>,
        out_batch: &mut [u8],
        keys: &mut [u8],
        values: &mut [u8],
        count: &mut u32,
    ) -> io::Result<()> {
        if let Some(e) = self.batch_errno {
            *count = 0;
            return Err(errno(e));
        }
        let entries = self.entries.lock().expect("lock");
        let start = in_batch.map_or(0, |b| {
            u32::from_ne_bytes(b[..4].try_into().expect("4")) as usize
        });
        let (ks, vs) = (self.key_size as usize, self.value_size as usize);
        let all: Vec<_> = entries.iter().skip(start).collect();
        let bucket = self.bucket.max(1);
        let fit = (*count as usize / bucket) * bucket;
        if fit == 0 && !all.is_empty() {
            *count = 0;
            return Err(errno(libc::ENOSPC));
        }
        let n = fit.min(all.len());
        for (i, (k, v)) in all.iter().take(n).enumerate() {
            keys[i * ks..(i + 1) * ks].copy_from_slice(k);
            values[i * vs..(i + 1) * vs].copy_from_slice(v);
        }
        *count = n as u32;
        out_batch[..4].copy_from_slice(&((start + n) as u32).to_ne_bytes());
        if start + n >= entries.len() {
            Err(errno(libc::ENOENT))
        } else {
            Ok(())
        }
    }

    unsafe fn get_next_key(
        &self,
        _fd: BorrowedFd<'_>,
        key: Option<&[u8]>,
        next: &mut [u8],
    ) -> io::Result<()> {
        let entries = self.entries.lock().expect("lock");
        let mut calls = self.calls.lock().expect("lock");
        *calls += 1;
        let restart = self.restart_after == Some(*calls);
        let found = match key {
            Some(k) if !restart => entries
                .range::<[u8], _>((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                .next(),
            _ => entries.iter().next(),
        };
        let (k, _) = found.ok_or_else(|| errno(libc::ENOENT))?;
        next.copy_from_slice(k);
        Ok(())
    }

    unsafe fn lookup(&self, _fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
        if self.vanish.iter().any(|v| v == key) {
            return Err(errno(libc::ENOENT));
        }
        let entries = self.entries.lock().expect("lock");
        value.copy_from_slice(entries.get(key).ok_or_else(|| errno(libc::ENOENT))?);
        Ok(())
    }
}

fn fake(n: u32) -> Fake {
    let entries = (0..n)
        .map(|i| {
            let mut k = i.to_be_bytes().to_vec();
            k.extend_from_slice(&[7; 8]);
            (k, [i as u8; 20].to_vec())
        })
        .collect();
    Fake {
        entries: Mutex::new(entries),
        key_size: 12,
        value_size: 20,
        bucket: 1,
        ..Fake::default()
    }
}

/// Any fd will do for the fake; it never reaches the kernel.
fn dummy_fd() -> OwnedFd {
    std::fs::File::open("/dev/null")
        .expect("open /dev/null")
        .into()
}

fn pairs(s: &MapSnapshot) -> Vec<(Vec<u8>, Vec<u8>)> {
    let (ks, vs) = (
        s.key_size as usize,
        s.values.len() / (s.entries.max(1) as usize),
    );
    (0..s.entries as usize)
        .map(|i| {
            (
                s.keys[i * ks..(i + 1) * ks].to_vec(),
                s.values[i * vs..(i + 1) * vs].to_vec(),
            )
        })
        .collect()
}

/// `(key, value)` pairs of a map's entries.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn read_fake(f: Fake) -> (ReadMethod, MapSnapshot, Entries) {
    let expected: Vec<_> = f
        .entries
        .lock()
        .expect("lock")
        .clone()
        .into_iter()
        .filter(|(k, _)| !f.vanish.contains(k))
        .collect();
    let mut map = KernelMap::with_sys("m", dummy_fd(), Box::new(f)).expect("info");
    let mut snap = MapSnapshot::default();
    let method = map.read(&mut snap).expect("read");
    (method, snap, expected)
}

#[test]
fn batch_reads_across_many_chunks() {
    let (method, snap, expected) = read_fake(fake(10_000));
    assert_eq!(method, ReadMethod::Batch);
    assert_eq!(snap.entries, 10_000);
    assert_eq!(pairs(&snap), expected);
}

#[test]
fn a_bucket_larger_than_the_chunk_grows_the_chunk() {
    let mut f = fake(20_000);
    f.bucket = 5_000;
    let (method, snap, expected) = read_fake(f);
    assert_eq!(method, ReadMethod::Batch);
    assert_eq!(pairs(&snap), expected);
}

#[test]
fn unsupported_batch_falls_back_to_iteration() {
    for e in [libc::EINVAL, 524] {
        let mut f = fake(100);
        f.batch_errno = Some(e);
        let (method, snap, expected) = read_fake(f);
        assert_eq!(method, ReadMethod::Iteration);
        assert_eq!(pairs(&snap), expected);
    }
}

#[test]
fn entries_vanishing_mid_walk_are_skipped() {
    let mut f = fake(50);
    f.batch_errno = Some(libc::EINVAL);
    f.vanish = vec![[0, 0, 0, 3, 7, 7, 7, 7, 7, 7, 7, 7].to_vec()];
    let (_, snap, expected) = read_fake(f);
    assert_eq!(snap.entries, 49);
    assert_eq!(pairs(&snap), expected);
}

#[test]
fn a_walk_that_restarts_yields_no_duplicates() {
    let mut f = fake(50);
    f.batch_errno = Some(libc::EINVAL);
    f.restart_after = Some(20);
    let (_, snap, expected) = read_fake(f);
    let keys: HashSet<_> = pairs(&snap).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), snap.entries as usize, "no key twice");
    assert_eq!(pairs(&snap), expected);
}

// ---- real kernel maps ----

const HASH: u32 = 1;
const ARRAY: u32 = 2;
const PERCPU_HASH: u32 = 5;
const PERCPU_ARRAY: u32 = 6;
const LRU_HASH: u32 = 9;

fn stride(map_type: u32, value_size: usize) -> usize {
    if MapType::from_raw(map_type).is_per_cpu() {
        value_size.next_multiple_of(8) * super::cpus::possible().expect("cpus") as usize
    } else {
        value_size
    }
}

/// Creates and fills a map; returns the fd and what was written.
fn filled(
    map_type: u32,
    key_size: usize,
    value_size: usize,
    n: u32,
) -> (OwnedFd, BTreeMap<Vec<u8>, Vec<u8>>) {
    let fd = sys::create_map(map_type, key_size as u32, value_size as u32, n.max(1))
        .expect("create map");
    let s = stride(map_type, value_size);
    let mut written = BTreeMap::new();
    for i in 0..n {
        let mut key = vec![0u8; key_size];
        key[..4].copy_from_slice(&i.to_le_bytes());
        if key_size > 4 {
            key[key_size - 1] = 0xab;
        }
        let mut value = vec![0u8; s];
        for (j, b) in value.iter_mut().enumerate() {
            *b = (i as usize * 31 + j) as u8;
        }
        if s != value_size {
            // Per-CPU slots: the padding past value_size reads back as zero.
            let slot = value_size.next_multiple_of(8);
            for chunk in value.chunks_mut(slot) {
                chunk[value_size..].fill(0);
            }
        }
        sys::update(fd.as_fd(), &key, &value).expect("update");
        written.insert(key, value);
    }
    (fd, written)
}

fn read_real(fd: &OwnedFd, batch: bool) -> (ReadMethod, BTreeMap<Vec<u8>, Vec<u8>>, MapSnapshot) {
    let mut map = KernelMap::new("m", fd.try_clone().expect("dup")).expect("open map");
    if !batch {
        map.disable_batch();
    }
    let mut snap = MapSnapshot::default();
    let method = map.read(&mut snap).expect("read");
    let got: BTreeMap<_, _> = pairs(&snap).into_iter().collect();
    assert_eq!(got.len(), snap.entries as usize, "no duplicate keys");
    (method, got, snap)
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn real_maps_with_odd_sizes_read_back_exactly_by_batch_and_by_iteration() {
    require_kernel();
    for (map_type, key_size) in [
        (HASH, 12),
        (ARRAY, 4),
        (PERCPU_HASH, 12),
        (PERCPU_ARRAY, 4),
        (LRU_HASH, 12),
    ] {
        let (fd, written) = filled(map_type, key_size, 20, 300);
        let (method, by_batch, snap) = read_real(&fd, true);
        assert_eq!(method, ReadMethod::Batch, "type {map_type}");
        assert_eq!(by_batch, written, "type {map_type} by batch");
        let (method, by_iteration, _) = read_real(&fd, false);
        assert_eq!(method, ReadMethod::Iteration);
        assert_eq!(by_iteration, written, "type {map_type} by iteration");
        assert_eq!(snap.value_size, 20);
        assert_eq!(snap.map_type, Some(MapType::from_raw(map_type)));
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_map_mutated_while_read_gives_no_error_and_no_duplicates() {
    require_kernel();
    let (fd, _) = filled(HASH, 12, 20, 5_000);
    let writer_fd = fd.try_clone().expect("dup");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Bounded churn: delete and re-insert keys until the reader is done.
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 5_000_000 {
                let mut key = [0u8; 12];
                key[..4].copy_from_slice(&(i % 5_000).to_le_bytes());
                key[11] = 0xab;
                let _ = sys::delete(writer_fd.as_fd(), &key);
                let _ = sys::update(writer_fd.as_fd(), &key, &[1; 20]);
                i += 1;
            }
        });
        for round in 0..20 {
            read_real(&fd, round % 2 == 0);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn a_100k_hash_reads_the_same_by_batch_and_by_iteration() {
    require_kernel();
    let (fd, written) = filled(HASH, 12, 20, 100_000);
    let t = std::time::Instant::now();
    let (_, by_batch, _) = read_real(&fd, true);
    let batch_time = t.elapsed();
    let t = std::time::Instant::now();
    let (_, by_iteration, _) = read_real(&fd, false);
    let iteration_time = t.elapsed();
    assert_eq!(by_batch, written);
    assert_eq!(by_iteration, written);
    eprintln!("100k hash: batch {batch_time:?}, iteration {iteration_time:?} (context only)");
}
