//! Event maps taken from a loaded object, and opened as sources a reader
//! drains: a ring buffer as it is, a perf event array with one perf buffer
//! per online CPU put in its slots.

use std::fmt;
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};

use aya::maps::perf::{PerfEvent, PerfEventArrayBuffer};
use aya::maps::{Map, MapData, PerfEventArray, RingBuf};

use super::EventsError;
use super::reader::{Event, Source};

/// Pages of each CPU's perf buffer (a power of two): 256 KiB with 4 KiB
/// pages, what libbpf tools commonly ask for.
pub const PERF_BUFFER_PAGES: usize = 64;

/// A ring buffer or perf event array map taken from a loaded object.
pub enum EventMap {
    /// A `BPF_MAP_TYPE_RINGBUF` map.
    RingBuf { name: String, map: RingBuf<MapData> },
    /// A `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map.
    PerfEventArray {
        name: String,
        map: PerfEventArray<MapData>,
    },
}

impl fmt::Debug for EventMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventMap")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .finish()
    }
}

impl EventMap {
    /// Whether `map` is a ring buffer or a perf event array.
    pub fn is_event_map(map: &Map) -> bool {
        matches!(map, Map::RingBuf(_) | Map::PerfEventArray(_))
    }

    /// Wraps `map`, a map taken out of its object. `kind` names the type of
    /// any other map, with an article ("a Hash"), for the error.
    pub fn from_map(
        name: &str,
        map: Map,
        kind: impl FnOnce(&Map) -> String,
    ) -> Result<Self, EventsError> {
        let name = name.to_owned();
        let taken = |kind: &'static str| {
            let map = name.clone();
            move |source| EventsError::Take { map, kind, source }
        };
        match map {
            Map::RingBuf(_) => Ok(Self::RingBuf {
                map: RingBuf::try_from(map).map_err(taken("ring buffer"))?,
                name,
            }),
            Map::PerfEventArray(_) => Ok(Self::PerfEventArray {
                map: PerfEventArray::try_from(map).map_err(taken("perf event array"))?,
                name,
            }),
            other => Err(EventsError::NotAnEventMap {
                kind: kind(&other),
                map: name,
            }),
        }
    }

    /// The map's name in the object.
    pub fn name(&self) -> &str {
        match self {
            Self::RingBuf { name, .. } | Self::PerfEventArray { name, .. } => name,
        }
    }

    /// "ring buffer" or "perf event array".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RingBuf { .. } => "ring buffer",
            Self::PerfEventArray { .. } => "perf event array",
        }
    }

    /// Readies the map for reading: a perf event array gets a perf buffer
    /// per online CPU.
    pub(super) fn open(self) -> Result<Box<dyn Source>, EventsError> {
        self.open_with(PERF_BUFFER_PAGES)
    }

    /// [`open`](Self::open) with perf buffers of `perf_pages` pages (a
    /// power of two) per CPU.
    pub(super) fn open_with(self, perf_pages: usize) -> Result<Box<dyn Source>, EventsError> {
        match self {
            Self::RingBuf { map, .. } => Ok(Box::new(RingSource { ring: map })),
            Self::PerfEventArray { name, mut map } => {
                let cpus =
                    aya::util::online_cpus().map_err(|(path, source)| EventsError::Cpus {
                        map: name.clone(),
                        path,
                        source,
                    })?;
                let mut buffers = Vec::with_capacity(cpus.len());
                for cpu in cpus {
                    let buffer = PerfEventArrayBuffer::open(cpu, perf_pages).map_err(|source| {
                        EventsError::PerfBuffer {
                            map: name.clone(),
                            cpu,
                            source,
                        }
                    })?;
                    map.set(cpu, &buffer)
                        .map_err(|source| EventsError::PerfBufferSlot {
                            map: name.clone(),
                            cpu,
                            source,
                        })?;
                    buffers.push(buffer);
                }
                Ok(Box::new(PerfSource {
                    buffers,
                    _array: map,
                }))
            }
        }
    }
}

/// A ring buffer: records in commit order, shared by every CPU.
struct RingSource {
    ring: RingBuf<MapData>,
}

impl Source for RingSource {
    fn fds(&self) -> Vec<RawFd> {
        vec![self.ring.as_raw_fd()]
    }

    fn drain(&mut self, f: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
        while let Some(item) = self.ring.next() {
            f(Event::Record(&item, &[]))?;
        }
        ControlFlow::Continue(())
    }
}

/// A perf event array with a buffer per online CPU. A sample's bytes carry
/// the kernel's padding: `bpf_perf_event_output` rounds the sample, with its
/// `u32` size, up to 8 bytes.
struct PerfSource {
    // Dropped first: each buffer disables its perf event.
    buffers: Vec<PerfEventArrayBuffer>,
    _array: PerfEventArray<MapData>,
}

impl Source for PerfSource {
    fn fds(&self) -> Vec<RawFd> {
        self.buffers.iter().map(AsRawFd::as_raw_fd).collect()
    }

    fn drain(&mut self, f: &mut dyn FnMut(Event<'_>) -> ControlFlow<()>) -> ControlFlow<()> {
        for buffer in &mut self.buffers {
            if !buffer.readable() {
                continue;
            }
            buffer.try_fold((), |(), event| match event {
                PerfEvent::Sample { head, tail } => f(Event::Record(head, tail)),
                PerfEvent::Lost { count } => f(Event::Lost(count)),
            })?;
        }
        ControlFlow::Continue(())
    }
}
