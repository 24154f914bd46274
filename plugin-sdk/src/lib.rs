//! Write bpfhost decoder plugins.
//!
//! bpfhost reads the BPF maps of an eBPF program and hands them, one flat
//! snapshot per map, to a *decoder*: a WebAssembly component that turns raw
//! key and value bytes into Prometheus series. This crate is everything a
//! decoder author needs:
//!
//! 1. implement [`Decoder`]: declare metric families once in
//!    [`Decoder::init`], turn map snapshots into rows in [`Decoder::decode`];
//! 2. register the type with [`export_decoder!`];
//! 3. build with `cargo build --target wasm32-unknown-unknown --release` and
//!    turn the module into a component (`cargo xtask build` does both).
//!
//! # Concepts
//!
//! - **Snapshots.** [`Maps`] holds every map the host read for this scrape;
//!   [`MapView::entries`] walks one map's keys and values as byte slices, in
//!   the layout `BPF_MAP_LOOKUP_BATCH` returns. For per-CPU maps an
//!   [`Entry`] holds one value per CPU: fold them with [`Entry::sum_by`] and
//!   [`Entry::sum_fields`], or keep a `cpu` label with
//!   [`Output::sample_per_cpu`].
//! - **C layouts.** A [`Reader`] reads a key or value field by field in
//!   declaration order, inserting the padding a C compiler would, with
//!   little-endian, network-order, address and `char[]` fields. Errors say
//!   which field did not fit: `key too short: need 8 bytes at offset 8,
//!   have 12`.
//! - **Families and rows.** A decoder declares its families once in a
//!   [`Spec`] and gets a [`FamilyId`] for each; every decode emits compact
//!   rows into an [`Output`]. One struct value can feed several families
//!   ([`Output::row`]).
//! - **Histograms.** [`Buckets`] describes how a program lays out bucket
//!   counters (power-of-two, with a zero slot, linear, fixed bounds, an
//!   overflow slot, a sum slot, a unit scale); [`Histograms`] groups
//!   counters by labels and emits real Prometheus histograms.
//! - **Host lookups.** [`lookup`] turns ids into names the host knows: a
//!   cgroup id into its pod, namespace and container, a pid into its
//!   command, a syscall number or errno into its name, and more. A
//!   decoder gets only the lookups its manifest grants.
//! - **Events.** A decoder may also take the records of ring buffers and
//!   perf event arrays as they arrive ([`Spec::events`],
//!   [`Decoder::on_events`], [`Events`]), keep what they say in [`state`]
//!   (counters and histograms by label set, forgetting label sets that
//!   went quiet) and emit it at the next scrape.
//! - **Native tests.** `export_decoder!` expands to nothing off `wasm32`, so
//!   a plugin crate unit-tests its decoder natively with snapshots built by
//!   [`MapSnapshot::new`].
//!
//! # Example
//!
//! A decoder for a program with two maps: `conns`, a per-CPU hash keyed by
//! `struct { __be32 saddr; __be32 daddr; __be16 dport; }` with values
//! `struct { __u64 packets; __u64 bytes; }`, and `rtt`, a hash of round-trip
//! times in microseconds keyed by `struct { __u64 cgroup; __u32 slot; }`
//! holding log2 buckets and, at slot 27, their sum.
//!
//! ```no_run
//! use bpfhost_plugin_sdk::{
//!     Buckets, Config, Decoder, FamilyId, Histograms, Maps, Output, Reader, Result, Spec,
//! };
//!
//! struct Conns {
//!     packets: FamilyId,
//!     bytes: FamilyId,
//!     rtt: FamilyId,
//!     rtt_buckets: Buckets,
//! }
//!
//! impl Decoder for Conns {
//!     fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
//!         let labels = ["src", "dst", "port"];
//!         let rtt_buckets = Buckets::exp2(27).sum_slot().scale(1e-6);
//!         spec.map("conns");
//!         spec.map("rtt");
//!         Ok(Self {
//!             packets: spec.counter("conn_packets", "Packets, by connection", &labels),
//!             bytes: spec.counter("conn_bytes", "Bytes, by connection", &labels),
//!             rtt: spec.histogram(
//!                 "tcp_rtt_seconds",
//!                 "TCP round-trip time, by cgroup",
//!                 &["cgroup"],
//!                 &rtt_buckets.bounds()?,
//!             ),
//!             rtt_buckets,
//!         })
//!     }
//!
//!     fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
//!         for entry in maps.get("conns")?.entries() {
//!             let mut k = Reader::key(entry.key);
//!             let src = k.ipv4()?.to_string();
//!             let dst = k.ipv4()?.to_string();
//!             let port = k.u16_be()?.to_string();
//!             // Summed over CPUs, field by field.
//!             let [packets, bytes] = entry.sum_fields(|v| Ok([v.u64()?, v.u64()?]))?;
//!             out.row(
//!                 &[&src, &dst, &port],
//!                 [(self.packets, packets as f64), (self.bytes, bytes as f64)],
//!             );
//!         }
//!
//!         let mut rtt = Histograms::new(&self.rtt_buckets);
//!         for entry in maps.get("rtt")?.entries() {
//!             let mut k = Reader::key(entry.key);
//!             let cgroup = k.u64()?;
//!             let slot = k.u32()?;
//!             rtt.add_entry(&[&cgroup.to_string()], slot.into(), &entry)?;
//!         }
//!         rtt.emit(out, self.rtt);
//!         Ok(())
//!     }
//! }
//!
//! bpfhost_plugin_sdk::export_decoder!(Conns);
//! ```
//!
//! The WIT contract lives in the repository's `wit/` folder
//! (`bpfhost:decoder@0.3.0`); the generated bindings stay private to this
//! crate, so decoders only ever see the types re-exported here. The crate's
//! `README.md` is the author's guide: Cargo setup, native tests, building
//! and shipping a component.

