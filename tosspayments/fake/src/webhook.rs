//! Webhooks the fake sends on each status change: `PAYMENT_STATUS_CHANGED` (and
//! `DEPOSIT_CALLBACK` for virtual accounts), with Toss's transmission headers, handed to the
//! testkit's [`WebhookDispatcher`](hanpay_fake::delivery::WebhookDispatcher) on Toss's redelivery
//! schedule. Each attempt gets fresh headers: the same transmission id, `retried-count` bumped.

use std::sync::Arc;

use axum::body::Bytes;
use base64::Engine as _;
use hanpay_core::webhook::hmac_sha256;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::json;

use super::state::{kst_now, rfc3339, StatusChange};
use hanpay_fake::delivery::{Delivery, WebhookDispatcher};

/// How the fake sends webhooks.
#[derive(Debug, Clone)]
pub(crate) struct WebhookConfig {
    pub(crate) targets: Vec<String>,
    /// If set, `tosspayments-webhook-signature` is added (`v1:` over `{body}:{time}`), once with
    /// the hex-decoded key and once with its ASCII bytes (the reference leaves the derivation
    /// open; both are sent, as Toss sends two signatures during key rotation).
    pub(crate) security_key: Option<String>,
    /// If set, `x-tosspayments-signature: base64(HMAC-SHA256(body))` is added, as the relaying
    /// commerce platform of seed 001 does.
    pub(crate) relay_secret: Option<String>,
    pub(crate) send_deposit_callback: bool,
}

/// One webhook the fake sent (its first attempt; redeliveries repeat the same body and id).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SentWebhook {
    /// Target URL.
    pub url: String,
    /// `tosspayments-webhook-transmission-id` (stable across redeliveries).
    pub transmission_id: String,
    /// `PAYMENT_STATUS_CHANGED` or `DEPOSIT_CALLBACK`.
    pub event_type: String,
    /// The status the event announces.
    pub status: String,
    /// The exact body.
    pub body: String,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    sent: Vec<SentWebhook>,
    seq: u64,
}

/// `createdAt` as Toss writes it in webhooks: KST wall time, microseconds, no offset.
fn created_at() -> String {
    let t = kst_now();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The `PAYMENT_STATUS_CHANGED` body for `payment` (the whole Payment object as `data`).
pub(crate) fn payment_status_changed(payment: &serde_json::Value) -> String {
    json!({
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": created_at(),
        "data": payment,
    })
    .to_string()
}

impl Outbox {
    pub(crate) fn sent(&self) -> &[SentWebhook] {
        &self.sent
    }

    /// Builds the deliveries for one status change (one per event and target).
    pub(crate) fn enqueue(
        &mut self,
        config: &WebhookConfig,
        change: &StatusChange,
    ) -> Vec<Delivery> {
        let mut events: Vec<(&'static str, Bytes)> = vec![(
            "PAYMENT_STATUS_CHANGED",
            Bytes::from(payment_status_changed(&change.payment)),
        )];
        if change.virtual_account && config.send_deposit_callback {
            events.push((
                "DEPOSIT_CALLBACK",
                Bytes::from(
                    json!({
                        "createdAt": created_at(),
                        "secret": change.secret,
                        "status": change.status,
                        "transactionKey": change.transaction_key,
                        "orderId": change.order_id,
                    })
                    .to_string(),
                ),
            ));
        }
        let mut out = Vec::new();
        for url in &config.targets {
            for (event_type, body) in &events {
                self.seq += 1;
                let transmission_id =
                    format!("whtrans_fake{:06}{:010x}", self.seq, fastrand::u64(..));
                self.sent.push(SentWebhook {
                    url: url.clone(),
                    transmission_id: transmission_id.clone(),
                    event_type: (*event_type).to_owned(),
                    status: change.status.to_owned(),
                    body: String::from_utf8_lossy(body).into_owned(),
                });
                let headers_config = config.clone();
                let headers_body = body.clone();
                out.push(Delivery {
                    url: url.clone(),
                    body: body.clone(),
                    event: (*event_type).to_owned(),
                    schedule: crate::redelivery_schedule(),
                    headers: Arc::new(move |attempt| {
                        transmission_headers(
                            &headers_config,
                            &headers_body,
                            &transmission_id,
                            attempt,
                        )
                    }),
                });
            }
        }
        out
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

fn transmission_headers(config: &WebhookConfig, body: &[u8], id: &str, attempt: u32) -> HeaderMap {
    let time = rfc3339(kst_now());
    let mut h = HeaderMap::new();
    insert(&mut h, "content-type", "application/json");
    insert(&mut h, "tosspayments-webhook-transmission-time", &time);
    insert(
        &mut h,
        "tosspayments-webhook-transmission-retried-count",
        &attempt.to_string(),
    );
    insert(&mut h, "tosspayments-webhook-transmission-id", id);
    let engine = base64::engine::general_purpose::STANDARD;
    if let Some(key) = &config.security_key {
        let mut sigs = Vec::new();
        if let Ok(bytes) = hex::decode(key) {
            sigs.push(hmac_sha256(&bytes, &[body, b":", time.as_bytes()]));
        }
        sigs.push(hmac_sha256(key.as_bytes(), &[body, b":", time.as_bytes()]));
        let value = sigs
            .iter()
            .map(|s| format!("v1:{}", engine.encode(s)))
            .collect::<Vec<_>>()
            .join(",");
        insert(&mut h, "tosspayments-webhook-signature", &value);
    }
    if let Some(secret) = &config.relay_secret {
        let mac = hmac_sha256(secret.as_bytes(), &[body]);
        insert(&mut h, "x-tosspayments-signature", &engine.encode(mac));
    }
    h
}

/// Hands deliveries to the dispatcher.
pub(crate) fn dispatch(dispatcher: &WebhookDispatcher, deliveries: Vec<Delivery>) {
    for d in deliveries {
        drop(dispatcher.dispatch(d));
    }
}
