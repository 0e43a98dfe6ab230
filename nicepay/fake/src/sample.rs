//! `hanpay webhook send` for NICEPAY: the Payment object NICEPAY POSTs (reference §6.2), with
//! `signature = hex(sha256(tid + amount + ediDate + SecretKey))` in the body when a secret key is
//! given (NICEPAY has no signature header).

use serde_json::{json, Value};

use super::state::{nice_time, now_kst, sha256_hex};
use hanpay_fake::sandbox::{SampleEvent, SampleRequest};

/// The statuses [`build`] makes: NICEPAY has no event names, the body's `status` is the event.
pub(crate) const EVENTS: &[&str] = &[
    "paid",
    "ready",
    "failed",
    "cancelled",
    "partialCancelled",
    "expired",
];

/// Builds `sample` (its event is a NICEPAY status) as NICEPAY sends it.
pub(crate) fn build(sample: &SampleEvent) -> Result<SampleRequest, String> {
    let status = sample.status.as_deref().unwrap_or(sample.event.as_str());
    if !EVENTS.contains(&status) {
        return Err(format!(
            "unknown NICEPAY status {status:?}: NICEPAY webhooks carry the payment's status, one \
             of {}",
            EVENTS.join(", ")
        ));
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let tid = sample
        .payment_id
        .clone()
        .unwrap_or_else(|| format!("nicuntct1m{}", &suffix[..20]));
    let order_id = sample
        .order_id
        .clone()
        .unwrap_or_else(|| format!("order-{}", &suffix[..12]));
    let amount = sample.amount;
    let now = nice_time(now_kst());
    let signature = sample
        .secret
        .as_deref()
        .map(|key| sha256_hex(&[&tid, &amount.to_string(), &now, key]));
    let vbank = status == "ready";
    let (balance, cancels, cancelled_at): (i64, Value, Value) = match status {
        "cancelled" => (
            0,
            json!([{ "tid": format!("{tid}c"), "amount": amount, "cancelledAt": now, "reason": "고객 요청" }]),
            json!(now),
        ),
        "partialCancelled" => {
            let part = amount / 2;
            (
                amount.saturating_sub(part),
                json!([{ "tid": format!("{tid}c"), "amount": part, "cancelledAt": now, "reason": "부분 취소" }]),
                json!(now),
            )
        }
        _ => (amount, Value::Null, json!("0")),
    };
    let body = json!({
        "resultCode": "0000",
        "resultMsg": "정상 처리되었습니다.",
        "tid": tid,
        "orderId": order_id,
        "ediDate": now,
        "signature": signature,
        "status": status,
        "paidAt": if status == "paid" { json!(now) } else { json!("0") },
        "failedAt": if status == "failed" { json!(now) } else { json!("0") },
        "cancelledAt": cancelled_at,
        "payMethod": if vbank { "vbank" } else { "card" },
        "amount": amount,
        "balanceAmt": balance,
        "goodsName": "hanpay webhook send",
        "currency": "KRW",
        "channel": "pc",
        "vbank": if vbank {
            json!({ "vbankCode": "088", "vbankName": "신한", "vbankNumber": "56211105000001",
                    "vbankExpDate": now, "vbankHolder": "홍길동" })
        } else {
            Value::Null
        },
        "cancels": cancels,
    });
    let mut request = SampleRequest::json(body.to_string());
    request.header("content-type", "application/json;charset=utf-8")?;
    Ok(request)
}
