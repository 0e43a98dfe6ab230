//! [`NicePayWebhookVerifier`]: verifies NICEPAY webhooks (결제통보) and turns them into core
//! [`WebhookEvent`]s (reference §6).
//!
//! - **Body**: the Payment object, `POST`, `application/json`; no event type, no signature
//!   header.
//! - **Signature**: `signature = lowercase hex(SHA-256(tid ‖ amount ‖ ediDate ‖ SecretKey))` in
//!   the body — a plain hash with the API secret key, no HMAC, no timestamp. It is recomputed
//!   from the received `tid`, `ediDate` (as sent) and `amount` (the JSON integer's text) with
//!   each configured secret key (several for rotation) and compared in constant time, as 32
//!   bytes (the received hex is read in either case). A missing or wrong signature is a
//!   rejection.
//! - **It does not cover `status`, `balanceAmt`, `cancels` or `payMethod`**, and nothing bounds
//!   its age (a captured body can be replayed with another status). So an event never moves
//!   money by itself: its trust is [`Trust::SignedWithoutStatus`], never [`Trust::Signed`], and
//!   [`Trust::requires_reconciliation`] is `true` — the hanpay pipeline fetches the payment
//!   (`GET /v1/payments/{tid}`) and acts on that answer. Its `sender` is the address that passed
//!   the allowlist (default NICEPAY's published senders `121.133.126.86` and `121.133.126.87`,
//!   with `X-Forwarded-For` believed only from configured trusted proxies), `None` without an
//!   allowlist.
//! - **Console TEST calls** (`I15`): the console's "TEST 호출" and the webhook-URL registration
//!   probe send a `tid` starting with `UTWEBHOOK` and an empty `status`, with a signature that
//!   cannot be reproduced with the merchant's key. By default they are *acknowledged without
//!   being trusted*: after the sender check, the event is
//!   `WebhookEventKind::Other("nicepay.console_test")` with no payment key, no order id, no
//!   status and [`Trust::Unverified`], which the pipeline ignores — and the receiver answers
//!   `OK`, so registration passes. A TEST-looking body with a non-empty status is verified like
//!   any other. [`NicePayWebhookVerifierBuilder::reject_console_tests`] refuses them instead.
//! - **Answer**: NICEPAY expects **HTTP 200 with body `OK`** (`text/html`); anything else is a
//!   failed delivery. It documents no automatic redelivery (only a manual resend from the
//!   console), so [`WebhookVerifier::redelivery`] has no resends.
//! - **Dedupe id**: `nicepay:{tid}:{status}:{cancelledTid or the latest cancels[].tid}`, the same
//!   for a manual resend of the same state.

use std::borrow::Cow;
use std::io::Write as _;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

use hanpay_core::observe;
use hanpay_core::webhook::{
    IpAllowlist, RedeliverySchedule, RedeliveryStop, DEFAULT_MAX_BODY_BYTES,
};
use hanpay_core::{
    constant_time_eq, PaymentStatus, ProviderId, Secret, Trust, WebhookError, WebhookEvent,
    WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use ipnet::IpNet;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::mapping::{map_status, parse_nice_time, PROVIDER_ID};
use crate::wire::Amount;

/// NICEPAY's published webhook senders (INBOUND, reference §6.2).
pub const NICEPAY_WEBHOOK_IPS: [&str; 2] = ["121.133.126.86", "121.133.126.87"];

/// The tid prefix of the console's TEST payloads.
pub const CONSOLE_TEST_TID_PREFIX: &str = "UTWEBHOOK";

/// The body NICEPAY expects in the receiver's HTTP 200 answer.
pub const WEBHOOK_ACK_BODY: &str = "OK";

/// The event kind of an acknowledged console TEST payload.
pub const CONSOLE_TEST_EVENT: &str = "nicepay.console_test";

/// The part of the body the verifier reads, borrowed from it: only a string with JSON
/// escapes in it is copied. Unknown members are skipped; `vbank` and `cancels[]` are read only
/// as far as the verifier needs them (there or not; the last cancel's `tid`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Notification<'a> {
    #[serde(borrow)]
    tid: Option<Text<'a>>,
    #[serde(borrow)]
    order_id: Option<Text<'a>>,
    amount: Option<RawAmount>,
    #[serde(borrow)]
    edi_date: Option<Text<'a>>,
    #[serde(borrow)]
    signature: Option<Text<'a>>,
    #[serde(borrow)]
    status: Option<Text<'a>>,
    #[serde(borrow)]
    pay_method: Option<Text<'a>>,
    #[serde(borrow)]
    cancelled_tid: Option<Text<'a>>,
    balance_amt: Option<RawAmount>,
    /// `Some` unless absent or `null`.
    vbank: Option<IgnoredAny>,
    #[serde(borrow)]
    cancels: Option<LastCancel<'a>>,
}

