//! The generated bindings of `wit/0.2.1/decoder.wit`; the only `bindgen!` in
//! the agent. (`host/wit` links to the workspace's `wit/`, so the crate reads
//! nothing outside itself; the path's version is checked against
//! `WIT_VERSION` by a test.)

wasmtime::component::bindgen!({
    path: "wit/0.2.1",
    world: "decoder",
});

pub use self::bpfhost::decoder::{lookups, types};
