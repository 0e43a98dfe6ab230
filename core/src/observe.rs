//! Observability conventions every provider follows.
//!
//! - One `tracing` span per PG call, named `hanpay.pg_call`, made by [`pg_call_span`], with the
//!   fields `provider`, `operation`, `idempotency_key` set at creation and `http_status`,
//!   `outcome` and `latency_ms` recorded by [`record_pg_outcome`] when the call ends.
//! - One event per webhook decision, emitted by [`webhook_decision`] (the facade's pipeline
//!   makes it, once per delivery, after its own checks), with `provider`, `dedupe_id`, `trust`
//!   and either `accepted = true` or the rejection `reason`. Verifiers record what they
//!   checked with [`webhook_result`] at `debug` level, as `webhook verified` or
//!   `webhook refused`, so a delivery through the pipeline is not reported as accepted twice.
//! - Never a secret, a full card number or an account number in clear: use
//!   [`mask_tail`](crate::mask_tail) for numbers; [`Secret`](crate::Secret) prints `***`.

use std::time::Duration;

use tracing::Span;

use crate::webhook::{WebhookError, WebhookEvent};

/// Target of every hanpay tracing span and event.
pub const TARGET: &str = "hanpay";

/// Opens the span for one PG call. The idempotency key is not a secret (it is random per
/// operation) and helps correlate retries.
pub fn pg_call_span(
    provider: &str,
    operation: &'static str,
    idempotency_key: Option<&str>,
) -> Span {
    tracing::info_span!(
        target: TARGET,
        "hanpay.pg_call",
        provider,
        operation,
        idempotency_key = idempotency_key.unwrap_or(""),
        http_status = tracing::field::Empty,
        outcome = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Records how a PG call ended: the HTTP status (if any), an outcome label (`"ok"`,
/// `"retryable"`, `"outcome_unknown"`, …) and the latency.
pub fn record_pg_outcome(span: &Span, http_status: Option<u16>, outcome: &str, latency: Duration) {
    if let Some(status) = http_status {
        span.record("http_status", status);
    }
    span.record("outcome", outcome);
    span.record(
        "latency_ms",
        u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
    );
}

/// Emits the event for one webhook decision. `rejection` is `None` when accepted.
pub fn webhook_decision(
    provider: &str,
    dedupe_id: Option<&str>,
    trust: Option<&str>,
    rejection: Option<&str>,
) {
    match rejection {
        None => tracing::info!(
            target: TARGET,
            provider,
            dedupe_id = dedupe_id.unwrap_or(""),
            trust = trust.unwrap_or(""),
            accepted = true,
            "webhook accepted"
        ),
        Some(reason) => tracing::warn!(
            target: TARGET,
            provider,
            dedupe_id = dedupe_id.unwrap_or(""),
            trust = trust.unwrap_or(""),
            accepted = false,
            reason,
            "webhook rejected"
        ),
    }
}

/// Records a verifier's result at `debug` level (`webhook verified` with the event's dedupe
/// id and trust, or `webhook refused` with the delivery id the request carried and the
/// reason). Every [`WebhookVerifier`](crate::WebhookVerifier) calls this once per request; the
/// decision itself is [`webhook_decision`]'s, made once by whoever acts on the event.
pub fn webhook_result(
    provider: &str,
    delivery_id: Option<&str>,
    result: &Result<WebhookEvent, WebhookError>,
) {
    match result {
        Ok(event) => tracing::debug!(
            target: TARGET,
            provider,
            dedupe_id = event.dedupe_id.as_str(),
            trust = event.trust.label(),
            verified = true,
            "webhook verified"
        ),
        Err(e) => tracing::debug!(
            target: TARGET,
            provider,
            dedupe_id = delivery_id.unwrap_or(""),
            verified = false,
            reason = e.label(),
            error = %e,
            "webhook refused"
        ),
    }
}