/// A JSON string, borrowed from the body unless it has escapes (`serde(borrow)` on an
/// `Option<Cow<str>>` would always copy).
#[derive(Default)]
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a str>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // As `String` says it, so that errors read as they did.
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        d.deserialize_str(TextVisitor(PhantomData))
    }
}

/// An [`Amount`] read from the body's text in place. `Amount` itself copies the text into a
/// `Box<RawValue>`, so that it works with any deserializer; the verifier's always borrows.
struct RawAmount(Amount);

impl<'de> Deserialize<'de> for RawAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        Amount::from_json_text(raw.get()).map(RawAmount)
    }
}

/// `cancels[]`, of which the verifier needs the last entry's `tid`: each entry is still read
/// (and must be a cancel object), none is kept but the last.
#[derive(Default)]
struct LastCancel<'a>(Option<CancelRef<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for LastCancel<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LastVisitor<'a>(PhantomData<&'a str>);

        impl<'de: 'a, 'a> Visitor<'de> for LastVisitor<'a> {
            type Value = LastCancel<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // As `Vec` says it.
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LastCancel<'a>, A::Error> {
                let mut last = None;
                while let Some(entry) = seq.next_element::<CancelRef<'a>>()? {
                    last = Some(entry);
                }
                Ok(LastCancel(last))
            }
        }

        d.deserialize_seq(LastVisitor(PhantomData))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CancelRef<'a> {
    #[serde(borrow)]
    tid: Option<Text<'a>>,
}

/// The SHA-256 of `tid ‖ amount ‖ ediDate ‖ secretKey` up to the key: each key's digest goes on
/// from a copy of it. `amount` is written as `i64::to_string` writes it, on the stack.
fn signature_prefix(tid: &str, amount: i64, edi_date: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(tid.as_bytes());
    // 20 bytes hold any i64 (`-9223372036854775808`).
    let mut digits = [0u8; 20];
    let mut rest = &mut digits[..];
    let written = match write!(rest, "{amount}") {
        Ok(()) => 20 - rest.len(),
        Err(_) => 0,
    };
    h.update(digits.get(..written).unwrap_or_default());
    h.update(edi_date.as_bytes());
    h
}

/// The raw digest of [`webhook_signature`].
fn signature_digest(prefix: &Sha256, secret_key: &str) -> [u8; 32] {
    let mut h = prefix.clone();
    h.update(secret_key.as_bytes());
    h.finalize().into()
}

/// `lowercase hex(sha256(tid ‖ amount ‖ ediDate ‖ secretKey))`, the signature of NICEPAY's
/// answers and webhooks.
///
/// ```
/// use hanpay_nicepay::webhook_signature;
/// // The manual's sandbox example (reference §6.3).
/// assert_eq!(
///     webhook_signature("UT0000113m01012111051714341073", 1004, "2021-11-05T17:14:35.150+0900",
///         "9eb85607103646da9f9c02b128f2e5ee"),
///     "63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd"
/// );
/// ```
pub fn webhook_signature(tid: &str, amount: i64, edi_date: &str, secret_key: &str) -> String {
    hex::encode(signature_digest(
        &signature_prefix(tid, amount, edi_date),
        secret_key,
    ))
}

enum AllowlistChoice {
    NiceDefault(Vec<IpNet>),
    Custom(IpAllowlist),
    Off,
}

