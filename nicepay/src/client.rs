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
use crate::mapping::{payment_from_bytes, payment_from_wire, PROVIDER_ID, SUCCESS};
use crate::wire::{self, ResultHeader};
use hanpay_core::{Payment, RawJson};

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

/// An answer to a call that returns the Payment object, read in one parse: `Err` is the error
/// it carries, exactly as [`answer_error`] reads it; `Ok` is a success and what its body maps
/// to (the payment, or the decode error [`payment_from_bytes`] gives).
///
/// A body that parses as the Payment object with `resultCode` `"0000"`, on HTTP 200, is a
/// success as `answer_error` would say (the same members, read the same way), so it is mapped
/// from that one parse. Anything else — an error answer, a body the Payment type refuses, a
/// result code also spelled `ResultCode`/`ResultMsg`, a body that is not a JSON object — goes
/// the old way: `answer_error`, then `payment_from_bytes` on a success. Error answers are
/// parsed twice, as before; successes once.
pub(crate) fn read_payment_answer(
    operation: &'static str,
    status: u16,
    body: &Bytes,
) -> Result<Result<Payment, PaymentError>, PaymentError> {
    if status == 200 && starts_an_object(body) {
        if let Ok(p) = serde_json::from_slice::<wire::Payment>(body) {
            if p.result_code.as_deref() == Some(SUCCESS) && !p.has_pascal_result() {
                return Ok(payment_from_wire(&p, RawJson::new(body.clone())));
            }
        }
    }
    match answer_error(operation, status, body) {
        Some(error) => Err(error),
        None => Ok(payment_from_bytes(body.clone())),
    }
}

/// What the client makes of NICEPAY's answer (`status`, `body`) to `operation`, a call that
/// answers the Payment object: the error it carries (a `resultCode` other than `"0000"`, or the
/// HTTP status), or the payment. A success is parsed once, straight into the wire type; the
/// body is kept (not copied) as [`Payment::raw`].
///
/// ```
/// use hanpay_core::ErrorKind;
/// use hanpay_nicepay::payment_from_answer;
/// let ok = r#"{"resultCode":"0000","tid":"T1","orderId":"o1","status":"paid","amount":1004,"balanceAmt":1004}"#;
/// assert_eq!(payment_from_answer("payment", 200, ok.into()).unwrap().payment_key, "T1");
/// let refused = r#"{"resultCode":"2032","resultMsg":"취소금액이 취소가능금액보다 큽니다."}"#;
/// let e = payment_from_answer("cancel", 200, refused.into()).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::NotCancelable);
/// ```
pub fn payment_from_answer(
    operation: &'static str,
    status: u16,
    body: Bytes,
) -> Result<Payment, PaymentError> {
    read_payment_answer(operation, status, &body)?
}

