//! HTTP transport to the Toss `/v1` API: the [`TossStrategy`] for core's one send loop
//! ([`hanpay_core::transport`]) — auth header, `Idempotency-Key`, error bodies decoded as UTF-8
//! whatever the charset header says, the ≥ 1 s pause Toss asks for, and the replay check — and
//! Toss's [`Timeouts`]. No mapping of payments here.

use std::time::Duration;

use bytes::Bytes;
use hanpay_core::transport::{
    default_classify, AttemptFailure, Call, History, Resend, Transport as Engine, TransportOptions,
    TransportStrategy, Verdict,
};
use hanpay_core::{ErrorKind, PaymentError, ProviderId, RetryPolicy};
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use crate::errors::{error_from_response, retry_floor};
use crate::mapping::PROVIDER_ID;

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

impl From<Timeouts> for TransportOptions {
    /// The connect timeout on the client hanpay builds; the payment and lookup timeouts on
    /// each request (so they bound a caller's own client too).
    fn from(t: Timeouts) -> Self {
        TransportOptions::new(t.connect)
            .payment_timeout(t.payment)
            .lookup_timeout(t.lookup)
            .user_agent(concat!("hanpay-tosspayments/", env!("CARGO_PKG_VERSION")))
    }
}

/// Why a POST failed: a final error, or [`SendError::Replayed`](hanpay_core::transport::SendError::Replayed)
/// when the same key got the same transient error twice (Toss may be replaying a completed
/// error for this key, as it does for 15 days: query the payment before any attempt with a
/// new key).
pub(crate) type PostError = hanpay_core::transport::SendError;

/// What Toss tells core's send loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TossStrategy;

impl TransportStrategy for TossStrategy {
    fn provider(&self) -> ProviderId {
        PROVIDER_ID
    }

    fn pg_name(&self) -> &'static str {
        "Toss"
    }

    /// Toss answers a repeated `Idempotency-Key` with the first request's result (or
    /// `IDEMPOTENT_REQUEST_PROCESSING` while it runs): a retry never repeats the operation.
    fn resend(&self) -> Resend {
        Resend::SameKey
    }

    fn prepare(
        &self,
        request: reqwest::RequestBuilder,
        call: &Call<'_>,
    ) -> reqwest::RequestBuilder {
        match (&call.body, call.idempotency_key) {
            (Some(_), Some(key)) => request
                .header(CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key),
            (Some(_), None) => request.header(CONTENT_TYPE, "application/json"),
            (None, _) => request,
        }
    }

    /// Toss's spans have always recorded `200` for any success.
    fn success_status(&self, _status: u16) -> u16 {
        200
    }

    fn decode(&self, operation: &'static str, status: u16, body: &[u8]) -> Option<PaymentError> {
        (!(200..300).contains(&status)).then(|| error_from_response(operation, status, body))
    }

    /// At least 1 s after `FORBIDDEN_CONSECUTIVE_REQUEST`.
    fn retry_floor(&self, error: &PaymentError) -> Duration {
        error.pg().map_or(Duration::ZERO, |p| retry_floor(&p.code))
    }

    /// The common rules, and on a POST: the identical transient error twice for the same key
    /// (other than `IDEMPOTENT_REQUEST_PROCESSING`) is a replay.
    fn classify(&self, call: &Call<'_>, failure: AttemptFailure<'_>, history: &History) -> Verdict {
        match failure {
            AttemptFailure::Answer { body, error, .. }
                if !call.is_lookup()
                    && error.kind() == ErrorKind::Retryable
                    && error.pg().map(|p| p.code.as_str())
                        != Some("IDEMPOTENT_REQUEST_PROCESSING")
                    && history.previous_answer.as_ref() == Some(body) =>
            {
                Verdict::replayed(error.kind().as_str(), error)
            }
            failure => default_classify(self, call, failure, history),
        }
    }
}

/// The transport: core's send loop with the [`TossStrategy`].
#[derive(Debug)]
pub(crate) struct Transport(Engine<TossStrategy>);

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
        let auth = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| "the secret key cannot be sent in a header".to_owned())?;
        let options = TransportOptions::from(timeouts);
        let http = match http {
            Some(client) => client,
            None => options
                .build_client()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
        };
        Ok(Self(Engine::new(
            TossStrategy,
            auth,
            &base_url,
            options,
            retry,
            http,
        )))
    }

    /// A GET, retried (it is idempotent) on transient errors, timeouts and connection errors.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        path: &str,
    ) -> Result<Bytes, PaymentError> {
        self.0
            .send(&Call::get(operation, path))
            .await
            .map_err(PostError::into_error)
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
    /// twice, Toss may be replaying it: `PostError::Replayed` tells the caller to query
    /// before trying a new key.
    pub(crate) async fn post(
        &self,
        operation: &'static str,
        path: &str,
        body: &[u8],
        key: &str,
    ) -> Result<Bytes, PostError> {
        let call =
            Call::post(operation, path, Bytes::copy_from_slice(body)).with_idempotency_key(key);
        self.0.send(&call).await
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
