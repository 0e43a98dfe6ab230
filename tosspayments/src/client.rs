//! HTTP transport to the Toss `/v1` API: auth header, timeouts, retries with the same
//! `Idempotency-Key`, outcome-unknown on timeout or lost connection, and error bodies decoded
//! as UTF-8 whatever the charset header says. No mapping of payments here.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hanpay_core::observe;
use hanpay_core::{ErrorKind, PaymentError, PgError, RetryPolicy};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use tracing::Instrument as _;

use crate::errors::{classify, retry_floor};
use crate::mapping::PROVIDER_ID;
use crate::wire::ErrorBody;

/// Timeouts for calls to Toss.
///
/// Toss asks for generous timeouts: a confirm or cancel can take tens of seconds while the
/// card company answers, and a timed-out one has an unknown outcome (see
/// [`ErrorKind::OutcomeUnknown`]). The defaults are 5 s to connect, 30 s for confirm, cancel,
/// virtual-account issue and billing charges, and 15 s for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    connect: Duration,
    payment: Duration,
    lookup: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            payment: Duration::from_secs(30),
            lookup: Duration::from_secs(15),
        }
    }
}

impl Timeouts {
    /// Sets the connect timeout.
    pub fn connect(mut self, timeout: Duration) -> Self {
        self.connect = timeout;
        self
    }

    /// Sets the timeout of money-moving calls (confirm, cancel, virtual-account issue, billing
    /// charge). Keep it at 30 s or more against the real API.
    pub fn payment(mut self, timeout: Duration) -> Self {
        self.payment = timeout;
        self
    }

    /// Sets the timeout of lookups.
    pub fn lookup(mut self, timeout: Duration) -> Self {
        self.lookup = timeout;
        self
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect
    }

    /// The timeout of money-moving calls.
    pub fn payment_timeout(&self) -> Duration {
        self.payment
    }

    /// The timeout of lookups.
    pub fn lookup_timeout(&self) -> Duration {
        self.lookup
    }
}

/// Why a POST failed.
#[derive(Debug)]
pub(crate) enum PostError {
    /// A final error.
    Failed(PaymentError),
    /// The same key got the same transient error twice: Toss may be replaying a completed error
    /// for this key (it does for 15 days). Query the payment before any attempt with a new key.
    Replayed(PaymentError),
}

enum Attempt {
    Ok(Bytes),
    ErrorResponse { body: Bytes, error: PaymentError },
    NotSent(reqwest::Error),
    Unknown(reqwest::Error),
}

/// The transport: one `reqwest::Client`, the base URL, the auth header, timeouts, retry policy.
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field("auth", &"***")
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Decodes a Toss error body. The bytes are read as UTF-8 (lossily) whatever `Content-Type`'s
/// charset claims, so Korean messages never turn into mojibake; a body that is not
/// `{code, message}` keeps its text (truncated) as the message.
pub(crate) fn decode_error_body(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(e) => (e.code, e.message),
        Err(_) => (String::new(), text.chars().take(200).collect()),
    }
}

/// The error for an error response. Classified by the code; only a response without a code
/// falls back to the status (429 and 5xx transient, anything else a rejection).
pub fn error_from_response(operation: &'static str, status: u16, body: &[u8]) -> PaymentError {
    let (code, message) = decode_error_body(body);
    let kind = if status == 429 {
        ErrorKind::Retryable
    } else if code.is_empty() {
        if status >= 500 {
            ErrorKind::Retryable
        } else {
            ErrorKind::Rejected
        }
    } else {
        classify(&code)
    };
    let summary = if code.is_empty() {
        format!("Toss answered HTTP {status}")
    } else {
        format!("Toss answered {code}")
    };
    PaymentError::new(kind, summary)
        .with_provider(PROVIDER_ID)
        .with_operation(operation)
        .with_pg(PgError::new(code, message, Some(status)))
}

