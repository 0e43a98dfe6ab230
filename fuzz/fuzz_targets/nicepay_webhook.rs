//! `NicePayWebhookVerifier` on arbitrary headers and body. Mode bit 0 signs the body first:
//! when it is a JSON object, its `signature` is set to NICEPAY's
//! `hex(sha256(tid + amount + ediDate + SecretKey))` over its own fields, so the mapping after
//! the signature check is reached; bits 2–3 choose the peer (see `hanpay_fuzz::peer`).
#![no_main]

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use bytes::Bytes;
use hanpay_core::{Trust, WebhookRequest, WebhookVerifier};
use hanpay_fuzz::{peer, received_at, webhook_input};
use hanpay_nicepay::{webhook_signature, NicePayWebhookVerifier};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KEY: &str = "9eb85607103646da9f9c02b128f2e5ee";

struct Verifiers {
    /// The key, no allowlist: every signed body reaches the mapping.
    open: NicePayWebhookVerifier,
    /// NICEPAY's defaults (its published senders).
    default: NicePayWebhookVerifier,
}

fn verifiers() -> &'static Verifiers {
    static V: OnceLock<Verifiers> = OnceLock::new();
    V.get_or_init(|| Verifiers {
        open: NicePayWebhookVerifier::builder(KEY)
            .without_allowlist()
            .build()
            .expect("open verifier"),
        default: NicePayWebhookVerifier::builder(KEY)
            .build()
            .expect("default verifier"),
    })
}

/// Sets `signature` from the body's own `tid`, `amount` (an integer) and `ediDate`.
fn signed(body: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    let tid = object.get("tid")?.as_str()?.to_owned();
    let amount = object.get("amount")?.as_i64()?;
    let edi = object.get("ediDate")?.as_str()?.to_owned();
    let signature = webhook_signature(&tid, amount, &edi, KEY);
    object.insert("signature".into(), Value::String(signature));
    serde_json::to_vec(&value).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = webhook_input(data) else {
        return;
    };
    let v = verifiers();
    let body = match (input.mode & 1 != 0).then(|| signed(input.body)).flatten() {
        Some(b) => Bytes::from(b),
        None => Bytes::copy_from_slice(input.body),
    };
    let mut request = WebhookRequest::new(&input.headers, body).received_at(received_at());
    if let Some(peer) = peer(input.mode, Ipv4Addr::new(121, 133, 126, 86)) {
        request = request.peer(peer);
    }
    match v.open.verify(&request) {
        Ok(event) => {
            // Never more than "signed, not the status": NICEPAY's signature leaves it out.
            assert!(
                !matches!(event.trust, Trust::Signed),
                "{:?}",
                event.trust
            );
            assert!(event.trust.requires_reconciliation());
            let _ = format!("{event:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = v.default.verify(&request).map_err(|e| e.to_string());
});