/// Whether the first byte after JSON whitespace opens an object (a struct also reads from an
/// array, which [`ResultHeader`] and the Payment type would read differently).
fn starts_an_object(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        .is_some_and(|b| *b == b'{')
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

    /// A GET of a call that answers the Payment object, retried (it changes nothing) on
    /// transient answers, timeouts and connection errors; the answer read in one parse
    /// ([`read_payment_answer`]). The outer `Err` is the call's failure; `Ok` holds what the
    /// `"0000"` answer maps to.
    pub(crate) async fn get_payment(
        &self,
        operation: &'static str,
        path: &str,
    ) -> Result<Result<Payment, PaymentError>, PaymentError> {
        self.0
            .send_with(&Call::get(operation, path), read_payment_answer)
            .await
            .map_err(|e| e.into_error())
    }

    /// [`Transport::post`] of a call that answers the Payment object, read in one parse
    /// ([`read_payment_answer`]). The outer `Err` is the call's failure, as `post`'s; `Ok`
    /// holds what the success answer maps to.
    pub(crate) async fn post_payment(
        &self,
        operation: &'static str,
        path: &str,
        body: &[u8],
    ) -> Result<Result<Payment, PaymentError>, PaymentError> {
        let call = Call::post(operation, path, Bytes::copy_from_slice(body));
        self.0
            .send_with(&call, read_payment_answer)
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

    /// What the client made of a Payment answer before it was read in one parse: the result
    /// header, then (on a success) the Payment parsed again.
    fn two_pass(operation: &'static str, status: u16, body: &Bytes) -> String {
        let outcome = match answer_error(operation, status, body) {
            Some(error) => Err(error),
            None => Ok(payment_from_bytes(body.clone())),
        };
        format!("{outcome:?}")
    }

    fn one_pass(operation: &'static str, status: u16, body: &Bytes) -> String {
        format!("{:?}", read_payment_answer(operation, status, body))
    }

    #[test]
    fn one_parse_reads_every_answer_as_the_two_passes_did() {
        let fixtures: [&[u8]; 3] = [
            include_bytes!("../tests/fixtures/approve_sandbox.json"),
            include_bytes!("../tests/fixtures/partial_cancel.json"),
            include_bytes!("../tests/fixtures/vbank_ready.json"),
        ];
        let mut bodies: Vec<Vec<u8>> = fixtures.iter().map(|b| b.to_vec()).collect();
        for raw in [
            "",
            "{}",
            "null",
            "<html>bad gateway</html>",
            "\u{feff}{\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1,\"balanceAmt\":1}",
            " \n\t{\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1,\"balanceAmt\":1}\r\n",
            "[\"0000\",\"ok\"]",
            "[\"0000\",\"ok\",\"T\"]",
            "{\"resultCode\":\"0000\",\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1}",
            "{\"resultCode\":\"0000\",\"resultMsg\":\"a\",\"resultMsg\":\"b\",\"tid\":\"T\",\"amount\":1}",
            "{\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1,\"card\":{\"cardQuota\":{}}}",
            "{\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1,\"unknown\":[1,{\"a\":null}]}",
            "{\"resultCode\":\"0000\",\"tid\":\"T\",\"amount\":1}trailing",
            "{\"resultCode\":\"2032\",\"resultMsg\":\"취소금액이 취소가능금액보다 큽니다.\"}",
            "{\"resultCode\":\"A123\",\"resultMsg\":\"m\",\"tid\":\"T\",\"amount\":1}",
            "{\"ResultCode\":\"U104\",\"ResultMsg\":\"m\"}",
        ] {
            bodies.push(raw.as_bytes().to_vec());
        }
        bodies.push(vec![0xff, 0xfe, b'{', b'}']);
        bodies.push(b"{\"resultCode\":\"0000\",\"resultMsg\":\"\xff\",\"tid\":\"T\"}".to_vec());
        // Every combination of the members that decide: the result code and message in either
        // spelling and of any type, and members the Payment type reads strictly.
        let code = [
            None,
            Some("\"resultCode\":\"0000\""),
            Some("\"resultCode\":\"2032\""),
            Some("\"resultCode\":null"),
            Some("\"resultCode\":0"),
            Some("\"resultCode\":\"\""),
        ];
        let message = [
            None,
            Some("\"resultMsg\":\"정상 처리되었습니다.\""),
            Some("\"resultMsg\":null"),
            Some("\"resultMsg\":7"),
        ];
        let pascal = [
            None,
            Some("\"ResultCode\":\"0000\""),
            Some("\"ResultCode\":\"U104\""),
            Some("\"ResultCode\":null"),
            Some("\"ResultMsg\":\"m\""),
            Some("\"ResultCode\":\"0000\",\"ResultMsg\":\"m\""),
            Some("\"ResultCode\":\"0000\",\"ResultCode\":\"0000\""),
            Some("\"ResultMsg\":\"m\",\"ResultMsg\":null"),
        ];
        let payment = [
            None,
            Some("\"tid\":\"T1\",\"orderId\":\"o\",\"status\":\"paid\",\"amount\":1004,\"balanceAmt\":1004"),
            Some("\"tid\":\"T1\",\"amount\":10.5"),
            Some("\"tid\":\"T1\",\"amount\":5,\"balanceAmt\":9"),
            Some("\"status\":\"failed\",\"tid\":\"T1\",\"amount\":0,\"balanceAmt\":0"),
        ];
        for c in code {
            for m in message {
                for p in pascal {
                    for pay in payment {
                        let members: Vec<&str> = [c, m, p, pay].into_iter().flatten().collect();
                        bodies.push(format!("{{{}}}", members.join(",")).into_bytes());
                    }
                }
            }
        }
        let mut fast = 0;
        for body in bodies {
            let body = Bytes::from(body);
            for status in [200, 201, 400, 401, 404, 429, 500] {
                for operation in ["payment", "cancel"] {
                    assert_eq!(
                        one_pass(operation, status, &body),
                        two_pass(operation, status, &body),
                        "HTTP {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            fast += usize::from(
                serde_json::from_slice::<wire::Payment>(&body).is_ok_and(|p| {
                    p.result_code.as_deref() == Some(SUCCESS) && !p.has_pascal_result()
                }),
            );
        }
        // The fixtures and many combinations did take the one-parse way.
        assert!(fast >= 15, "{fast}");
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
