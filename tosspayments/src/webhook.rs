//! [`TossWebhookVerifier`]: verifies Toss webhooks and turns them into core [`WebhookEvent`]s.
//!
//! What can be verified, by event (reference §5.4):
//!
//! | Proof | Trust |
//! | --- | --- |
//! | `tosspayments-webhook-signature: v1:<b64>,v1:<b64>` — HMAC-SHA256 of `{raw body}:{transmission-time}` with the 보안 키 (Toss signs `payout.changed` / `seller.changed`) | [`Trust::Signed`] |
//! | `x-tosspayments-signature: <b64 HMAC-SHA256 of the raw body>` with a webhook secret (relayed events, seed 001) | [`Trust::Signed`] |
//! | `DEPOSIT_CALLBACK.secret`, `PAYMENT_STATUS_CHANGED.data.secret` | [`Trust::SharedSecret`]: compare with the secret the confirm / virtual-account response returned ([`Trust::matches_secret`]) |
//! | source IP on the allowlist (default: Toss's published addresses) | [`Trust::SourceAddress`] |
//!
//! The security key's bytes are not documented (hex-decoded 32 bytes, or its 64 ASCII
//! characters): both are accepted. Several keys and secrets can be configured for rotation.
//! Only `v1:` signatures are read; any one matching passes. A signature that is present and
//! does not verify is a rejection, and so is any of these headers sent more than once (the
//! rule every PG shares: [`single_header`]).
//!
//! The per-payment secret a body carries is always handed on as
//! [`WebhookEvent::payment_secret`], signed or not: a relay's signature proves who forwarded
//! the body, not that its `secret` is the payment's, so the pipeline compares it either way. A
//! `DEPOSIT_CALLBACK` without a secret is refused.
//!
//! The dedupe id never comes from `tosspayments-webhook-transmission-id`: neither signature
//! covers it (a replay of a signed body under a fresh id must still be a duplicate), and Toss
//! does not say it stays the same across redeliveries. It is logged. Instead:
//!
//! - a signed body that carries an `eventId` (the v2 envelope: `payout.changed`,
//!   `seller.changed`) is deduplicated on it, as `event:{eventId}`: Toss documents it as the
//!   event's id, and the signature has just vouched for it, so the body needs no second pass
//!   (a redelivery, re-signed with a fresh transmission time, is the same event). An unsigned
//!   body's `eventId` is not believed (anyone could claim a coming event's id first), and an
//!   empty one, one over 128 bytes or one with anything but printable ASCII is not used;
//! - every other body (`PAYMENT_STATUS_CHANGED`, `DEPOSIT_CALLBACK`, … carry no event id) is
//!   deduplicated on its SHA-256 (64 hex digits, which no `event:` id can equal): a redelivery
//!   resends the same body, and distinct events differ in their bodies (`createdAt`,
//!   `transactionKey`, status).
//!
//! Anything not `Signed` must be reconciled with a payment lookup before money moves.

use std::net::IpAddr;
use std::time::Duration;

