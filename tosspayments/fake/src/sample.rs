//! `hanpay webhook send` for Toss: realistic Toss webhooks, with Toss's transmission headers
//! and, given a secret, both Toss signatures (`tosspayments-webhook-signature` with the
//! security key, `x-tosspayments-signature` as a relaying platform signs).

use base64::Engine as _;
use hanpay_core::webhook::hmac_sha256;
use time::{OffsetDateTime, UtcOffset};

use hanpay_fake::sandbox::{SampleEvent, SampleRequest};

/// The events [`build`] makes.
pub(crate) const EVENTS: &[&str] = &[
    "PAYMENT_STATUS_CHANGED",
    "DEPOSIT_CALLBACK",
    "CANCEL_STATUS_CHANGED",
];

fn kst_now() -> OffsetDateTime {
    let offset = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(offset)
}

/// Toss's times: `2024-02-13T12:18:14+09:00` in headers, `2024-02-13T12:18:14.000000` (KST,
/// no offset) in `createdAt`.
fn toss_time(t: OffsetDateTime, with_offset: bool) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if with_offset {
        format!("{base}+09:00")
    } else {
        format!("{base}.{:06}", t.microsecond())
    }
}

/// Adds Toss's transmission headers to a body and, with a secret, both signatures.
fn signed(
    body: String,
    suffix: &str,
    now: OffsetDateTime,
    secret: Option<&str>,
) -> Result<SampleRequest, String> {
    let time = toss_time(now, true);
    let mut request = SampleRequest::json(body);
    request.header(
        "tosspayments-webhook-transmission-id",
        &format!("wh_{suffix}"),
    )?;
    request.header("tosspayments-webhook-transmission-time", &time)?;
    request.header("tosspayments-webhook-transmission-retried-count", "0")?;
    if let Some(secret) = secret {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = request.body.clone();
        let toss = hmac_sha256(secret.as_bytes(), &[body.as_bytes(), b":", time.as_bytes()]);
        request.header(
            "tosspayments-webhook-signature",
            &format!("v1:{}", b64.encode(toss)),
        )?;
        let relay = hmac_sha256(secret.as_bytes(), &[body.as_bytes()]);
        request.header("x-tosspayments-signature", &b64.encode(relay))?;
    }
    Ok(request)
}

/// Builds `sample` as Toss sends it.
pub(crate) fn build(sample: &SampleEvent) -> Result<SampleRequest, String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let order_id = sample
        .order_id
        .clone()
        .unwrap_or_else(|| format!("order-{}", &suffix[..12]));
    let payment_key = sample
        .payment_id
        .clone()
        .unwrap_or_else(|| format!("tgen_{}", &suffix[..20]));
    let now = kst_now();
    let body = match sample.event.as_str() {
        // The fake's own builder: `data` is the whole Payment object, as Toss sends it.
        "PAYMENT_STATUS_CHANGED" => {
            let status = sample.status.as_deref().unwrap_or("DONE");
            let payment = super::sample_payment(&payment_key, &order_id, sample.amount, status)
                .map_err(|e| format!("PAYMENT_STATUS_CHANGED: {}", e.message))?;
            return signed(
                super::payment_status_changed_body(&payment),
                &suffix,
                now,
                sample.secret.as_deref(),
            );
        }
        // Unsigned: the payment's secret is in the body.
        "DEPOSIT_CALLBACK" => {
            let body = serde_json::json!({
                "createdAt": toss_time(now, false),
                "secret": sample.secret.clone().unwrap_or_else(|| format!("ps_{}", &suffix[..20])),
                "status": sample.status.clone().unwrap_or_else(|| "DONE".into()),
                "transactionKey": suffix.to_uppercase(),
                "orderId": order_id,
            });
            return signed(body.to_string(), &suffix, now, None);
        }
        "CANCEL_STATUS_CHANGED" => serde_json::json!({
            "eventType": "CANCEL_STATUS_CHANGED",
            "createdAt": toss_time(now, false),
            "data": {
                "paymentKey": payment_key,
                "orderId": order_id,
                "transactionKey": suffix.to_uppercase(),
                "cancelStatus": sample.status.clone().unwrap_or_else(|| "DONE".into()),
                "cancelAmount": sample.amount,
            }
        }),
        other => {
            return Err(format!(
                "unknown Toss event {other:?}: {}",
                EVENTS.join(", ")
            ))
        }
    };
    signed(body.to_string(), &suffix, now, sample.secret.as_deref())
}
