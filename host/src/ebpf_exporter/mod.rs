//! Drop-in for [cloudflare/ebpf_exporter]: `bpfhost ebpf-exporter` takes
//! its flags, loads its configs and objects unchanged
//! (`<dir>/<name>.yaml` beside `<dir>/<name>.bpf.o`), runs each config as
//! an exporter with the built-in `ebpf-exporter` decoder, and serves its
//! series and its own built-in ones next to the agent's.
//!
//! - [`configs`](ConfigSet): configs into manifests (and `kaddrs` into
//!   globals);
//! - [`BuiltinMetrics`]: `ebpf_exporter_enabled_configs` and friends;
//! - [`DropIn`]: the flags, checked once, into the agent's [`RunConfig`];
//! - [`convert`]: the same manifests for a cluster.
//!
//! [cloudflare/ebpf_exporter]: https://github.com/cloudflare/ebpf_exporter

mod builtin_metrics;
mod configs;
mod convert;
mod flags;
mod kaddrs;

pub use builtin_metrics::BuiltinMetrics;
pub use configs::{ConfigName, ConfigSet, DECODER, NamesError};
pub use convert::{ConvertError, convert};
pub use flags::{DropIn, FlagError};

use crate::app::RunConfig;