/// Verifies NICEPAY webhooks. Build with [`NicePayWebhookVerifier::builder`].
///
/// ```
/// use hanpay_core::{WebhookRequest, WebhookVerifier};
/// use hanpay_nicepay::NicePayWebhookVerifier;
/// let verifier = NicePayWebhookVerifier::builder("9eb85607103646da9f9c02b128f2e5ee")
///     .without_allowlist()
///     .build()
///     .unwrap();
/// let body = br#"{"resultCode":"0000","tid":"UT0000113m01012111051714341073","orderId":"c74a5960-830b-4cd8-82a9-fa1ce739a18f","ediDate":"2021-11-05T17:14:35.150+0900","signature":"63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd","status":"paid","payMethod":"card","amount":1004}"#;
/// let headers = http::HeaderMap::new();
/// let event = verifier.verify(&WebhookRequest::new(&headers, &body[..])).unwrap();
/// assert_eq!(event.payment_key.as_deref(), Some("UT0000113m01012111051714341073"));
/// assert!(event.trust.requires_reconciliation()); // the status is not signed
/// ```
pub struct NicePayWebhookVerifier {
    secret_keys: Vec<Secret>,
    allowlist: Option<IpAllowlist>,
    acknowledge_console_tests: bool,
    max_body_bytes: usize,
}

impl std::fmt::Debug for NicePayWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NicePayWebhookVerifier")
            .field("secret_keys", &self.secret_keys.len())
            .field("allowlist", &self.allowlist)
            .field("acknowledge_console_tests", &self.acknowledge_console_tests)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Builds a [`NicePayWebhookVerifier`].
pub struct NicePayWebhookVerifierBuilder {
    secret_keys: Vec<Secret>,
    allowlist: AllowlistChoice,
    acknowledge_console_tests: bool,
    max_body_bytes: usize,
}

impl std::fmt::Debug for NicePayWebhookVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NicePayWebhookVerifierBuilder")
            .field("secret_keys", &self.secret_keys.len())
            .finish()
    }
}

impl NicePayWebhookVerifierBuilder {
    /// Adds another secret key (rotation: the old and the new key both verify).
    pub fn secret_key(mut self, key: impl Into<Secret>) -> Self {
        self.secret_keys.push(key.into());
        self
    }

    /// Replaces NICEPAY's published senders with `allowlist` (which carries its own trusted
    /// proxies).
    pub fn allowlist(mut self, allowlist: IpAllowlist) -> Self {
        self.allowlist = AllowlistChoice::Custom(allowlist);
        self
    }

    /// Keeps NICEPAY's published senders but believes `X-Forwarded-For` from these proxies.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        let proxies: Vec<IpNet> = proxies.into_iter().collect();
        self.allowlist = match self.allowlist {
            AllowlistChoice::Custom(list) => {
                AllowlistChoice::Custom(list.with_trusted_proxies(proxies))
            }
            _ => AllowlistChoice::NiceDefault(proxies),
        };
        self
    }

    /// Turns the sender check off (local development); events then carry [`Trust::Unverified`].
    pub fn without_allowlist(mut self) -> Self {
        self.allowlist = AllowlistChoice::Off;
        self
    }

    /// Refuses the console's TEST payloads (`UTWEBHOOK…`, empty status) as a signature
    /// mismatch instead of acknowledging them untrusted. Webhook-URL registration then fails.
    pub fn reject_console_tests(mut self) -> Self {
        self.acknowledge_console_tests = false;
        self
    }

    /// Caps the body size (default 256 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<NicePayWebhookVerifier, WebhookError> {
        for (i, key) in self.secret_keys.iter().enumerate() {
            if key.expose().trim().is_empty() {
                return Err(WebhookError::InvalidSecret(format!(
                    "secret key #{} is empty",
                    i + 1
                )));
            }
        }
        let allowlist = match self.allowlist {
            AllowlistChoice::NiceDefault(proxies) => Some(
                IpAllowlist::parse(NICEPAY_WEBHOOK_IPS)
                    .map_err(|e| WebhookError::InvalidSecret(e.to_string()))?
                    .with_trusted_proxies(proxies),
            ),
            AllowlistChoice::Custom(list) => Some(list),
            AllowlistChoice::Off => None,
        };
        Ok(NicePayWebhookVerifier {
            secret_keys: self.secret_keys,
            allowlist,
            acknowledge_console_tests: self.acknowledge_console_tests,
            max_body_bytes: self.max_body_bytes,
        })
    }
}

