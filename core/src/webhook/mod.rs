//! Webhooks: the request a verifier sees, the [`WebhookVerifier`] trait, the verified
//! [`WebhookEvent`] with its [`Trust`], and the shared building blocks every provider uses
//! ([`HmacKeys`], [`StandardWebhooks`], [`IpAllowlist`], [`RedeliverySchedule`]).
//!
//! A verifier is synchronous and CPU-only: it checks the sender and the signature over the
//! **raw body bytes** and parses just enough of the payload to say what happened. Anything
//! whose trust is not [`Trust::Signed`] must be reconciled against the PG's API before money
//! moves; the `hanpay` facade's webhook pipeline does that for you.

mod allowlist;
mod error;
mod hmac;
mod redelivery;
pub mod standard;

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use self::allowlist::{parse_network, InvalidNetwork, IpAllowlist};
pub use self::error::WebhookError;
pub use self::hmac::{decode_base64_signature, hmac_sha256, HmacKeys};
pub use self::redelivery::{RedeliverySchedule, RedeliveryStop};
pub use self::standard::{StandardWebhooks, VerifiedMessage};

use crate::payment::ProviderId;
use crate::secret::{constant_time_eq, Secret};
use crate::status::PaymentStatus;

/// The default cap on a webhook body: 256 KiB. PG payloads are a few KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// An incoming webhook as received: nothing parsed, nothing re-serialised.
#[derive(Debug, Clone)]
pub struct WebhookRequest<'a> {
    /// The HTTP method (PGs use POST).
    pub method: Method,
    /// The request path.
    pub path: &'a str,
    /// The headers, case-insensitive and multi-valued.
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received.
    pub body: Bytes,
    /// The TCP peer, when known. IP allowlists fail closed without it.
    pub peer: Option<SocketAddr>,
    /// When it was received: the clock timestamps are checked against.
    pub received_at: OffsetDateTime,
}

impl<'a> WebhookRequest<'a> {
    /// A POST to `/` received now, with no peer address.
    pub fn new(headers: &'a HeaderMap, body: impl Into<Bytes>) -> WebhookRequest<'a> {
        WebhookRequest {
            method: Method::POST,
            path: "/",
            headers,
            body: body.into(),
            peer: None,
            received_at: OffsetDateTime::now_utc(),
        }
    }

    /// Built from an `http::Request` (the body is a cheap `Bytes` clone, not a copy).
    pub fn from_http(request: &'a http::Request<Bytes>, peer: Option<SocketAddr>) -> Self {
        WebhookRequest {
            method: request.method().clone(),
            path: request.uri().path(),
            headers: request.headers(),
            body: request.body().clone(),
            peer,
            received_at: OffsetDateTime::now_utc(),
        }
    }

    /// Sets the TCP peer address.
    pub fn peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets the path.
    pub fn path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }

    /// Fixes the receive time (the clock timestamps are checked against).
    pub fn received_at(mut self, at: OffsetDateTime) -> Self {
        self.received_at = at;
        self
    }

    /// The peer's IP, if known.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.peer.map(|p| p.ip())
    }

    /// A header's value as text, if present and visible ASCII (the first line when repeated).
    /// For anything a verification depends on, use [`WebhookRequest::single_header`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header a verification depends on; see [`single_header`].
    pub fn single_header(&self, name: &'static str) -> Result<Option<&str>, WebhookError> {
        single_header(self.headers, name)
    }

    /// Refuses a body above `limit` bytes.
    pub fn check_body_size(&self, limit: usize) -> Result<(), WebhookError> {
        if self.body.len() > limit {
            Err(WebhookError::BodyTooLarge {
                len: self.body.len(),
                limit,
            })
        } else {
            Ok(())
        }
    }

    /// The body as text, refused (as [`WebhookError::MalformedPayload`]) unless it is valid
    /// UTF-8 throughout. Every PG's webhook is JSON, which is UTF-8 text (RFC 8259); JSON
    /// parsers skip the members a verifier ignores without checking their bytes, so every
    /// verifier calls this before parsing: a signed body that is not JSON text is refused,
    /// whatever its signature.
    pub fn text_body(&self) -> Result<&str, WebhookError> {
        std::str::from_utf8(&self.body).map_err(|e| {
            WebhookError::MalformedPayload(format!(
                "the body is not UTF-8 text (an invalid byte at offset {})",
                e.valid_up_to()
            ))
        })
    }
}

