//! Prometheus text 0.0.4 and `OpenMetrics` 1.0 encoding.
//!
//! prometheus-client encodes only `OpenMetrics`, and the agent must answer
//! text 0.0.4 by default; one encoder over [`crate::metrics`] serves both, so
//! the same families come out identically in either format. It writes
//! straight into the response body without allocating per sample, and
//! response bodies are reused across scrapes ([`BodyPool`]).

mod encoder;
mod escape;
mod negotiate;
mod recycle;

pub use encoder::Encoder;
pub use negotiate::Format;
pub use recycle::BodyPool;
