use std::fmt;

/// What a decoder reports when it cannot do its job. The agent logs it,
/// counts it in `bpfhost_decode_errors_total` and marks the exporter down for
/// that scrape; unlike a trap it does not restart the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The manifest's `decoder.config` is not usable.
    InvalidConfig(String),
    /// A map is missing or its layout is not what the decoder expects.
    BadMap(String),
    /// Anything else.
    Failed(String),
}

/// Result type of decoder functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            Self::BadMap(m) => write!(f, "bad map: {m}"),
            Self::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
