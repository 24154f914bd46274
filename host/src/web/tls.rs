//! The rustls server configuration of a web config's `tls_server_config`.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::config::{TlsServerConfig, WebConfigError};

/// The toolkit's `client_auth_type`s that rustls can honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    VerifyIfGiven,
    RequireAndVerify,
}

/// Builds the server configuration. `path` is the web config's, for
/// messages.
pub fn server_config(tls: &TlsServerConfig, path: &Path) -> Result<ServerConfig, WebConfigError> {
    let invalid = |field: &str, message: String| WebConfigError::Invalid {
        path: path.to_owned(),
        field: format!("tls_server_config.{field}"),
        message,
    };
    if !tls.client_allowed_sans.is_empty() {
        return Err(invalid(
            "client_allowed_sans",
            "not supported by bpfhost yet; verify clients by their CA".to_owned(),
        ));
    }
    let mut provider = ring::default_provider();
    if !tls.cipher_suites.is_empty() {
        provider.cipher_suites = cipher_suites(&tls.cipher_suites)
            .map_err(|message| invalid("cipher_suites", message))?;
    }
    if !tls.curve_preferences.is_empty() {
        provider.kx_groups = kx_groups(&tls.curve_preferences)
            .map_err(|message| invalid("curve_preferences", message))?;
    }
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())
        .map_err(|message| invalid("min_version", message))?;
    let provider = Arc::new(provider);

    let certs = match (&tls.cert_file, &tls.cert) {
        (Some(file), _) => CertificateDer::pem_file_iter(file)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| pem_error(path, "cert_file", file, &e))?,
        (None, Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("cert", e.to_string()))?,
        (None, None) => Vec::new(),
    };
    if certs.is_empty() {
        return Err(invalid("cert_file", "no certificate in the PEM".to_owned()));
    }
    let key = match (&tls.key_file, &tls.key) {
        (Some(file), _) => {
            PrivateKeyDer::from_pem_file(file).map_err(|e| pem_error(path, "key_file", file, &e))?
        }
        // Never quote the key in a message.
        (None, Some(pem)) => PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| invalid("key", "no private key in the PEM".to_owned()))?,
        (None, None) => return Err(invalid("key_file", "required".to_owned())),
    };

    let auth = client_auth(tls).map_err(|message| invalid("client_auth_type", message))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| invalid("min_version", e.to_string()))?;
    let builder = if auth == ClientAuth::None {
        builder.with_no_client_auth()
    } else {
        let roots = client_roots(tls, path)?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if auth == ClientAuth::VerifyIfGiven {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        builder.with_client_cert_verifier(
            verifier
                .build()
                .map_err(|e| invalid("client_ca_file", e.to_string()))?,
        )
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid("key_file", format!("does not match the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn pem_error(
    path: &Path,
    field: &'static str,
    file: &Path,
    error: &rustls::pki_types::pem::Error,
) -> WebConfigError {
    let source = match error {
        rustls::pki_types::pem::Error::Io(e) => std::io::Error::new(e.kind(), e.to_string()),
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
    };
    WebConfigError::File {
        path: path.to_owned(),
        field,
        file: file.to_owned(),
        source,
    }
}

/// `client_auth_type`, defaulting as the toolkit does: with a client CA,
/// `RequireAndVerifyClientCert`; without, `NoClientCert`.
fn client_auth(tls: &TlsServerConfig) -> Result<ClientAuth, String> {
    let has_ca = tls.client_ca_file.is_some() || tls.client_ca.is_some();
    let auth = match tls.client_auth_type.as_deref() {
        None | Some("") if has_ca => ClientAuth::RequireAndVerify,
        None | Some("" | "NoClientCert") => ClientAuth::None,
        Some("VerifyClientCertIfGiven") => ClientAuth::VerifyIfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerify,
        Some(other @ ("RequestClientCert" | "RequireAnyClientCert")) => {
            return Err(format!(
                "{other} accepts certificates nobody verified, which rustls does not do; \
                 use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
            ));
        }
        Some(other) => {
            return Err(format!(
                "unknown {other}; one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
            ));
        }
    };
    if auth != ClientAuth::None && !has_ca {
        return Err(
            "client certificates are verified against client_ca_file, which is not set".to_owned(),
        );
    }
    Ok(auth)
}

fn client_roots(tls: &TlsServerConfig, path: &Path) -> Result<RootCertStore, WebConfigError> {
    let certs: Vec<CertificateDer<'static>> = match (&tls.client_ca_file, &tls.client_ca) {
        (Some(file), _) => CertificateDer::pem_file_iter(file)
            .and_then(Iterator::collect)
            .map_err(|e| pem_error(path, "client_ca_file", file, &e))?,
        (None, Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| WebConfigError::Invalid {
                path: path.to_owned(),
                field: "tls_server_config.client_ca".to_owned(),
                message: e.to_string(),
            })?,
        (None, None) => Vec::new(),
    };
    let mut roots = RootCertStore::empty();
    let (_, refused) = roots.add_parsable_certificates(certs);
    if roots.is_empty() || refused > 0 {
        return Err(WebConfigError::Invalid {
            path: path.to_owned(),
            field: "tls_server_config.client_ca_file".to_owned(),
            message: format!("{} usable CA certificates, {refused} unusable", roots.len()),
        });
    }
    Ok(roots)
}

/// TLS versions from the toolkit's names; rustls speaks 1.2 and 1.3 only.
fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let rank = |name: &str| match name {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!(
            "{name} is not supported (rustls speaks TLS12 and TLS13)"
        )),
        other => Err(format!("unknown TLS version {other}; TLS12 or TLS13")),
    };
    let min = min.filter(|v| !v.is_empty()).map_or(Ok(12), rank)?;
    let max = max.filter(|v| !v.is_empty()).map_or(Ok(13), rank)?;
    if min > max {
        return Err("min_version is above max_version".to_owned());
    }
    Ok(
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, version)| version)
            .collect(),
    )
}