/// How far a webhook event can be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// A cryptographic signature over the raw body was verified.
    Signed,
    /// The payload carries a per-payment secret. The caller must compare it, in constant time,
    /// with the secret the PG returned when the payment was confirmed or the virtual account
    /// issued ([`Trust::matches_secret`]). Until then it proves nothing.
    SharedSecret(Secret),
    /// A signature was verified, but it covers some fields only and **not the status** (NICEPAY
    /// signs `tid`, `amount` and `ediDate`): it proves which payment the PG wrote about, not what
    /// happened to it, so the payment must be fetched before anything moves. `sender` is the
    /// address that also passed the allowlist, when one is configured.
    SignedWithoutStatus {
        /// The sender's address, when it passed the PG's allowlist.
        sender: Option<IpAddr>,
    },
    /// Only the sender's IP address was checked against the PG's allowlist.
    SourceAddress(IpAddr),
    /// Nothing was verified.
    Unverified,
}

impl Trust {
    /// `true` unless a signature over the whole body was verified: the payment must be fetched
    /// from the PG's API and that answer taken as the truth before money moves.
    pub fn requires_reconciliation(&self) -> bool {
        !matches!(self, Trust::Signed)
    }

    /// For [`Trust::SharedSecret`]: compares the carried secret with `expected` (the one the PG
    /// returned at confirm or issue) in constant time. `false` for every other trust.
    pub fn matches_secret(&self, expected: &Secret) -> bool {
        match self {
            Trust::SharedSecret(carried) => {
                constant_time_eq(carried.expose().as_bytes(), expected.expose().as_bytes())
            }
            _ => false,
        }
    }

    /// A short label for logs (`"signed"`, `"shared_secret"`, …); never the secret.
    pub fn label(&self) -> &'static str {
        match self {
            Trust::Signed => "signed",
            Trust::SharedSecret(_) => "shared_secret",
            Trust::SignedWithoutStatus { .. } => "signed_without_status",
            Trust::SourceAddress(_) => "source_address",
            Trust::Unverified => "unverified",
        }
    }
}

impl Serialize for Trust {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// What a webhook says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookEventKind {
    /// The payment's status changed (look at the status hint, then the API).
    PaymentStatusChanged,
    /// A virtual account was issued.
    VirtualAccountIssued,
    /// The customer deposited into a virtual account (or the deposit was reversed).
    DepositReceived,
    /// The payment was canceled in full.
    Canceled,
    /// Part of the payment was canceled.
    PartiallyCanceled,
    /// The payment failed.
    Failed,
    /// A billing key was issued.
    BillingKeyIssued,
    /// A billing key was deleted.
    BillingKeyDeleted,
    /// A billing key changed in another way.
    BillingKeyUpdated,
    /// Any other event type, kept as sent (`"payout.changed"`).
    Other(String),
}

impl WebhookEventKind {
    /// The known kinds (without `Other`).
    pub const KNOWN: [WebhookEventKind; 9] = [
        WebhookEventKind::PaymentStatusChanged,
        WebhookEventKind::VirtualAccountIssued,
        WebhookEventKind::DepositReceived,
        WebhookEventKind::Canceled,
        WebhookEventKind::PartiallyCanceled,
        WebhookEventKind::Failed,
        WebhookEventKind::BillingKeyIssued,
        WebhookEventKind::BillingKeyDeleted,
        WebhookEventKind::BillingKeyUpdated,
    ];

    /// The kind's name, as serialised (`"deposit_received"`); `Other` keeps the PG's.
    ///
    /// ```
    /// use hanpay_core::WebhookEventKind;
    /// assert_eq!(WebhookEventKind::DepositReceived.as_str(), "deposit_received");
    /// assert_eq!("payout.changed".parse::<WebhookEventKind>().ok().map(|k| k.as_str().to_owned()).as_deref(), Some("payout.changed"));
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            WebhookEventKind::PaymentStatusChanged => "payment_status_changed",
            WebhookEventKind::VirtualAccountIssued => "virtual_account_issued",
            WebhookEventKind::DepositReceived => "deposit_received",
            WebhookEventKind::Canceled => "canceled",
            WebhookEventKind::PartiallyCanceled => "partially_canceled",
            WebhookEventKind::Failed => "failed",
            WebhookEventKind::BillingKeyIssued => "billing_key_issued",
            WebhookEventKind::BillingKeyDeleted => "billing_key_deleted",
            WebhookEventKind::BillingKeyUpdated => "billing_key_updated",
            WebhookEventKind::Other(raw) => raw,
        }
    }
}

impl std::str::FromStr for WebhookEventKind {
    type Err = std::convert::Infallible;

    /// The inverse of [`as_str`](WebhookEventKind::as_str): any other name is `Other`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(WebhookEventKind::KNOWN
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| WebhookEventKind::Other(name.to_owned())))
    }
}

