//! `TossWebhookVerifier` on arbitrary headers and body. Mode bit 0 adds a valid
//! `tosspayments-webhook-signature` (over the body and the transmission-time header, which is
//! added when absent), bit 1 a valid `x-tosspayments-signature`, so the payload parser after the
//! signature check is reached; bits 2–3 choose the peer (see `hanpay_fuzz::peer`).
#![no_main]

use std::net::Ipv4Addr;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hanpay_core::webhook::hmac_sha256;
use hanpay_core::{Trust, WebhookRequest, WebhookVerifier};
use hanpay_fuzz::{header_text, peer, received_at, webhook_input};
use hanpay_tosspayments::{
    TossWebhookVerifier, RELAY_SIGNATURE_HEADER, SIGNATURE_HEADER, TRANSMISSION_TIME_HEADER,
};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

const SECURITY_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const WEBHOOK_SECRET: &str = "fuzz-relay-secret";
const TIME: &str = "2024-09-05T12:19:21+09:00";
/// Wide enough that any readable transmission time passes, so the payload is parsed.
const CENTURY: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

struct Verifiers {
    /// Both secrets, no allowlist, timestamps accepted a century either way.
    signing: TossWebhookVerifier,
    /// The defaults with a security key: Toss's allowlist and tolerance.
    default: TossWebhookVerifier,
    /// No secret: Toss's allowlist behind a trusted proxy.
    allowlist: TossWebhookVerifier,
}

fn verifiers() -> &'static Verifiers {
    static V: OnceLock<Verifiers> = OnceLock::new();
    V.get_or_init(|| Verifiers {
        signing: TossWebhookVerifier::builder()
            .security_key(SECURITY_KEY)
            .webhook_secret(WEBHOOK_SECRET)
            .without_allowlist()
            .timestamp_tolerance(CENTURY, CENTURY)
            .build()
            .expect("signing verifier"),
        default: TossWebhookVerifier::builder()
            .security_key(SECURITY_KEY)
            .build()
            .expect("default verifier"),
        allowlist: TossWebhookVerifier::builder()
            .allowlist(TossWebhookVerifier::toss_allowlist())
            .trusted_proxies(["10.0.0.0/8".parse().expect("proxy net")])
            .build()
            .expect("allowlist verifier"),
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some(mut input) = webhook_input(data) else {
        return;
    };
    let signs_v1 = input.mode & 1 != 0;
    let signs_relay = input.mode & 2 != 0;
    if signs_v1 {
        let time = match header_text(&input.headers, TRANSMISSION_TIME_HEADER) {
            Some(time) => time.to_owned(),
            None => {
                input
                    .headers
                    .insert(TRANSMISSION_TIME_HEADER, HeaderValue::from_static(TIME));
                TIME.to_owned()
            }
        };
        let mac = hmac_sha256(
            SECURITY_KEY.as_bytes(),
            &[input.body, b":", time.as_bytes()],
        );
        let value = HeaderValue::from_str(&format!("v1:{}", b64(&mac))).expect("base64 header");
        input.headers.insert(SIGNATURE_HEADER, value);
    }
    if signs_relay {
        let mac = hmac_sha256(WEBHOOK_SECRET.as_bytes(), &[input.body]);
        let value = HeaderValue::from_str(&b64(&mac)).expect("base64 header");
        input.headers.insert(RELAY_SIGNATURE_HEADER, value);
    }
    let mut request = WebhookRequest::new(&input.headers, Bytes::copy_from_slice(input.body))
        .received_at(received_at());
    if let Some(peer) = peer(input.mode, Ipv4Addr::new(13, 124, 18, 147)) {
        request = request.peer(peer);
    }
    let v = verifiers();
    let signed = v.signing.verify(&request);
    if let Ok(event) = &signed {
        // A valid signature the harness computed must be what the event's trust rests on.
        if signs_v1 || signs_relay {
            assert!(matches!(event.trust, Trust::Signed), "{:?}", event.trust);
        }
        let _ = format!("{event:?}");
    }
    if let Err(e) = &signed {
        let _ = e.to_string();
    }
    let _ = v.default.verify(&request).map_err(|e| e.to_string());
    let _ = v.allowlist.verify(&request).map_err(|e| e.to_string());
});
