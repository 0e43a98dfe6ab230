//! Logs and metrics wiring: JSON log lines on standard output (`RUST_LOG`, default `info`),
//! each request's inside a span carrying its `request_id` (the `x-request-id` header, made
//! when absent or unacceptable and echoed in the answer), and the PG-call metrics layer.

use std::sync::OnceLock;

use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use super::metrics::PgCallMetrics;

/// Installs the process's subscriber once: JSON logs (when `logs`) and the metrics layer,
/// each with its own filter, so that `RUST_LOG=warn` does not switch the metrics off.
pub fn init(logs: bool) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = super::metrics::handle();
        let pg_calls = PgCallMetrics.with_filter(filter_fn(|m| m.name() == "hanpay.pg_call"));
        let json = logs.then(|| {
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(std::io::stdout)
                .with_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
        });
        let _ = tracing_subscriber::registry()
            .with(pg_calls)
            .with(json)
            .try_init();
    });
}

/// The longest caller-sent `x-request-id` kept, in characters.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether a caller's `x-request-id` may be echoed and logged as it is: 1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters (0x21–0x7E), so no space, control byte,
/// non-ASCII byte or unbounded text reaches a log line or an answer.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.iter().all(|b| b.is_ascii_graphic())
}

/// Drops the caller's `x-request-id` unless exactly one acceptable id was sent
/// ([`acceptable_request_id`]); the request-id layer inside then makes a new one. Runs
/// outermost, so the span, the logs and the answer only ever see an acceptable id.
pub async fn sanitize_request_id(mut request: axum::extract::Request, next: Next) -> Response {
    let headers = request.headers_mut();
    let mut ids = headers.get_all(REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => acceptable_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(REQUEST_ID);
    }
    next.run(request).await
}

const REQUEST_ID: &str = "x-request-id";

/// The span of one request: method, route path and request id.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id
    )
}
