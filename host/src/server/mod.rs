//! The HTTP surface: `/metrics`, `/healthz`, `/readyz`, `/status`, a
//! landing page at `/` and, when enabled, `/debug/dump/{exporter}`.

mod html;
pub mod landing;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::agent::{Agent, ReadyState};
use crate::exposition::{BodyPool, Encoder, Format};

/// Which optional routes are served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `GET /debug/dump/{exporter}`: the exporter's maps as a dump for
    /// `bpfhost plugin test`. Raw map contents can reveal what the programs
    /// observe, so the route exists only with `--enable-dump`.
    pub enable_dump: bool,
}

/// The agent's routes; served by [`crate::app`], driven with `oneshot` in tests.
pub fn router(agent: Arc<Agent>, options: Options) -> Router {
    let enable_dump = options.enable_dump;
    let mut router = Router::new()
        .route(
            "/",
            get(move |State(agent): State<Arc<Agent>>| async move {
                landing::page(&agent, enable_dump)
            }),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status));
    if enable_dump {
        router = router.route("/debug/dump/{exporter}", get(dump));
    }
    router.with_state(agent)
}

async fn dump(State(agent): State<Arc<Agent>>, Path(exporter): Path<String>) -> Response {
    let read = tokio::task::spawn_blocking(move || agent.dump(&exporter)).await;
    match read {
        Ok(Some(Ok(dump))) => axum::Json(dump).into_response(),
        Ok(Some(Err(e))) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{}\n", crate::error_chain(&e)),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such running exporter\n").into_response(),
        Err(e) => {
            tracing::error!(error = %crate::error_chain(&e), "dump task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "dump failed\n").into_response()
        }
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once the agent runs what it should, 503 before that and
/// from the moment it starts shutting down.
async fn readyz(State(agent): State<Arc<Agent>>) -> (StatusCode, &'static str) {
    match agent.readiness().state() {
        ReadyState::Ready => (StatusCode::OK, "ready\n"),
        ReadyState::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        ReadyState::Draining => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    }
}

async fn status(State(agent): State<Arc<Agent>>) -> Response {
    let slots: Vec<_> = agent.slots().iter().map(|slot| slot.status()).collect();
    axum::Json(serde_json::json!({
        "node": agent.node(),
        "exporters": slots,
        "manifestErrors": agent.manifest_errors(),
    }))
    .into_response()
}

/// Capacity to start a new response body with: the last body's size and
/// some. Growing 64 KiB by doubling cost a 100k series scrape 32 MiB of
/// extra allocation (BENCHMARKS.md).
static BODY_HINT: AtomicUsize = AtomicUsize::new(64 << 10);

/// Bodies of earlier scrapes, reused: two cover a scrape being sent while
/// the next is encoded.
static BODIES: BodyPool = BodyPool::new(2);

/// Prometheus' scrape timeout, sent with every scrape.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// How long a scrape may take when the scraper does not say.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

async fn metrics(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(header(header::ACCEPT.as_str()));
    let gzip = accepts_gzip(header(header::ACCEPT_ENCODING.as_str()));
    let budget = scrape_budget(header(SCRAPE_TIMEOUT_HEADER));
    let scrape = agent.collect_within(Some(budget)).await;
    // Encoding 100k series takes milliseconds: keep it off the async workers.
    let rendered = tokio::task::spawn_blocking(move || {
        let mut body = BODIES.take(BODY_HINT.load(Ordering::Relaxed));
        let node = [("node", agent.node())];
        let mut encoder = Encoder::new(&mut body, format, &node);
        for family in scrape.families() {
            encoder.family(family);
        }
        encoder.finish();
        BODY_HINT.store(body.len() + body.len() / 8, Ordering::Relaxed);
        if gzip {
            let compressed = compress(&body);
            BODIES.put(body);
            compressed.map(Bytes::from)
        } else {
            Ok(BODIES.share(body))
        }
    })
    .await;
    match rendered {
        Ok(Ok(body)) => {
            let mut response =
                ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
            if gzip {
                response
                    .headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            response
        }
        Ok(Err(e)) => {
            tracing::error!(error = %crate::error_chain(&e), "compressing the scrape failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n").into_response()
        }
        Err(e) => {
            tracing::error!(error = %crate::error_chain(&e), "rendering task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n").into_response()
        }
    }
}

/// The time a scrape may take: the scraper's timeout less a margin for
/// encoding and transfer (a tenth, at most half a second), or
/// [`DEFAULT_BUDGET`].
fn scrape_budget(timeout_seconds: Option<&str>) -> Duration {
    let Some(timeout) = timeout_seconds
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(DEFAULT_BUDGET.as_secs_f64())))
    else {
        return DEFAULT_BUDGET;
    };
    timeout.saturating_sub((timeout / 10).min(Duration::from_millis(500)))
}

/// Whether `Accept-Encoding` accepts gzip (`gzip` or `*`, not with `q=0`).
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

fn compress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    gz.write_all(body)?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_a_margin_of_the_scrapers_timeout() {
        assert_eq!(scrape_budget(Some("10")), Duration::from_millis(9_500));
        assert_eq!(scrape_budget(Some("1.5")), Duration::from_millis(1_350));
        assert_eq!(scrape_budget(Some("0.2")), Duration::from_millis(180));
        assert_eq!(scrape_budget(Some("3600")), Duration::from_millis(29_500));
        for junk in [
            None,
            Some(""),
            Some("soon"),
            Some("-1"),
            Some("NaN"),
            Some("0"),
        ] {
            assert_eq!(scrape_budget(junk), DEFAULT_BUDGET, "{junk:?}");
        }
    }

    #[tokio::test]
    async fn readyz_follows_the_agents_readiness() {
        use axum::body::Body;
        use axum::http::Request;
        use tower::ServiceExt as _;

        let agent = Arc::new(Agent::new("node"));
        let probe = async |agent: &Arc<Agent>| {
            let request = Request::get("/readyz")
                .body(Body::empty())
                .expect("request");
            let response = router(agent.clone(), Options::default())
                .oneshot(request)
                .await
                .expect("infallible");
            response.status()
        };
        assert_eq!(probe(&agent).await, StatusCode::SERVICE_UNAVAILABLE);
        agent.readiness().set_ready();
        assert_eq!(probe(&agent).await, StatusCode::OK);
        agent.readiness().set_draining();
        assert_eq!(probe(&agent).await, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
