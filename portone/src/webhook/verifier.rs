//! [`PortOneWebhookVerifier`]: checks who sent a PortOne webhook and normalises it.

use std::time::Duration;

use hanpay_core::observe;
use hanpay_core::webhook::{
    InvalidNetwork, IpAllowlist, RedeliverySchedule, RedeliveryStop, StandardWebhooks,
    DEFAULT_MAX_BODY_BYTES,
};
use hanpay_core::{
    PaymentStatus, ProviderId, Secret, Trust, WebhookError, WebhookEvent, WebhookEventKind,
    WebhookRequest, WebhookVerifier,
};
use sha2::{Digest, Sha256};

use super::payload::{LegacyStatus, V1Status, WebhookPayload, WebhookType};
use crate::{mapping, PROVIDER_ID};

/// PortOne V2's webhook source address.
pub const V2_WEBHOOK_IPS: [&str; 1] = ["52.78.5.241"];
/// PortOne V1 (iamport)'s webhook source addresses.
pub const V1_WEBHOOK_IPS: [&str; 3] = ["52.78.100.19", "52.78.48.223", "52.78.5.241"];

/// Which PortOne generation sends the webhooks: it picks the default IP allowlist and the
/// redelivery schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookGeneration {
    /// V2 (`2024-04-25` or `2024-01-01` bodies): from `52.78.5.241`, redelivered after 0, 1,
    /// 4, 16, 64 and 256 minutes (full jitter) until a 2xx.
    #[default]
    V2,
    /// V1 (iamport): from `52.78.100.19`, `52.78.48.223`, `52.78.5.241`; by default sent once,
    /// on request resent up to 5 times a minute apart after a 5xx or network error.
    V1,
}

