//! PortOne webhook bodies, one parser per version.
//!
//! | version | shape | content types |
//! |---|---|---|
//! | V2 `2024-04-25` | `{type, timestamp, data {storeId?, paymentId, transactionId, cancellationId?}}` | JSON |
//! | V2 `2024-01-01` | `{payment_id, tx_id, status}` with PascalCase `status` | JSON or form |
//! | V1 (iamport) | `{imp_uid, merchant_uid, status, cancellation_id?}` | JSON or form |
//!
//! Unknown types, statuses and fields never fail parsing: an unknown `type` or `status` is kept
//! raw, extra fields are ignored. A body that matches none of the shapes is
//! [`PayloadError::Unrecognised`].
// Parses untrusted input (webhook bodies): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use serde::Deserialize;

use crate::wire::open_enum;
use std::fmt;

open_enum! {
    /// `type` of a V2 `2024-04-25` webhook.
    pub enum WebhookType {
        /// Payment window opened.
        TransactionReady = "Transaction.Ready",
        /// Payment approved (a virtual-account deposit completes here too).
        TransactionPaid = "Transaction.Paid",
        /// Virtual account issued.
        TransactionVirtualAccountIssued = "Transaction.VirtualAccountIssued",
        /// Partially cancelled.
        TransactionPartialCancelled = "Transaction.PartialCancelled",
        /// Fully cancelled.
        TransactionCancelled = "Transaction.Cancelled",
        /// Payment failed.
        TransactionFailed = "Transaction.Failed",
        /// Awaiting approval.
        TransactionPayPending = "Transaction.PayPending",
        /// Asynchronous cancellation requested.
        TransactionCancelPending = "Transaction.CancelPending",
        /// Dispute opened.
        TransactionDisputeCreated = "Transaction.DisputeCreated",
        /// Dispute resolved.
        TransactionDisputeResolved = "Transaction.DisputeResolved",
        /// Confirm-process request.
        TransactionConfirm = "Transaction.Confirm",
        /// Billing-key window opened.
        BillingKeyReady = "BillingKey.Ready",
        /// Billing key issued.
        BillingKeyIssued = "BillingKey.Issued",
        /// Billing key issue failed.
        BillingKeyFailed = "BillingKey.Failed",
        /// Billing key deleted.
        BillingKeyDeleted = "BillingKey.Deleted",
        /// Billing key updated.
        BillingKeyUpdated = "BillingKey.Updated",
    }
}

/// `data` of a `2024-04-25` webhook. Every field is optional: `storeId` only arrived on
/// 2024-12-17, billing-key events carry no payment, and unknown types may carry anything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookData {
    /// Store id.
    #[serde(default)]
    pub store_id: Option<String>,
    /// Merchant-chosen payment id.
    #[serde(default)]
    pub payment_id: Option<String>,
    /// PortOne's transaction (attempt) id.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// Cancellation id (cancel events).
    #[serde(default)]
    pub cancellation_id: Option<String>,
    /// Billing key (billing-key events).
    #[serde(default)]
    pub billing_key: Option<String>,
    /// Amount to confirm (`Transaction.Confirm`).
    #[serde(default)]
    pub total_amount: Option<i64>,
}

/// A V2 `2024-04-25` webhook body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookV2 {
    /// Event type.
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// Time of the triggering event (RFC 3339); unchanged across redeliveries.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Event data.
    #[serde(default)]
    pub data: WebhookData,
}

/// `status` of a V2 `2024-01-01` webhook.
///
/// PortOne sends PascalCase (`VirtualAccountIssued`); the docs have shown lowercase snake case
/// and SCREAMING_SNAKE_CASE too, so parsing ignores case and underscores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegacyStatus {
    /// `Ready`.
    Ready,
    /// `Paid` (also a virtual-account deposit).
    Paid,
    /// `VirtualAccountIssued`.
    VirtualAccountIssued,
    /// `PartialCancelled`.
    PartialCancelled,
    /// `Cancelled`.
    Cancelled,
    /// `Failed`.
    Failed,
    /// `PayPending`.
    PayPending,
    /// `CancelPending`.
    CancelPending,
    /// Anything else, kept raw.
    Unknown(String),
}

