//! The mock's webhooks: each status change is emitted as a Standard Webhooks message signed
//! with the mock's HMAC key, and [`MockProvider`]'s [`WebhookVerifier`] checks them.

use std::fmt;

use bytes::Bytes;
use hanpay_core::webhook::standard::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop, StandardWebhooks};
use hanpay_core::{
    Payment, PaymentStatus, ProviderId, Trust, WebhookError, WebhookEvent, WebhookEventKind,
    WebhookRequest, WebhookVerifier,
};
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::MockProvider;

/// The path [`MockWebhook::to_http_request`] posts to.
pub const MOCK_WEBHOOK_PATH: &str = "/webhooks/mock";

/// A webhook the mock emitted: the exact headers and body a receiver would get, plus what it
/// says, for assertions.
#[derive(Clone)]
pub struct MockWebhook {
    /// The delivery id (`webhook-id`), also the event's dedupe id.
    pub id: String,
    /// The signing time (`webhook-timestamp`), Unix seconds of the mock's clock.
    pub timestamp: i64,
    /// What happened.
    pub kind: WebhookEventKind,
    /// The payment it is about.
    pub payment_key: String,
    /// The payment's order id.
    pub order_id: String,
    /// The payment's status after the change.
    pub status: PaymentStatus,
    /// The headers, with the Standard Webhooks signature.
    pub headers: HeaderMap,
    /// The raw JSON body that was signed.
    pub body: Bytes,
}

impl MockWebhook {
    /// The webhook as a verifier sees it, received at its own timestamp.
    pub fn request(&self) -> WebhookRequest<'_> {
        let received_at = OffsetDateTime::from_unix_timestamp(self.timestamp)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        WebhookRequest::new(&self.headers, self.body.clone())
            .path(MOCK_WEBHOOK_PATH)
            .received_at(received_at)
    }

    /// The webhook as an HTTP `POST` to [`MOCK_WEBHOOK_PATH`], to send to a real endpoint.
    pub fn to_http_request(&self) -> http::Request<Bytes> {
        let mut request = http::Request::new(self.body.clone());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = Uri::from_static(MOCK_WEBHOOK_PATH);
        *request.headers_mut() = self.headers.clone();
        request
    }
}

impl fmt::Debug for MockWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockWebhook")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("kind", &self.kind)
            .field("payment_key", &self.payment_key)
            .field("order_id", &self.order_id)
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The wire name of an event kind.
fn kind_name(kind: &WebhookEventKind) -> &str {
    match kind {
        WebhookEventKind::PaymentStatusChanged => "payment.status_changed",
        WebhookEventKind::VirtualAccountIssued => "virtual_account.issued",
        WebhookEventKind::DepositReceived => "virtual_account.deposited",
        WebhookEventKind::Canceled => "payment.canceled",
        WebhookEventKind::PartiallyCanceled => "payment.partially_canceled",
        WebhookEventKind::Failed => "payment.failed",
        WebhookEventKind::BillingKeyIssued => "billing_key.issued",
        WebhookEventKind::BillingKeyDeleted => "billing_key.deleted",
        WebhookEventKind::BillingKeyUpdated => "billing_key.updated",
        WebhookEventKind::Other(raw) => raw,
        _ => "payment.status_changed",
    }
}

fn kind_from_name(name: &str) -> WebhookEventKind {
    match name {
        "payment.status_changed" => WebhookEventKind::PaymentStatusChanged,
        "virtual_account.issued" => WebhookEventKind::VirtualAccountIssued,
        "virtual_account.deposited" => WebhookEventKind::DepositReceived,
        "payment.canceled" => WebhookEventKind::Canceled,
        "payment.partially_canceled" => WebhookEventKind::PartiallyCanceled,
        "payment.failed" => WebhookEventKind::Failed,
        "billing_key.issued" => WebhookEventKind::BillingKeyIssued,
        "billing_key.deleted" => WebhookEventKind::BillingKeyDeleted,
        "billing_key.updated" => WebhookEventKind::BillingKeyUpdated,
        other => WebhookEventKind::Other(other.to_owned()),
    }
}

