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
//! ```no_run
//! use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec, bytes};
//!
//! struct Opens {
//!     opens: FamilyId,
//! }
//!
//! impl Decoder for Opens {
//!     fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
//!         let opens = spec.counter("file_opens", "Files opened, by process id", &["pid"]);
//!         spec.map("opens_by_pid");
//!         Ok(Self { opens })
//!     }
//!
//!     fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
//!         for entry in maps.get("opens_by_pid")?.entries() {
//!             let pid = bytes::u32_le(entry.key, 0)?;
//!             out.sample(self.opens, &[&pid.to_string()], entry.sum_u64()? as f64);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! bpfhost_plugin_sdk::export_decoder!(Opens);
//! ```
//!
//! The WIT contract lives in the repository's `wit/` folder
//! (`bpfhost:decoder@0.1.0`); the generated bindings stay private to this
//! crate, so decoders only ever see the types re-exported here.

// Lets the generated bindings name this crate the same way from inside it
// and from the plugin crates that expand `export_decoder!`.
extern crate self as bpfhost_plugin_sdk;

mod buckets;
pub mod bytes;
mod config;
mod error;
mod histograms;
mod maps;
mod output;
mod per_cpu;
mod reader;
mod snapshot;
mod spec;

#[doc(hidden)]
pub mod __private;

pub use buckets::Buckets;
pub use config::Config;
pub use error::{Error, Result};
pub use histograms::Histograms;
pub use maps::{Entry, MapSnapshot, MapType, MapView, Maps};
pub use output::{HistogramSample, Output, Sample};
pub use reader::{Part, Reader};
pub use spec::{Family, FamilyId, MetricType, Spec};

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
