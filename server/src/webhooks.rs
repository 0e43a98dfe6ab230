//! `POST /webhooks/{provider}`: the library's pipeline (verify → dedupe → reconcile → apply),
//! through its axum handler, counted in the metrics. No API key: the PG signs (or is checked
//! by source address and re-fetch), as the pipeline decides. A webhook the pipeline took
//! wakes the outbox worker, so the events it wrote go out at once, not at the next poll.

use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use hanpay::outbox::OutboxWorker;
use hanpay::WebhookPipeline;

#[derive(Clone)]
struct Webhooks {
    pipeline: WebhookPipeline,
    events: Option<OutboxWorker>,
}

async fn receive(
    State(Webhooks { pipeline, events }): State<Webhooks>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let response = hanpay::axum::handle(&pipeline, &provider, request).await;
    if response.status().is_success() {
        if let Some(worker) = &events {
            worker.wake();
        }
    }
    let label = if pipeline.endpoint(&provider).is_some() {
        provider.as_str()
    } else {
        // Never an unbounded label from the path.
        "unknown"
    };
    super::metrics::webhook_received(label, response.status());
    response
}

/// The webhook route; `events` is the outbox worker, when events are delivered.
pub fn router(pipeline: WebhookPipeline, events: Option<OutboxWorker>) -> Router {
    Router::new()
        .route("/webhooks/{provider}", post(receive))
        .with_state(Webhooks { pipeline, events })
}
