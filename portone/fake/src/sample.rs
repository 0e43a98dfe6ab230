//! `hanpay webhook send` for PortOne: V2 webhooks (the 2024-04-25 `type`s of PortOne's webhook
//! guide) signed with Standard Webhooks when a `whsec_…` secret is given.

use hanpay_core::webhook::StandardWebhooks;
use time::OffsetDateTime;

use hanpay_fake::sandbox::{SampleEvent, SampleRequest};

/// Transaction events: `data` is `{storeId, paymentId, transactionId}` (plus `cancellationId`
/// for the cancel events, `totalAmount` for `Transaction.Confirm`).
const TRANSACTION_EVENTS: [&str; 11] = [
    "Transaction.Ready",
    "Transaction.Paid",
    "Transaction.VirtualAccountIssued",
    "Transaction.PartialCancelled",
    "Transaction.Cancelled",
    "Transaction.Failed",
    "Transaction.PayPending",
    "Transaction.CancelPending",
    "Transaction.Confirm",
    "Transaction.DisputeCreated",
    "Transaction.DisputeResolved",
];
/// Billing-key events: `data` is `{storeId, billingKey}`.
const BILLING_KEY_EVENTS: [&str; 5] = [
    "BillingKey.Ready",
    "BillingKey.Issued",
    "BillingKey.Failed",
    "BillingKey.Deleted",
    "BillingKey.Updated",
];

/// Every event [`build`] makes.
pub(crate) const EVENTS: &[&str] = &[
    TRANSACTION_EVENTS[0],
    TRANSACTION_EVENTS[1],
    TRANSACTION_EVENTS[2],
    TRANSACTION_EVENTS[3],
    TRANSACTION_EVENTS[4],
    TRANSACTION_EVENTS[5],
    TRANSACTION_EVENTS[6],
    TRANSACTION_EVENTS[7],
    TRANSACTION_EVENTS[8],
    TRANSACTION_EVENTS[9],
    TRANSACTION_EVENTS[10],
    BILLING_KEY_EVENTS[0],
    BILLING_KEY_EVENTS[1],
    BILLING_KEY_EVENTS[2],
    BILLING_KEY_EVENTS[3],
    BILLING_KEY_EVENTS[4],
];

/// Builds `sample` as PortOne sends it.
pub(crate) fn build(sample: &SampleEvent) -> Result<SampleRequest, String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let order_id = sample
        .order_id
        .clone()
        .unwrap_or_else(|| format!("order-{}", &suffix[..12]));
    let payment_id = sample.payment_id.clone().unwrap_or(order_id);
    let event = sample.event.as_str();
    let store_id = "store-00000000-0000-0000-0000-000000000000";
    let data = if BILLING_KEY_EVENTS.contains(&event) {
        let billing_key = sample
            .payment_id
            .clone()
            .unwrap_or_else(|| format!("billing-key-{suffix}"));
        serde_json::json!({"storeId": store_id, "billingKey": billing_key})
    } else if TRANSACTION_EVENTS.contains(&event) {
        let mut data = serde_json::json!({
            "storeId": store_id,
            "paymentId": payment_id,
            "transactionId": uuid::Uuid::new_v4().to_string(),
        });
        if event.contains("Cancel") {
            data["cancellationId"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
        }
        if event == "Transaction.Confirm" {
            data["totalAmount"] = serde_json::json!(sample.amount);
        }
        data
    } else {
        return Err(format!(
            "unknown PortOne event {event:?}: one of {}",
            EVENTS.join(", ")
        ));
    };
    let now = OffsetDateTime::now_utc();
    let body = serde_json::json!({
        "type": event,
        "timestamp": now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "data": data,
    })
    .to_string();
    let id = format!("msg_{suffix}");
    let ts = now.unix_timestamp();
    let mut request = SampleRequest::json(body);
    request.header("webhook-id", &id)?;
    request.header("webhook-timestamp", &ts.to_string())?;
    if let Some(secret) = &sample.secret {
        let signer = StandardWebhooks::new([secret.as_str()])
            .map_err(|e| format!("--secret: {e} (PortOne secrets are whsec_ + base64)"))?;
        let signature = signer.sign(&id, ts, request.body.as_bytes());
        request.header("webhook-signature", &signature)?;
    }
    Ok(request)
}
