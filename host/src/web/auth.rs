//! Basic authentication and response headers from the web configuration.
//!
//! Passwords are checked against bcrypt hashes off the async workers
//! (bcrypt is slow on purpose); a success is remembered by a digest of the
//! user, password and hash, so a scraper's every-15-seconds request does
//! not pay it again. Credentials are never logged. `/healthz` and
//! `/readyz` answer without credentials: kubelet probes carry none, and
//! they tell nothing but "up".

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::Web;
use crate::sys::lock;

/// Remembered successes before the memory is cleared.
const REMEMBERED: usize = 1024;

/// Paths served without credentials.
const OPEN_PATHS: &[&str] = &["/healthz", "/readyz"];

/// State of the middleware.
#[derive(Debug, Clone)]
pub struct Auth {
    web: Arc<Web>,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

/// Wraps `router` in basic auth and headers from `web`.
pub fn layer(router: axum::Router, web: Arc<Web>) -> axum::Router {
    let state = Auth {
        web,
        verified: Arc::default(),
    };
    router.layer(axum::middleware::from_fn_with_state(state, guard))
}

async fn guard(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let loaded = auth.web.current();
    let users = &loaded.config.basic_auth_users;
    let open = OPEN_PATHS.contains(&request.uri().path());
    let mut response = if users.is_empty() || open {
        next.run(request).await
    } else {
        let credentials = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        let allowed = match credentials {
            Some((user, password)) => match users.get(&user) {
                Some(hash) => auth.verify(&user, password, hash.clone()).await,
                None => false,
            },
            None => false,
        };
        if allowed {
            next.run(request).await
        } else {
            unauthorized()
        }
    };
    for (name, value) in &loaded.config.http_server_config.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl Auth {
    async fn verify(&self, user: &str, password: String, hash: String) -> bool {
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if lock(&self.verified).contains(&key) {
            return true;
        }
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if ok {
            let mut verified = lock(&self.verified);
            if verified.len() >= REMEMBERED {
                verified.clear();
            }
            verified.insert(key);
        }
        ok
    }
}

/// `Basic base64(user:password)` → (user, password).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"bpfhost\"")],
        Body::from("Unauthorized\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt as _;

    fn web(users: &str) -> (tempfile::TempDir, Arc<Web>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("web.yml");
        std::fs::write(
            &path,
            format!("basic_auth_users: {users}\nhttp_server_config: {{headers: {{X-Frame-Options: deny}}}}\n"),
        )
        .expect("write");
        let web = Arc::new(Web::load(&path).expect("valid"));
        (dir, web)
    }

    async fn call(web: &Arc<Web>, path: &str, authorization: Option<&str>) -> Response {
        let router = axum::Router::new()
            .route("/metrics", get(|| async { "metrics" }))
            .route("/healthz", get(|| async { "ok" }));
        let mut request = Request::get(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        layer(router, web.clone())
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[tokio::test]
    async fn basic_auth_admits_the_right_password_only() {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        let (_dir, web) = web(&format!("{{prometheus: '{hash}'}}"));
        let status =
            async |path, auth: Option<String>| call(&web, path, auth.as_deref()).await.status();
        assert_eq!(status("/metrics", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status("/metrics", Some(basic("prometheus", "wrong"))).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status("/metrics", Some(basic("nobody", "s3cret"))).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status("/metrics", Some("Bearer x".into())).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status("/metrics", Some(basic("prometheus", "s3cret"))).await,
            StatusCode::OK
        );
        // Remembered, and still right.
        assert_eq!(
            status("/metrics", Some(basic("prometheus", "s3cret"))).await,
            StatusCode::OK
        );
        assert_eq!(status("/healthz", None).await, StatusCode::OK);
        let refused = call(&web, "/metrics", None).await;
        assert!(refused.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(refused.headers()["x-frame-options"], "deny");
    }
}
