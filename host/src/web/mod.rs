//! How the agent's port is served: plain HTTP, or TLS, basic auth and
//! security headers from a web configuration file in the Prometheus
//! exporter-toolkit's format (`--web.config.file`).
//!
//! The file and the certificate, key and CA files it names are re-read
//! when they change (checked at most once a second, on new connections
//! and requests), so certificates rotate without a restart; a change that
//! does not load is logged and the previous configuration stays. Whether
//! the port speaks TLS at all is decided at start.

mod auth;
pub mod config;
mod listener;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

pub use auth::layer;
pub use config::{WebConfig, WebConfigError};
pub use listener::TlsListener;

use crate::sys::{read, write};

/// How often the files are checked for changes.
const RECHECK: Duration = Duration::from_secs(1);

/// A loaded web configuration.
#[derive(Debug)]
pub struct Loaded {
    pub config: WebConfig,
    /// The TLS server configuration, when `tls_server_config` is set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Loaded {
    fn from_file(path: &Path) -> Result<Self, WebConfigError> {
        let config = WebConfig::load(path)?;
        let tls = config
            .tls_server_config
            .as_ref()
            .map(|tls| tls::server_config(tls, path).map(Arc::new))
            .transpose()?;
        Ok(Self { config, tls })
    }
}

/// The web configuration in force, reloaded when its files change.
#[derive(Debug)]
pub struct Web {
    path: Option<PathBuf>,
    state: RwLock<State>,
}

#[derive(Debug)]
struct State {
    loaded: Arc<Loaded>,
    /// Modification times of the config file and the files it names.
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    checked: Instant,
}

impl Web {
    /// Plain HTTP, no authentication.
    pub fn plain() -> Self {
        Self {
            path: None,
            state: RwLock::new(State {
                loaded: Arc::new(Loaded {
                    config: WebConfig::default(),
                    tls: None,
                }),
                stamps: Vec::new(),
                checked: Instant::now(),
            }),
        }
    }

    /// The configuration of `path`; an error here stops the agent's start.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let loaded = Loaded::from_file(path)?;
        let stamps = stamps(path, &loaded.config);
        Ok(Self {
            path: Some(path.to_owned()),
            state: RwLock::new(State {
                loaded: Arc::new(loaded),
                stamps,
                checked: Instant::now(),
            }),
        })
    }

    /// Whether the port speaks TLS (fixed at start).
    pub fn uses_tls(&self) -> bool {
        read(&self.state).loaded.tls.is_some()
    }

    /// The configuration now, re-read first if a file changed.
    pub fn current(&self) -> Arc<Loaded> {
        let Some(path) = &self.path else {
            return read(&self.state).loaded.clone();
        };
        {
            let state = read(&self.state);
            if state.checked.elapsed() < RECHECK {
                return state.loaded.clone();
            }
        }
        let mut state = write(&self.state);
        if state.checked.elapsed() < RECHECK {
            return state.loaded.clone();
        }
        state.checked = Instant::now();
        let now = stamps(path, &state.loaded.config);
        if now != state.stamps {
            state.stamps = now;
            match Loaded::from_file(path) {
                Ok(loaded) if loaded.tls.is_some() == state.loaded.tls.is_some() => {
                    tracing::info!(path = %path.display(), "web config reloaded");
                    state.stamps = stamps(path, &loaded.config);
                    state.loaded = Arc::new(loaded);
                }
                Ok(_) => tracing::error!(
                    path = %path.display(),
                    "web config change ignored: turning TLS on or off needs a restart"
                ),
                Err(error) => tracing::error!(
                    error = %crate::error_chain(&error),
                    "web config change ignored; the previous one stays"
                ),
            }
        }
        state.loaded.clone()
    }
}

/// Modification times of the config file and the files it names.
fn stamps(path: &Path, config: &WebConfig) -> Vec<(PathBuf, Option<SystemTime>)> {
    std::iter::once(path.to_owned())
        .chain(config.files())
        .map(|file| {
            let modified = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
            (file, modified)
        })
        .collect()
}
