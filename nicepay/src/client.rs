//! HTTP transport to the NICEPAY `/v1` API: the [`NicePayStrategy`] for core's one send loop
//! ([`hanpay_core::transport`]) — Basic auth with `clientId:secretKey`, `resultCode` checked
//! on every answer (HTTP 200 carries business failures), bodies decoded as UTF-8 whatever the
//! charset says — and NICEPAY's [`Timeouts`] (5 s connect, 30 s read). No mapping of payments
//! here.
//!
//! NICEPAY has **no idempotency key**, so the transport never re-sends a POST that may have
//! reached NICEPAY: only a connection that was refused before anything was sent is retried.
//! A timeout, a lost connection or a 5xx after sending is [`ErrorKind::OutcomeUnknown`]; the
//! provider then looks the payment up before anything else. GETs are retried on transient
//! failures.

use std::time::Duration;

use bytes::Bytes;
use hanpay_core::transport::{
    Call, Resend, Transport as Engine, TransportOptions, TransportStrategy,
};
use hanpay_core::{ErrorKind, PaymentError, PgError, ProviderId, RetryPolicy};
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use crate::errors::classify;
use crate::mapping::{PROVIDER_ID, SUCCESS};
use crate::wire::ResultHeader;

/// Timeouts for calls to NICEPAY: 5 s to connect and 30 s to read, as NICEPAY recommends
/// ("Connection 5 s, Read 30 s"; reference §1). A read timeout on a payment call means the
/// outcome is unknown (see [`ErrorKind::OutcomeUnknown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP/TLS connect timeout (default 5 s).
    pub connect: Duration,
    /// Read timeout (default 30 s).
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(30),
        }
    }
}

impl From<Timeouts> for TransportOptions {
    /// The connect and read timeouts and hanpay's user agent, on the client hanpay builds.
    fn from(t: Timeouts) -> Self {
        TransportOptions::new(t.connect)
            .read_timeout(t.read)
            .user_agent(concat!("hanpay-nicepay/", env!("CARGO_PKG_VERSION")))
    }
}

/// What NICEPAY tells core's send loop: its answers' `resultCode`, its JSON content type, and
/// that a POST is never re-sent once it may have reached NICEPAY ([`Resend::Never`]): a
/// timeout, a lost connection or a 5xx after sending is [`ErrorKind::OutcomeUnknown`], which
/// the provider resolves with a lookup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NicePayStrategy;

impl TransportStrategy for NicePayStrategy {
    fn provider(&self) -> ProviderId {
        PROVIDER_ID
    }

    fn pg_name(&self) -> &'static str {
        "NICEPAY"
    }

    /// NICEPAY has no idempotency key.
    fn resend(&self) -> Resend {
        Resend::Never
    }

    fn prepare(
        &self,
        request: reqwest::RequestBuilder,
        call: &Call<'_>,
    ) -> reqwest::RequestBuilder {
        if call.body.is_some() {
            request.header(CONTENT_TYPE, "application/json;charset=utf-8")
        } else {
            request
        }
    }

    fn decode(&self, operation: &'static str, status: u16, body: &[u8]) -> Option<PaymentError> {
        answer_error(operation, status, body)
    }
}

/// The transport: core's send loop with the [`NicePayStrategy`].
#[derive(Debug)]
pub(crate) struct Transport(Engine<NicePayStrategy>);

/// The error an answer carries, or `None` for a `"0000"` answer with HTTP 200.
///
/// The body is read as UTF-8 (lossily) whatever `Content-Type` claims. The result code decides;
/// without one, the HTTP status does (401/403 unauthorized, 404 not found, 405 invalid, 429 and
/// 5xx transient — a payment call turns 5xx into an unknown outcome).
pub(crate) fn answer_error(
    operation: &'static str,
    status: u16,
    body: &[u8],
) -> Option<PaymentError> {
    let text = String::from_utf8_lossy(body);
    let header: ResultHeader = serde_json::from_str(&text).unwrap_or_default();
    let code = header.result_code.unwrap_or_default();
    if status == 200 && code == SUCCESS {
        return None;
    }
    let message = header
        .result_msg
        .unwrap_or_else(|| text.chars().take(200).collect());
    let kind = if status >= 500 || status == 429 {
        ErrorKind::Retryable
    } else if !code.is_empty() {
        if status == 401 || status == 403 {
            ErrorKind::Unauthorized
        } else {
            classify(&code)
        }
    } else {
        match status {
            200 => ErrorKind::Decode,
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::InvalidRequest,
            _ => ErrorKind::Rejected,
        }
    };
    let summary = match (status, code.is_empty()) {
        (200, true) => "NICEPAY answered without a resultCode".to_owned(),
        (200, false) => format!("NICEPAY answered resultCode {code}"),
        (_, true) => format!("NICEPAY answered HTTP {status}"),
        (_, false) => format!("NICEPAY answered HTTP {status} with resultCode {code}"),
    };
    Some(
        PaymentError::new(kind, summary)
            .with_provider(PROVIDER_ID)
            .with_operation(operation)
            .with_pg(PgError::new(code, message, Some(status))),
    )
}

