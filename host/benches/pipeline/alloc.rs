//! A global allocator that counts allocations, to prove the hot path does
//! not allocate per entry where it should not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting every `alloc` and `realloc` (process-wide,
/// every thread).
#[derive(Debug)]
pub struct Counting;

// SAFETY: forwards every call to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (and bytes requested) made by the whole process while `f`
/// ran.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, Counted) {
    let (a, b) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    let result = f();
    let counted = Counted {
        allocations: ALLOCATIONS.load(Ordering::SeqCst) - a,
        bytes: BYTES.load(Ordering::SeqCst) - b,
    };
    (result, counted)
}

/// What [`count`] measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counted {
    pub allocations: u64,
    pub bytes: u64,
}

/// Allocations of each stage of one scrape of one case.
#[derive(Debug, Default)]
pub struct Report {
    pub kind: &'static str,
    pub entries: u32,
    pub read: Counted,
    pub decode_wasm: Counted,
    pub decode_native: Counted,
    pub encode: Counted,
    pub scrape: Counted,
    /// The whole HTTP scrape of the smallest case, for the fixed cost.
    pub small_scrape: Option<(u32, Counted)>,
}

/// Counts the allocations of every stage at the largest size up to 100k
/// (per-CPU hash), each counted on its second run so buffers are warm.
pub fn measure(cases: &mut [crate::stages::Case]) -> Report {
    let per_cpu = |c: &&mut crate::stages::Case| c.kind == crate::fixture::Kind::PerCpuHash;
    let mut candidates: Vec<&mut crate::stages::Case> =
        cases.iter_mut().filter(|c| per_cpu(c)).collect();
    candidates.sort_by_key(|c| c.entries);
    let small = candidates.first_mut().map(|c| {
        c.scrape_wasm_once();
        (c.entries, count(|| c.scrape_wasm_once()).1)
    });
    let case = candidates
        .into_iter()
        .rev()
        .find(|c| c.entries <= 100_000)
        .expect("a case of at most 100k entries");
    let mut report = Report {
        kind: case.kind.name(),
        entries: case.entries,
        small_scrape: small,
        ..Report::default()
    };
    for _ in 0..2 {
        report.read = count(|| case.read_batch_once()).1;
        let (collection, decode) = count(|| case.decode_wasm_once());
        report.decode_wasm = decode;
        report.encode = count(|| case.encode_once(&collection)).1;
        drop(collection);
        let (collection, decode) = count(|| case.decode_native_once());
        report.decode_native = decode;
        drop(collection);
        report.scrape = count(|| case.scrape_wasm_once()).1;
    }
    report
}
