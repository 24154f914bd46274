//! Events: records BPF programs push through ring buffers and perf event
//! arrays, read off the kernel as they arrive and handed on in batches.
//!
//! A decoder declares event sources by map name; the agent takes each map
//! out of the loaded object ([`LoadedObject::take_event_map`]) and starts
//! [`Readers`] on them. Each source gets its own thread, sleeping in epoll
//! on the map (a ring buffer) or on one perf buffer per online CPU (a perf
//! event array), never on the async runtime's workers. Records are batched
//! ([`Batch`]: length-prefixed, back to back) until a batch holds
//! [`BatchLimits::max_records`] or [`BatchLimits::max_delay`] has passed
//! since its first record, then handed to the exporter's bounded queue with
//! `try_send`: when the queue is full the batch is dropped and counted, so
//! the kernel side never waits on the decoder. [`SourceCounters`] count
//! what was received and what was dropped, by [`DropReason`].
//!
//! A ring buffer record arrives with exactly the bytes the program
//! submitted. A perf sample arrives with the kernel's padding:
//! `bpf_perf_event_output` rounds the sample and its `u32` size up to 8
//! bytes, so a 38-byte record reads as 44 (decoders should read their
//! fields and ignore what follows). Records the programs could not reserve
//! in a full ring buffer never reach user space and are not counted here;
//! a perf buffer reports its lost samples, counted as
//! [`DropReason::KernelLost`].
//!
//! [`LoadedObject::take_event_map`]: crate::loader::LoadedObject::take_event_map

mod batch;
mod counters;
mod error;
mod map;
mod reader;
mod readers;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;

pub use batch::{Batch, BatchLimits, Pieces};
pub use counters::{DropReason, SourceCounters};
pub use error::EventsError;
pub use map::{EventMap, PERF_BUFFER_PAGES};
pub use readers::Readers;