impl LegacyStatus {
    /// Parses a status in any of the casings PortOne has documented.
    pub fn parse(raw: &str) -> Self {
        let norm: String = raw
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match norm.as_str() {
            "ready" => Self::Ready,
            "paid" => Self::Paid,
            "virtualaccountissued" => Self::VirtualAccountIssued,
            "partialcancelled" => Self::PartialCancelled,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            "paypending" => Self::PayPending,
            "cancelpending" => Self::CancelPending,
            _ => Self::Unknown(raw.to_owned()),
        }
    }
}

/// A V2 `2024-01-01` webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookV2Legacy {
    /// Merchant-chosen payment id.
    pub payment_id: Option<String>,
    /// PortOne's transaction id.
    pub tx_id: Option<String>,
    /// Parsed status.
    pub status: Option<LegacyStatus>,
    /// Raw status string as sent.
    pub raw_status: Option<String>,
    /// Billing key (billing-key events of the early 2024-01 format).
    pub billing_key: Option<String>,
}

open_enum! {
    /// `status` of a V1 (iamport) webhook; note the double L in `cancelled`.
    pub enum V1Status {
        /// 미결제 (also: virtual account issued).
        Ready = "ready",
        /// 결제완료 (also: virtual-account deposit).
        Paid = "paid",
        /// 결제취소.
        Cancelled = "cancelled",
        /// 결제실패.
        Failed = "failed",
    }
}

/// A V1 (iamport) notification body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookV1 {
    /// PortOne's payment id.
    pub imp_uid: String,
    /// Merchant order id.
    pub merchant_uid: Option<String>,
    /// Status.
    pub status: Option<V1Status>,
    /// Cancellation id (since 2024-02-23).
    pub cancellation_id: Option<String>,
}

/// A parsed PortOne webhook body, whichever version sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookPayload {
    /// V2 `2024-04-25`.
    V2(WebhookV2),
    /// V2 `2024-01-01`.
    V2Legacy(WebhookV2Legacy),
    /// V1 iamport notification.
    V1(WebhookV1),
}

/// Why a body could not be read as any PortOne webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The body is neither JSON nor `application/x-www-form-urlencoded`.
    #[error("webhook body is not valid {0}")]
    Syntax(&'static str),
    /// The body is well-formed but matches no PortOne webhook shape.
    #[error("webhook body matches no known PortOne webhook version")]
    Unrecognised,
}

/// Every field of every version; which ones are present decides the version.
#[derive(Deserialize, Default)]
struct AnyFields {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    data: Option<WebhookData>,
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    tx_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    billing_key: Option<String>,
    #[serde(default)]
    imp_uid: Option<String>,
    #[serde(default)]
    merchant_uid: Option<String>,
    #[serde(default)]
    cancellation_id: Option<String>,
}

/// Form fields arrive as strings only; `data` cannot be nested in a form.
#[derive(Deserialize, Default)]
struct FormFields {
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    tx_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    billing_key: Option<String>,
    #[serde(default)]
    imp_uid: Option<String>,
    #[serde(default)]
    merchant_uid: Option<String>,
    #[serde(default)]
    cancellation_id: Option<String>,
}

