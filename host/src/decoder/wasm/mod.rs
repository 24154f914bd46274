//! The wasm sandbox: decoder components run in wasmtime with a deadline on
//! every call, a memory cap and a bounded stack. The only imports offered
//! are the host lookups the manifest grants ([`crate::lookup`]) and a WASI
//! 0.2 that grants nothing ([`wasi`]).
//! Compiled components can be cached on disk ([`Runtime::enable_cache`]).

mod bindings;
mod cache;
mod convert;
mod language;
mod limiter;
mod lookups;
mod plugin;
mod restart;
mod runtime;
mod wasi;
mod world;

pub use cache::{CacheError, Compiled};
pub use language::SourceLanguage;
pub use plugin::{PluginLoadError, WIT_ACCEPTED, WIT_VERSION, WasmDecoder};
pub use restart::RestartPolicy;
pub use runtime::{Limits, Runtime};
pub use wasi::LINKED as WASI_LINKED;
