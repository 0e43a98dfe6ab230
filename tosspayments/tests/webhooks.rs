//! `TossWebhookVerifier`: signatures, shared secrets, allowlists, and FakeToss deliveries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hanpay_core::webhook::{hmac_sha256, IpAllowlist};
use hanpay_core::{Secret, Trust, WebhookError, WebhookEventKind, WebhookRequest, WebhookVerifier};
use http::{HeaderMap, HeaderValue};
use time::macros::datetime;
use time::OffsetDateTime;

use hanpay_tosspayments::TossWebhookVerifier;

const SECURITY_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const TIME: &str = "2024-09-05T12:19:21+09:00";
const PAYOUT: &[u8] = include_bytes!("fixtures/webhook_payout_changed.json");
const DEPOSIT: &[u8] = include_bytes!("fixtures/webhook_deposit_callback.json");
const STATUS: &[u8] = include_bytes!("fixtures/webhook_payment_status_changed.json");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sign_hex(body: &[u8], time: &str) -> String {
    b64(&hmac_sha256(
        &hex::decode(SECURITY_KEY).unwrap(),
        &[body, b":", time.as_bytes()],
    ))
}

fn sign_ascii(body: &[u8], time: &str) -> String {
    b64(&hmac_sha256(
        SECURITY_KEY.as_bytes(),
        &[body, b":", time.as_bytes()],
    ))
}

fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn at() -> OffsetDateTime {
    datetime!(2024-09-05 12:19:30 +09:00)
}

fn verifier() -> TossWebhookVerifier {
    TossWebhookVerifier::builder()
        .security_key(SECURITY_KEY)
        .without_allowlist()
        .build()
        .unwrap()
}

fn verify(
    v: &TossWebhookVerifier,
    h: &HeaderMap,
    body: &[u8],
) -> Result<hanpay_core::WebhookEvent, WebhookError> {
    v.verify(&WebhookRequest::new(h, Bytes::copy_from_slice(body)).received_at(at()))
}

fn signed_headers(sig: String) -> HeaderMap {
    headers(&[
        ("tosspayments-webhook-signature", sig),
        ("tosspayments-webhook-transmission-time", TIME.into()),
        (
            "tosspayments-webhook-transmission-id",
            "whtrans_a01j70335nkqqeg0zwzz2r4py9z".into(),
        ),
        (
            "tosspayments-webhook-transmission-retried-count",
            "0".into(),
        ),
    ])
}

#[test]
fn valid_signature_with_either_key_derivation() {
    let v = verifier();
    for sig in [sign_hex(PAYOUT, TIME), sign_ascii(PAYOUT, TIME)] {
        let e = verify(&v, &signed_headers(format!("v1:{sig}")), PAYOUT).unwrap();
        assert_eq!(e.trust, Trust::Signed);
        // The transmission id is not signed: the dedupe id is the signed body's eventId.
        assert_eq!(e.dedupe_id, "event:evt_payout_0001");
        assert_eq!(e.kind, WebhookEventKind::Other("payout.changed".into()));
        assert_eq!(e.raw_status.as_deref(), Some("COMPLETED"));
    }
}

/// `body` signed with the hex key at `time`, as Toss delivers it.
fn signed_delivery(body: &[u8], time: &str, transmission_id: &str) -> HeaderMap {
    headers(&[
        (
            "tosspayments-webhook-signature",
            format!("v1:{}", sign_hex(body, time)),
        ),
        ("tosspayments-webhook-transmission-time", time.into()),
        (
            "tosspayments-webhook-transmission-id",
            transmission_id.into(),
        ),
    ])
}

