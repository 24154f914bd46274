//! The generated bindings of every `decoder` world the agent hosts; the
//! only `bindgen!`s in the agent. (`host/wit` links to the workspace's
//! `wit/`, so the crate reads nothing outside itself; the paths' versions
//! are checked against `WIT_ACCEPTED` by a test.)
//!
//! [`v0_3`] is the current world and its types are the agent's working
//! form; components built for 0.2 are served through [`v0_2`], whose
//! records `compat.rs` moves to and from the current ones.

/// `bpfhost:decoder@0.3.0`: events.
pub mod v0_3 {
    wasmtime::component::bindgen!({
        path: "wit/0.3.0",
        world: "decoder",
    });

    pub use self::bpfhost::decoder::{lookups, types};
}

/// `bpfhost:decoder@0.2.1`, which also serves components built for 0.2.0
/// (0.2.1 only added functions; wasmtime links a 0.2.0 import to it).
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "wit/0.2.1",
        world: "decoder",
    });

    pub use self::bpfhost::decoder::{lookups, types};
}

pub use v0_3::types;