use hanpay_core::observe;
use hanpay_core::webhook::{
    body_digest, decode_base64_signature, single_header, HmacKeys, IpAllowlist, RedeliverySchedule,
    RedeliveryStop, DEFAULT_MAX_BODY_BYTES,
};
use hanpay_core::{
    PaymentStatus, ProviderId, RawJson, Secret, Trust, WebhookError, WebhookEvent,
    WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use http::HeaderName;
use ipnet::IpNet;

use crate::mapping::{map_status, parse_toss_time, payment_from_wire, PROVIDER_ID};
use crate::wire::{self, WebhookPayload};

/// Header carrying the `v1:` signatures.
pub const SIGNATURE_HEADER: &str = "tosspayments-webhook-signature";
/// Header carrying the time the signature covers.
pub const TRANSMISSION_TIME_HEADER: &str = "tosspayments-webhook-transmission-time";
/// Header carrying the delivery id (logged; not signed, and not documented to stay the same
/// across redeliveries, so it is not the dedupe id).
pub const TRANSMISSION_ID_HEADER: &str = "tosspayments-webhook-transmission-id";
/// Header carrying the relay signature (seed 001).
pub const RELAY_SIGNATURE_HEADER: &str = "x-tosspayments-signature";

/// How many items of `tosspayments-webhook-signature` are read (the rest are ignored).
const MAX_SIGNATURES: usize = 16;

/// The longest `eventId` used as the dedupe id (a longer one falls back to the body digest).
const MAX_EVENT_ID_BYTES: usize = 128;

/// The dedupe id of a signed event that carries `event_id`: `event:{event_id}`, or `None` (the
/// body digest then) for an empty id, one over [`MAX_EVENT_ID_BYTES`] or one with anything but
/// printable ASCII (it goes into logs and stores as it is).
fn event_dedupe_id(event_id: &str) -> Option<String> {
    let usable = !event_id.is_empty()
        && event_id.len() <= MAX_EVENT_ID_BYTES
        && event_id.bytes().all(|b| b.is_ascii_graphic());
    usable.then(|| format!("event:{event_id}"))
}

/// The headers as names parsed once (a lookup by `&str` parses the name on every call).
static TRANSMISSION_ID: HeaderName = HeaderName::from_static(TRANSMISSION_ID_HEADER);

fn header_str<'r>(req: &'r WebhookRequest<'_>, name: &HeaderName) -> Option<&'r str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Toss's published webhook source addresses (reference §5.1, newer list; `.124` is absent).
pub const TOSS_WEBHOOK_IPS: [&str; 10] = [
    "13.124.18.147",
    "13.124.108.35",
    "3.36.173.151",
    "3.38.81.32",
    "115.92.221.121",
    "115.92.221.122",
    "115.92.221.123",
    "115.92.221.125",
    "115.92.221.126",
    "115.92.221.127",
];

/// Verifies Toss webhooks. Build with [`TossWebhookVerifier::builder`].
///
/// ```
/// use hanpay_core::{WebhookRequest, WebhookVerifier, Trust};
/// use hanpay_tosspayments::TossWebhookVerifier;
/// let verifier = TossWebhookVerifier::builder().without_allowlist().build().unwrap();
/// let headers = http::HeaderMap::new();
/// let body = br#"{"createdAt":"2022-01-01T00:00:00.000000","secret":"ps_x","status":"DONE","transactionKey":"t","orderId":"order-1"}"#;
/// let event = verifier.verify(&WebhookRequest::new(&headers, &body[..])).unwrap();
/// assert!(event.trust.matches_secret(&"ps_x".into()));
/// ```
pub struct TossWebhookVerifier {
    security_keys: Option<HmacKeys>,
    webhook_secrets: Option<HmacKeys>,
    allowlist: Option<IpAllowlist>,
    max_age: Duration,
    max_ahead: Duration,
    max_body_bytes: usize,
}

impl std::fmt::Debug for TossWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossWebhookVerifier")
            .field("security_keys", &self.security_keys)
            .field("webhook_secrets", &self.webhook_secrets)
            .field("allowlist", &self.allowlist)
            .field("max_age", &self.max_age)
            .field("max_ahead", &self.max_ahead)
            .finish()
    }
}

enum AllowlistChoice {
    TossDefault(Vec<IpNet>),
    Custom(IpAllowlist),
    Off,
}

/// Builds a [`TossWebhookVerifier`].
pub struct TossWebhookVerifierBuilder {
    security_keys: Vec<Secret>,
    webhook_secrets: Vec<Secret>,
    allowlist: AllowlistChoice,
    max_age: Duration,
    max_ahead: Duration,
    max_body_bytes: usize,
}

impl std::fmt::Debug for TossWebhookVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossWebhookVerifierBuilder")
            .field("security_keys", &self.security_keys.len())
            .field("webhook_secrets", &self.webhook_secrets.len())
            .finish()
    }
}

impl TossWebhookVerifierBuilder {
    /// Adds a 보안 키 (64 hex characters) for `tosspayments-webhook-signature`. Call again to
    /// accept an old and a new key during rotation.
    pub fn security_key(mut self, key: impl Into<Secret>) -> Self {
        self.security_keys.push(key.into());
        self
    }