impl NicePayWebhookVerifier {
    /// A builder verifying with `secret_key` (the API secret key; NICEPAY has no separate
    /// webhook secret), NICEPAY's published senders, TEST calls acknowledged untrusted.
    pub fn builder(secret_key: impl Into<Secret>) -> NicePayWebhookVerifierBuilder {
        NicePayWebhookVerifierBuilder {
            secret_keys: vec![secret_key.into()],
            allowlist: AllowlistChoice::NiceDefault(Vec::new()),
            acknowledge_console_tests: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Whether `sent` (hex, either case, surrounding whitespace ignored) is the signature of
    /// `tid ‖ amount ‖ ediDate` with one of the keys. Every key is hashed and compared in
    /// constant time, whatever `sent` is: no early exit.
    fn signature_matches(
        &self,
        sent: Option<&str>,
        tid: &str,
        amount: i64,
        edi_date: &str,
    ) -> bool {
        let mut received = [0u8; 32];
        let decoded = sent.is_some_and(|s| hex::decode_to_slice(s.trim(), &mut received).is_ok());
        let prefix = signature_prefix(tid, amount, edi_date);
        let mut matched = false;
        for key in &self.secret_keys {
            let expected = signature_digest(&prefix, key.expose().trim());
            matched |= constant_time_eq(&expected, &received);
        }
        matched && decoded
    }
}

fn kind_of(status: PaymentStatus, is_vbank: bool) -> WebhookEventKind {
    match status {
        PaymentStatus::WaitingForDeposit => WebhookEventKind::VirtualAccountIssued,
        PaymentStatus::Paid if is_vbank => WebhookEventKind::DepositReceived,
        PaymentStatus::Canceled => WebhookEventKind::Canceled,
        PaymentStatus::PartiallyCanceled => WebhookEventKind::PartiallyCanceled,
        PaymentStatus::Failed => WebhookEventKind::Failed,
        _ => WebhookEventKind::PaymentStatusChanged,
    }
}

impl WebhookVerifier for NicePayWebhookVerifier {
    fn provider(&self) -> &ProviderId {
        &crate::mapping::PROVIDER
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        request.check_body_size(self.max_body_bytes)?;
        let source: Option<IpAddr> = match &self.allowlist {
            Some(list) => Some(list.check(request.peer_ip(), request.headers)?),
            None => None,
        };
        let n: Notification<'_> = serde_json::from_str(request.text_body()?).map_err(|e| {
            WebhookError::MalformedPayload(format!("not a NICEPAY notification: {e}"))
        })?;
        let tid = n
            .tid
            .as_ref()
            .map(Text::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| WebhookError::MalformedPayload("the notification has no tid".into()))?;
        let raw_status = n.status.as_ref().map_or("", Text::as_str);
        let is_console_test =
            tid.starts_with(CONSOLE_TEST_TID_PREFIX) && raw_status.trim().is_empty();
        if is_console_test && self.acknowledge_console_tests {
            tracing::info!(
                target: observe::TARGET,
                "NICEPAY console TEST notification acknowledged without trust"
            );
            return Ok(WebhookEvent {
                provider: PROVIDER_ID,
                dedupe_id: hanpay_core::webhook::body_digest(&request.body),
                kind: WebhookEventKind::Other(CONSOLE_TEST_EVENT.into()),
                payment_key: None,
                order_id: None,
                status_hint: None,
                raw_status: None,
                occurred_at: None,
                trust: Trust::Unverified,
                payment_secret: None,
                body: request.body.clone(),
            });
        }
        let amount = n
            .amount
            .ok_or_else(|| WebhookError::MalformedPayload("the notification has no amount".into()))?
            .0
            .get();
        let edi_date = n.edi_date.as_ref().map_or("", Text::as_str);
        let signature = n.signature.as_ref().map(Text::as_str);
        if !self.signature_matches(signature, tid, amount, edi_date) {
            return Err(WebhookError::NoMatchingSignature {
                header: "signature (body field)",
                candidates: usize::from(signature.is_some()),
                secrets: self.secret_keys.len(),
            });
        }
        let is_vbank =
            n.pay_method.as_ref().map(Text::as_str) == Some("vbank") || n.vbank.is_some();
        let balance_zero = n.balance_amt.is_some_and(|b| b.0.get() == 0) && amount > 0;
        let status = map_status(raw_status.trim(), is_vbank, balance_zero);
        let latest_cancel = n
            .cancelled_tid
            .as_ref()
            .map(Text::as_str)
            .filter(|t| !t.is_empty())
            .or_else(|| {
                n.cancels
                    .as_ref()
                    .and_then(|c| c.0.as_ref())
                    .and_then(|c| c.tid.as_ref())
                    .map(Text::as_str)
            })
            .unwrap_or_default();
        Ok(WebhookEvent {
            provider: PROVIDER_ID,
            dedupe_id: format!("nicepay:{tid}:{raw_status}:{latest_cancel}"),
            kind: kind_of(status, is_vbank),
            payment_key: Some(tid.to_owned()),
            order_id: n
                .order_id
                .as_ref()
                .map(Text::as_str)
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            status_hint: Some(status),
            raw_status: Some(raw_status.to_owned()),
            occurred_at: parse_nice_time(edi_date),
            trust: Trust::SignedWithoutStatus { sender: source },
            payment_secret: None,
            body: request.body.clone(),
        })
    }

    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// None automatic: NICEPAY documents only a manual resend from the console. Success is HTTP
    /// 200 (with body `OK`, which the schedule cannot express).
    fn redelivery(&self) -> RedeliverySchedule {
        RedeliverySchedule::new(
            "nicepay",
            Vec::<Duration>::new(),
            false,
            RedeliveryStop::Only200,
        )
    }