#![deny(missing_docs)]

// Lets the generated bindings name this crate the same way from inside it
// and from the plugin crates that expand `export_decoder!`.
extern crate self as bpfhost_plugin_sdk;

mod buckets;
pub mod bytes;
mod config;
mod error;
mod events;
mod histograms;
pub mod lookup;
mod maps;
mod output;
mod per_cpu;
mod reader;
mod snapshot;
mod spec;
pub mod state;

#[doc(hidden)]
pub mod __private;

pub use buckets::Buckets;
pub use config::Config;
pub use error::{Error, Result};
pub use events::{Events, Records, SourceId};
pub use histograms::Histograms;
pub use maps::{Entry, MapSnapshot, MapType, MapView, Maps};
pub use output::{
    HistogramSample, HistogramView, LabelIter, LabelValues, Output, Sample, SampleView,
};
pub use reader::{Part, Reader};
pub use spec::{EventSource, Family, FamilyId, MetricType, Spec};

/// Formats integers for label values: `itoa::Buffer::new().format(n)`.
/// Prefer it to `format!`/`write!` on a decoder's hot path: in wasm32,
/// `core::fmt` formats every integer through 64-bit divisions, which made a
/// label formatted per event the largest cost of the benchmark's event
/// handler; `itoa` formats a `u32` in 32-bit arithmetic.
pub use itoa;

/// A decoder plugin: declares its families once, then turns map snapshots
/// into series at every scrape.
///
/// One instance lives as long as the plugin; state kept in `self` survives
/// between scrapes.
pub trait Decoder: Sized + 'static {
    /// Called once with the manifest's `decoder.config`. Declare the metric
    /// families (and optionally the maps to read) in `spec`.
    fn init(config: &Config, spec: &mut Spec) -> Result<Self>;

    /// Called at every scrape with the maps declared in `init` (all of the
    /// object's maps when none were declared).
    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()>;

    /// Called with each batch of records of the event sources declared in
    /// `init` ([`Spec::events`]), between (never during) decodes. Keep what
    /// the records say in `self` ([`state`] has counters and histograms
    /// by label set, with expiry) and emit it in [`Decoder::decode`].
    ///
    /// The default refuses the batch: a decoder that declares event sources
    /// must handle them. An error drops the batch (the host counts its
    /// records as dropped, `reason="decoder_error"`).
    fn on_events(&mut self, events: &Events<'_>) -> Result<()> {
        Err(Error::Failed(format!(
            "the decoder declares event source {} but does not handle events",
            events.source().index()
        )))
    }
}

/// Registers a [`Decoder`] type as the plugin's implementation.
///
/// Expands to the component exports when built for `wasm32`; elsewhere (for
/// native tests and benchmarks) it expands to nothing.
#[macro_export]
macro_rules! export_decoder {
    ($decoder:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __BpfhostAdapter = $crate::__private::Adapter<$decoder>;
            $crate::__private::export_world!(
                __BpfhostAdapter with_types_in $crate::__private::bindings
            );
        };
    };
}