    /// Adds a webhook secret (`TOSS_WEBHOOK_SECRET`) for `x-tosspayments-signature`. Once one is
    /// set, every webhook must carry a valid signature. Call again for rotation.
    pub fn webhook_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.webhook_secrets.push(secret.into());
        self
    }

    /// Replaces Toss's published addresses with `allowlist` (which carries its own trusted
    /// proxies).
    pub fn allowlist(mut self, allowlist: IpAllowlist) -> Self {
        self.allowlist = AllowlistChoice::Custom(allowlist);
        self
    }

    /// Keeps Toss's published addresses but believes `X-Forwarded-For` from these proxies.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        let proxies: Vec<IpNet> = proxies.into_iter().collect();
        self.allowlist = match self.allowlist {
            AllowlistChoice::Custom(list) => {
                AllowlistChoice::Custom(list.with_trusted_proxies(proxies))
            }
            _ => AllowlistChoice::TossDefault(proxies),
        };
        self
    }

    /// Turns the source-address check off (for relays such as seed 001's platform, or local
    /// development); events then carry no [`Trust::SourceAddress`].
    pub fn without_allowlist(mut self) -> Self {
        self.allowlist = AllowlistChoice::Off;
        self
    }

    /// How old a signed `transmission-time` may be (default: Toss's whole redelivery span plus
    /// an hour, because whether Toss refreshes the time on redelivery is undocumented), and how
    /// far in the future (default 5 minutes).
    pub fn timestamp_tolerance(mut self, max_age: Duration, max_ahead: Duration) -> Self {
        self.max_age = max_age;
        self.max_ahead = max_ahead;
        self
    }

    /// Caps the body size (default 256 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Builds the verifier. A security key is used both as its hex-decoded bytes (when it is
    /// hex) and as its ASCII text.
    pub fn build(self) -> Result<TossWebhookVerifier, WebhookError> {
        let security_keys = if self.security_keys.is_empty() {
            None
        } else {
            let mut raw: Vec<Vec<u8>> = Vec::new();
            for (i, key) in self.security_keys.iter().enumerate() {
                let text = key.expose().trim();
                if text.is_empty() {
                    return Err(WebhookError::InvalidSecret(format!(
                        "security key #{} is empty",
                        i + 1
                    )));
                }
                if let Ok(bytes) = hex::decode(text) {
                    raw.push(bytes);
                }
                raw.push(text.as_bytes().to_vec());
            }
            Some(HmacKeys::new(raw)?)
        };
        let webhook_secrets = if self.webhook_secrets.is_empty() {
            None
        } else {
            let keys: Vec<&[u8]> = self
                .webhook_secrets
                .iter()
                .map(|s| s.expose().trim().as_bytes())
                .collect();
            Some(HmacKeys::new(keys)?)
        };
        let allowlist = match self.allowlist {
            AllowlistChoice::Off => None,
            AllowlistChoice::Custom(list) => Some(list),
            AllowlistChoice::TossDefault(proxies) => Some(
                IpAllowlist::parse(TOSS_WEBHOOK_IPS)
                    .map_err(|e| WebhookError::InvalidSecret(e.to_string()))?
                    .with_trusted_proxies(proxies),
            ),
        };
        Ok(TossWebhookVerifier {
            security_keys,
            webhook_secrets,
            allowlist,
            max_age: self.max_age,
            max_ahead: self.max_ahead,
            max_body_bytes: self.max_body_bytes,
        })
    }
}

/// Toss Payments' webhook redelivery: up to 7 resends after 1, 4, 16, 64, 256, 1024 and 4096
/// minutes (about 3 days 19 hours in all); anything but 200 is a failure.
///
/// ```
/// use std::time::Duration;
/// let toss = hanpay_tosspayments::redelivery_schedule();
/// assert_eq!(toss.resends(), 7);
/// assert_eq!(toss.total_span(), Duration::from_secs(5461 * 60));
/// assert!(!toss.stops_on(204));
/// ```
pub fn redelivery_schedule() -> RedeliverySchedule {
    RedeliverySchedule::new(
        "tosspayments",
        [1u64, 4, 16, 64, 256, 1024, 4096]
            .into_iter()
            .map(|m| Duration::from_secs(m * 60))
            .collect(),
        false,
        RedeliveryStop::Only200,
    )
}

