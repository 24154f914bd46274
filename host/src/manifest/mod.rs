//! `BpfExporter` manifests: types, parsing and source resolution.

pub mod spec;

pub use spec::*;