/// Why a [`PortOneWebhookVerifier`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierConfigError {
    /// A webhook secret is unusable (says which, never its value).
    #[error(transparent)]
    Secret(#[from] WebhookError),
    /// An allowlist or trusted-proxy entry is not an IP address or CIDR.
    #[error(transparent)]
    Network(#[from] InvalidNetwork),
    /// Neither a secret nor an allowlist: nothing would be verified.
    #[error("a PortOne webhook verifier needs a webhook secret, an IP allowlist, or both")]
    NothingToVerify,
}

/// Verifies PortOne webhooks (V2 `2024-04-25`, V2 `2024-01-01`, V1) and turns them into
/// [`WebhookEvent`]s.
///
/// Checks, in order: body size, sender address (the allowlist, with `X-Forwarded-For` believed
/// only from trusted proxies), the Standard Webhooks signature when secrets are configured
/// (several secrets for rotation; trust [`Trust::Signed`]), then the payload. Without a secret,
/// the allowlist alone admits the event with [`Trust::SourceAddress`]: re-query the payment and
/// compare its amount before acting, as PortOne's guide says.
///
/// What the handler must answer: a 2xx once the event is processed **or** recognised as a
/// duplicate (same [`WebhookEvent::dedupe_id`]); a non-2xx when processing failed, so PortOne
/// redelivers (V2: after 0, 1, 4, 16, 64 and 256 minutes). Dedupe ids stay valid across
/// redeliveries: the `webhook-id` header when the signature (which covers it) verified, else
/// a hash of (type, paymentId, transactionId, status, cancellationId) — never an unsigned
/// `webhook-id`, which a replay could change.
///
/// ```
/// use hanpay_portone::PortOneWebhookVerifier;
///
/// let verifier = PortOneWebhookVerifier::builder()
///     .secret("whsec_pzQGE83cSIRKM4/WH5QY+g==")
///     .trusted_proxies(["10.0.0.0/8"])
///     .build()
///     .unwrap();
/// # let _ = verifier;
/// ```
#[derive(Debug, Clone)]
pub struct PortOneWebhookVerifier {
    standard: Option<StandardWebhooks>,
    allowlist: Option<IpAllowlist>,
    generation: WebhookGeneration,
    max_body_bytes: usize,
}

/// Builds a [`PortOneWebhookVerifier`]. `Debug` shows how many secrets, never their values.
#[derive(Clone, Default)]
pub struct PortOneWebhookVerifierBuilder {
    secrets: Vec<Secret>,
    allow: Option<Vec<String>>,
    trusted_proxies: Vec<String>,
    skip_allowlist: bool,
    tolerance: Option<Duration>,
    generation: WebhookGeneration,
    max_body_bytes: Option<usize>,
}

impl std::fmt::Debug for PortOneWebhookVerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneWebhookVerifierBuilder")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .field("allow", &self.allow)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("skip_allowlist", &self.skip_allowlist)
            .field("tolerance", &self.tolerance)
            .field("generation", &self.generation)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl PortOneWebhookVerifierBuilder {
    /// Adds a webhook secret (`whsec_` + base64, from the console's 결제알림(Webhook) 관리;
    /// not the API secret). Call again for the second secret during a rotation.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(Secret::new(secret.into()));
        self
    }

    /// Adds several webhook secrets.
    pub fn secrets<I, S>(mut self, secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secrets
            .extend(secrets.into_iter().map(|s| Secret::new(s.into())));
        self
    }

    /// Replaces the default allowlist (PortOne's published IPs) with these addresses or CIDRs.
    pub fn allowlist<I, S>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow = Some(entries.into_iter().map(Into::into).collect());
        self
    }

    /// Proxies (addresses or CIDRs) whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted_proxies = proxies.into_iter().map(Into::into).collect();
        self
    }

    /// Skips the address check and relies on the signature alone (only allowed with a secret),
    /// for deployments where the sender address cannot be known.
    pub fn without_allowlist(mut self) -> Self {
        self.skip_allowlist = true;
        self
    }

    /// The signature timestamp tolerance, both ways (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// V1 or V2 (default): the default allowlist and the redelivery schedule.
    pub fn generation(mut self, generation: WebhookGeneration) -> Self {
        self.generation = generation;
        self
    }

    /// The largest body accepted (default 256 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<PortOneWebhookVerifier, VerifierConfigError> {
        let standard = if self.secrets.is_empty() {
            None
        } else {
            let sw = StandardWebhooks::new(self.secrets.iter().map(Secret::expose))?;
            Some(match self.tolerance {
                Some(t) => sw.with_tolerance(t),
                None => sw,
            })
        };
        let allowlist = if self.skip_allowlist {
            if standard.is_none() {
                return Err(VerifierConfigError::NothingToVerify);
            }
            None
        } else {
            let list = match &self.allow {
                Some(entries) => IpAllowlist::parse(entries)?,
                None => match self.generation {
                    WebhookGeneration::V2 => IpAllowlist::parse(V2_WEBHOOK_IPS)?,
                    WebhookGeneration::V1 => IpAllowlist::parse(V1_WEBHOOK_IPS)?,
                },
            };
            if list.allowed().is_empty() && standard.is_none() {
                return Err(VerifierConfigError::NothingToVerify);
            }
            Some(list.with_trusted_proxies_parsed(&self.trusted_proxies)?)
        };
        Ok(PortOneWebhookVerifier {
            standard,
            allowlist,
            generation: self.generation,
            max_body_bytes: self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        })
    }
}

/// What a payload says, in hanpay terms.
struct Meaning {
    kind: WebhookEventKind,
    status_hint: Option<PaymentStatus>,
    raw_status: Option<String>,
}

fn v2_meaning(kind: &WebhookType) -> Meaning {
    use WebhookEventKind as K;
    use WebhookType as T;
    let (kind_out, hint) = match kind {
        T::TransactionReady => (K::PaymentStatusChanged, Some(PaymentStatus::Ready)),
        T::TransactionPayPending => (K::PaymentStatusChanged, Some(PaymentStatus::Pending)),
        // Card approvals and virtual-account deposits both arrive as `Transaction.Paid`.
        T::TransactionPaid => (K::PaymentStatusChanged, Some(PaymentStatus::Paid)),
        T::TransactionVirtualAccountIssued => (
            K::VirtualAccountIssued,
            Some(PaymentStatus::WaitingForDeposit),
        ),
        T::TransactionPartialCancelled => {
            (K::PartiallyCanceled, Some(PaymentStatus::PartiallyCanceled))
        }
        T::TransactionCancelled => (K::Canceled, Some(PaymentStatus::Canceled)),
        T::TransactionFailed => (K::Failed, Some(PaymentStatus::Failed)),
        T::BillingKeyIssued => (K::BillingKeyIssued, None),
        T::BillingKeyDeleted => (K::BillingKeyDeleted, None),
        T::BillingKeyUpdated => (K::BillingKeyUpdated, None),
        other => (K::Other(other.as_str().to_owned()), None),
    };
    Meaning {
        kind: kind_out,
        status_hint: hint,
        raw_status: Some(kind.as_str().to_owned()),
    }
}

