use crate::{Error, Result, bytes};

/// Kernel map type of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    PerCpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    PerCpuArray,
    /// `BPF_MAP_TYPE_LRU_HASH`.
    LruHash,
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
    LruPerCpuHash,
    /// Any other type the host can read.
    Other,
}

impl MapType {
    /// Whether values hold one slot per possible CPU.
    pub fn is_per_cpu(self) -> bool {
        matches!(
            self,
            Self::PerCpuHash | Self::PerCpuArray | Self::LruPerCpuHash
        )
    }
}

/// One map as read by the host at scrape time: the layout
/// `BPF_MAP_LOOKUP_BATCH` returns.
///
/// `keys` holds `entries * key_size` bytes. `values` holds
/// `entries * value_size` bytes, or for per-CPU maps `cpus` slots per entry
/// of `value_size` rounded up to 8 bytes, CPU 0 first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSnapshot {
    /// The map's name in the ELF object.
    pub name: String,
    /// The kernel map type.
    pub map_type: MapType,
    /// Bytes per key.
    pub key_size: usize,
    /// Bytes per value (per CPU, before padding, for per-CPU maps).
    pub value_size: usize,
    /// Number of entries read.
    pub entries: usize,
    /// Possible CPUs: value slots per entry of a per-CPU map; 1 otherwise.
    pub cpus: usize,
    /// `entries * key_size` key bytes.
    pub keys: Vec<u8>,
    /// The value bytes of every entry, in key order.
    pub values: Vec<u8>,
}

impl MapSnapshot {
    /// Bytes one entry occupies in `values`.
    pub fn value_stride(&self) -> usize {
        if self.map_type.is_per_cpu() {
            self.value_size.next_multiple_of(8) * self.cpus
        } else {
            self.value_size
        }
    }
}

/// The maps handed to one [`Decoder::decode`](crate::Decoder::decode) call.
#[derive(Debug, Clone, Copy)]
pub struct Maps<'a> {
    snapshots: &'a [MapSnapshot],
    now: u64,
}

impl<'a> Maps<'a> {
    /// Wraps snapshots (the host does this; tests and native benchmarks too).
    pub fn new(snapshots: &'a [MapSnapshot]) -> Self {
        Self { snapshots, now: 0 }
    }

    /// Sets the scrape's time (`CLOCK_MONOTONIC` in ns).
    #[must_use]
    pub fn at(mut self, now: u64) -> Self {
        self.now = now;
        self
    }

    /// When the scrape happens: `CLOCK_MONOTONIC` in nanoseconds, the clock
    /// of `bpf_ktime_get_ns` and of [`Events::now`](crate::Events::now).
    /// Agents before bpfhost:decoder@0.3.0 never call a decoder built with
    /// this SDK, so it is always set.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The map called `name`, or [`Error::BadMap`] when the host did not
    /// provide it or its buffers do not match its declared sizes.
    pub fn get(&self, name: &str) -> Result<MapView<'a>> {
        let snapshot = self
            .snapshots
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| Error::BadMap(format!("map {name} was not provided")))?;
        MapView::new(snapshot)
    }

    /// Every provided map.
    pub fn iter(&self) -> impl Iterator<Item = Result<MapView<'a>>> + 'a {
        self.snapshots.iter().map(MapView::new)
    }
}

/// A checked view of one snapshot.
#[derive(Debug, Clone, Copy)]
pub struct MapView<'a> {
    snapshot: &'a MapSnapshot,
    stride: usize,
}

impl<'a> MapView<'a> {
    fn new(snapshot: &'a MapSnapshot) -> Result<Self> {
        let stride = snapshot.value_stride();
        let keys_ok = snapshot.keys.len() == snapshot.entries * snapshot.key_size;
        let values_ok = snapshot.values.len() == snapshot.entries * stride;
        if !keys_ok || !values_ok || (snapshot.map_type.is_per_cpu() && snapshot.cpus == 0) {
            return Err(Error::BadMap(format!(
                "map {}: {} entries do not fit {} key bytes and {} value bytes",
                snapshot.name,
                snapshot.entries,
                snapshot.keys.len(),
                snapshot.values.len()
            )));
        }
        Ok(Self { snapshot, stride })
    }

    /// The underlying snapshot.
    pub fn snapshot(&self) -> &'a MapSnapshot {
        self.snapshot
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.snapshot.entries
    }

    /// Whether the map had no entries.
    pub fn is_empty(&self) -> bool {
        self.snapshot.entries == 0
    }

    /// Fails with [`Error::BadMap`] unless keys and values have these sizes.
    pub fn expect_sizes(&self, key_size: usize, value_size: usize) -> Result<()> {
        if self.snapshot.key_size == key_size && self.snapshot.value_size == value_size {
            Ok(())
        } else {
            Err(Error::BadMap(format!(
                "map {}: expected {key_size}-byte keys and {value_size}-byte values, got {} and {}",
                self.snapshot.name, self.snapshot.key_size, self.snapshot.value_size
            )))
        }
    }

    /// The entries, in the order the kernel returned them.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'a>> + 'a {
        let s = self.snapshot;
        let stride = self.stride;
        let slot = if s.map_type.is_per_cpu() {
            s.value_size.next_multiple_of(8)
        } else {
            s.value_size
        };
        (0..s.entries).map(move |i| Entry {
            key: &s.keys[i * s.key_size..(i + 1) * s.key_size],
            value: &s.values[i * stride..(i + 1) * stride],
            value_size: s.value_size,
            slot,
        })
    }
}

/// One key and its value (all CPU slots for per-CPU maps).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The key bytes.
    pub key: &'a [u8],
    /// The value bytes: one value, or one slot per CPU for per-CPU maps.
    pub value: &'a [u8],
    value_size: usize,
    slot: usize,
}

impl<'a> Entry<'a> {
    /// The value of each CPU (a single item for maps that are not per-CPU),
    /// each exactly `value_size` bytes.
    pub fn per_cpu(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let value_size = self.value_size;
        self.value
            .chunks_exact(self.slot)
            .map(move |slot| &slot[..value_size])
    }

    /// The value as a little-endian `u64`, summed over CPUs for per-CPU maps.
    pub fn sum_u64(&self) -> Result<u64> {
        self.per_cpu()
            .try_fold(0u64, |sum, v| Ok(sum.wrapping_add(bytes::u64_le(v, 0)?)))
    }
}
