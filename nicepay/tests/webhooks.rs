//! The NICEPAY webhook verifier: the reference's vectors, tampering, keys, constant-time path,
//! sender checks, console TEST payloads, and end to end with FakeNicePay's deliveries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hanpay_core::webhook::IpAllowlist;
use hanpay_core::{
    PaymentStatus, Trust, WebhookError, WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use hanpay_nicepay::{
    webhook_signature, NicePayWebhookVerifier, CONSOLE_TEST_EVENT, WEBHOOK_ACK_BODY,
};
use hanpay_nicepay_fake::{FakeNicePay, WindowMethod};
use serde_json::json;

const KEY: &str = "9eb85607103646da9f9c02b128f2e5ee";
const TID: &str = "UT0000113m01012111051714341073";
const EDI: &str = "2021-11-05T17:14:35.150+0900";
const SIG: &str = "63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd";

fn nice_peer() -> SocketAddr {
    "121.133.126.86:443".parse().unwrap()
}

fn body(tid: &str, amount: i64, edi: &str, signature: &str, status: &str) -> Vec<u8> {
    json!({
        "resultCode": "0000", "resultMsg": "정상 처리되었습니다.", "tid": tid,
        "orderId": "c74a5960-830b-4cd8-82a9-fa1ce739a18f", "ediDate": edi,
        "signature": signature, "status": status, "payMethod": "card",
        "amount": amount, "balanceAmt": amount, "cancels": null
    })
    .to_string()
    .into_bytes()
}

fn verifier() -> NicePayWebhookVerifier {
    NicePayWebhookVerifier::builder(KEY).build().unwrap()
}

fn verify_from(
    v: &NicePayWebhookVerifier,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<hanpay_core::WebhookEvent, WebhookError> {
    v.verify(&WebhookRequest::new(headers, body).peer(peer))
}

#[test]
fn the_reference_vectors_verify() {
    assert_eq!(webhook_signature(TID, 1004, EDI, KEY), SIG);
    assert_eq!(
        webhook_signature(
            "UT0000113m01012110051656331001",
            1004,
            "2021-10-05T16:56:34.447+0900",
            "4f13ca267dfa4fc6964148bedcda15ef"
        ),
        "28c2e8bae912847541d4885db17648f963c7cc8e8249ff010097d6f1395df993"
    );
    let headers = HeaderMap::new();
    let event = verify_from(
        &verifier(),
        nice_peer(),
        &headers,
        body(TID, 1004, EDI, SIG, "paid"),
    )
    .unwrap();
    assert_eq!(event.payment_key.as_deref(), Some(TID));
    assert_eq!(
        event.order_id.as_deref(),
        Some("c74a5960-830b-4cd8-82a9-fa1ce739a18f")
    );
    assert_eq!(event.status_hint, Some(PaymentStatus::Paid));
    assert_eq!(event.kind, WebhookEventKind::PaymentStatusChanged);
    assert_eq!(event.occurred_at.unwrap().unix_timestamp(), 1_636_100_075);
    assert_eq!(event.dedupe_id, format!("nicepay:{TID}:paid:"));
    // The status is not signed: never `Signed`, always reconciled.
    assert_eq!(
        event.trust,
        Trust::SignedWithoutStatus {
            sender: Some("121.133.126.86".parse().unwrap())
        }
    );
    assert!(event.trust.requires_reconciliation());
    // Upper-case hex is the same signature.
    assert!(verify_from(
        &verifier(),
        nice_peer(),
        &headers,
        body(TID, 1004, EDI, &SIG.to_uppercase(), "paid")
    )
    .is_ok());
}

#[test]
fn tampering_and_wrong_keys_are_rejected() {
    let headers = HeaderMap::new();
    let v = verifier();
    let rejected = |b: Vec<u8>| {
        matches!(
            verify_from(&v, nice_peer(), &headers, b),
            Err(WebhookError::NoMatchingSignature { .. })
        )
    };
    assert!(
        rejected(body(TID, 1005, EDI, SIG, "paid")),
        "tampered amount"
    );
    assert!(
        rejected(body(
            "UT0000113m01012111051714341074",
            1004,
            EDI,
            SIG,
            "paid"
        )),
        "tampered tid"
    );
    assert!(
        rejected(body(TID, 1004, "2021-11-05T17:14:35.151+0900", SIG, "paid")),
        "tampered ediDate"
    );
    assert!(
        rejected(body(TID, 1004, EDI, &SIG[..63], "paid")),
        "truncated signature"
    );
    assert!(
        rejected(body(TID, 1004, EDI, "", "paid")),
        "empty signature"
    );
    let unsigned =
        json!({"tid": TID, "amount": 1004, "ediDate": EDI, "status": "paid"}).to_string();
    assert!(rejected(unsigned.into_bytes()), "no signature");
    // The status is not covered: a changed status still verifies (hence reconciliation).
    let e = verify_from(
        &v,
        nice_peer(),
        &headers,
        body(TID, 1004, EDI, SIG, "cancelled"),
    )
    .unwrap();
    assert_eq!(e.status_hint, Some(PaymentStatus::Canceled));
    assert!(e.trust.requires_reconciliation());

    let wrong = NicePayWebhookVerifier::builder("4f13ca267dfa4fc6964148bedcda15ef")
        .build()
        .unwrap();
    assert!(matches!(
        verify_from(
            &wrong,
            nice_peer(),
            &headers,
            body(TID, 1004, EDI, SIG, "paid")
        ),
        Err(WebhookError::NoMatchingSignature {
            candidates: 1,
            secrets: 1,
            ..
        })
    ));
    // Rotation: old and new key both verify.
    let rotating = NicePayWebhookVerifier::builder("4f13ca267dfa4fc6964148bedcda15ef")
        .secret_key(KEY)
        .build()
        .unwrap();
    assert!(verify_from(
        &rotating,
        nice_peer(),
        &headers,
        body(TID, 1004, EDI, SIG, "paid")
    )
    .is_ok());
    assert!(NicePayWebhookVerifier::builder(" ").build().is_err());
    assert!(!format!("{rotating:?}").contains(KEY));
}

#[test]
fn comparison_is_constant_time_over_every_key() {
    // A signature differing in its first byte and one differing in its last byte take the same
    // path: every key is hashed and compared in full (`constant_time_eq`), no early exit. The
    // observable part: both are rejected with the same error, whichever key comes first.
    let headers = HeaderMap::new();
    let v = NicePayWebhookVerifier::builder("0000ca267dfa4fc6964148bedcda15ef")
        .secret_key("1111ca267dfa4fc6964148bedcda15ef")
        .secret_key(KEY)
        .build()
        .unwrap();
    let first = format!("0{}", &SIG[1..]);
    let last = format!("{}0", &SIG[..63]);
    for sig in [first, last] {
        assert_eq!(
            verify_from(
                &v,
                nice_peer(),
                &headers,
                body(TID, 1004, EDI, &sig, "paid")
            )
            .unwrap_err(),
            WebhookError::NoMatchingSignature {
                header: "signature (body field)",
                candidates: 1,
                secrets: 3
            }
        );
    }
    // The last key matching still passes.
    assert!(verify_from(&v, nice_peer(), &headers, body(TID, 1004, EDI, SIG, "paid")).is_ok());
}

#[test]
fn sender_allowlist_with_mapped_ipv6_and_trusted_proxies() {
    let headers = HeaderMap::new();
    let v = verifier();
    let good = || body(TID, 1004, EDI, SIG, "paid");
    for (peer, canonical) in [
        ("121.133.126.86:1", "121.133.126.86"),
        ("121.133.126.87:1", "121.133.126.87"),
        ("[::ffff:121.133.126.87]:1", "121.133.126.87"),
    ] {
        let e = verify_from(&v, peer.parse().unwrap(), &headers, good()).unwrap();
        assert_eq!(
            e.trust,
            Trust::SignedWithoutStatus {
                sender: Some(canonical.parse().unwrap())
            },
            "{peer}"
        );
    }
    for peer in ["121.133.126.85:1", "10.0.0.1:1", "[::ffff:10.0.0.1]:1"] {
        assert!(
            matches!(
                verify_from(&v, peer.parse().unwrap(), &headers, good()),
                Err(WebhookError::ForbiddenSource(_))
            ),
            "{peer}"
        );
    }
    // No peer: fails closed.
    assert!(matches!(
        v.verify(&WebhookRequest::new(&headers, good())),
        Err(WebhookError::UnknownSource(_))
    ));

    // X-Forwarded-For is believed only from a trusted proxy.
    let mut xff = HeaderMap::new();
    xff.insert("x-forwarded-for", "121.133.126.86".parse().unwrap());
    let proxy: SocketAddr = "10.0.0.5:1".parse().unwrap();
    assert!(
        matches!(
            verify_from(&v, proxy, &xff, good()),
            Err(WebhookError::ForbiddenSource(_))
        ),
        "XFF from an untrusted peer is ignored"
    );
    let behind = NicePayWebhookVerifier::builder(KEY)
        .trusted_proxies(["10.0.0.0/24".parse().unwrap()])
        .build()
        .unwrap();
    let e = verify_from(&behind, proxy, &xff, good()).unwrap();
    assert_eq!(
        e.trust,
        Trust::SignedWithoutStatus {
            sender: Some("121.133.126.86".parse().unwrap())
        }
    );
    let mut spoofed = HeaderMap::new();
    spoofed.insert(
        "x-forwarded-for",
        "121.133.126.86, 203.0.113.9".parse().unwrap(),
    );
    assert!(
        matches!(
            verify_from(&behind, proxy, &spoofed, good()),
            Err(WebhookError::ForbiddenSource(ip)) if ip.to_string() == "203.0.113.9"
        ),
        "the rightmost untrusted entry decides"
    );

    // A custom allowlist; and none at all (local development): still signed, no sender.
    let custom = NicePayWebhookVerifier::builder(KEY)
        .allowlist(IpAllowlist::parse(["192.0.2.0/24"]).unwrap())
        .build()
        .unwrap();
    assert!(verify_from(&custom, "192.0.2.7:1".parse().unwrap(), &headers, good()).is_ok());
    let open = NicePayWebhookVerifier::builder(KEY)
        .without_allowlist()
        .build()
        .unwrap();
    let e = verify_from(&open, "10.0.0.1:1".parse().unwrap(), &headers, good()).unwrap();
    assert_eq!(e.trust, Trust::SignedWithoutStatus { sender: None });
    assert_eq!(e.trust.label(), "signed_without_status");
    assert!(e.trust.requires_reconciliation());
}

fn console_test(signature: &str, status: &str) -> Vec<u8> {
    json!({
        "resultCode": "0000", "resultMsg": "", "tid": "UTWEBHOOK0000113m0101211105171434",
        "orderId": "UTWEBHOOK", "ediDate": EDI, "signature": signature,
        "status": status, "payMethod": "", "amount": 10000
    })
    .to_string()
    .into_bytes()
}

#[test]
fn console_test_payloads_are_acknowledged_without_trust() {
    let headers = HeaderMap::new();
    // The signature cannot be reproduced with the merchant key (I15).
    let e = verify_from(
        &verifier(),
        nice_peer(),
        &headers,
        console_test("deadbeef", ""),
    )
    .unwrap();
    assert_eq!(e.kind, WebhookEventKind::Other(CONSOLE_TEST_EVENT.into()));
    assert_eq!(e.payment_key, None);
    assert_eq!(e.order_id, None);
    assert_eq!(e.status_hint, None);
    assert_eq!(e.trust, Trust::Unverified);
    // Still only from NICEPAY's senders.
    assert!(matches!(
        verify_from(
            &verifier(),
            "10.0.0.1:1".parse().unwrap(),
            &headers,
            console_test("deadbeef", "")
        ),
        Err(WebhookError::ForbiddenSource(_))
    ));
    // A TEST-looking tid with a real status is verified like any other: rejected here.
    assert!(matches!(
        verify_from(
            &verifier(),
            nice_peer(),
            &headers,
            console_test("deadbeef", "paid")
        ),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
    // Strict mode refuses them.
    let strict = NicePayWebhookVerifier::builder(KEY)
        .reject_console_tests()
        .build()
        .unwrap();
    assert!(matches!(
        verify_from(&strict, nice_peer(), &headers, console_test("deadbeef", "")),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
}

#[test]
fn kinds_dedupe_and_limits() {
    let headers = HeaderMap::new();
    let v = NicePayWebhookVerifier::builder(KEY)
        .without_allowlist()
        .max_body_bytes(4096)
        .build()
        .unwrap();
    let signed = |mut value: serde_json::Value| {
        let tid = value["tid"].as_str().unwrap().to_owned();
        let amount = value["amount"].as_i64().unwrap();
        value["signature"] = json!(webhook_signature(&tid, amount, EDI, KEY));
        value["ediDate"] = json!(EDI);
        value.to_string().into_bytes()
    };
    let issued = signed(
        json!({"tid": "T1", "amount": 15000, "status": "ready", "payMethod": "vbank",
        "vbank": {"vbankCode": "088", "vbankNumber": "5649"}}),
    );
    let e = v.verify(&WebhookRequest::new(&headers, issued)).unwrap();
    assert_eq!(e.kind, WebhookEventKind::VirtualAccountIssued);
    assert_eq!(e.status_hint, Some(PaymentStatus::WaitingForDeposit));
    let deposited =
        signed(json!({"tid": "T1", "amount": 15000, "status": "paid", "payMethod": "vbank"}));
    assert_eq!(
        v.verify(&WebhookRequest::new(&headers, deposited))
            .unwrap()
            .kind,
        WebhookEventKind::DepositReceived
    );
    let partial = signed(
        json!({"tid": "T1", "amount": 15000, "balanceAmt": 11000, "status": "partialCancelled",
        "payMethod": "card", "cancelledTid": "C2", "cancels": [{"tid": "C1"}, {"tid": "C2"}]}),
    );
    let e = v.verify(&WebhookRequest::new(&headers, partial)).unwrap();
    assert_eq!(e.kind, WebhookEventKind::PartiallyCanceled);
    assert_eq!(e.dedupe_id, "nicepay:T1:partialCancelled:C2");
    let cancelled = signed(
        json!({"tid": "T1", "amount": 15000, "balanceAmt": 0, "status": "cancelled",
        "payMethod": "card", "cancels": [{"tid": "C1"}, {"tid": "C3"}]}),
    );
    let e = v.verify(&WebhookRequest::new(&headers, cancelled)).unwrap();
    assert_eq!(e.kind, WebhookEventKind::Canceled);
    assert_eq!(e.dedupe_id, "nicepay:T1:cancelled:C3");
    let failed = signed(json!({"tid": "T1", "amount": 15000, "status": "failed"}));
    assert_eq!(
        v.verify(&WebhookRequest::new(&headers, failed))
            .unwrap()
            .kind,
        WebhookEventKind::Failed
    );

    assert!(matches!(
        v.verify(&WebhookRequest::new(&headers, vec![b' '; 4097])),
        Err(WebhookError::BodyTooLarge { .. })
    ));
    assert!(matches!(
        v.verify(&WebhookRequest::new(&headers, b"tid=1".to_vec())),
        Err(WebhookError::MalformedPayload(_))
    ));
    assert!(matches!(
        v.verify(&WebhookRequest::new(&headers, br#"{"amount":1}"#.to_vec())),
        Err(WebhookError::MalformedPayload(_))
    ));
    assert_eq!(v.redelivery().resends(), 0);
}

type Events = Arc<std::sync::Mutex<Vec<hanpay_core::WebhookEvent>>>;
type ReceiverState = (Arc<NicePayWebhookVerifier>, Events);

/// A merchant endpoint: verifies with the NICEPAY verifier and answers `OK` (HTTP 200).
async fn receiver(verifier: NicePayWebhookVerifier) -> (String, Events) {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let state = (Arc::new(verifier), events.clone());
    let app = Router::new()
        .route(
            "/nicepay",
            post(
                |State((v, events)): State<ReceiverState>,
                 ConnectInfo(peer): ConnectInfo<SocketAddr>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    match v.verify(&WebhookRequest::new(&headers, body).peer(peer)) {
                        Ok(e) => {
                            events.lock().unwrap().push(e);
                            (StatusCode::OK, WEBHOOK_ACK_BODY)
                        }
                        Err(e) => (StatusCode::from_u16(e.http_status()).unwrap(), "FAIL"),
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (format!("http://{addr}/nicepay"), events)
}

#[tokio::test]
async fn fake_deliveries_verify_end_to_end_and_need_ok() {
    let loopback = NicePayWebhookVerifier::builder(KEY)
        .allowlist(IpAllowlist::parse(["127.0.0.1"]).unwrap())
        .build()
        .unwrap();
    let (url, events) = receiver(loopback).await;
    let fake = FakeNicePay::builder()
        .webhook_url(&url)
        .start()
        .await
        .unwrap();
    let nice = hanpay_nicepay::NicePay::builder(FakeNicePay::CLIENT_ID, FakeNicePay::SECRET_KEY)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    use hanpay_core::{CancelRequest, ConfirmRequest, Money, PaymentProvider};
    let auth = fake
        .authenticate("order-hook-0001", 15_000, WindowMethod::Card)
        .unwrap();
    nice.confirm(&ConfirmRequest::new(
        auth.tid.clone(),
        "order-hook-0001",
        Money::krw(15_000),
    ))
    .await
    .unwrap();
    nice.cancel(&CancelRequest::partial(
        auth.tid.clone(),
        "일부",
        Money::krw(4_000),
    ))
    .await
    .unwrap();
    let sent = fake.wait_for_webhooks(2, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|w| w.delivered && w.status == Some(200) && w.answer == "OK"),
        "{sent:?}"
    );
    let events = events.lock().unwrap().clone();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert!(kinds.contains(&WebhookEventKind::PaymentStatusChanged));
    assert!(kinds.contains(&WebhookEventKind::PartiallyCanceled));
    assert!(events
        .iter()
        .all(|e| e.payment_key.as_deref() == Some(auth.tid.as_str())));

    // A receiver answering 200 without `OK` is a failed delivery for NICEPAY.
    let app = Router::new().route("/bare", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare = format!("http://{}/bare", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fake2 = FakeNicePay::builder()
        .webhook_url(bare)
        .start()
        .await
        .unwrap();
    let auth2 = fake2
        .authenticate("order-hook-0002", 1_000, WindowMethod::Card)
        .unwrap();
    let nice2 = hanpay_nicepay::NicePay::builder(FakeNicePay::CLIENT_ID, FakeNicePay::SECRET_KEY)
        .base_url(fake2.base_url())
        .build()
        .unwrap();
    nice2
        .confirm(&ConfirmRequest::new(
            auth2.tid,
            "order-hook-0002",
            Money::krw(1_000),
        ))
        .await
        .unwrap();
    let sent = fake2.wait_for_webhooks(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, Some(200));
    assert!(!sent[0].delivered);
}

/// A correctly signed notification with an invalid UTF-8 byte inside a member the verifier
/// ignores is not JSON text: refused, whatever its signature.
#[test]
fn a_signed_body_that_is_not_utf8_json_is_refused() {
    let headers = HeaderMap::new();
    let signed = body(TID, 1004, EDI, SIG, "paid");
    assert!(verify_from(&verifier(), nice_peer(), &headers, signed.clone()).is_ok());
    for bad in [&b"\xff"[..], b"\xc3\x28", b"\xed\xa0\x80", b"ab\x80"] {
        // `"ignoredMember":"<bad>"` as the first member: the signature covers tid, amount and
        // ediDate only, so it still verifies.
        let body = [&b"{\"ignoredMember\":\""[..], bad, b"\",", &signed[1..]].concat();
        let err = verify_from(&verifier(), nice_peer(), &headers, body).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedPayload(_)),
            "{bad:?}: {err}"
        );
    }
}