fn legacy_meaning(status: Option<&LegacyStatus>, raw: Option<&str>) -> Meaning {
    use WebhookEventKind as K;
    let (kind, hint) = match status {
        Some(LegacyStatus::Ready) => (K::PaymentStatusChanged, Some(PaymentStatus::Ready)),
        Some(LegacyStatus::PayPending) => (K::PaymentStatusChanged, Some(PaymentStatus::Pending)),
        Some(LegacyStatus::Paid) => (K::PaymentStatusChanged, Some(PaymentStatus::Paid)),
        Some(LegacyStatus::VirtualAccountIssued) => (
            K::VirtualAccountIssued,
            Some(PaymentStatus::WaitingForDeposit),
        ),
        Some(LegacyStatus::PartialCancelled) => {
            (K::PartiallyCanceled, Some(PaymentStatus::PartiallyCanceled))
        }
        Some(LegacyStatus::Cancelled) => (K::Canceled, Some(PaymentStatus::Canceled)),
        Some(LegacyStatus::Failed) => (K::Failed, Some(PaymentStatus::Failed)),
        Some(other) => (K::Other(other.to_string()), None),
        None => (K::Other("billingKey".into()), None),
    };
    Meaning {
        kind,
        status_hint: hint,
        raw_status: raw.map(str::to_owned),
    }
}

fn v1_meaning(status: Option<&V1Status>) -> Meaning {
    use WebhookEventKind as K;
    // `ready` is also a virtual account issued, `cancelled` also a partial cancel: only the
    // API can tell, so no hint for those.
    let (kind, hint) = match status {
        Some(V1Status::Paid) => (K::PaymentStatusChanged, Some(PaymentStatus::Paid)),
        Some(V1Status::Failed) => (K::Failed, Some(PaymentStatus::Failed)),
        Some(V1Status::Cancelled) | Some(V1Status::Ready) => (K::PaymentStatusChanged, None),
        Some(other) => (K::Other(other.as_str().to_owned()), None),
        None => (K::PaymentStatusChanged, None),
    };
    Meaning {
        kind,
        status_hint: hint,
        raw_status: status.map(|s| s.as_str().to_owned()),
    }
}

/// The dedupe id of a delivery without `webhook-id`: a hash of what identifies the event, the
/// same on every redelivery (the body's own `timestamp` is left out on purpose).
pub fn payload_dedupe_id(payload: &WebhookPayload) -> String {
    let mut h = Sha256::new();
    let mut part = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    match payload {
        WebhookPayload::V2(w) => {
            part("portone-v2-2024-04-25");
            part(w.kind.as_str());
            part(w.data.payment_id.as_deref().unwrap_or(""));
            part(w.data.transaction_id.as_deref().unwrap_or(""));
            part(w.data.cancellation_id.as_deref().unwrap_or(""));
            part(w.data.billing_key.as_deref().unwrap_or(""));
        }
        WebhookPayload::V2Legacy(w) => {
            part("portone-v2-2024-01-01");
            part(&w.status.as_ref().map(|s| s.to_string()).unwrap_or_default());
            part(w.payment_id.as_deref().unwrap_or(""));
            part(w.tx_id.as_deref().unwrap_or(""));
            part(w.billing_key.as_deref().unwrap_or(""));
        }
        WebhookPayload::V1(w) => {
            part("portone-v1");
            part(w.status.as_ref().map(V1Status::as_str).unwrap_or(""));
            part(w.merchant_uid.as_deref().unwrap_or(""));
            part(&w.imp_uid);
            part(w.cancellation_id.as_deref().unwrap_or(""));
        }
    }
    format!("portone:{}", hex::encode(h.finalize()))
}

