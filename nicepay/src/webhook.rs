//! [`NicePayWebhookVerifier`]: verifies NICEPAY webhooks (결제통보) and turns them into core
//! [`WebhookEvent`]s (reference §6).
//!
//! - **Body**: the Payment object, `POST`, `application/json`; no event type, no signature
//!   header.
//! - **Signature**: `signature = lowercase hex(SHA-256(tid ‖ amount ‖ ediDate ‖ SecretKey))` in
//!   the body — a plain hash with the API secret key, no HMAC, no timestamp. It is recomputed
//!   from the received `tid`, `ediDate` (as sent) and `amount` (the JSON integer's text) with
//!   each configured secret key (several for rotation) and compared in constant time. A missing
//!   or wrong signature is a rejection.
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
use serde::Deserialize;
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

/// The part of the body the verifier reads.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Notification {
    tid: Option<String>,
    order_id: Option<String>,
    amount: Option<Amount>,
    edi_date: Option<String>,
    signature: Option<String>,
    status: Option<String>,
    pay_method: Option<String>,
    cancelled_tid: Option<String>,
    balance_amt: Option<Amount>,
    vbank: Option<serde_json::Value>,
    cancels: Option<Vec<CancelRef>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CancelRef {
    tid: Option<String>,
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
    let mut h = Sha256::new();
    h.update(tid.as_bytes());
    h.update(amount.to_string().as_bytes());
    h.update(edi_date.as_bytes());
    h.update(secret_key.as_bytes());
    hex::encode(h.finalize())
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

    fn signature_matches(&self, n: &Notification, tid: &str, amount: i64, edi_date: &str) -> bool {
        let Some(sent) = n.signature.as_deref() else {
            return false;
        };
        let sent = sent.trim().to_ascii_lowercase();
        // Every key is tried (no early exit), each comparison in constant time.
        let mut matched = false;
        for key in &self.secret_keys {
            let expected = webhook_signature(tid, amount, edi_date, key.expose().trim());
            matched |= constant_time_eq(expected.as_bytes(), sent.as_bytes());
        }
        matched
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
        let n: Notification = serde_json::from_str(request.text_body()?).map_err(|e| {
            WebhookError::MalformedPayload(format!("not a NICEPAY notification: {e}"))
        })?;
        let tid = n
            .tid
            .clone()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| WebhookError::MalformedPayload("the notification has no tid".into()))?;
        let raw_status = n.status.clone().unwrap_or_default();
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
            .get();
        let edi_date = n.edi_date.clone().unwrap_or_default();
        if !self.signature_matches(&n, &tid, amount, &edi_date) {
            return Err(WebhookError::NoMatchingSignature {
                header: "signature (body field)",
                candidates: usize::from(n.signature.is_some()),
                secrets: self.secret_keys.len(),
            });
        }
        let is_vbank = n.pay_method.as_deref() == Some("vbank")
            || n.vbank.as_ref().is_some_and(|v| !v.is_null());
        let balance_zero = n.balance_amt.is_some_and(|b| b.get() == 0) && amount > 0;
        let status = map_status(raw_status.trim(), is_vbank, balance_zero);
        let latest_cancel = n
            .cancelled_tid
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(|| {
                n.cancels
                    .as_ref()
                    .and_then(|c| c.last())
                    .and_then(|c| c.tid.clone())
            })
            .unwrap_or_default();
        Ok(WebhookEvent {
            provider: PROVIDER_ID,
            dedupe_id: format!("nicepay:{tid}:{raw_status}:{latest_cancel}"),
            kind: kind_of(status, is_vbank),
            payment_key: Some(tid),
            order_id: n.order_id.clone().filter(|o| !o.is_empty()),
            status_hint: Some(status),
            raw_status: Some(raw_status),
            occurred_at: parse_nice_time(&edi_date),
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