impl std::fmt::Display for WebhookEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified, normalised webhook event.
///
/// `Debug` shows the body's length only: bodies can carry per-payment secrets.
#[derive(Clone, Serialize)]
pub struct WebhookEvent {
    /// The provider that sent it.
    pub provider: ProviderId,
    /// The id to deduplicate deliveries with: the PG's delivery id where it sends one (the same
    /// on every redelivery), else the SHA-256 of the body.
    pub dedupe_id: String,
    /// What happened.
    pub kind: WebhookEventKind,
    /// The PG's payment key, when the event names one.
    pub payment_key: Option<String>,
    /// The merchant's order id, when the event names one.
    pub order_id: Option<String>,
    /// The status the event claims. A hint only: reconcile before acting on it.
    pub status_hint: Option<PaymentStatus>,
    /// The PG's raw status string, when the event carries one.
    pub raw_status: Option<String>,
    /// When the PG says it happened.
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    /// How far it can be believed.
    pub trust: Trust,
    /// A per-payment secret the payload carries (Toss's `DEPOSIT_CALLBACK` `secret`,
    /// `PAYMENT_STATUS_CHANGED` `data.secret`), **whatever the trust**: a signature from a relay
    /// proves who forwarded the body, not that the secret in it is the payment's. It must equal,
    /// in constant time, the one the PG returned at confirm or issue before the event is
    /// believed; the facade's pipeline compares it for signed events too
    /// ([`WebhookEvent::carried_secret`]). Never serialised; `Debug` shows `***`.
    #[serde(skip)]
    pub payment_secret: Option<Secret>,
    /// The raw body, for the application's own parsing.
    #[serde(skip)]
    pub body: Bytes,
}

impl std::fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEvent")
            .field("provider", &self.provider)
            .field("dedupe_id", &self.dedupe_id)
            .field("kind", &self.kind)
            .field("payment_key", &self.payment_key)
            .field("order_id", &self.order_id)
            .field("status_hint", &self.status_hint)
            .field("raw_status", &self.raw_status)
            .field("occurred_at", &self.occurred_at)
            .field("trust", &self.trust)
            .field("payment_secret", &self.payment_secret)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl WebhookEvent {
    /// The per-payment secret to compare with the saved one: [`WebhookEvent::payment_secret`],
    /// else the one a [`Trust::SharedSecret`] carries. `None` when the event carries none.
    pub fn carried_secret(&self) -> Option<&Secret> {
        match (&self.payment_secret, &self.trust) {
            (Some(secret), _) | (None, Trust::SharedSecret(secret)) => Some(secret),
            (None, _) => None,
        }
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A header a verification depends on (a signature, its timestamp, a delivery id): `None` when
/// absent, refused when sent more than once or not visible ASCII.
///
/// One rule for every PG: no PG documents repeating these headers (several signatures travel
/// in one header value), and picking one of several lines would let whoever adds a line decide
/// which is checked — so a repeated header is [`WebhookError::MalformedHeader`], never "the
/// first" or "any".
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, WebhookError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(WebhookError::MalformedHeader {
            name,
            reason: "sent more than once".into(),
        });
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| WebhookError::MalformedHeader {
            name,
            reason: "not visible ASCII".into(),
        })
}

/// Hex SHA-256 of `body`: the fallback dedupe id.
pub fn body_digest(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    // Into a buffer, then one copy: `hex::encode` collects a `String` char by char.
    let mut text = [0u8; 64];
    match hex::encode_to_slice(digest, &mut text) {
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        Err(_) => hex::encode(digest),
    }
}

/// Checks a webhook's sender and signature and normalises it. Synchronous and CPU-only.
pub trait WebhookVerifier: Send + Sync {
    /// The provider whose webhooks this verifies.
    fn provider(&self) -> &ProviderId;

    /// Verifies the raw request and returns the event, or why it was refused.
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError>;

    /// The largest body accepted; servers should cap reads at this size.
    fn max_body_bytes(&self) -> usize {
        DEFAULT_MAX_BODY_BYTES
    }

    /// How the PG resends a webhook that was not acknowledged (to size dedupe windows).
    fn redelivery(&self) -> RedeliverySchedule;

    /// The answer this PG expects for a delivery that was taken (processed, ignored or a
    /// duplicate). Default: HTTP 200 with the pipeline's JSON summary.
    fn ack(&self) -> WebhookAck {
        WebhookAck::JSON_SUMMARY
    }
}

/// What a webhook receiver answers a PG for a delivery it took: the PG's to say (NICEPAY
/// wants HTTP 200 with the body `OK`; Toss counts only exactly 200; PortOne any 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookAck {
    /// The HTTP status.
    pub status: u16,
    /// A fixed body, or `None` for the receiver's JSON summary of the outcome.
    pub body: Option<&'static str>,
    /// The body's content type (with a fixed body).
    pub content_type: &'static str,
}

