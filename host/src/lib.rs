//! bpfhost: an eBPF metrics agent.
//!
//! The agent loads eBPF objects ([`loader`]), reads their maps as flat
//! snapshots ([`maps`]), hands them to sandboxed wasm decoders ([`decoder`])
//! and serves the resulting [`metrics`] for Prometheus ([`exposition`]).

pub mod agent;
pub mod app;
pub mod cli;
pub mod cluster;
pub mod decoder;
pub mod exposition;
pub mod loader;
pub mod lookup;
pub mod manifest;
pub mod maps;
pub mod metrics;
pub mod offline;
pub mod pack;
pub mod server;
pub mod template;
pub mod testing;

/// An error and its sources, joined with `: `, for logs and status.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        // Some errors already interpolate their source; show it once.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}