/// TLS 1.2 suites by Go's names (with or without the `_SHA256` of the
/// ChaCha20 suites); TLS 1.3's always stay, as in Go.
fn cipher_suites(names: &[String]) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    let all = ring::ALL_CIPHER_SUITES;
    let mut chosen: Vec<rustls::SupportedCipherSuite> = all
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    for name in names {
        let found = all.iter().find(|s| {
            let rustls_name = format!("{:?}", s.suite());
            rustls_name == *name || rustls_name == format!("{name}_SHA256")
        });
        match found {
            Some(suite) if !chosen.contains(suite) => chosen.push(*suite),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{name} is not supported; rustls offers {}",
                    all.iter()
                        .filter(|s| s.version() == &rustls::version::TLS12)
                        .map(|s| format!("{:?}", s.suite()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(chosen)
}

/// Key exchange groups by Go's curve names.
fn kx_groups(
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, String> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "X25519" => Ok(ring::kx_group::X25519),
            "CurveP256" => Ok(ring::kx_group::SECP256R1),
            "CurveP384" => Ok(ring::kx_group::SECP384R1),
            other => Err(format!(
                "{other} is not supported; X25519, CurveP256 or CurveP384"
            )),
        })
        .collect()
}

/// The crypto provider every TLS piece uses (ring, as the Kubernetes
/// client does).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_suites_and_curves_map_from_gos_names() {
        assert_eq!(versions(None, None).expect("default").len(), 2);
        assert_eq!(
            versions(Some("TLS13"), None).expect("1.3"),
            [&rustls::version::TLS13]
        );
        assert!(versions(Some("TLS10"), None).is_err());
        assert!(versions(Some("TLS13"), Some("TLS12")).is_err());
        let suites =
            cipher_suites(&["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_owned()]).expect("known");
        assert!(
            suites.iter().any(
                |s| format!("{:?}", s.suite()) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            )
        );
        assert!(cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".to_owned()]).is_err());
        assert!(kx_groups(&["CurveP521".to_owned()]).is_err());
    }

    #[test]
    fn client_auth_defaults_like_the_toolkit() {
        let with_ca = TlsServerConfig {
            client_ca: Some("pem".into()),
            ..TlsServerConfig::default()
        };
        assert_eq!(client_auth(&with_ca), Ok(ClientAuth::RequireAndVerify));
        assert_eq!(
            client_auth(&TlsServerConfig::default()),
            Ok(ClientAuth::None)
        );
        let without_ca = TlsServerConfig {
            client_auth_type: Some("RequireAndVerifyClientCert".into()),
            ..TlsServerConfig::default()
        };
        assert!(client_auth(&without_ca).is_err());
        let unverified = TlsServerConfig {
            client_auth_type: Some("RequireAnyClientCert".into()),
            ..with_ca
        };
        assert!(client_auth(&unverified).is_err());
    }
}