fn status_from_name(name: &str) -> PaymentStatus {
    PaymentStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
        .unwrap_or(PaymentStatus::Unknown)
}

/// The kind of event a move from `previous` to the payment's status is reported as.
pub(super) fn kind_for(previous: PaymentStatus, next: PaymentStatus) -> WebhookEventKind {
    match next {
        PaymentStatus::WaitingForDeposit => WebhookEventKind::VirtualAccountIssued,
        PaymentStatus::Paid if previous == PaymentStatus::WaitingForDeposit => {
            WebhookEventKind::DepositReceived
        }
        PaymentStatus::PartiallyCanceled => WebhookEventKind::PartiallyCanceled,
        PaymentStatus::Canceled => WebhookEventKind::Canceled,
        PaymentStatus::Failed => WebhookEventKind::Failed,
        _ => WebhookEventKind::PaymentStatusChanged,
    }
}

/// Builds and signs the webhook for `payment`'s new status.
pub(super) fn build(
    signer: &StandardWebhooks,
    sequence: u64,
    kind: WebhookEventKind,
    payment: &Payment,
    now: OffsetDateTime,
) -> MockWebhook {
    let id = format!("msg_mock_{sequence:08}");
    let timestamp = now.unix_timestamp();
    let body = serde_json::json!({
        "type": kind_name(&kind),
        "occurredAt": now.format(&Rfc3339).unwrap_or_default(),
        "data": {
            "paymentKey": payment.payment_key,
            "orderId": payment.order_id,
            "status": payment.status.as_str(),
            "totalAmount": payment.total.minor_units(),
            "balanceAmount": payment.balance.minor_units(),
            "currency": payment.currency().code(),
        }
    });
    let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let signature = signer.sign(&id, timestamp, &body);
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [
        (HEADER_ID, id.clone()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, signature),
    ] {
        // Ids, digits and base64 are always valid header values.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    MockWebhook {
        id,
        timestamp,
        kind,
        payment_key: payment.payment_key.clone(),
        order_id: payment.order_id.clone(),
        status: payment.status,
        headers,
        body,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePayload {
    #[serde(rename = "type")]
    kind: String,
    occurred_at: Option<String>,
    #[serde(default)]
    data: WireData,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireData {
    payment_key: Option<String>,
    order_id: Option<String>,
    status: Option<String>,
}

impl WebhookVerifier for MockProvider {
    fn provider(&self) -> &ProviderId {
        &self.inner.id
    }

    /// Checks the Standard Webhooks signature over the raw body (with the mock's key, against
    /// the request's receive time) and parses the event. Unsigned webhooks and webhooks signed
    /// with another key are refused; a verified one has [`Trust::Signed`].
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        request.check_body_size(self.max_body_bytes())?;
        let verified =
            self.inner
                .signer
                .verify(request.headers, &request.body, request.received_at)?;
        let payload: WirePayload = serde_json::from_slice(&request.body)
            .map_err(|e| WebhookError::MalformedPayload(e.to_string()))?;
        let occurred_at = match payload.occurred_at.as_deref() {
            None => None,
            Some(text) => Some(OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
                WebhookError::MalformedPayload(format!("occurredAt is not RFC 3339: {e}"))
            })?),
        };
        Ok(WebhookEvent {
            provider: self.inner.id.clone(),
            dedupe_id: verified.id,
            kind: kind_from_name(&payload.kind),
            payment_key: payload.data.payment_key,
            order_id: payload.data.order_id,
            status_hint: payload.data.status.as_deref().map(status_from_name),
            raw_status: payload.data.status,
            occurred_at,
            trust: Trust::Signed,
            payment_secret: None,
            body: request.body.clone(),
        })
    }

    /// The mock delivers once, in memory: no redelivery.
    fn redelivery(&self) -> RedeliverySchedule {
        RedeliverySchedule::new("mock", Vec::new(), false, RedeliveryStop::Any2xx)
    }
}
