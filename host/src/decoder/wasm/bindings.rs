//! The generated bindings of `wit/decoder.wit`; the only `bindgen!` in the
//! agent.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "decoder",
});

pub use self::bpfhost::decoder::{lookups, types};
