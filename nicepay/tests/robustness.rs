//! No input panics: mutations of real payloads through the decoder and the webhook verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_core::{WebhookRequest, WebhookVerifier};
use hanpay_nicepay::mapping::payment_from_slice;
use hanpay_nicepay::NicePayWebhookVerifier;
use hanpay_testkit::mutate::mutations;

const FIXTURES: [&[u8]; 3] = [
    include_bytes!("fixtures/approve_sandbox.json"),
    include_bytes!("fixtures/partial_cancel.json"),
    include_bytes!("fixtures/vbank_ready.json"),
];

#[test]
fn mutated_payloads_never_panic() {
    let verifier = NicePayWebhookVerifier::builder("9eb85607103646da9f9c02b128f2e5ee")
        .without_allowlist()
        .build()
        .unwrap();
    let headers = http::HeaderMap::new();
    let mut decoded = 0usize;
    let mut total = 0usize;
    for fixture in FIXTURES {
        for variant in mutations(fixture) {
            total += 1;
            if payment_from_slice(&variant).is_ok() {
                decoded += 1;
            }
            let _ = verifier.verify(&WebhookRequest::new(&headers, variant));
        }
    }
    // The originals and harmless variants (an unknown field, …) still decode.
    assert!(decoded > 0 && decoded < total, "{decoded}/{total}");
    // The untouched approve example verifies.
    assert!(verifier
        .verify(&WebhookRequest::new(&headers, FIXTURES[0].to_vec()))
        .is_ok());
}
