//! No input ever panics: the fixtures and hundreds of mutations of each through the payment
//! decoder and both webhook generations' verifiers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use hanpay_core::{WebhookRequest, WebhookVerifier};
use hanpay_testkit::mutate::mutations;
use http::HeaderMap;
use time::OffsetDateTime;

use crate::{fixtures, mapping, wire, PortOneWebhookVerifier, WebhookGeneration};

fn decode(body: &[u8]) -> Result<hanpay_core::Payment, String> {
    let p: wire::Payment = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let raw = hanpay_core::RawJson::new(body.to_vec());
    mapping::payment(&p, raw, OffsetDateTime::now_utc()).map_err(|e| e.to_string())
}

#[test]
fn payment_decoder_never_panics() {
    let mut rejected = 0;
    for fixture in [
        fixtures::PAID_CARD,
        fixtures::VIRTUAL_ACCOUNT_ISSUED,
        fixtures::PARTIAL_CANCELLED,
        fixtures::FAILED,
    ] {
        assert!(decode(fixture.as_bytes()).is_ok());
        for variant in mutations(fixture.as_bytes()) {
            if decode(&variant).is_err() {
                rejected += 1;
            }
        }
    }
    assert!(
        rejected > 100,
        "mutations should mostly be refused, got {rejected}"
    );
}

const V2: &str = r#"{"type":"Transaction.Paid","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"p-1","storeId":"store-1","transactionId":"t-1"}}"#;
const V2_OLD: &str = r#"{"payment_id":"p-1","tx_id":"t-1","status":"Paid"}"#;
const V1: &str = r#"{"imp_uid":"imp_1","merchant_uid":"order-1","status":"paid"}"#;
const V1_FORM: &str = "imp_uid=imp_1&merchant_uid=order-1&status=cancelled&cancellation_id=c1";

#[test]
fn webhook_verifiers_never_panic() {
    let peer: SocketAddr = "52.78.5.241:443".parse().unwrap();
    let v2 = PortOneWebhookVerifier::builder().build().unwrap();
    let v1 = PortOneWebhookVerifier::builder()
        .generation(WebhookGeneration::V1)
        .build()
        .unwrap();
    let mut json = HeaderMap::new();
    json.insert("content-type", "application/json".parse().unwrap());
    let mut form = HeaderMap::new();
    form.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let cases: [(&PortOneWebhookVerifier, &HeaderMap, &str); 4] = [
        (&v2, &json, V2),
        (&v2, &json, V2_OLD),
        (&v1, &json, V1),
        (&v1, &form, V1_FORM),
    ];
    for (verifier, headers, body) in cases {
        let ok =
            verifier.verify(&WebhookRequest::new(headers, body.as_bytes().to_vec()).peer(peer));
        assert!(ok.is_ok(), "{body}: {ok:?}");
        for variant in mutations(body.as_bytes()) {
            let _ = verifier.verify(&WebhookRequest::new(headers, variant).peer(peer));
        }
    }
}
