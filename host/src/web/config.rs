//! The web configuration file, in the Prometheus exporter-toolkit's format
//! (`--web.config.file`), so the file node_exporter uses works here:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: ca.crt
//!   min_version: TLS12
//! http_server_config:
//!   headers: {Strict-Transport-Security: max-age=31536000}
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt
//! ```
//!
//! Relative file names are relative to the configuration file, as in the
//! toolkit. Unknown fields are refused, as the toolkit's strict parse does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name → bcrypt hash of the password.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The certificate itself, PEM, instead of `cert_file`.
    #[serde(default)]
    pub cert: Option<String>,
    /// The key itself, PEM, instead of `key_file`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub client_ca: Option<String>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    /// Go's names of TLS 1.2 suites (TLS 1.3's are not configurable).
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Go's server-side preference flag; rustls always prefers the
    /// server's order.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// Go's names of key exchange groups.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// Client certificates' subject alternative names allowed (exact).
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
}

/// `http_server_config`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility; bpfhost serves HTTP/1.1.
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response (only the security headers the
    /// toolkit allows).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Why the web configuration cannot be used. Never carries a password or
/// a hash.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read the web config {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("web config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("web config {path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("web config {path}: cannot read {field} {file}")]
    File {
        path: PathBuf,
        field: &'static str,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The response headers the toolkit lets a web config set.
const ALLOWED_HEADERS: &[&str] = &[
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

impl WebConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`, read from `path` (for messages and relative files).
    pub fn parse(text: &str, path: &Path) -> Result<Self, WebConfigError> {
        let mut config: Self = if text.trim().is_empty() {
            Self::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| WebConfigError::Parse {
                path: path.to_owned(),
                // serde_yaml's message names the field; it never quotes
                // the values of a map it failed on.
                message: e.to_string(),
            })?
        };
        let invalid = |field: &str, message: String| WebConfigError::Invalid {
            path: path.to_owned(),
            field: field.to_owned(),
            message,
        };
        for name in config.http_server_config.headers.keys() {
            if !ALLOWED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                return Err(invalid(
                    "http_server_config.headers",
                    format!(
                        "header {name} cannot be set; allowed: {}",
                        ALLOWED_HEADERS.join(", ")
                    ),
                ));
            }
        }
        for (user, hash) in &config.basic_auth_users {
            if bcrypt_cost(hash).is_none() {
                return Err(invalid(
                    "basic_auth_users",
                    format!(
                        "the password of user {user} is not a bcrypt hash ($2a$, $2b$ or $2y$)"
                    ),
                ));
            }
        }
        if let Some(tls) = &mut config.tls_server_config {
            let base = path.parent().unwrap_or(Path::new("."));
            for file in [
                &mut tls.cert_file,
                &mut tls.key_file,
                &mut tls.client_ca_file,
            ]
            .into_iter()
            .flatten()
            {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
            let pairs = [
                (
                    "cert_file",
                    tls.cert_file.is_some(),
                    "cert",
                    tls.cert.is_some(),
                ),
                ("key_file", tls.key_file.is_some(), "key", tls.key.is_some()),
            ];
            for (file, has_file, inline, has_inline) in pairs {
                match (has_file, has_inline) {
                    (true, true) => {
                        return Err(invalid(
                            "tls_server_config",
                            format!("set {file} or {inline}, not both"),
                        ));
                    }
                    (false, false) => {
                        return Err(invalid(
                            "tls_server_config",
                            format!("{file} (or {inline}) is required"),
                        ));
                    }
                    _ => {}
                }
            }
            if tls.client_ca_file.is_some() && tls.client_ca.is_some() {
                return Err(invalid(
                    "tls_server_config",
                    "set client_ca_file or client_ca, not both".to_owned(),
                ));
            }
        }
        Ok(config)
    }

    /// The files this configuration reads, whose changes reload it.
    pub fn files(&self) -> Vec<PathBuf> {
        self.tls_server_config
            .iter()
            .flat_map(|tls| [&tls.cert_file, &tls.key_file, &tls.client_ca_file])
            .flatten()
            .cloned()
            .collect()
    }
}

/// The cost of a bcrypt hash (`$2b$10$...` → 10), if it is one.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let rest = hash
        .strip_prefix("$2a$")
        .or_else(|| hash.strip_prefix("$2b$"))
        .or_else(|| hash.strip_prefix("$2y$"))?;
    let (cost, salt_and_hash) = rest.split_once('$')?;
    (salt_and_hash.len() == 53)
        .then(|| cost.parse().ok())
        .flatten()
        .filter(|c| (4..=31).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$X0b2vLjPfxF4xbl9ZyhwEeUFbxdw8EDa3qsbGDbODJg3d0jaaOfcq";

    fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(text, Path::new("/etc/bpfhost/web.yml"))
    }

    #[test]
    fn node_exporters_file_parses_with_relative_files() {
        let config = parse(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: /keys/server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n\
             http_server_config:\n  http2: true\n  headers: {{X-Frame-Options: deny}}\n\
             basic_auth_users:\n  prometheus: {HASH}\n"
        ))
        .expect("valid");
        let tls = config.tls_server_config.as_ref().expect("tls");
        assert_eq!(
            tls.cert_file.as_deref(),
            Some(Path::new("/etc/bpfhost/server.crt"))
        );
        assert_eq!(tls.key_file.as_deref(), Some(Path::new("/keys/server.key")));
        assert_eq!(config.files().len(), 3);
        assert_eq!(config.basic_auth_users["prometheus"], HASH);
        assert_eq!(parse("").expect("empty is valid"), WebConfig::default());
    }

    #[test]
    fn mistakes_are_refused_by_field_without_the_secret() {
        let cases = [
            (
                "tls_server_config: {cert_file: a, key_file: b, cert_fil: c}",
                "cert_fil",
            ),
            (
                "tls_server_config: {cert_file: a}",
                "key_file (or key) is required",
            ),
            (
                "tls_server_config: {cert_file: a, cert: x, key_file: b}",
                "cert_file or cert",
            ),
            (
                "http_server_config: {headers: {Server: x}}",
                "header Server cannot be set",
            ),
            (
                "basic_auth_users: {u: hunter2}",
                "user u is not a bcrypt hash",
            ),
            ("basic_auth: {}", "basic_auth"),
        ];
        for (text, expected) in cases {
            let message = crate::error_chain(&parse(text).expect_err(text));
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