#[test]
fn a_redelivered_signed_event_keeps_its_dedupe_id_and_other_event_ids_differ() {
    let v = verifier();
    // The first attempt and a redelivery a minute later, re-signed with its own
    // transmission time (and, for all Toss says, its own transmission id).
    let first = verify(
        &v,
        &signed_delivery(PAYOUT, "2024-09-05T12:18:21+09:00", "whtrans_1"),
        PAYOUT,
    )
    .unwrap();
    let again = verify(&v, &signed_delivery(PAYOUT, TIME, "whtrans_2"), PAYOUT).unwrap();
    assert_eq!(
        (first.trust.clone(), again.trust.clone()),
        (Trust::Signed, Trust::Signed)
    );
    assert_eq!(first.dedupe_id, "event:evt_payout_0001");
    assert_eq!(again.dedupe_id, first.dedupe_id);
    // The id is the event's, not the bytes': the same event serialised differently is one.
    let compact: serde_json::Value = serde_json::from_slice(PAYOUT).unwrap();
    let compact = serde_json::to_vec(&compact).unwrap();
    assert_ne!(compact, PAYOUT);
    let e = verify(&v, &signed_delivery(&compact, TIME, "whtrans_3"), &compact).unwrap();
    assert_eq!(e.dedupe_id, first.dedupe_id);
    // Another event is another id, and an id cannot pass for a digest (or a digest for one).
    let other = String::from_utf8(PAYOUT.to_vec())
        .unwrap()
        .replace("evt_payout_0001", "evt_payout_0002");
    let e = verify(
        &v,
        &signed_delivery(other.as_bytes(), TIME, "whtrans_4"),
        other.as_bytes(),
    )
    .unwrap();
    assert_eq!(e.dedupe_id, "event:evt_payout_0002");
    assert_ne!(e.dedupe_id, first.dedupe_id);
    assert_ne!(hanpay_core::webhook::body_digest(PAYOUT), first.dedupe_id);
}