impl WebhookAck {
    /// HTTP 200 with the receiver's JSON summary (`application/json`).
    pub const JSON_SUMMARY: WebhookAck = WebhookAck {
        status: 200,
        body: None,
        content_type: "application/json",
    };

    /// HTTP `status` with exactly `body` as `content_type`.
    pub const fn fixed(status: u16, body: &'static str, content_type: &'static str) -> WebhookAck {
        WebhookAck {
            status,
            body: Some(body),
            content_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_serde_names_and_round_trip() {
        for kind in WebhookEventKind::KNOWN {
            let serde = serde_json::to_value(&kind).unwrap_or_default();
            assert_eq!(serde.as_str(), Some(kind.as_str()));
            assert_eq!(kind.as_str().parse::<WebhookEventKind>().ok(), Some(kind));
        }
        let other: WebhookEventKind = "payout.changed".parse().unwrap_or(WebhookEventKind::Failed);
        assert_eq!(other, WebhookEventKind::Other("payout.changed".into()));
    }

    #[test]
    fn trust_secret_comparison() {
        let t = Trust::SharedSecret(Secret::new("ps_abc"));
        assert!(t.matches_secret(&Secret::new("ps_abc")));
        assert!(!t.matches_secret(&Secret::new("ps_abd")));
        assert!(!Trust::Signed.matches_secret(&Secret::new("ps_abc")));
        assert!(t.requires_reconciliation());
        assert!(!Trust::Signed.requires_reconciliation());
        assert!(!format!("{t:?}").contains("ps_abc"));
        assert_eq!(
            serde_json::to_string(&t).unwrap_or_default(),
            "\"shared_secret\""
        );
    }

    #[test]
    fn event_debug_hides_the_body() {
        let event = WebhookEvent {
            provider: ProviderId::from_static("tosspayments"),
            dedupe_id: "d".into(),
            kind: WebhookEventKind::DepositReceived,
            payment_key: None,
            order_id: Some("order-1".into()),
            status_hint: Some(PaymentStatus::Paid),
            raw_status: Some("DONE".into()),
            occurred_at: None,
            trust: Trust::SharedSecret(Secret::new("ps_topsecret")),
            payment_secret: None,
            body: Bytes::from_static(br#"{"secret":"ps_topsecret"}"#),
        };
        let shown = format!("{event:?}");
        assert!(!shown.contains("ps_topsecret"), "{shown}");
        assert!(shown.contains("<25 bytes>"));
        assert!(event
            .carried_secret()
            .is_some_and(|s| s.ct_eq("ps_topsecret")));

        let signed = WebhookEvent {
            trust: Trust::Signed,
            payment_secret: Some(Secret::new("ps_carried")),
            ..event.clone()
        };
        let shown = format!("{signed:?}");
        assert!(!shown.contains("ps_carried"), "{shown}");
        assert!(!serde_json::to_string(&signed)
            .unwrap_or_default()
            .contains("ps_carried"));
        assert!(signed
            .carried_secret()
            .is_some_and(|s| s.ct_eq("ps_carried")));
        let bare = WebhookEvent {
            trust: Trust::Signed,
            payment_secret: None,
            ..event
        };
        assert!(bare.carried_secret().is_none());
    }

    #[test]
    fn body_limit() {
        let headers = HeaderMap::new();
        let req = WebhookRequest::new(&headers, vec![0u8; 10]);
        assert!(req.check_body_size(10).is_ok());
        assert_eq!(
            req.check_body_size(9),
            Err(WebhookError::BodyTooLarge { len: 10, limit: 9 })
        );
    }

    #[test]
    fn repeated_verification_headers_are_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(single_header(&headers, "x-sig"), Ok(None));
        headers.append("x-sig", http::HeaderValue::from_static("a"));
        assert_eq!(single_header(&headers, "x-sig"), Ok(Some("a")));
        headers.append("x-sig", http::HeaderValue::from_static("b"));
        assert_eq!(
            WebhookRequest::new(&headers, Vec::new()).single_header("x-sig"),
            Err(WebhookError::MalformedHeader {
                name: "x-sig",
                reason: "sent more than once".into()
            })
        );
        let mut binary = HeaderMap::new();
        binary.append(
            "x-sig",
            http::HeaderValue::from_bytes(&[0xff]).unwrap_or(http::HeaderValue::from_static("")),
        );
        assert!(single_header(&binary, "x-sig").is_err());
    }

    #[test]
    fn digest_is_stable() {
        assert_eq!(
            body_digest(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