impl PortOneWebhookVerifier {
    /// A builder: no secret, PortOne V2's allowlist, no trusted proxy.
    pub fn builder() -> PortOneWebhookVerifierBuilder {
        PortOneWebhookVerifierBuilder::default()
    }

    fn check(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        request.check_body_size(self.max_body_bytes)?;
        let source = match &self.allowlist {
            Some(list) => Some(list.check(request.peer_ip(), request.headers)?),
            None => None,
        };
        let verified = match &self.standard {
            Some(sw) => Some(sw.verify(request.headers, &request.body, request.received_at)?),
            None => None,
        };
        let trust = match (&verified, source) {
            (Some(_), _) => Trust::Signed,
            (None, Some(ip)) => Trust::SourceAddress(ip),
            (None, None) => Trust::Unverified,
        };
        let payload = WebhookPayload::parse(
            request.text_body()?.as_bytes(),
            request.header("content-type"),
        )
        .map_err(|e| WebhookError::MalformedPayload(e.to_string()))?;
        let meaning = match &payload {
            WebhookPayload::V2(w) => v2_meaning(&w.kind),
            WebhookPayload::V2Legacy(w) => {
                legacy_meaning(w.status.as_ref(), w.raw_status.as_deref())
            }
            WebhookPayload::V1(w) => v1_meaning(w.status.as_ref()),
        };
        // The `webhook-id` is believed only when the signature covering it verified: an
        // unsigned one could be changed to pass a replay off as new.
        let dedupe_id = match &verified {
            Some(v) => v.id.clone(),
            None => payload_dedupe_id(&payload),
        };
        let occurred_at = match &payload {
            WebhookPayload::V2(w) => mapping::timestamp(w.timestamp.as_deref()),
            _ => None,
        };
        let payment_id = payload.payment_id().map(str::to_owned);
        Ok(WebhookEvent {
            provider: PROVIDER_ID,
            dedupe_id,
            kind: meaning.kind,
            payment_key: payment_id.clone(),
            order_id: payment_id,
            status_hint: meaning.status_hint,
            raw_status: meaning.raw_status,
            occurred_at,
            trust,
            payment_secret: None,
            body: request.body.clone(),
        })
    }
}

impl WebhookVerifier for PortOneWebhookVerifier {
    fn provider(&self) -> &ProviderId {
        static ID: ProviderId = PROVIDER_ID;
        &ID
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        let result = self.check(request);
        observe::webhook_result(PROVIDER_ID.as_str(), request.header("webhook-id"), &result);
        result
    }

    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    fn redelivery(&self) -> RedeliverySchedule {
        match self.generation {
            WebhookGeneration::V2 => redelivery_v2(),
            WebhookGeneration::V1 => redelivery_v1(),
        }
    }
}
const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// PortOne V2's webhook redelivery: PortOne publishes the attempt delays 0 → 1 → 4 → 16 → 64 →
/// 256 minutes and "최대 5회까지 재전송": the 0 is the first delivery, so up to 5 resends follow
/// after 1, 4, 16, 64 and 256 minutes, each drawn uniformly from zero to that bound (full
/// jitter). Any 2xx stops it.
///
/// ```
/// let v2 = hanpay_portone::webhook::redelivery_v2();
/// assert_eq!(v2.resends(), 5);
/// assert!(v2.stops_on(204));
/// ```
pub fn redelivery_v2() -> RedeliverySchedule {
    RedeliverySchedule::new(
        "portone-v2",
        [1, 4, 16, 64, 256].into_iter().map(minutes).collect(),
        true,
        RedeliveryStop::Any2xx,
    )
}

/// PortOne V1 (iamport), when retries are enabled for the merchant: up to 5 resends one minute
/// apart, only after a 5xx answer or a network error.
///
/// ```
/// let v1 = hanpay_portone::webhook::redelivery_v1();
/// assert_eq!(v1.resends(), 5);
/// assert!(v1.stops_on(404));
/// ```
pub fn redelivery_v1() -> RedeliverySchedule {
    RedeliverySchedule::new(
        "portone-v1",
        vec![minutes(1); 5],
        false,
        RedeliveryStop::Below500,
    )
}
