use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// The manifest's `decoder.config`, as handed to [`Decoder::init`](crate::Decoder::init).
#[derive(Debug, Clone)]
pub struct Config {
    json: String,
}

impl Config {
    /// Wraps the JSON text the host passes (`{}` when the manifest has none).
    pub fn new(json: impl Into<String>) -> Self {
        Self { json: json.into() }
    }

    /// The raw JSON text.
    pub fn as_json(&self) -> &str {
        &self.json
    }

    /// Deserializes the configuration into the decoder's own type.
    /// Use `#[serde(default)]` fields so an empty config is valid.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.json).map_err(|e| Error::InvalidConfig(e.to_string()))
    }
}
