//! HTTP transport to `https://api.portone.io`: the [`PortOneStrategy`] for core's one send
//! loop ([`hanpay_core::transport`]) — auth header, quoted `Idempotency-Key`, the
//! classification of what went wrong — and PortOne's [`Timeouts`]. No payment logic here.
//!
//! Retry rules:
//! - only what is safe: GETs, and POSTs carrying an `Idempotency-Key` (always, here), each
//!   retry with the **same** quoted key, so PortOne replays a completed request instead of
//!   doing it twice;
//! - on 5xx/408/429, on 409 `IDEMPOTENCY_OUTSTANDING_REQUEST` (the first attempt is still being
//!   processed: ask again later), on connection errors and on timeouts;
//! - bounded by the [`RetryPolicy`] (attempts, backoff with jitter, elapsed time).
//!
//! When retries run out, a POST whose request may have reached PortOne (timeout, connection
//! lost after sending, still outstanding) fails with `OutcomeUnknown` carrying the idempotency
//! key: retry with that key, or query the payment to reconcile.

use std::time::Duration;

use bytes::Bytes;
use hanpay_core::transport::{
    AttemptFailure, Call, History, Resend, SpanScope, Transport, TransportOptions,
    TransportStrategy, Verdict,
};
use hanpay_core::{ErrorKind, PaymentError, ProviderId, RetryPolicy, Secret};
use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::errors;
use crate::PROVIDER_ID;

/// PortOne's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.portone.io";

/// Characters escaped in a path segment: everything but `A-Z a-z 0-9 - _ . ~`, like
/// `encodeURIComponent`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The error type PortOne answers while the first request with a key is still processed.
const OUTSTANDING: &str = "IDEMPOTENCY_OUTSTANDING_REQUEST";

/// Connect and read timeouts for calls to PortOne.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP/TLS connect timeout (default 10 s).
    pub connect: Duration,
    /// Read timeout (default 60 s: PortOne asks for "최소 60초의 읽기 타임아웃" and keeps
    /// processing when the client disconnects).
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
        }
    }
}

impl From<Timeouts> for TransportOptions {
    /// The connect and read timeouts, hanpay's user agent and no redirects on the client hanpay
    /// builds; an overall bound (connect + read: a read timeout alone restarts on every byte
    /// of a slow answer) on that client and on every request, so it bounds a caller's own
    /// client too.
    fn from(t: Timeouts) -> Self {
        let overall = t.connect.saturating_add(t.read);
        TransportOptions::new(t.connect)
            .read_timeout(t.read)
            .client_timeout(overall)
            .lookup_timeout(overall)
            .payment_timeout(overall)
            .user_agent(concat!("hanpay-portone/", env!("CARGO_PKG_VERSION")))
            .no_redirects()
    }
}

/// Builds the escaped path `/payments/{paymentId}{suffix}`.
pub(crate) fn payment_path(payment_id: &str, suffix: &str) -> String {
    format!(
        "/payments/{}{suffix}",
        utf8_percent_encode(payment_id, SEGMENT)
    )
}

/// What PortOne tells core's send loop: one span per call; the same quoted key on every
/// retry of a POST; 5xx/408/429, `IDEMPOTENCY_OUTSTANDING_REQUEST` (after ≥ 100 ms),
/// connection errors and timeouts retried; a POST that may have reached PortOne is
/// [`ErrorKind::OutcomeUnknown`], and so is one still outstanding when the retries run out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortOneStrategy;

impl TransportStrategy for PortOneStrategy {
    fn provider(&self) -> ProviderId {
        PROVIDER_ID
    }

    fn pg_name(&self) -> &'static str {
        "PortOne"
    }

    /// PortOne replays a completed request for a repeated `Idempotency-Key`.
    fn resend(&self) -> Resend {
        Resend::SameKey
    }

    fn span_scope(&self) -> SpanScope {
        SpanScope::PerCall
    }

    /// `Accept`, the JSON content type of a body, and the key quoted (a structured-field
    /// string, as PortOne asks).
    fn prepare(
        &self,
        mut request: reqwest::RequestBuilder,
        call: &Call<'_>,
    ) -> reqwest::RequestBuilder {
        request = request.header(http::header::ACCEPT, "application/json");
        if call.body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        if let Some(key) = call.idempotency_key {
            // Checked by `Client::post` before the first attempt.
            request = request.header("Idempotency-Key", format!("\"{key}\""));
        }
        request
    }

    fn decode(&self, operation: &'static str, status: u16, body: &[u8]) -> Option<PaymentError> {
        (!(200..300).contains(&status)).then(|| errors::from_response(operation, status, body))
    }

    /// At least 100 ms before asking again about an outstanding request.
    fn retry_floor(&self, error: &PaymentError) -> Duration {
        if is_outstanding(error) {
            Duration::from_millis(100)
        } else {
            Duration::ZERO
        }
    }

    /// An error answer: retried when [`ErrorKind::Retryable`], final otherwise. A failed
    /// connection (`timeout` or `transport` on the span) is always retried: as
    /// [`ErrorKind::OutcomeUnknown`] for a POST that may have been sent, as
    /// [`ErrorKind::Retryable`] otherwise.
    fn classify(&self, call: &Call<'_>, failure: AttemptFailure<'_>, _: &History) -> Verdict {
        let e = match failure {
            AttemptFailure::Answer { error, .. } => {
                let outcome = error.kind().as_str();
                if error.kind() != ErrorKind::Retryable {
                    return Verdict::fail(outcome, error);
                }
                let floor = self.retry_floor(&error);
                return Verdict::retry(outcome, error, floor);
            }
            AttemptFailure::NotSent(e) | AttemptFailure::Lost(e) => e,
        };
        let timeout = e.is_timeout();
        let maybe_sent = !e.is_connect();
        let what = if timeout {
            "timed out"
        } else if maybe_sent {
            "lost the connection"
        } else {
            "could not connect"
        };
        let error = if !call.is_lookup() && maybe_sent {
            outcome_unknown(
                call,
                &format!("the call to PortOne {what}; it may have been processed"),
            )
        } else {
            PaymentError::new(ErrorKind::Retryable, format!("the call to PortOne {what}"))
                .with_provider(PROVIDER_ID)
                .with_operation(call.operation)
        };
        let outcome = if timeout { "timeout" } else { "transport" };
        Verdict::retry(outcome, error.with_source(e), Duration::ZERO)
    }

    /// The last error; for a POST still outstanding at PortOne, [`ErrorKind::OutcomeUnknown`].
    fn exhausted(&self, call: &Call<'_>, last: PaymentError, _: &History) -> PaymentError {
        if !call.is_lookup() && is_outstanding(&last) {
            return outcome_unknown(
                call,
                "PortOne is still processing the first request with this idempotency key",
            )
            .with_source(last);
        }
        last
    }
}

