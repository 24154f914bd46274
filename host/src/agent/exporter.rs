//! One running exporter.

use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use super::events::{EventFeed, SourceReport};
use super::programs::{KernelObject, ProgramState, ProgramStatus};
use super::shared_decoder::SharedDecoder;
use crate::decoder::{Collection, Declaration, DecodeError, Decoder, TrapKind};
use crate::events::{EventMap, EventsError};
use crate::loader::ProgramStats;
use crate::maps::{MapError, MapSnapshot, MapSource};

/// A loaded exporter: kernel objects kept alive, map sources, a decoder,
/// the snapshot buffers reused across scrapes, and the feed of its event
/// sources, if it has any.
pub struct Exporter {
    name: String,
    /// Stopped first, before the maps it reads close.
    events: Option<EventFeed>,
    /// Everything that must live as long as the exporter (the loaded object,
    /// its links and sockets); dropped last, which detaches and unloads.
    kernel: Option<Box<dyn KernelObject>>,
    sources: Vec<Box<dyn MapSource>>,
    snapshots: Vec<MapSnapshot>,
    decoder: Arc<SharedDecoder>,
    programs_attached: usize,
    /// Every program of the object and where it stands.
    programs: Vec<ProgramStatus>,
    /// How long the decoder took in the last collection that reached it.
    last_decode: Option<Duration>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("name", &self.name)
            .field(
                "maps",
                &self.snapshots.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("programs_attached", &self.programs_attached)
            .finish_non_exhaustive()
    }
}

/// Errors of one collection.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Map(#[from] MapError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl Exporter {
    /// Assembles an exporter. `sources` must be the maps the decoder asked
    /// for, in any order.
    pub fn new(
        name: impl Into<String>,
        kernel: Option<Box<dyn KernelObject>>,
        sources: Vec<Box<dyn MapSource>>,
        decoder: Box<dyn Decoder>,
        programs_attached: usize,
    ) -> Self {
        let snapshots = sources
            .iter()
            .map(|s| MapSnapshot {
                name: s.name().to_owned(),
                ..MapSnapshot::default()
            })
            .collect();
        Self {
            name: name.into(),
            events: None,
            kernel,
            sources,
            snapshots,
            decoder: Arc::new(SharedDecoder::new(decoder)),
            programs_attached,
            programs: Vec::new(),
            last_decode: None,
        }
    }

    /// Records every program of the object and where it stands; the
    /// attached count follows from them.
    #[must_use]
    pub fn with_programs(mut self, programs: Vec<ProgramStatus>) -> Self {
        self.programs_attached = programs
            .iter()
            .filter(|p| p.state == ProgramState::Attached)
            .count();
        self.programs = programs;
        self
    }

    /// Every program of the object and where it stands.
    pub fn programs(&self) -> &[ProgramStatus] {
        &self.programs
    }

    /// The kernel's view of the loaded programs, read now.
    pub fn program_stats(&self) -> Vec<ProgramStats> {
        self.kernel
            .as_ref()
            .map_or_else(Vec::new, |k| k.program_stats())
    }

    /// The exporter's name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of programs attached.
    pub fn programs_attached(&self) -> usize {
        self.programs_attached
    }

    /// Starts handing the records of `maps`, the decoder's event sources
    /// in the order it declared them, to the decoder.
    pub fn start_events(&mut self, maps: Vec<EventMap>) -> Result<(), EventsError> {
        if !maps.is_empty() {
            self.events = Some(EventFeed::start(&self.name, self.decoder.clone(), maps)?);
        }
        Ok(())
    }

    /// The exporter's cgroup id map and its sync errors so far, if it has one.
    pub fn cgroup_id_map_errors(&self) -> Option<(String, u64)> {
        self.kernel.as_ref()?.cgroup_id_map_errors()
    }

    /// The families, maps and event sources the decoder declared.
    pub fn spec(&self) -> &Declaration {
        self.decoder.spec()
    }

    /// The decoder, once the event batch it may be handling is done.
    pub fn decoder(&self) -> MutexGuard<'_, Box<dyn Decoder>> {
        self.decoder.for_scrape()
    }

    /// Records received and dropped per event source, and traps of the
    /// event handler by kind, since the exporter started.
    pub fn event_report(&self) -> (Vec<SourceReport>, Vec<(TrapKind, u64)>) {
        self.events
            .as_ref()
            .map_or_else(Default::default, |feed| (feed.report(), feed.traps()))
    }

    /// Entries read per map by the last collection.
    pub fn map_entries(&self) -> impl Iterator<Item = (&str, u32)> {
        self.snapshots.iter().map(|s| (s.name.as_str(), s.entries))
    }

    /// How long the decoder took in the last collection that got as far
    /// as calling it.
    pub fn last_decode(&self) -> Option<Duration> {
        self.last_decode
    }

    /// Reads every map into fresh snapshots, leaving the buffers the
    /// collections reuse alone: for recording a dump.
    pub fn read_maps(&mut self) -> Result<Vec<MapSnapshot>, MapError> {
        self.sources
            .iter_mut()
            .map(|source| {
                let mut snapshot = MapSnapshot {
                    name: source.name().to_owned(),
                    ..MapSnapshot::default()
                };
                source.read(&mut snapshot)?;
                Ok(snapshot)
            })
            .collect()
    }

    /// Reads every map, then decodes them.
    pub fn collect(&mut self) -> Result<Collection, CollectError> {
        self.last_decode = None;
        for (source, snapshot) in self.sources.iter_mut().zip(&mut self.snapshots) {
            source.read(snapshot)?;
        }
        let started = Instant::now();
        // What the decoder writes to stdout/stderr is logged in this span.
        let span = tracing::info_span!("decoder", exporter = %self.name());
        let decoded = span.in_scope(|| self.decoder.for_scrape().decode(&mut self.snapshots));
        self.last_decode = Some(started.elapsed());
        Ok(decoded?)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        // Stop reading events, then close our map fds before the object
        // that owns the programs, so the kernel frees everything as soon as
        // the object goes.
        drop(self.events.take());
        self.sources.clear();
        drop(self.kernel.take());
    }
}
