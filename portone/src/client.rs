//! HTTP transport to `https://api.portone.io`: auth header, timeouts, `Idempotency-Key`,
//! bounded retries and the classification of what went wrong. No payment logic here.
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

use std::time::{Duration, Instant};

use bytes::Bytes;
use hanpay_core::{observe, ErrorKind, PaymentError, RetryPolicy, Secret};
use http::{HeaderMap, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tracing::Instrument;

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

/// Builds the escaped path `/payments/{paymentId}{suffix}`.
pub(crate) fn payment_path(payment_id: &str, suffix: &str) -> String {
    format!(
        "/payments/{}{suffix}",
        utf8_percent_encode(payment_id, SEGMENT)
    )
}

/// The HTTP transport.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
    retry: RetryPolicy,
    /// Set on every request: it bounds a caller's own client too.
    overall_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("auth", &"PortOne [redacted]")
            .field("retry", &self.retry)
            .finish()
    }
}

/// A failure before a status line was read.
struct TransportFailure {
    /// `true` when the request may have reached PortOne.
    maybe_sent: bool,
    timeout: bool,
    source: reqwest::Error,
}

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
        let mut auth =
            HeaderValue::from_str(&format!("PortOne {}", api_secret.expose())).map_err(|_| {
                PaymentError::invalid(
                    "the PortOne API secret contains characters not allowed in a header",
                )
                .with_provider(PROVIDER_ID)
            })?;
        auth.set_sensitive(true);
        // An overall bound too: a read timeout alone restarts on every byte of a slow answer.
        let overall_timeout = timeouts.connect.saturating_add(timeouts.read);
        let http = match http {
            Some(client) => client,
            None => {
                let mut defaults = HeaderMap::new();
                defaults.insert(
                    http::header::USER_AGENT,
                    HeaderValue::from_static(concat!("hanpay-portone/", env!("CARGO_PKG_VERSION"))),
                );
                reqwest::Client::builder()
                    .connect_timeout(timeouts.connect)
                    .read_timeout(timeouts.read)
                    .timeout(overall_timeout)
                    .default_headers(defaults)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| {
                        PaymentError::new(ErrorKind::Transport, "cannot build the HTTP client")
                            .with_provider(PROVIDER_ID)
                            .with_source(e)
                    })?
            }
        };
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            retry,
            overall_timeout,
        })
    }

    /// `GET path` (with an optional `storeId` query); the 2xx body.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        path: &str,
        store_id: Option<&str>,
    ) -> Result<Bytes, PaymentError> {
        self.call(operation, http::Method::GET, path, store_id, None, None)
            .await
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
        self.call(
            operation,
            http::Method::POST,
            path,
            None,
            Some(Bytes::from(json)),
            Some(idempotency_key),
        )
        .await
    }

    async fn once(
        &self,
        method: &http::Method,
        url: &str,
        store_id: Option<&str>,
        body: Option<&Bytes>,
        quoted_key: Option<&HeaderValue>,
    ) -> Result<(u16, Bytes), TransportFailure> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(http::header::AUTHORIZATION, self.auth.clone())
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.overall_timeout);
        if let Some(store) = store_id {
            request = request.query(&[("storeId", store)]);
        }
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(key) = quoted_key {
            request = request.header("Idempotency-Key", key.clone());
        }
        let failure = |e: reqwest::Error| TransportFailure {
            maybe_sent: !e.is_connect(),
            timeout: e.is_timeout(),
            source: e,
        };
        let response = request.send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(failure)?;
        Ok((status, bytes))
    }

    async fn call(
        &self,
        operation: &'static str,
        method: http::Method,
        path: &str,
        store_id: Option<&str>,
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
    ) -> Result<Bytes, PaymentError> {
        let url = format!("{}{path}", self.base_url);
        let quoted_key = match idempotency_key {
            Some(key) => Some(HeaderValue::from_str(&format!("\"{key}\"")).map_err(|_| {
                PaymentError::invalid("idempotency key must be visible ASCII without quotes")
                    .with_provider(PROVIDER_ID)
                    .with_operation(operation)
            })?),
            None => None,
        };
        let is_post = method == http::Method::POST;
        let span = observe::pg_call_span(PROVIDER_ID.as_str(), operation, idempotency_key);
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self
                .once(&method, &url, store_id, body.as_ref(), quoted_key.as_ref())
                .instrument(span.clone())
                .await;
            let (err, floor) = match result {
                Ok((status, bytes)) if (200..300).contains(&status) => {
                    observe::record_pg_outcome(&span, Some(status), "ok", started.elapsed());
                    return Ok(bytes);
                }
                Ok((status, bytes)) => {
                    let err = errors::from_response(operation, status, &bytes);
                    let outstanding = err
                        .pg()
                        .is_some_and(|pg| pg.code == "IDEMPOTENCY_OUTSTANDING_REQUEST");
                    observe::record_pg_outcome(
                        &span,
                        Some(status),
                        err.kind().as_str(),
                        started.elapsed(),
                    );
                    if err.kind() != ErrorKind::Retryable {
                        return Err(with_key(err, idempotency_key));
                    }
                    let floor = if outstanding {
                        Duration::from_millis(100)
                    } else {
                        Duration::ZERO
                    };
                    if outstanding
                        && is_post
                        && !self.retry.allows_another(attempt, started.elapsed())
                    {
                        return Err(outcome_unknown(
                            operation,
                            "PortOne is still processing the first request with this idempotency key",
                            idempotency_key,
                        )
                        .with_source(err));
                    }
                    (err, floor)
                }
                Err(failure) => {
                    observe::record_pg_outcome(
                        &span,
                        None,
                        if failure.timeout {
                            "timeout"
                        } else {
                            "transport"
                        },
                        started.elapsed(),
                    );
                    let what = if failure.timeout {
                        "timed out"
                    } else if failure.maybe_sent {
                        "lost the connection"
                    } else {
                        "could not connect"
                    };
                    let err = if is_post && failure.maybe_sent {
                        outcome_unknown(
                            operation,
                            &format!("the call to PortOne {what}; it may have been processed"),
                            idempotency_key,
                        )
                    } else {
                        PaymentError::new(
                            ErrorKind::Retryable,
                            format!("the call to PortOne {what}"),
                        )
                        .with_provider(PROVIDER_ID)
                        .with_operation(operation)
                    };
                    (err.with_source(failure.source), Duration::ZERO)
                }
            };
            if !self.retry.allows_another(attempt, started.elapsed()) {
                return Err(with_key(err, idempotency_key));
            }
            tokio::time::sleep(self.retry.backoff(attempt, floor)).await;
        }
    }
}

fn with_key(err: PaymentError, key: Option<&str>) -> PaymentError {
    match key {
        Some(k) => err.with_idempotency_key(k),
        None => err,
    }
}

fn outcome_unknown(operation: &'static str, message: &str, key: Option<&str>) -> PaymentError {
    let hint = match key {
        Some(k) => format!(
            "{message}; retry with idempotency key {k:?} or query the payment to learn the outcome"
        ),
        None => format!("{message}; query the payment to learn the outcome"),
    };
    with_key(
        PaymentError::new(ErrorKind::OutcomeUnknown, hint)
            .with_provider(PROVIDER_ID)
            .with_operation(operation),
        key,
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
        assert_eq!(c.base_url, "https://api.portone.io");
    }

    #[test]
    fn default_read_timeout_is_sixty_seconds() {
        assert_eq!(Timeouts::default().read, Duration::from_secs(60));
    }
}