#[test]
fn an_event_id_counts_only_when_signed_and_usable() {
    let digest = |body: &[u8]| hanpay_core::webhook::body_digest(body);
    // Unsigned (no security key to check it with, or no signature at all): anyone could send
    // a coming event's id first, so the body's digest is the id.
    let unkeyed = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let h = signed_delivery(PAYOUT, TIME, "whtrans_1");
    let e = verify(&unkeyed, &h, PAYOUT).unwrap();
    assert_eq!(e.trust, Trust::Unverified);
    assert_eq!(e.dedupe_id, digest(PAYOUT));
    assert_eq!(
        verify(&verifier(), &HeaderMap::new(), PAYOUT)
            .unwrap()
            .dedupe_id,
        digest(PAYOUT)
    );
    // A relay's signature vouches for the eventId too.
    let relay = relay_verifier();
    let e = verify(
        &relay,
        &headers(&[("x-tosspayments-signature", relay_sign(PAYOUT))]),
        PAYOUT,
    )
    .unwrap();
    assert_eq!(e.dedupe_id, "event:evt_payout_0001");
    // Signed, but an id not fit to be one: empty, over 128 bytes, or not printable ASCII.
    let v = verifier();
    for id in [
        String::new(),
        "e".repeat(129),
        "evt 1".into(),
        "evt\\u00001".into(),
        "이벤트".into(),
    ] {
        let body = String::from_utf8(PAYOUT.to_vec())
            .unwrap()
            .replace("evt_payout_0001", &id);
        let e = verify(
            &v,
            &signed_delivery(body.as_bytes(), TIME, "whtrans_1"),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(e.trust, Trust::Signed);
        assert_eq!(e.dedupe_id, digest(body.as_bytes()), "{id:?}");
    }
    let longest = "e".repeat(128);
    let body = String::from_utf8(PAYOUT.to_vec())
        .unwrap()
        .replace("evt_payout_0001", &longest);
    let e = verify(
        &v,
        &signed_delivery(body.as_bytes(), TIME, "whtrans_1"),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(e.dedupe_id, format!("event:{longest}"));
}

#[test]
fn body_changed_by_one_byte_is_rejected() {
    let v = verifier();
    let mut body = PAYOUT.to_vec();
    let sig = sign_hex(&body, TIME);
    let i = body.iter().position(|b| *b == b'5').unwrap();
    body[i] = b'6';
    let err = verify(&v, &signed_headers(format!("v1:{sig}")), &body).unwrap_err();
    assert!(
        matches!(err, WebhookError::NoMatchingSignature { .. }),
        "{err}"
    );
}

#[test]
fn wrong_key_is_rejected() {
    let v = TossWebhookVerifier::builder()
        .security_key("00".repeat(32))
        .without_allowlist()
        .build()
        .unwrap();
    let err = verify(
        &v,
        &signed_headers(format!("v1:{}", sign_hex(PAYOUT, TIME))),
        PAYOUT,
    )
    .unwrap_err();
    assert!(matches!(err, WebhookError::NoMatchingSignature { .. }));
    assert!(!err.to_string().contains(SECURITY_KEY));
}

#[test]
fn two_signatures_one_valid_passes_and_other_versions_are_ignored() {
    let v = verifier();
    let bogus = b64(&[7u8; 32]);
    let good = sign_hex(PAYOUT, TIME);
    for header in [
        format!("v1:{bogus},v1:{good}"),
        format!("v1:{good},v1:{bogus}"),
        format!("v0:{bogus}, v1:{good}"),
    ] {
        assert_eq!(
            verify(&v, &signed_headers(header), PAYOUT).unwrap().trust,
            Trust::Signed
        );
    }
    let only_bad = verify(&v, &signed_headers(format!("v1:{bogus},v2:{good}")), PAYOUT);
    assert!(only_bad.is_err());
    let empty = verify(&v, &signed_headers("v1:".into()), PAYOUT);
    assert!(empty.is_err());
    let truncated = verify(&v, &signed_headers(format!("v1:{}", &good[..20])), PAYOUT);
    assert!(truncated.is_err());
}

#[test]
fn rotation_accepts_old_and_new_keys() {
    let v = TossWebhookVerifier::builder()
        .security_key("11".repeat(32))
        .security_key(SECURITY_KEY)
        .without_allowlist()
        .build()
        .unwrap();
    assert_eq!(
        verify(
            &v,
            &signed_headers(format!("v1:{}", sign_hex(PAYOUT, TIME))),
            PAYOUT
        )
        .unwrap()
        .trust,
        Trust::Signed
    );
}

#[test]
fn missing_transmission_time_is_rejected() {
    let v = verifier();
    let h = headers(&[(
        "tosspayments-webhook-signature",
        format!("v1:{}", sign_hex(PAYOUT, TIME)),
    )]);
    assert_eq!(
        verify(&v, &h, PAYOUT).unwrap_err(),
        WebhookError::MissingHeader("tosspayments-webhook-transmission-time")
    );
}

/// The transmission time is read before the signature is checked, so a bogus signature with
/// an overflowing offset (`--128:00` used to compute `-1 * -128` in `i8`) must be a plain
/// rejection, not a panic; so must an unsigned body's `createdAt` with such an offset.
#[test]
fn overflowing_offsets_are_rejected_not_panics() {
    let v = verifier();
    for time in [
        "2024-09-05T12:19:21--128:00",
        "2024-09-05T12:19:21-00:-128",
        "2024-09-05T12:19:21+-9:00",
    ] {
        let h = headers(&[
            ("tosspayments-webhook-signature", "v1:AAAA".into()),
            ("tosspayments-webhook-transmission-time", time.into()),
        ]);
        assert!(
            matches!(
                verify(&v, &h, PAYOUT),
                Err(WebhookError::MalformedHeader {
                    name: "tosspayments-webhook-transmission-time",
                    ..
                })
            ),
            "{time}"
        );
    }
    let open = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let body = String::from_utf8(STATUS.to_vec())
        .unwrap()
        .replace("2022-01-01T00:00:00.000000", "2022-01-01T00:00:00--128:00");
    let event = verify(&open, &HeaderMap::new(), body.as_bytes()).unwrap();
    assert_eq!(event.occurred_at, None);
}

#[test]
fn timestamps_are_bounded_both_ways() {
    let v = TossWebhookVerifier::builder()
        .security_key(SECURITY_KEY)
        .without_allowlist()
        .timestamp_tolerance(Duration::from_secs(300), Duration::from_secs(60))
        .build()
        .unwrap();
    let sig = format!("v1:{}", sign_hex(PAYOUT, TIME));
    let h = signed_headers(sig);
    let late = v.verify(
        &WebhookRequest::new(&h, Bytes::from_static(PAYOUT))
            .received_at(datetime!(2024-09-05 12:30:00 +09:00)),
    );
    assert!(matches!(late, Err(WebhookError::TimestampTooOld { .. })));
    let early = v.verify(
        &WebhookRequest::new(&h, Bytes::from_static(PAYOUT))
            .received_at(datetime!(2024-09-05 12:10:00 +09:00)),
    );
    assert!(matches!(early, Err(WebhookError::TimestampTooNew { .. })));
}

#[test]
fn relay_signature_valid_and_invalid() {
    let v = TossWebhookVerifier::builder()
        .webhook_secret("whsec_old")
        .webhook_secret("whsec_xxxxxxxxxxxxxxxxxxxxxxxx")
        .without_allowlist()
        .build()
        .unwrap();
    let good = b64(&hmac_sha256(b"whsec_xxxxxxxxxxxxxxxxxxxxxxxx", &[STATUS]));
    let e = verify(
        &v,
        &headers(&[("x-tosspayments-signature", good.clone())]),
        STATUS,
    )
    .unwrap();
    assert_eq!(e.trust, Trust::Signed);
    assert_eq!(e.kind, WebhookEventKind::PaymentStatusChanged);
    assert_eq!(
        e.payment_key.as_deref(),
        Some("5EnNZRJGvaBX7zk2yd8ydw26XvwXkLrx9POLqKQjmAw4b0e1")
    );
    assert_eq!(e.status_hint, Some(hanpay_core::PaymentStatus::Paid));
    // Without a transmission id the dedupe id is the body hash.
    assert_eq!(e.dedupe_id, hanpay_core::webhook::body_digest(STATUS));
    let bad = b64(&hmac_sha256(b"another secret", &[STATUS]));
    assert!(matches!(
        verify(&v, &headers(&[("x-tosspayments-signature", bad)]), STATUS),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
    assert_eq!(
        verify(&v, &HeaderMap::new(), STATUS).unwrap_err(),
        WebhookError::MissingHeader("x-tosspayments-signature")
    );
}

fn relay_verifier() -> TossWebhookVerifier {
    TossWebhookVerifier::builder()
        .webhook_secret("relay-secret")
        .without_allowlist()
        .build()
        .unwrap()
}

fn relay_sign(body: &[u8]) -> String {
    b64(&hmac_sha256(b"relay-secret", &[body]))
}

#[test]
fn a_relay_signed_deposit_callback_still_hands_on_its_secret() {
    let v = relay_verifier();
    // A relay signs whatever it forwards, a changed secret included: the signature says who
    // forwarded it, the secret is still to be compared with the payment's.
    let forged = String::from_utf8(DEPOSIT.to_vec())
        .unwrap()
        .replace("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD", "ps_forged");
    let e = verify(
        &v,
        &headers(&[("x-tosspayments-signature", relay_sign(forged.as_bytes()))]),
        forged.as_bytes(),
    )
    .unwrap();
    assert_eq!(e.trust, Trust::Signed);
    assert!(e
        .payment_secret
        .as_ref()
        .is_some_and(|s| s.ct_eq("ps_forged")));
    assert!(e.carried_secret().is_some_and(|s| s.ct_eq("ps_forged")));
    assert!(!format!("{e:?}").contains("ps_forged"));

    // A DEPOSIT_CALLBACK without its secret carries no proof at all.
    let bare = br#"{"createdAt":"2022-01-01T00:00:00.000000","status":"DONE","transactionKey":"9FF1","orderId":"00001503"}"#;
    assert_eq!(
        verify(
            &v,
            &headers(&[("x-tosspayments-signature", relay_sign(bare))]),
            bare
        )
        .unwrap_err(),
        WebhookError::SecretMismatch
    );
}

#[test]
fn a_replay_under_a_fresh_transmission_id_is_the_same_event() {
    let v = relay_verifier();
    let ids = ["whtrans_original", "whtrans_fresh_replay"];
    let dedupe: Vec<String> = ids
        .iter()
        .map(|id| {
            let h = headers(&[
                ("x-tosspayments-signature", relay_sign(STATUS)),
                ("tosspayments-webhook-transmission-id", (*id).into()),
            ]);
            verify(&v, &h, STATUS).unwrap().dedupe_id
        })
        .collect();
    assert_eq!(dedupe[0], dedupe[1]);
    // A different event is a different id.
    let h = headers(&[("x-tosspayments-signature", relay_sign(DEPOSIT))]);
    assert_ne!(verify(&v, &h, DEPOSIT).unwrap().dedupe_id, dedupe[0]);
}

#[test]
fn a_repeated_signature_header_is_refused_whichever_line_is_valid() {
    let junk = b64(&[0u8; 32]);
    let relay = relay_verifier();
    let good = relay_sign(STATUS);
    for lines in [[good.clone(), junk.clone()], [junk.clone(), good.clone()]] {
        let h = headers(&[
            ("x-tosspayments-signature", lines[0].clone()),
            ("x-tosspayments-signature", lines[1].clone()),
        ]);
        assert_eq!(
            verify(&relay, &h, STATUS).unwrap_err(),
            WebhookError::MalformedHeader {
                name: "x-tosspayments-signature",
                reason: "sent more than once".into()
            }
        );
    }
    let v = verifier();
    let good = format!("v1:{}", sign_hex(PAYOUT, TIME));
    let junk = format!("v1:{junk}");
    for lines in [[good.clone(), junk.clone()], [junk.clone(), good.clone()]] {
        let h = headers(&[
            ("tosspayments-webhook-signature", lines[0].clone()),
            ("tosspayments-webhook-signature", lines[1].clone()),
            ("tosspayments-webhook-transmission-time", TIME.into()),
        ]);
        assert!(
            matches!(
                verify(&v, &h, PAYOUT),
                Err(WebhookError::MalformedHeader {
                    name: "tosspayments-webhook-signature",
                    ..
                })
            ),
            "{lines:?}"
        );
    }
    let h = headers(&[
        ("tosspayments-webhook-signature", good),
        ("tosspayments-webhook-transmission-time", TIME.into()),
        ("tosspayments-webhook-transmission-time", TIME.into()),
    ]);
    assert!(matches!(
        verify(&v, &h, PAYOUT),
        Err(WebhookError::MalformedHeader {
            name: "tosspayments-webhook-transmission-time",
            ..
        })
    ));
}

#[test]
fn deposit_callback_secret_match_and_mismatch() {
    let v = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let e = verify(&v, &HeaderMap::new(), DEPOSIT).unwrap();
    assert_eq!(e.kind, WebhookEventKind::DepositReceived);
    assert_eq!(e.order_id.as_deref(), Some("00001503"));
    assert_eq!(e.payment_key, None);
    assert!(e.occurred_at.is_some());
    assert!(e.trust.requires_reconciliation());
    // The secret returned by the confirm in seed 000.
    assert!(e
        .trust
        .matches_secret(&Secret::new("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD")));
    assert!(!e
        .trust
        .matches_secret(&Secret::new("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeE")));
    // The carried secret is redacted in the trust (the event's raw body is core's to redact).
    assert!(!format!("{:?}", e.trust).contains("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD"));
}

#[test]
fn payment_status_changed_secret_and_unknown_events() {
    let v = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let body = br#"{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-01-02T14:46:59.65327","data":{"paymentKey":"pk","orderId":"order-1","status":"CANCELED","secret":"ps_abc","totalAmount":1000,"balanceAmount":0}}"#;
    let e = verify(&v, &HeaderMap::new(), body).unwrap();
    assert_eq!(e.kind, WebhookEventKind::Canceled);
    assert!(e.trust.matches_secret(&Secret::new("ps_abc")));
    let no_secret = verify(&v, &HeaderMap::new(), STATUS).unwrap();
    assert_eq!(no_secret.trust, Trust::Unverified);
    let other = verify(
        &v,
        &HeaderMap::new(),
        br#"{"eventType":"ORDER_PAYMENT_STATUS_CHANGED","data":{}}"#,
    )
    .unwrap();
    assert_eq!(
        other.kind,
        WebhookEventKind::Other("ORDER_PAYMENT_STATUS_CHANGED".into())
    );
    let billing = verify(
        &v,
        &HeaderMap::new(),
        include_bytes!("fixtures/webhook_billing_deleted.json"),
    )
    .unwrap();
    assert_eq!(billing.kind, WebhookEventKind::BillingKeyDeleted);
    assert!(matches!(
        verify(&v, &HeaderMap::new(), b"not json"),
        Err(WebhookError::MalformedPayload(_))
    ));
}

#[test]
fn allowlist_with_and_without_a_trusted_proxy() {
    let v = TossWebhookVerifier::builder().build().unwrap();
    let h = HeaderMap::new();
    let toss: SocketAddr = "13.124.18.147:443".parse().unwrap();
    let e = v
        .verify(&WebhookRequest::new(&h, Bytes::from_static(DEPOSIT)).peer(toss))
        .unwrap();
    assert!(matches!(e.trust, Trust::SharedSecret(_)));
    let status = v
        .verify(&WebhookRequest::new(&h, Bytes::from_static(STATUS)).peer(toss))
        .unwrap();
    assert_eq!(status.trust, Trust::SourceAddress(toss.ip()));
    let mapped: SocketAddr = "[::ffff:115.92.221.121]:443".parse().unwrap();
    assert!(v
        .verify(&WebhookRequest::new(&h, Bytes::from_static(STATUS)).peer(mapped))
        .is_ok());
    let stranger: SocketAddr = "115.92.221.124:443".parse().unwrap();
    assert!(matches!(
        v.verify(&WebhookRequest::new(&h, Bytes::from_static(STATUS)).peer(stranger)),
        Err(WebhookError::ForbiddenSource(_))
    ));
    assert!(
        v.verify(&WebhookRequest::new(&h, Bytes::from_static(STATUS)))
            .is_err(),
        "no peer: fail closed"
    );

    // Behind a proxy: the proxy's own address is not Toss's...
    let proxy: SocketAddr = "10.0.0.5:40000".parse().unwrap();
    let xff = headers(&[("x-forwarded-for", "1.2.3.4, 13.124.108.35".into())]);
    assert!(v
        .verify(&WebhookRequest::new(&xff, Bytes::from_static(STATUS)).peer(proxy))
        .is_err());
    // ...and its X-Forwarded-For is believed only once the proxy is trusted.
    let behind = TossWebhookVerifier::builder()
        .trusted_proxies(["10.0.0.0/8".parse().unwrap()])
        .build()
        .unwrap();
    let e = behind
        .verify(&WebhookRequest::new(&xff, Bytes::from_static(STATUS)).peer(proxy))
        .unwrap();
    assert_eq!(
        e.trust,
        Trust::SourceAddress("13.124.108.35".parse().unwrap())
    );
    let spoofed = headers(&[("x-forwarded-for", "13.124.108.35, 1.2.3.4".into())]);
    assert!(behind
        .verify(&WebhookRequest::new(&spoofed, Bytes::from_static(STATUS)).peer(proxy))
        .is_err());
    // A custom list replaces Toss's.
    let custom = TossWebhookVerifier::builder()
        .allowlist(IpAllowlist::parse(["127.0.0.1/32"]).unwrap())
        .build()
        .unwrap();
    let local: SocketAddr = "127.0.0.1:5555".parse().unwrap();
    assert!(custom
        .verify(&WebhookRequest::new(&h, Bytes::from_static(STATUS)).peer(local))
        .is_ok());
}

#[test]
fn body_size_is_capped() {
    let v = TossWebhookVerifier::builder()
        .without_allowlist()
        .max_body_bytes(16)
        .build()
        .unwrap();
    assert!(matches!(
        verify(&v, &HeaderMap::new(), DEPOSIT),
        Err(WebhookError::BodyTooLarge { .. })
    ));
}

#[test]
fn empty_secrets_are_refused_at_build() {
    assert!(TossWebhookVerifier::builder()
        .security_key("")
        .build()
        .is_err());
    assert!(TossWebhookVerifier::builder()
        .webhook_secret("")
        .build()
        .is_err());
}

/// FakeToss delivers signed webhooks to a receiver that verifies them, answering 500 twice:
/// the redeliveries keep the transmission id and bump retried-count.
#[tokio::test]
async fn fake_toss_deliveries_verify_and_redeliver() {
    use axum::{extract::State, http::StatusCode, routing::post, Router};
    use hanpay_core::{ConfirmRequest, Money, PaymentProvider};
    use hanpay_tosspayments_fake::{FakeToss, SessionMethod};

    type Seen = Arc<Mutex<Vec<(hanpay_core::WebhookEvent, HeaderMap)>>>;
    let verifier = Arc::new(
        TossWebhookVerifier::builder()
            .security_key(SECURITY_KEY)
            .webhook_secret("relay-secret")
            .allowlist(IpAllowlist::parse(["127.0.0.1/32"]).unwrap())
            .build()
            .unwrap(),
    );
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/toss",
            post(
                |State((v, seen)): State<(Arc<TossWebhookVerifier>, Seen)>,
                 axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let event = match v.verify(&WebhookRequest::new(&headers, body).peer(peer)) {
                        Ok(e) => e,
                        Err(_) => return StatusCode::UNAUTHORIZED,
                    };
                    let mut list = seen.lock().unwrap();
                    list.push((event, headers));
                    if list.len() <= 2 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state((verifier.clone(), seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let fake = FakeToss::builder()
        .webhook_url(format!("http://{addr}/toss"))
        .security_key(SECURITY_KEY)
        .relay_secret("relay-secret")
        .start()
        .await
        .unwrap();
    let toss = hanpay_tosspayments::TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let key = fake
        .create_session("order-hook-01", 12_000, SessionMethod::Card)
        .unwrap();
    let paid = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-hook-01",
            Money::krw(12_000),
        ))
        .await
        .unwrap();

    let log = fake.webhook_log();
    let attempts = log
        .wait_until(Duration::from_secs(20), |a| a.iter().any(|x| x.delivered))
        .await;
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(500), Some(200)]
    );
    let ids: Vec<_> = attempts
        .iter()
        .map(|a| a.headers["tosspayments-webhook-transmission-id"].clone())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    let counts: Vec<_> = attempts
        .iter()
        .map(|a| {
            a.headers["tosspayments-webhook-transmission-retried-count"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(counts, ["0", "1", "2"]);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (event, _) in seen.iter() {
        assert_eq!(event.trust, Trust::Signed);
        // Redeliveries (same transmission id, retried-count bumped, same body) are one event.
        assert_eq!(event.dedupe_id, seen[0].0.dedupe_id);
        assert_eq!(
            event.dedupe_id,
            hanpay_core::webhook::body_digest(&seen[0].0.body)
        );
        assert_eq!(event.payment_key.as_deref(), Some(key.as_str()));
        assert_eq!(event.status_hint, Some(hanpay_core::PaymentStatus::Paid));
    }
    // The payload's data.secret matches the secret the confirm returned.
    let body: serde_json::Value = seen[0].0.body_json().unwrap();
    assert_eq!(
        body["data"]["secret"].as_str(),
        paid.secret.as_ref().map(|s| s.expose())
    );
}

/// A correctly signed body with an invalid UTF-8 byte inside a member the verifier ignores is
/// not JSON text: refused, whatever its signature.
#[test]
fn a_signed_body_that_is_not_utf8_json_is_refused() {
    let v = verifier();
    for fixture in [PAYOUT, DEPOSIT, STATUS] {
        let sig = sign_hex(fixture, TIME);
        assert!(verify(&v, &signed_headers(format!("v1:{sig}")), fixture).is_ok());
        let open = fixture.iter().position(|b| *b == b'{').unwrap();
        for bad in [&b"\xff"[..], b"\xc3\x28", b"\xed\xa0\x80", b"ab\x80"] {
            let body = [
                &fixture[..=open],
                b"\"ignoredMember\":\"",
                bad,
                b"\",",
                &fixture[open + 1..],
            ]
            .concat();
            let sig = sign_hex(&body, TIME);
            let err = verify(&v, &signed_headers(format!("v1:{sig}")), &body).unwrap_err();
            assert!(
                matches!(err, WebhookError::MalformedPayload(_)),
                "{bad:?}: {err}"
            );
        }
    }
}
