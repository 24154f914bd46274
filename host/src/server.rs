//! The HTTP surface: `/metrics`, `/healthz` and `/status`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::agent::Agent;
use crate::exposition::{Encoder, Format};

/// The agent's routes; served by [`crate::app`], driven with `oneshot` in tests.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .with_state(agent)
}

async fn healthz() -> &'static str {
    "ok\n"
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

async fn metrics(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    // Map reads and plugin calls block: keep them off the async workers.
    let rendered = tokio::task::spawn_blocking(move || {
        let scrape = agent.collect();
        let mut body = Vec::with_capacity(64 << 10);
        let node = [("node", agent.node())];
        let mut encoder = Encoder::new(&mut body, format, &node);
        for family in &scrape.families {
            encoder.family(family);
        }
        encoder.finish();
        body
    })
    .await;
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "collection task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "collection failed\n").into_response()
        }
    }
}
