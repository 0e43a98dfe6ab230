//! No input ever panics: every fixture, and hundreds of mutations of each (truncations, byte
//! flips, numbers as strings, unknown fields, non-UTF-8), through the payment decoder and the
//! webhook verifier. Valid inputs must still decode; mangled ones must fail with an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_core::{ErrorKind, WebhookRequest, WebhookVerifier};
use hanpay_testkit::mutate::mutations;
use hanpay_tosspayments::mapping::payment_from_slice;
use hanpay_tosspayments::TossWebhookVerifier;
use http::HeaderMap;

const PAYMENTS: &[&[u8]] = &[
    include_bytes!("fixtures/card_two_partial_cancels.json"),
    include_bytes!("fixtures/confirm_waiting_for_deposit_seed000.json"),
    include_bytes!("fixtures/expired_with_failure.json"),
    include_bytes!("fixtures/paypal_usd_partial_cancel.json"),
    include_bytes!("fixtures/virtual_account_reference.json"),
];

const WEBHOOKS: &[&[u8]] = &[
    include_bytes!("fixtures/webhook_billing_deleted.json"),
    include_bytes!("fixtures/webhook_deposit_callback.json"),
    include_bytes!("fixtures/webhook_payment_status_changed.json"),
    include_bytes!("fixtures/webhook_payout_changed.json"),
];

#[test]
fn payment_decoder_never_panics() {
    let mut rejected = 0;
    let mut checked_krw = 0;
    for fixture in PAYMENTS {
        assert!(payment_from_slice(fixture).is_ok());
        for variant in mutations(fixture) {
            if let Err(e) = payment_from_slice(&variant) {
                assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
                rejected += 1;
            }
        }
        // A KRW amount sent as "374000.00" or 374000.5 is refused, never rounded.
        let mut json: serde_json::Value = serde_json::from_slice(fixture).unwrap();
        if json["currency"] == "KRW" {
            for bad in [serde_json::json!("374000.00"), serde_json::json!(374000.5)] {
                json["totalAmount"] = bad;
                let body = serde_json::to_vec(&json).unwrap();
                assert!(
                    payment_from_slice(&body).is_err(),
                    "{}",
                    json["totalAmount"]
                );
                checked_krw += 1;
            }
        }
    }
    assert!(
        rejected > 100,
        "mutations should mostly be refused, got {rejected}"
    );
    assert!(checked_krw >= 4, "KRW fixtures exercised: {checked_krw}");
}

#[test]
fn webhook_verifier_never_panics() {
    // No secret and no allowlist: the payload parser is reached for every variant.
    let verifier = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let headers = HeaderMap::new();
    let mut accepted = 0;
    for fixture in WEBHOOKS {
        for variant in std::iter::once(fixture.to_vec()).chain(mutations(fixture)) {
            if verifier
                .verify(&WebhookRequest::new(&headers, variant))
                .is_ok()
            {
                accepted += 1;
            }
        }
    }
    assert!(
        accepted >= WEBHOOKS.len(),
        "the unmodified fixtures must verify"
    );
}
