//! Webhooks the fake sends: `2024-04-25` bodies and their Standard Webhooks signatures
//! (`webhook-id` fixed per event, `webhook-timestamp` fresh per attempt). Delivery and
//! redelivery are the testkit's [`hanpay_fake::delivery`].

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use time::OffsetDateTime;

use super::state::{rfc3339, PendingWebhook};

/// Builds the exact `2024-04-25` body for an event.
pub(crate) fn body_for(hook: &PendingWebhook, store_id: &str, include_store_id: bool) -> String {
    let mut data = Map::new();
    data.insert("paymentId".into(), json!(hook.payment_id));
    if include_store_id {
        data.insert("storeId".into(), json!(store_id));
    }
    data.insert("transactionId".into(), json!(hook.transaction_id));
    if let Some(c) = &hook.cancellation_id {
        data.insert("cancellationId".into(), json!(c));
    }
    json!({
        "type": hook.kind,
        "timestamp": rfc3339(OffsetDateTime::now_utc()),
        "data": Value::Object(data),
    })
    .to_string()
}

/// The `webhook-signature` value: one `v1,<base64>` entry per secret (rotation).
pub(crate) fn sign(secrets: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    secrets
        .iter()
        .filter_map(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(ts.as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn signs_the_portone_shaped_vector() {
        // portone.md §3.5: secret pzQGE83cSIRKM4/WH5QY+g==, id dummy-webhook-id, ts 1714039200.
        let key = base64::engine::general_purpose::STANDARD
            .decode("pzQGE83cSIRKM4/WH5QY+g==")
            .unwrap();
        let body = br#"{"type":"Transaction.Paid","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"example-payment-id","storeId":"store-ae356798-3d20-4969-b739-14c6b0e1a667","transactionId":"55451513-9763-4a7a-bb43-78a4c65be843"}}"#;
        assert_eq!(
            sign(
                std::slice::from_ref(&key),
                "dummy-webhook-id",
                1_714_039_200,
                body
            ),
            "v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs="
        );
        let two = sign(&[vec![1; 24], key], "dummy-webhook-id", 1_714_039_200, body);
        assert!(two.ends_with(" v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs="));
    }

    #[test]
    fn body_has_the_2024_04_25_shape() {
        let hook = PendingWebhook {
            kind: "Transaction.Cancelled",
            payment_id: "p-1".into(),
            transaction_id: "t-1".into(),
            cancellation_id: Some("c-1".into()),
        };
        let v: Value = serde_json::from_str(&body_for(&hook, "store-1", true)).unwrap();
        assert_eq!(v["type"], "Transaction.Cancelled");
        assert_eq!(v["data"]["paymentId"], "p-1");
        assert_eq!(v["data"]["storeId"], "store-1");
        assert_eq!(v["data"]["cancellationId"], "c-1");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        let v: Value = serde_json::from_str(&body_for(&hook, "store-1", false)).unwrap();
        assert!(v["data"].get("storeId").is_none());
    }
}
