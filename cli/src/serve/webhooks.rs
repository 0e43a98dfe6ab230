//! `POST /webhooks/{provider}`: the library's pipeline (verify → dedupe → reconcile → apply),
//! through its axum handler, counted in the metrics. No API key: the PG signs (or is checked
//! by source address and re-fetch), as the pipeline decides.

use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use hanpay::WebhookPipeline;

async fn receive(
    State(pipeline): State<WebhookPipeline>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let response = hanpay::axum::handle(&pipeline, &provider, request).await;
    let label = if pipeline.endpoint(&provider).is_some() {
        provider.as_str()
    } else {
        // Never an unbounded label from the path.
        "unknown"
    };
    super::metrics::webhook_received(label, response.status());
    response
}

/// The webhook route.
pub fn router(pipeline: WebhookPipeline) -> Router {
    Router::new()
        .route("/webhooks/{provider}", post(receive))
        .with_state(pipeline)
}
