//! The wasm sandbox: decoder components run in wasmtime with a deadline on
//! every call, a memory cap and a bounded stack, and no imports at all.

mod bindings;
mod convert;
mod plugin;
mod restart;
mod runtime;

pub use plugin::{LoadError, WasmDecoder};
pub use restart::RestartPolicy;
pub use runtime::{Limits, Runtime};
