//! HTTP transport to the NICEPAY `/v1` API: Basic auth with `clientId:secretKey`, a 5 s
//! connect and 30 s read timeout, `resultCode` checked on every answer (HTTP 200 carries
//! business failures), bodies decoded as UTF-8 whatever the charset says. No mapping of
//! payments here.
//!
//! NICEPAY has **no idempotency key**, so the transport never re-sends a POST that may have
//! reached NICEPAY: only a connection that was refused before anything was sent is retried.
//! A timeout, a lost connection or a 5xx after sending is [`ErrorKind::OutcomeUnknown`]; the
//! provider then looks the payment up before anything else. GETs are retried on transient
//! failures.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hanpay_core::observe;
use hanpay_core::{ErrorKind, PaymentError, PgError, RetryPolicy};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use tracing::Instrument as _;

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

enum Attempt {
    Answer { status: u16, body: Bytes },
    NotSent(reqwest::Error),
    Unknown(reqwest::Error),
}

/// The transport: one `reqwest::Client`, the base URL, the auth header and the GET retry policy.
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
        let mut auth = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| "the keys cannot be sent in a header".to_owned())?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .user_agent(concat!("hanpay-nicepay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            timeouts,
            retry,
        })
    }

    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    async fn attempt(&self, method: Method, path: &str, body: Option<&[u8]>) -> Attempt {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(bytes) = body {
            req = req
                .header(CONTENT_TYPE, "application/json;charset=utf-8")
                .body(bytes.to_vec());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Attempt::NotSent(e),
            Err(e) => return Attempt::Unknown(e),
        };
        let status = resp.status().as_u16();
        match resp.bytes().await {
            Ok(body) => Attempt::Answer { status, body },
            Err(e) => Attempt::Unknown(e),
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
            format!("the call to NICEPAY {what}; the outcome is unknown: look the payment up before retrying")
        } else {
            format!("the call to NICEPAY {what}")
        };
        PaymentError::new(kind, message)
            .with_provider(PROVIDER_ID)
            .with_operation(operation)
            .with_source(e.without_url())
    }

    /// A GET, retried (it changes nothing) on transient answers, timeouts and connection
    /// errors. Returns the body of a `"0000"` answer.
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
                .attempt(Method::GET, path, None)
                .instrument(span.clone())
                .await;
            let error = match outcome {
                Attempt::Answer { status, body } => match answer_error(operation, status, &body) {
                    None => {
                        observe::record_pg_outcome(&span, Some(status), "ok", t0.elapsed());
                        return Ok(body);
                    }
                    Some(error) => {
                        observe::record_pg_outcome(
                            &span,
                            Some(status),
                            error.kind().as_str(),
                            t0.elapsed(),
                        );
                        if error.kind() != ErrorKind::Retryable {
                            return Err(error);
                        }
                        error
                    }
                },
                Attempt::NotSent(e) | Attempt::Unknown(e) => {
                    observe::record_pg_outcome(&span, None, "transport", t0.elapsed());
                    Self::transport_error(operation, ErrorKind::Transport, e)
                }
            };
            if !self.retry.allows_another(attempts, started.elapsed()) {
                return Err(error);
            }
            tokio::time::sleep(self.retry.backoff(attempts, Duration::ZERO)).await;
        }
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
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let span = observe::pg_call_span(PROVIDER_ID.as_str(), operation, None);
            let t0 = Instant::now();
            let outcome = self
                .attempt(Method::POST, path, Some(body))
                .instrument(span.clone())
                .await;
            let error = match outcome {
                Attempt::Answer { status, body } => match answer_error(operation, status, &body) {
                    None => {
                        observe::record_pg_outcome(&span, Some(status), "ok", t0.elapsed());
                        return Ok(body);
                    }
                    Some(error) if status >= 500 => {
                        observe::record_pg_outcome(
                            &span,
                            Some(status),
                            "outcome_unknown",
                            t0.elapsed(),
                        );
                        return Err(PaymentError::new(
                            ErrorKind::OutcomeUnknown,
                            format!("NICEPAY answered HTTP {status}; whether the call took effect is unknown: look the payment up before retrying"),
                        )
                        .with_provider(PROVIDER_ID)
                        .with_operation(operation)
                        .with_source(error));
                    }
                    Some(error) => {
                        observe::record_pg_outcome(
                            &span,
                            Some(status),
                            error.kind().as_str(),
                            t0.elapsed(),
                        );
                        return Err(error);
                    }
                },
                Attempt::NotSent(e) => {
                    observe::record_pg_outcome(&span, None, "transport", t0.elapsed());
                    Self::transport_error(operation, ErrorKind::Transport, e)
                }
                Attempt::Unknown(e) => {
                    observe::record_pg_outcome(&span, None, "outcome_unknown", t0.elapsed());
                    return Err(Self::transport_error(
                        operation,
                        ErrorKind::OutcomeUnknown,
                        e,
                    ));
                }
            };
            if !self.retry.allows_another(attempts, started.elapsed()) {
                return Err(error);
            }
            tokio::time::sleep(self.retry.backoff(attempts, Duration::ZERO)).await;
        }
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