impl From<FormFields> for AnyFields {
    fn from(f: FormFields) -> Self {
        Self {
            payment_id: f.payment_id,
            tx_id: f.tx_id,
            status: f.status,
            billing_key: f.billing_key,
            imp_uid: f.imp_uid,
            merchant_uid: f.merchant_uid,
            cancellation_id: f.cancellation_id,
            ..Self::default()
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl WebhookPayload {
    /// Parses a raw body. `content_type` (the request's `Content-Type`, if any) picks JSON or
    /// form decoding; without it, a body whose first non-blank byte is `{` is JSON.
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Self, PayloadError> {
        let is_form = match content_type {
            Some(ct) => ct
                .split(';')
                .next()
                .map(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
                .unwrap_or(false),
            None => body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b != b'{'),
        };
        let fields: AnyFields = if is_form {
            serde_urlencoded::from_bytes::<FormFields>(body)
                .map_err(|_| PayloadError::Syntax("form data"))?
                .into()
        } else {
            serde_json::from_slice(body).map_err(|_| PayloadError::Syntax("JSON"))?
        };
        Self::from_fields(fields)
    }

    fn from_fields(f: AnyFields) -> Result<Self, PayloadError> {
        if let Some(kind) = non_empty(f.kind) {
            return Ok(Self::V2(WebhookV2 {
                kind: WebhookType::from_wire(&kind),
                timestamp: f.timestamp,
                data: f.data.unwrap_or_default(),
            }));
        }
        let payment_id = non_empty(f.payment_id);
        let tx_id = non_empty(f.tx_id);
        let billing_key = non_empty(f.billing_key);
        if payment_id.is_some() || tx_id.is_some() || billing_key.is_some() {
            let raw_status = non_empty(f.status);
            return Ok(Self::V2Legacy(WebhookV2Legacy {
                payment_id,
                tx_id,
                status: raw_status.as_deref().map(LegacyStatus::parse),
                raw_status,
                billing_key,
            }));
        }
        if let Some(imp_uid) = non_empty(f.imp_uid) {
            return Ok(Self::V1(WebhookV1 {
                imp_uid,
                merchant_uid: non_empty(f.merchant_uid),
                status: non_empty(f.status).map(|s| V1Status::from_wire(&s.to_ascii_lowercase())),
                cancellation_id: non_empty(f.cancellation_id),
            }));
        }
        Err(PayloadError::Unrecognised)
    }

    /// The merchant-chosen payment id (V2) or merchant order id (V1), if the body carries one.
    pub fn payment_id(&self) -> Option<&str> {
        match self {
            Self::V2(w) => w.data.payment_id.as_deref(),
            Self::V2Legacy(w) => w.payment_id.as_deref(),
            Self::V1(w) => w.merchant_uid.as_deref(),
        }
    }

    /// PortOne's transaction id (V2) or `imp_uid` (V1).
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Self::V2(w) => w.data.transaction_id.as_deref(),
            Self::V2Legacy(w) => w.tx_id.as_deref(),
            Self::V1(w) => Some(&w.imp_uid),
        }
    }
}

impl fmt::Display for LegacyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ready => "Ready",
            Self::Paid => "Paid",
            Self::VirtualAccountIssued => "VirtualAccountIssued",
            Self::PartialCancelled => "PartialCancelled",
            Self::Cancelled => "Cancelled",
            Self::Failed => "Failed",
            Self::PayPending => "PayPending",
            Self::CancelPending => "CancelPending",
            Self::Unknown(raw) => raw,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const V2_CANCELLED: &str = r#"{ "type": "Transaction.Cancelled", "timestamp": "2024-04-25T10:00:00.000Z",
  "data": { "paymentId": "example-payment-id",
            "storeId": "store-ae356798-3d20-4969-b739-14c6b0e1a667",
            "transactionId": "55451513-9763-4a7a-bb43-78a4c65be843",
            "cancellationId": "0cdd91e9-4e7c-44a3-a72e-1a6511826c2b" } }"#;

    #[test]
    fn v2_2024_04_25_cancelled() {
        let p = WebhookPayload::parse(V2_CANCELLED.as_bytes(), Some("application/json")).unwrap();
        let WebhookPayload::V2(w) = &p else {
            panic!("{p:?}")
        };
        assert_eq!(w.kind, WebhookType::TransactionCancelled);
        assert_eq!(
            w.data.cancellation_id.as_deref(),
            Some("0cdd91e9-4e7c-44a3-a72e-1a6511826c2b")
        );
        assert_eq!(p.payment_id(), Some("example-payment-id"));
        assert_eq!(
            p.transaction_id(),
            Some("55451513-9763-4a7a-bb43-78a4c65be843")
        );
    }

    #[test]
    fn v2_store_id_absent_and_unknown_type_and_fields() {
        let body = br#"{"type":"Transaction.Teleported","timestamp":"2024-04-25T10:00:00.000Z",
            "data":{"paymentId":"p","transactionId":"t","newField":[1]},"extra":true}"#;
        let WebhookPayload::V2(w) = WebhookPayload::parse(body, None).unwrap() else {
            panic!()
        };
        assert_eq!(
            w.kind,
            WebhookType::Unknown("Transaction.Teleported".into())
        );
        assert_eq!(w.data.store_id, None);
        assert_eq!(w.data.payment_id.as_deref(), Some("p"));
    }

    #[test]
    fn v2_billing_key_event() {
        let body = br#"{ "type": "BillingKey.Issued", "timestamp": "2024-04-25T10:00:00.000Z",
          "data": { "storeId": "store-61e0db3d", "billingKey": "billing-key-75ae3cab" } }"#;
        let p = WebhookPayload::parse(body, Some("application/json; charset=utf-8")).unwrap();
        let WebhookPayload::V2(w) = &p else { panic!() };
        assert_eq!(w.kind, WebhookType::BillingKeyIssued);
        assert_eq!(w.data.billing_key.as_deref(), Some("billing-key-75ae3cab"));
        assert_eq!(p.payment_id(), None);
    }

    #[test]
    fn v2_2024_01_01_json_and_form_in_every_casing() {
        for status in [
            "VirtualAccountIssued",
            "virtual_account_issued",
            "VIRTUAL_ACCOUNT_ISSUED",
        ] {
            let json = format!(
                r#"{{"payment_id":"example-payment-id","tx_id":"55451513","status":"{status}"}}"#
            );
            let p = WebhookPayload::parse(json.as_bytes(), Some("application/json")).unwrap();
            let WebhookPayload::V2Legacy(w) = &p else {
                panic!("{p:?}")
            };
            assert_eq!(w.status, Some(LegacyStatus::VirtualAccountIssued));
            assert_eq!(w.raw_status.as_deref(), Some(status));
            assert_eq!(p.payment_id(), Some("example-payment-id"));

            let form = format!("payment_id=example-payment-id&tx_id=55451513&status={status}");
            let f =
                WebhookPayload::parse(form.as_bytes(), Some("application/x-www-form-urlencoded"))
                    .unwrap();
            assert_eq!(f, p);
        }
        for (raw, expected) in [
            ("Ready", LegacyStatus::Ready),
            ("Paid", LegacyStatus::Paid),
            ("PartialCancelled", LegacyStatus::PartialCancelled),
            ("Cancelled", LegacyStatus::Cancelled),
            ("Failed", LegacyStatus::Failed),
            ("PayPending", LegacyStatus::PayPending),
            ("CancelPending", LegacyStatus::CancelPending),
            ("Refunded", LegacyStatus::Unknown("Refunded".into())),
        ] {
            assert_eq!(LegacyStatus::parse(raw), expected);
        }
    }

    #[test]
    fn form_without_content_type_is_sniffed() {
        let p = WebhookPayload::parse(b"payment_id=p1&tx_id=t1&status=Paid&extra=1", None).unwrap();
        let WebhookPayload::V2Legacy(w) = p else {
            panic!()
        };
        assert_eq!(w.status, Some(LegacyStatus::Paid));
    }

    #[test]
    fn v1_json_and_form() {
        let json = br#"{ "imp_uid": "imp_1234567890", "merchant_uid": "order_id_8237352", "status": "paid" }"#;
        let p = WebhookPayload::parse(json, Some("application/json")).unwrap();
        let WebhookPayload::V1(w) = &p else { panic!() };
        assert_eq!(w.status, Some(V1Status::Paid));
        assert_eq!(w.cancellation_id, None);
        assert_eq!(p.payment_id(), Some("order_id_8237352"));
        assert_eq!(p.transaction_id(), Some("imp_1234567890"));

        let form = b"imp_uid=imp_1&merchant_uid=order_1&status=cancelled&cancellation_id=c1";
        let p = WebhookPayload::parse(form, Some("application/x-www-form-urlencoded")).unwrap();
        let WebhookPayload::V1(w) = p else { panic!() };
        assert_eq!(w.status, Some(V1Status::Cancelled));
        assert_eq!(w.cancellation_id.as_deref(), Some("c1"));
    }

    #[test]
    fn v1_inicis_escrow_extra_fields_and_unknown_status() {
        let json = br#"{ "event": "Inicis.Escrow.Changed", "imp_uid": "imp_123412341234",
          "merchant_uid": "asdfasdfasdf", "status": "escrow_hold",
          "extra": { "escrow_status": "4", "changed_at": 112312323 } }"#;
        let WebhookPayload::V1(w) = WebhookPayload::parse(json, None).unwrap() else {
            panic!()
        };
        assert_eq!(w.status, Some(V1Status::Unknown("escrow_hold".into())));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(
            WebhookPayload::parse(b"{}", None),
            Err(PayloadError::Unrecognised)
        );
        assert_eq!(
            WebhookPayload::parse(b"{not json", Some("application/json")),
            Err(PayloadError::Syntax("JSON"))
        );
        assert!(WebhookPayload::parse(&[0xff, 0xfe, 0x00], None).is_err());
        assert!(WebhookPayload::parse(b"", None).is_err());
        assert!(WebhookPayload::parse(b"[1,2,3]", None).is_err());
        assert!(WebhookPayload::parse(br#"{"type":5}"#, None).is_err());
    }
}
