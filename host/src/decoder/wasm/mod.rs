//! The wasm sandbox: decoder components run in wasmtime with a deadline on
//! every call, a memory cap and a bounded stack, and no imports at all.
//! Compiled components can be cached on disk ([`Runtime::enable_cache`]).

mod bindings;
mod cache;
mod convert;
mod limiter;
mod plugin;
mod restart;
mod runtime;

pub use cache::{CacheError, Compiled};
pub use plugin::{LoadError, WasmDecoder};
pub use restart::RestartPolicy;
pub use runtime::{Limits, Runtime};