impl TossWebhookVerifier {
    /// A builder: Toss's published source addresses, no keys, default tolerances.
    pub fn builder() -> TossWebhookVerifierBuilder {
        TossWebhookVerifierBuilder {
            security_keys: Vec::new(),
            webhook_secrets: Vec::new(),
            allowlist: AllowlistChoice::TossDefault(Vec::new()),
            max_age: redelivery_schedule().total_span() + Duration::from_secs(3600),
            max_ahead: Duration::from_secs(300),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Toss's published source addresses as an allowlist (no trusted proxy).
    pub fn toss_allowlist() -> IpAllowlist {
        IpAllowlist::parse(TOSS_WEBHOOK_IPS).unwrap_or_else(|_| IpAllowlist::new(Vec::new()))
    }

    /// Checks `tosspayments-webhook-signature` if present. `Ok(true)` when verified.
    fn check_toss_signature(&self, req: &WebhookRequest<'_>) -> Result<bool, WebhookError> {
        let Some(header) = req.single_header(SIGNATURE_HEADER)? else {
            return Ok(false);
        };
        let Some(keys) = &self.security_keys else {
            // Signed, but no security key configured: cannot verify, so it earns nothing.
            return Ok(false);
        };
        let time = req
            .single_header(TRANSMISSION_TIME_HEADER)?
            .ok_or(WebhookError::MissingHeader(TRANSMISSION_TIME_HEADER))?;
        let sent = parse_toss_time(time).ok_or_else(|| WebhookError::MalformedHeader {
            name: TRANSMISSION_TIME_HEADER,
            reason: "not a date-time".into(),
        })?;
        let age = req.received_at - sent;
        let age_secs = age.whole_seconds();
        if age_secs > i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX) {
            return Err(WebhookError::TimestampTooOld {
                age_secs,
                tolerance_secs: self.max_age.as_secs(),
            });
        }
        if -age_secs > i64::try_from(self.max_ahead.as_secs()).unwrap_or(i64::MAX) {
            return Err(WebhookError::TimestampTooNew {
                ahead_secs: -age_secs,
                tolerance_secs: self.max_ahead.as_secs(),
            });
        }
        // At most 16 items are read, into a buffer on the stack.
        let mut buffer = [[0u8; 32]; MAX_SIGNATURES];
        let mut count = 0;
        let decoded = header
            .split(',')
            .take(MAX_SIGNATURES)
            .filter_map(|item| item.trim().strip_prefix("v1:"))
            .filter_map(decode_base64_signature);
        for (slot, signature) in buffer.iter_mut().zip(decoded) {
            *slot = signature;
            count += 1;
        }
        let candidates = buffer.get(..count).unwrap_or_default();
        keys.verify(
            SIGNATURE_HEADER,
            &[&req.body, b":", time.as_bytes()],
            candidates,
        )?;
        Ok(true)
    }

    /// Checks `x-tosspayments-signature` when webhook secrets are configured.
    fn check_relay_signature(&self, req: &WebhookRequest<'_>) -> Result<bool, WebhookError> {
        let Some(keys) = &self.webhook_secrets else {
            return Ok(false);
        };
        let Some(header) = req.single_header(RELAY_SIGNATURE_HEADER)? else {
            return Ok(false);
        };
        let candidate = decode_base64_signature(header.trim());
        keys.verify(RELAY_SIGNATURE_HEADER, &[&req.body], candidate.as_slice())?;
        Ok(true)
    }

    fn verify_inner(&self, req: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        req.check_body_size(self.max_body_bytes)?;
        let source: Option<IpAddr> = match &self.allowlist {
            Some(list) => Some(list.check(req.peer_ip(), req.headers)?),
            None => None,
        };
        let toss_signed = self.check_toss_signature(req)?;
        let relay_signed = self.check_relay_signature(req)?;
        if self.webhook_secrets.is_some() && !toss_signed && !relay_signed {
            return Err(WebhookError::MissingHeader(RELAY_SIGNATURE_HEADER));
        }
        let payload = WebhookPayload::parse(req.text_body()?.as_bytes())
            .map_err(|e| WebhookError::MalformedPayload(e.to_string()))?;
        // Refused when repeated, like the signature headers; not part of the dedupe id.
        single_header(req.headers, TRANSMISSION_ID_HEADER)?;
        // A signed event's own id needs no second pass over the body; anything else (unsigned,
        // or without an eventId) is the body's digest.
        let dedupe_id = payload
            .event_id()
            .filter(|_| toss_signed || relay_signed)
            .and_then(event_dedupe_id)
            .unwrap_or_else(|| body_digest(&req.body));
        let occurred_at = payload.created_at().and_then(parse_toss_time);
        let mut shared_secret: Option<String> = None;
        let (kind, payment_key, order_id, status_hint, raw_status) = match &payload {
            WebhookPayload::PaymentStatusChanged { data, .. } => {
                shared_secret = data.secret.clone().filter(|s| !s.is_empty());
                let status = payment_from_wire(data, RawJson::default())
                    .map(|p| p.status)
                    .unwrap_or_else(|_| map_status(&data.status, false));
                let kind = match status {
                    PaymentStatus::Canceled => WebhookEventKind::Canceled,
                    PaymentStatus::PartiallyCanceled => WebhookEventKind::PartiallyCanceled,
                    PaymentStatus::Failed => WebhookEventKind::Failed,
                    PaymentStatus::WaitingForDeposit => WebhookEventKind::VirtualAccountIssued,
                    _ => WebhookEventKind::PaymentStatusChanged,
                };
                (
                    kind,
                    Some(data.payment_key.clone()),
                    Some(data.order_id.clone()),
                    Some(status),
                    Some(data.status.as_str().to_owned()),
                )
            }
            WebhookPayload::DepositCallback(d) => {
                shared_secret = d.secret.clone().filter(|s| !s.is_empty());
                if shared_secret.is_none() {
                    // Its secret is the only proof Toss gives for a DEPOSIT_CALLBACK.
                    return Err(WebhookError::SecretMismatch);
                }
                let kind = match &d.status {
                    Some(wire::PaymentStatus::Done) => WebhookEventKind::DepositReceived,
                    Some(wire::PaymentStatus::Canceled) => WebhookEventKind::Canceled,
                    Some(wire::PaymentStatus::PartialCanceled) => {
                        WebhookEventKind::PartiallyCanceled
                    }
                    Some(wire::PaymentStatus::WaitingForDeposit) => {
                        WebhookEventKind::VirtualAccountIssued
                    }
                    _ => WebhookEventKind::PaymentStatusChanged,
                };
                (
                    kind,
                    None,
                    d.order_id.clone(),
                    d.status.as_ref().map(|s| map_status(s, false)),
                    d.status.as_ref().map(|s| s.as_str().to_owned()),
                )
            }
            WebhookPayload::CancelStatusChanged { data, .. } => (
                WebhookEventKind::PaymentStatusChanged,
                data.payment_key.clone(),
                data.order_id.clone(),
                None,
                data.cancel_status.as_ref().map(|s| s.as_str().to_owned()),
            ),
            WebhookPayload::BillingDeleted { .. } => {
                (WebhookEventKind::BillingKeyDeleted, None, None, None, None)
            }
            WebhookPayload::Entity {
                event_type, body, ..
            } => (
                WebhookEventKind::Other(event_type.as_str().to_owned()),
                None,
                None,
                None,
                body.status.clone(),
            ),
            WebhookPayload::Other { event_type, .. } => (
                WebhookEventKind::Other(event_type.clone()),
                None,
                None,
                None,
                None,
            ),
        };
        let payment_secret = shared_secret.map(Secret::new);
        let trust = if toss_signed || relay_signed {
            Trust::Signed
        } else if let Some(secret) = &payment_secret {
            Trust::SharedSecret(secret.clone())
        } else if let Some(ip) = source {
            Trust::SourceAddress(ip)
        } else {
            Trust::Unverified
        };
        Ok(WebhookEvent {
            provider: PROVIDER_ID,
            dedupe_id,
            kind,
            payment_key,
            order_id,
            status_hint,
            raw_status,
            occurred_at,
            trust,
            payment_secret,
            body: req.body.clone(),
        })
    }
}

impl WebhookVerifier for TossWebhookVerifier {
    fn provider(&self) -> &ProviderId {
        &crate::mapping::PROVIDER
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        let result = self.verify_inner(request);
        observe::webhook_result(
            PROVIDER_ID.as_str(),
            header_str(request, &TRANSMISSION_ID),
            &result,
        );
        result
    }

    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    fn redelivery(&self) -> RedeliverySchedule {
        redelivery_schedule()
    }
}