fn is_outstanding(error: &PaymentError) -> bool {
    error.pg().is_some_and(|pg| pg.code == OUTSTANDING)
}

/// The HTTP transport: core's send loop with the [`PortOneStrategy`].
#[derive(Debug, Clone)]
pub(crate) struct Client(Transport<PortOneStrategy>);

impl Client {
    /// `http`: the caller's own client ([`crate::PortOneBuilder::http_client`]), used as it
    /// is; otherwise one with hanpay's timeouts, user agent and no redirects. The overall
    /// timeout (connect + read) is set on each request either way.
    pub(crate) fn new(
        api_secret: &Secret,
        base_url: &str,
        timeouts: Timeouts,
        retry: RetryPolicy,
        http: Option<reqwest::Client>,
    ) -> Result<Client, PaymentError> {
        let auth =
            HeaderValue::from_str(&format!("PortOne {}", api_secret.expose())).map_err(|_| {
                PaymentError::invalid(
                    "the PortOne API secret contains characters not allowed in a header",
                )
                .with_provider(PROVIDER_ID)
            })?;
        let options = TransportOptions::from(timeouts);
        let http = match http {
            Some(client) => client,
            None => options.build_client().map_err(|e| {
                PaymentError::new(ErrorKind::Transport, "cannot build the HTTP client")
                    .with_provider(PROVIDER_ID)
                    .with_source(e)
            })?,
        };
        Ok(Client(Transport::new(
            PortOneStrategy,
            auth,
            base_url,
            options,
            retry,
            http,
        )))
    }

    /// `GET path` (with an optional `storeId` query); the 2xx body.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        path: &str,
        store_id: Option<&str>,
    ) -> Result<Bytes, PaymentError> {
        let query;
        let mut call = Call::get(operation, path);
        if let Some(store) = store_id {
            query = [("storeId", store)];
            call = call.with_query(&query);
        }
        self.0.send(&call).await.map_err(|e| e.into_error())
    }

    /// `POST path` with a JSON body and an `Idempotency-Key`; the 2xx body.
    pub(crate) async fn post<T: serde::Serialize>(
        &self,
        operation: &'static str,
        path: &str,
        body: &T,
        idempotency_key: &str,
    ) -> Result<Bytes, PaymentError> {
        let json = serde_json::to_vec(body).map_err(|e| {
            PaymentError::new(ErrorKind::InvalidRequest, "cannot encode the request body")
                .with_provider(PROVIDER_ID)
                .with_operation(operation)
                .with_source(e)
        })?;
        if HeaderValue::from_str(&format!("\"{idempotency_key}\"")).is_err() {
            return Err(PaymentError::invalid(
                "idempotency key must be visible ASCII without quotes",
            )
            .with_provider(PROVIDER_ID)
            .with_operation(operation));
        }
        let call =
            Call::post(operation, path, Bytes::from(json)).with_idempotency_key(idempotency_key);
        self.0.send(&call).await.map_err(|e| e.into_error())
    }
}

/// `OutcomeUnknown` with the advice to retry with the call's key or query the payment; keyed.
fn outcome_unknown(call: &Call<'_>, message: &str) -> PaymentError {
    let hint = match call.idempotency_key {
        Some(k) => format!(
            "{message}; retry with idempotency key {k:?} or query the payment to learn the outcome"
        ),
        None => format!("{message}; query the payment to learn the outcome"),
    };
    call.keyed(
        PaymentError::new(ErrorKind::OutcomeUnknown, hint)
            .with_provider(PROVIDER_ID)
            .with_operation(call.operation),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped_like_encode_uri_component() {
        assert_eq!(payment_path("order-1_a.b~c", ""), "/payments/order-1_a.b~c");
        assert_eq!(
            payment_path("a/b?c#d e", "/cancel"),
            "/payments/a%2Fb%3Fc%23d%20e/cancel"
        );
        assert_eq!(payment_path("주문", ""), "/payments/%EC%A3%BC%EB%AC%B8");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Client::new(
            &Secret::new("super-secret-value"),
            "https://api.portone.io/",
            Timeouts::default(),
            RetryPolicy::default(),
            None,
        );
        let Ok(c) = c else { return };
        let text = format!("{c:?}");
        assert!(!text.contains("super-secret-value"));
        assert_eq!(c.0.base_url(), "https://api.portone.io");
    }

    #[test]
    fn default_read_timeout_is_sixty_seconds() {
        assert_eq!(Timeouts::default().read, Duration::from_secs(60));
    }
}
