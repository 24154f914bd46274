//! bpfhost: an eBPF metrics agent.
//!
//! The agent loads eBPF objects ([`loader`]), reads their maps as flat
//! snapshots ([`maps`]), hands them to sandboxed wasm decoders ([`decoder`])
//! and serves the resulting [`metrics`] for Prometheus ([`exposition`]).

pub mod agent;
pub mod app;
pub mod cli;
pub mod decoder;
pub mod exposition;
pub mod loader;
pub mod manifest;
pub mod maps;
pub mod metrics;
pub mod server;
pub mod testing;
