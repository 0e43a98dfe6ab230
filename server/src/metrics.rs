//! Prometheus metrics at `GET /metrics`:
//!
//! - `hanpay_http_requests_total{route, status}`: every answer of the service;
//! - `hanpay_webhooks_received_total{provider, outcome}`: webhooks in, `outcome` `accepted`
//!   (2xx), `rejected` (4xx: signature, source, body, unknown provider) or `failed` (5xx: the PG
//!   redelivers);
//! - `hanpay_pg_calls_total{provider, operation, outcome}` and
//!   `hanpay_pg_call_duration_seconds{provider, operation}` (histogram): every PG call, read
//!   from the `hanpay.pg_call` span each PG crate opens ([`PgCallMetrics`] is a tracing layer:
//!   the PG crates know nothing of metrics).
//!
//! - `hanpay_events_outbox_depth` (gauge, read at each scrape): events waiting for delivery;
//!   `hanpay_events_delivery_attempts_total{outcome}`: `delivered`, `retried`, `failed` (given
//!   up), `lost` (lease taken over).
//!
//! One recorder per process ([`handle`]), installed as the `metrics` crate's global recorder.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The PG-call latency histogram.
pub const PG_CALL_DURATION: &str = "hanpay_pg_call_duration_seconds";
/// PG calls by outcome.
pub const PG_CALLS: &str = "hanpay_pg_calls_total";
/// Webhooks received.
pub const WEBHOOKS_RECEIVED: &str = "hanpay_webhooks_received_total";
/// HTTP answers.
pub const HTTP_REQUESTS: &str = "hanpay_http_requests_total";

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder (installed on first use). `None` when another global recorder was
/// installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(PG_CALL_DURATION.to_owned()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// `GET /metrics`, in the Prometheus text format.
pub async fn render() -> Response {
    match handle() {
        Some(handle) => {
            handle.run_upkeep();
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                handle.render(),
            )
                .into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available\n",
        )
            .into_response(),
    }
}

/// Events waiting for delivery.
pub const OUTBOX_DEPTH: &str = "hanpay_events_outbox_depth";
/// Event delivery attempts by outcome.
pub const DELIVERY_ATTEMPTS: &str = "hanpay_events_delivery_attempts_total";

/// Sets the outbox depth gauge (before a scrape).
pub async fn outbox_depth(outbox: &dyn hanpay::store::Outbox) {
    match outbox.depth().await {
        Ok(depth) => metrics::gauge!(OUTBOX_DEPTH).set(depth as f64),
        Err(e) => tracing::warn!(error = %e, "outbox depth unavailable"),
    }
}

/// Counts one delivery round of the outbox worker.
pub fn delivery_report(report: &hanpay::outbox::DeliveryReport) {
    for (outcome, n) in [
        ("delivered", report.delivered),
        ("retried", report.retried),
        ("failed", report.failed),
        ("lost", report.lost),
    ] {
        if n > 0 {
            metrics::counter!(DELIVERY_ATTEMPTS, "outcome" => outcome).increment(n as u64);
        }
    }
}

/// Counts a webhook by the status the pipeline answered.
pub fn webhook_received(provider: &str, status: StatusCode) {
    let outcome = if status.is_success() {
        "accepted"
    } else if status.is_client_error() {
        "rejected"
    } else {
        "failed"
    };
    metrics::counter!(WEBHOOKS_RECEIVED, "provider" => provider.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Counts every answer by its route template (never the raw path: keys stay out of labels).
///
/// [`app`](crate::app) counts through [`CountRequestsLayer`] (no boxed future per request);
/// this is the same as an axum `from_fn` middleware.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = route_of(&request);
    let response = next.run(request).await;
    count(route, response.status());
    response
}

fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

fn count(route: String, status: StatusCode) {
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "status" => status.as_u16().to_string()
    )
    .increment(1);
}

/// [`count_requests`] as a tower layer, for `Router::route_layer`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountRequestsLayer;

impl<S> tower::Layer<S> for CountRequestsLayer {
    type Service = CountRequests<S>;

    fn layer(&self, inner: S) -> CountRequests<S> {
        CountRequests(inner)
    }
}

/// The service of [`CountRequestsLayer`].
#[derive(Debug, Clone)]
pub struct CountRequests<S>(S);

impl<S> tower::Service<Request> for CountRequests<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = Some(route_of(&request));
        Counted {
            inner: self.0.call(request),
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`CountRequests`], counted when it is ready.
    #[derive(Debug)]
    pub struct Counted<F> {
        #[pin]
        inner: F,
        route: Option<String>,
    }
}

impl<F, E> Future for Counted<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(route)) = (&answer, this.route.take()) {
            count(route, response.status());
        }
        Poll::Ready(answer)
    }
}

/// The fields of one `hanpay.pg_call` span.
#[derive(Debug, Default)]
struct PgCall {
    provider: String,
    operation: String,
    outcome: Option<String>,
    latency_ms: Option<u64>,
}

impl Visit for PgCall {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "provider" => self.provider = value.to_owned(),
            "operation" => self.operation = value.to_owned(),
            "outcome" => self.outcome = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "latency_ms" {
            self.latency_ms = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "latency_ms" {
            self.latency_ms = u64::try_from(value).ok();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `provider` may arrive as a Display/Debug value.
        let text = format!("{value:?}");
        let text = text.trim_matches('"');
        self.record_str(field, text);
    }
}

/// A tracing layer turning each closed `hanpay.pg_call` span into [`PG_CALLS`] and
/// [`PG_CALL_DURATION`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PgCallMetrics;

const SPAN_NAME: &str = "hanpay.pg_call";

impl<S> Layer<S> for PgCallMetrics
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != SPAN_NAME {
            return;
        }
        let mut call = PgCall::default();
        attrs.record(&mut call);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(call);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(call) = span.extensions_mut().get_mut::<PgCall>() {
                values.record(call);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(call) = span.extensions_mut().remove::<PgCall>() else {
            return;
        };
        let outcome = call.outcome.unwrap_or_else(|| "unfinished".to_owned());
        metrics::counter!(
            PG_CALLS,
            "provider" => call.provider.clone(),
            "operation" => call.operation.clone(),
            "outcome" => outcome
        )
        .increment(1);
        if let Some(ms) = call.latency_ms {
            metrics::histogram!(
                PG_CALL_DURATION,
                "provider" => call.provider,
                "operation" => call.operation
            )
            .record(Duration::from_millis(ms).as_secs_f64());
        }
    }
}