    /// HTTP 200 with the body `OK`: anything else is a failed delivery to NICEPAY.
    fn ack(&self) -> hanpay_core::webhook::WebhookAck {
        hanpay_core::webhook::WebhookAck::fixed(200, WEBHOOK_ACK_BODY, "text/plain; charset=utf-8")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// The notification as the verifier read it before it borrowed (owned strings, `Value`),
    /// under the same names (they show in errors).
    mod before {
        use super::super::Amount;
        use serde::Deserialize;

        #[derive(Debug, Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        pub(super) struct Notification {
            pub(super) tid: Option<String>,
            pub(super) order_id: Option<String>,
            pub(super) amount: Option<Amount>,
            pub(super) edi_date: Option<String>,
            pub(super) signature: Option<String>,
            pub(super) status: Option<String>,
            pub(super) pay_method: Option<String>,
            pub(super) cancelled_tid: Option<String>,
            pub(super) balance_amt: Option<Amount>,
            pub(super) vbank: Option<serde_json::Value>,
            pub(super) cancels: Option<Vec<CancelRef>>,
        }

        #[derive(Debug, Deserialize, Default)]
        #[serde(default)]
        pub(super) struct CancelRef {
            pub(super) tid: Option<String>,
        }
    }

    /// What the verifier takes from a notification, whichever way it was read.
    type Fields = (
        [Option<String>; 7],
        [Option<i64>; 2],
        bool,
        Option<Option<String>>,
    );

    fn owned(body: &str) -> Result<Fields, String> {
        let n: before::Notification = serde_json::from_str(body).map_err(|e| e.to_string())?;
        Ok((
            [
                n.tid,
                n.order_id,
                n.edi_date,
                n.signature,
                n.status,
                n.pay_method,
                n.cancelled_tid,
            ],
            [n.amount.map(Amount::get), n.balance_amt.map(Amount::get)],
            n.vbank.as_ref().is_some_and(|v| !v.is_null()),
            n.cancels.map(|c| c.last().and_then(|c| c.tid.clone())),
        ))
    }

    fn borrowed(body: &str) -> Result<Fields, String> {
        let n: Notification<'_> = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let text = |t: &Option<Text<'_>>| t.as_ref().map(|t| t.as_str().to_owned());
        Ok((
            [
                text(&n.tid),
                text(&n.order_id),
                text(&n.edi_date),
                text(&n.signature),
                text(&n.status),
                text(&n.pay_method),
                text(&n.cancelled_tid),
            ],
            [
                n.amount.map(|a| a.0.get()),
                n.balance_amt.map(|a| a.0.get()),
            ],
            n.vbank.is_some(),
            n.cancels
                .map(|c| c.0.and_then(|c| c.tid.map(|t| t.as_str().to_owned()))),
        ))
    }