impl Transport {
    /// `http`: the caller's own client ([`crate::TossPaymentsBuilder::http_client`]), used as
    /// it is; otherwise one with the connect timeout and hanpay's user agent. The per-call
    /// timeouts are set on each request either way.
    pub(crate) fn new(
        secret_key: &str,
        base_url: String,
        timeouts: Timeouts,
        retry: RetryPolicy,
        http: Option<reqwest::Client>,
    ) -> Result<Self, String> {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"));
        let mut auth = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| "the secret key cannot be sent in a header".to_owned())?;
        auth.set_sensitive(true);
        let http = match http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .user_agent(concat!("hanpay-tosspayments/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
        };
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            timeouts,
            retry,
        })
    }

    async fn attempt(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<(&[u8], &str)>,
    ) -> Attempt {
        let timeout = if body.is_some() {
            self.timeouts.payment
        } else {
            self.timeouts.lookup
        };
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(timeout);
        if let Some((bytes, key)) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(bytes.to_vec());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Attempt::NotSent(e),
            Err(e) => return Attempt::Unknown(e),
        };
        let status = resp.status();
        match resp.bytes().await {
            Err(e) => Attempt::Unknown(e),
            Ok(bytes) if status.is_success() => Attempt::Ok(bytes),
            Ok(bytes) => Attempt::ErrorResponse {
                error: error_from_response(operation, status.as_u16(), &bytes),
                body: bytes,
            },
        }
    }

    fn transport_error(
        operation: &'static str,
        kind: ErrorKind,
        e: reqwest::Error,
    ) -> PaymentError {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "lost the connection"
        };
        let message = if kind == ErrorKind::OutcomeUnknown {
            format!("the call to Toss {what}; the outcome is unknown: look the payment up before retrying")
        } else {
            format!("the call to Toss {what}")
        };
        PaymentError::new(kind, message)
            .with_provider(PROVIDER_ID)
            .with_operation(operation)
            .with_source(e.without_url())
    }

    /// The error when the retries ran out after an attempt whose answer was lost, the last
    /// one having failed otherwise (`last`).
    fn still_unknown(operation: &'static str, attempts: u32, last: PaymentError) -> PaymentError {
        PaymentError::new(
            ErrorKind::OutcomeUnknown,
            format!(
                "an answer from Toss was lost and none of {attempts} attempts with the same \
                 idempotency key settled it (the last: {last}); the outcome is unknown: look the \
                 payment up before retrying"
            ),
        )
        .with_provider(PROVIDER_ID)
        .with_operation(operation)
        .with_source(last)
    }

    /// A GET, retried (it is idempotent) on transient errors, timeouts and connection errors.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        path: &str,
    ) -> Result<Bytes, PaymentError> {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let span = observe::pg_call_span(PROVIDER_ID.as_str(), operation, None);
            let t0 = Instant::now();
            let outcome = self
                .attempt(operation, Method::GET, path, None)
                .instrument(span.clone())
                .await;
            let (error, floor) = match outcome {
                Attempt::Ok(bytes) => {
                    observe::record_pg_outcome(&span, Some(200), "ok", t0.elapsed());
                    return Ok(bytes);
                }
                Attempt::ErrorResponse { error, .. } => {
                    let status = error.pg().and_then(|p| p.http_status);
                    observe::record_pg_outcome(&span, status, error.kind().as_str(), t0.elapsed());
                    if error.kind() != ErrorKind::Retryable {
                        return Err(error);
                    }
                    let floor = error.pg().map_or(Duration::ZERO, |p| retry_floor(&p.code));
                    (error, floor)
                }
                Attempt::NotSent(e) | Attempt::Unknown(e) => {
                    observe::record_pg_outcome(&span, None, "transport", t0.elapsed());
                    (
                        Self::transport_error(operation, ErrorKind::Transport, e),
                        Duration::ZERO,
                    )
                }
            };
            if !self.retry.allows_another(attempts, started.elapsed()) {
                return Err(error);
            }
            tokio::time::sleep(self.retry.backoff(attempts, floor)).await;
        }
    }

    /// A POST with `Idempotency-Key: key`.
    ///
    /// Retries, always with the same key (Toss answers a repeated key with the first request's
    /// result, or `IDEMPOTENT_REQUEST_PROCESSING` while it runs, so a retry never repeats the
    /// operation): transient Toss codes (with a ≥ 1 s pause after
    /// `FORBIDDEN_CONSECUTIVE_REQUEST`), HTTP 429, connection errors where nothing was sent, and
    /// timeouts or connections lost after sending. Once an attempt's outcome was unknown, only
    /// an answer for the key settles it: when the retries run out without one, the error is
    /// [`ErrorKind::OutcomeUnknown`]. When the same key gets the identical transient error
    /// twice, Toss may be replaying it: [`PostError::Replayed`] tells the caller to query
    /// before trying a new key.
    pub(crate) async fn post(
        &self,
        operation: &'static str,
        path: &str,
        body: &[u8],
        key: &str,
    ) -> Result<Bytes, PostError> {
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut previous: Option<Bytes> = None;
        // Whether an attempt's answer was lost (it may have been processed) and no answer for
        // the key has settled it since.
        let mut maybe_processed = false;
        loop {
            attempts += 1;
            let span = observe::pg_call_span(PROVIDER_ID.as_str(), operation, Some(key));
            let t0 = Instant::now();
            let outcome = self
                .attempt(operation, Method::POST, path, Some((body, key)))
                .instrument(span.clone())
                .await;
            let (error, floor) = match outcome {
                Attempt::Ok(bytes) => {
                    observe::record_pg_outcome(&span, Some(200), "ok", t0.elapsed());
                    return Ok(bytes);
                }
                Attempt::ErrorResponse { body: resp, error } => {
                    let error = error.with_idempotency_key(key);
                    let status = error.pg().and_then(|p| p.http_status);
                    observe::record_pg_outcome(&span, status, error.kind().as_str(), t0.elapsed());
                    if error.kind() != ErrorKind::Retryable {
                        return Err(PostError::Failed(error));
                    }
                    let code = error.pg().map(|p| p.code.clone()).unwrap_or_default();
                    if code != "IDEMPOTENT_REQUEST_PROCESSING" && previous.as_ref() == Some(&resp) {
                        return Err(PostError::Replayed(error));
                    }
                    previous = Some(resp);
                    (error, retry_floor(&code))
                }
                Attempt::NotSent(e) => {
                    observe::record_pg_outcome(&span, None, "transport", t0.elapsed());
                    (
                        Self::transport_error(operation, ErrorKind::Transport, e)
                            .with_idempotency_key(key),
                        Duration::ZERO,
                    )
                }
                Attempt::Unknown(e) => {
                    observe::record_pg_outcome(&span, None, "outcome_unknown", t0.elapsed());
                    maybe_processed = true;
                    (
                        Self::transport_error(operation, ErrorKind::OutcomeUnknown, e)
                            .with_idempotency_key(key),
                        Duration::ZERO,
                    )
                }
            };
            if !self.retry.allows_another(attempts, started.elapsed()) {
                if maybe_processed && error.kind() != ErrorKind::OutcomeUnknown {
                    // A gateway error or a refused connection after a lost answer says nothing
                    // about the request whose answer was lost: it may have been processed.
                    return Err(PostError::Failed(
                        Self::still_unknown(operation, attempts, error).with_idempotency_key(key),
                    ));
                }
                return Err(PostError::Failed(error));
            }
            tokio::time::sleep(self.retry.backoff(attempts, floor)).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn korean_error_body_is_utf8_whatever_the_charset() {
        let body = "{\"code\":\"INVALID_REFUND_ACCOUNT_NUMBER\",\"message\":\"잘못된 환불 계좌번호입니다.\"}";
        let e = error_from_response("cancel", 400, body.as_bytes());
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let pg = e.pg().unwrap();
        assert_eq!(pg.code, "INVALID_REFUND_ACCOUNT_NUMBER");
        assert_eq!(pg.message, "잘못된 환불 계좌번호입니다.");
        assert_eq!(pg.http_status, Some(400));
    }

    #[test]
    fn code_not_status_decides() {
        let transient = error_from_response(
            "confirm",
            400,
            br#"{"code":"PROVIDER_ERROR","message":"m"}"#,
        );
        assert_eq!(transient.kind(), ErrorKind::Retryable);
        let permanent = error_from_response(
            "x",
            500,
            br#"{"code":"FAILED_DB_PROCESSING","message":"m"}"#,
        );
        assert_eq!(permanent.kind(), ErrorKind::InvalidRequest);
        let limited = error_from_response("x", 429, b"Too Many Requests");
        assert_eq!(limited.kind(), ErrorKind::Retryable);
        let gateway = error_from_response("x", 502, b"<html>bad gateway</html>");
        assert_eq!(gateway.kind(), ErrorKind::Retryable);
        assert_eq!(gateway.pg().unwrap().message, "<html>bad gateway</html>");
        let garbage = error_from_response("x", 400, &[0xff, 0xfe, 0x00]);
        assert_eq!(garbage.kind(), ErrorKind::Rejected);
    }

    #[test]
    fn transport_debug_hides_the_key() {
        let t = Transport::new(
            "test_sk_secretvalue",
            "http://127.0.0.1:1".into(),
            Timeouts::default(),
            RetryPolicy::default(),
            None,
        )
        .unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secretvalue"));
        assert!(!dbg.contains("dGVzdF9za19"));
    }
}