impl Transport {
    pub(crate) fn new(
        client_id: &str,
        secret_key: &str,
        base_url: String,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret_key}"));
        let auth = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| "the keys cannot be sent in a header".to_owned())?;
        let options = TransportOptions::from(timeouts);
        let http = options
            .build_client()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self(Engine::new(
            NicePayStrategy,
            auth,
            &base_url,
            options,
            retry,
            http,
        )))
    }

    pub(crate) fn retry(&self) -> &RetryPolicy {
        self.0.retry()
    }

    /// A GET, retried (it changes nothing) on transient answers, timeouts and connection
    /// errors. Returns the body of a `"0000"` answer.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        path: &str,
    ) -> Result<Bytes, PaymentError> {
        self.0
            .send(&Call::get(operation, path))
            .await
            .map_err(|e| e.into_error())
    }

    /// A POST that moves money or state. Sent once; re-sent only when the connection was
    /// refused before anything was sent. A timeout, a lost connection or a 5xx answer is
    /// [`ErrorKind::OutcomeUnknown`]. Returns the body of a `"0000"` answer.
    pub(crate) async fn post(
        &self,
        operation: &'static str,
        path: &str,
        body: &[u8],
    ) -> Result<Bytes, PaymentError> {
        self.0
            .send(&Call::post(operation, path, Bytes::copy_from_slice(body)))
            .await
            .map_err(|e| e.into_error())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn http_200_with_a_result_code_is_an_error() {
        assert!(answer_error("x", 200, br#"{"resultCode":"0000","resultMsg":"ok"}"#).is_none());
        let e = answer_error(
            "cancel",
            200,
            "{\"resultCode\":\"2032\",\"resultMsg\":\"취소금액이 취소가능금액보다 큽니다.\"}"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::NotCancelable);
        let pg = e.pg().unwrap();
        assert_eq!(pg.code, "2032");
        assert_eq!(pg.message, "취소금액이 취소가능금액보다 큽니다.");
        assert_eq!(pg.http_status, Some(200));
        let none = answer_error("x", 200, b"{}").unwrap();
        assert_eq!(none.kind(), ErrorKind::Decode);
    }

    #[test]
    fn statuses_without_a_code() {
        let k = |s: u16, b: &[u8]| answer_error("x", s, b).unwrap().kind();
        assert_eq!(k(401, b""), ErrorKind::Unauthorized);
        assert_eq!(
            k(401, br#"{"resultCode":"U104","resultMsg":"m"}"#),
            ErrorKind::Unauthorized
        );
        assert_eq!(k(403, b"forbidden"), ErrorKind::Unauthorized);
        assert_eq!(k(404, b"<html>"), ErrorKind::NotFound);
        assert_eq!(k(405, b""), ErrorKind::InvalidRequest);
        assert_eq!(k(429, b""), ErrorKind::Retryable);
        assert_eq!(k(502, b"<html>bad gateway</html>"), ErrorKind::Retryable);
        assert_eq!(k(400, &[0xff, 0xfe]), ErrorKind::Rejected);
    }

    #[test]
    fn transport_debug_hides_the_keys() {
        let t = Transport::new(
            "S2_client",
            "secretvalue0000",
            "http://127.0.0.1:1".into(),
            Timeouts::default(),
            RetryPolicy::default(),
        )
        .unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secretvalue"));
        assert!(!dbg.contains("UzJfY2xpZW50"));
    }
}
