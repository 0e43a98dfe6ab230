//! axum integration (feature `axum`): `POST /webhooks/{provider}` running the
//! [`WebhookPipeline`].
//!
//! The handler reads the raw body (capped at the provider's limit: a larger body is refused
//! with 413 before it is read in full), the TCP peer from [`ConnectInfo`] (serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`; without it the source-address check
//! fails closed with 403), and the headers; it answers what the PG expects for a delivery it
//! took (its [`WebhookAck`](hanpay_core::webhook::WebhookAck): NICEPAY `200 OK`), else the
//! pipeline's status with a small JSON body.
//!
//! ```no_run
//! # async fn run(hanpay: hanpay::Hanpay) -> std::io::Result<()> {
//! use std::net::SocketAddr;
//! use hanpay::{handler_fn, PaymentEvent, WebhookPipeline};
//!
//! let pipeline = WebhookPipeline::builder(
//!     hanpay,
//!     handler_fn(|event: PaymentEvent| async move {
//!         println!("{:?}: {}", event.order_id, event.action.describe());
//!         Ok(())
//!     }),
//! )
//! .build();
//! let app = axum::Router::new().merge(hanpay::axum::webhook_router(pipeline));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
//! # }
//! ```

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hanpay_core::{WebhookError, WebhookRequest};
use time::OffsetDateTime;

use crate::pipeline::{WebhookAnswer, WebhookOutcome, WebhookPipeline};

/// A router serving `POST /webhooks/{provider}` (e.g. `/webhooks/tosspayments`). Merge or nest
/// it into your application's router.
pub fn webhook_router<S>(pipeline: WebhookPipeline) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/webhooks/{provider}", post(receive))
        .with_state(pipeline)
}

async fn receive(
    State(pipeline): State<WebhookPipeline>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    handle(&pipeline, &provider, request).await
}

/// Runs one request through the pipeline for `provider`: for mounting under your own route.
pub async fn handle(pipeline: &WebhookPipeline, provider: &str, request: Request) -> Response {
    let Some(endpoint) = pipeline.endpoint(provider) else {
        return respond(&WebhookOutcome::UnknownProvider(provider.to_owned()).answer(None));
    };
    let limit = endpoint.max_body_bytes();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let (parts, body) = request.into_parts();

    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|len| *len > limit) {
        return respond(
            &endpoint.answer(&WebhookOutcome::Rejected(WebhookError::BodyTooLarge {
                len,
                limit,
            })),
        );
    }
    let body: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return respond(&endpoint.answer(&WebhookOutcome::Rejected(
                WebhookError::BodyTooLarge {
                    len: limit.saturating_add(1),
                    limit,
                },
            )))
        }
    };

    let webhook = WebhookRequest {
        method: parts.method.clone(),
        path: parts.uri.path(),
        headers: &parts.headers,
        body,
        peer,
        received_at: OffsetDateTime::now_utc(),
    };
    let outcome = pipeline.process_at(&endpoint, &webhook).await;
    respond(&endpoint.answer(&outcome))
}

fn respond(answer: &WebhookAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body.clone(),
    )
        .into_response();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was not read: do not keep the connection.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}