    #[test]
    fn the_borrowed_notification_reads_what_the_owned_one_read() {
        let bodies = [
            include_str!("../tests/fixtures/approve_sandbox.json"),
            include_str!("../tests/fixtures/partial_cancel.json"),
            include_str!("../tests/fixtures/vbank_ready.json"),
            r#"{}"#,
            r#"{"tid":null,"amount":null,"vbank":null,"cancels":null,"status":null}"#,
            r#"{"tid":"T\"1\\u00e9","orderId":"o\/1","amount":-0,"balanceAmt":0,"vbank":{},"cancels":[]}"#,
            r#"{"tid":"T","amount":1004,"vbank":[],"cancels":[{"tid":"C1"},{"tid":null},{}]}"#,
            r#"{"tid":"T","amount":1004,"cancels":[{"tid":"C1"},{"tid":"C2","amount":5,"x":[1,{"y":2}]}]}"#,
            r#"{"tid":"T","amount":1004,"cancels":[["C1"],["C9"]]}"#,
            r#"{"tid":"T","amount":1004,"unknown":{"deep":[1,2,{"tid":"no"}]},"payMethod":"vbank"}"#,
            r#"["T","o"]"#,
            // Refused both ways, with the same error.
            r#"{"tid":5}"#,
            r#"{"tid":"T","tid":"U"}"#,
            r#"{"tid":"T","amount":10.5}"#,
            r#"{"tid":"T","amount":"1004"}"#,
            r#"{"tid":"T","amount":99999999999999999999}"#,
            r#"{"tid":"T","cancels":{"tid":"C"}}"#,
            r#"{"tid":"T","cancels":[null]}"#,
            r#"{"tid":"T","cancels":[{"tid":7}]}"#,
            r#"{"tid":"T","vbank":{"a":}}"#,
            r#"{"tid":"T""#,
            r#"tid=T"#,
        ];
        for body in bodies {
            assert_eq!(borrowed(body), owned(body), "{body}");
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let body = r#"{"tid":"UT01","orderId":"o\/1","status":"paid","cancels":[{"tid":"C1"}]}"#;
        let n: Notification<'_> = serde_json::from_str(body).unwrap();
        assert!(matches!(
            n.tid.as_ref().map(|t| &t.0),
            Some(Cow::Borrowed("UT01"))
        ));
        assert!(matches!(
            n.status.as_ref().map(|t| &t.0),
            Some(Cow::Borrowed("paid"))
        ));
        let cancel = n.cancels.as_ref().and_then(|c| c.0.as_ref());
        assert!(matches!(
            cancel.and_then(|c| c.tid.as_ref()).map(|t| &t.0),
            Some(Cow::Borrowed("C1"))
        ));
        // Unescaping needs a copy.
        assert!(matches!(n.order_id.as_ref().map(|t| &t.0), Some(Cow::Owned(o)) if o == "o/1"));
    }

    #[test]
    fn the_signature_is_the_one_to_string_and_hex_made() {
        let old = |tid: &str, amount: i64, edi: &str, key: &str| {
            let mut h = Sha256::new();
            h.update(tid.as_bytes());
            h.update(amount.to_string().as_bytes());
            h.update(edi.as_bytes());
            h.update(key.as_bytes());
            hex::encode(h.finalize())
        };
        for amount in [0, 1, -1, 1004, 999_999_999_999, i64::MAX, i64::MIN] {
            assert_eq!(
                webhook_signature("T", amount, "2021-11-05T17:14:35.150+0900", "k"),
                old("T", amount, "2021-11-05T17:14:35.150+0900", "k"),
                "{amount}"
            );
        }
    }

    #[test]
    fn the_hex_signature_is_compared_in_either_case_and_nothing_else_passes() {
        let v = NicePayWebhookVerifier::builder("other-key")
            .secret_key("9eb85607103646da9f9c02b128f2e5ee")
            .without_allowlist()
            .build()
            .unwrap();
        let (tid, edi) = (
            "UT0000113m01012111051714341073",
            "2021-11-05T17:14:35.150+0900",
        );
        let sig = "63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd";
        let matches = |sent: &str| v.signature_matches(Some(sent), tid, 1004, edi);
        assert!(matches(sig));
        assert!(matches(&sig.to_ascii_uppercase()));
        assert!(matches(&format!(" {}\n", &sig.replacen("b2", "B2", 1))));
        assert!(!matches(&sig[..63]));
        assert!(!matches(&format!("{sig}0")));
        assert!(!matches(&format!("{sig}00")));
        assert!(!matches(&sig.replacen('6', "g", 1)));
        assert!(!matches(&sig.replacen('6', "7", 1)));
        assert!(!matches(""));
        assert!(!v.signature_matches(None, tid, 1004, edi));
        assert!(!v.signature_matches(Some(sig), tid, 1005, edi));
    }
}
