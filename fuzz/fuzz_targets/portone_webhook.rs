//! `PortOneWebhookVerifier` (both generations) on arbitrary headers and body. Mode bit 0 adds
//! a valid Standard Webhooks signature (over `webhook-id`, `webhook-timestamp` and the body;
//! the id and timestamp headers are added when absent), so the payload parser after the
//! signature check is reached; bits 2–3 choose the peer (see `hanpay_fuzz::peer`).
#![no_main]

use std::net::Ipv4Addr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use hanpay_core::webhook::standard::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use hanpay_core::webhook::StandardWebhooks;
use hanpay_core::{Trust, WebhookRequest, WebhookVerifier};
use hanpay_fuzz::{header_text, peer, received_at, webhook_input};
use hanpay_portone::{PortOneWebhookVerifier, WebhookGeneration};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_pzQGE83cSIRKM4/WH5QY+g==";
/// Wide enough that any integer timestamp of this era passes, so the payload is parsed.
const CENTURY: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

struct Verifiers {
    signer: StandardWebhooks,
    /// The secret, no allowlist, a century of tolerance.
    signing: PortOneWebhookVerifier,
    /// The secret with the V2 defaults (allowlist, five minutes).
    default: PortOneWebhookVerifier,
    /// V1: no signature exists, the allowlist behind a trusted proxy decides.
    v1: PortOneWebhookVerifier,
}

fn verifiers() -> &'static Verifiers {
    static V: OnceLock<Verifiers> = OnceLock::new();
    V.get_or_init(|| Verifiers {
        signer: StandardWebhooks::new([SECRET]).expect("signer"),
        signing: PortOneWebhookVerifier::builder()
            .secret(SECRET)
            .without_allowlist()
            .tolerance(CENTURY)
            .build()
            .expect("signing verifier"),
        default: PortOneWebhookVerifier::builder()
            .secret(SECRET)
            .build()
            .expect("default verifier"),
        v1: PortOneWebhookVerifier::builder()
            .generation(WebhookGeneration::V1)
            .trusted_proxies(["10.0.0.0/8"])
            .build()
            .expect("v1 verifier"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(mut input) = webhook_input(data) else {
        return;
    };
    let v = verifiers();
    let signs = input.mode & 1 != 0;
    if signs {
        let id = match header_text(&input.headers, HEADER_ID) {
            Some(id) => id.to_owned(),
            None => {
                input
                    .headers
                    .insert(HEADER_ID, HeaderValue::from_static("msg_fuzz"));
                "msg_fuzz".to_owned()
            }
        };
        let timestamp = match header_text(&input.headers, HEADER_TIMESTAMP)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<i64>().ok())
        {
            Some(ts) => ts,
            None => {
                let now = received_at().unix_timestamp();
                input
                    .headers
                    .insert(HEADER_TIMESTAMP, HeaderValue::from(now));
                now
            }
        };
        let signature = v.signer.sign(&id, timestamp, input.body);
        let value = HeaderValue::from_str(&signature).expect("signature header");
        input.headers.insert(HEADER_SIGNATURE, value);
    }
    let mut request = WebhookRequest::new(&input.headers, Bytes::copy_from_slice(input.body))
        .received_at(received_at());
    if let Some(peer) = peer(input.mode, Ipv4Addr::new(52, 78, 5, 241)) {
        request = request.peer(peer);
    }
    match v.signing.verify(&request) {
        Ok(event) => {
            assert!(matches!(event.trust, Trust::Signed), "{:?}", event.trust);
            let _ = format!("{event:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = v.default.verify(&request).map_err(|e| e.to_string());
    let _ = v.v1.verify(&request).map_err(|e| e.to_string());
});
