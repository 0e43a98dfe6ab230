//! `PortOneWebhookVerifier`: signature vectors and failures, payload variants, allowlists,
//! dedupe ids, and FakePortOne's signed redelivery over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use hanpay_core::{
    Money, PaymentProvider, PaymentStatus, Trust, WebhookError, WebhookEventKind, WebhookRequest,
    WebhookVerifier,
};
use hanpay_fake::delivery::TimeScale;
use hanpay_portone::webhook::{payload::WebhookPayload, payload_dedupe_id};
use hanpay_portone::{PortOne, PortOneWebhookVerifier, WebhookGeneration};
use hanpay_portone_fake::{FakePortOne, PayMethod};
use time::OffsetDateTime;

const PORTONE_SECRET: &str = "pzQGE83cSIRKM4/WH5QY+g==";
const PORTONE_BODY: &str = r#"{"type":"Transaction.Paid","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"example-payment-id","storeId":"store-ae356798-3d20-4969-b739-14c6b0e1a667","transactionId":"55451513-9763-4a7a-bb43-78a4c65be843"}}"#;
const PORTONE_SIG: &str = "v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=";
const PORTONE_TS: i64 = 1_714_039_200;

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 443)
}

fn at(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap()
}

fn headers(id: Option<&str>, ts: Option<&str>, sig: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", "application/json".parse().unwrap());
    if let Some(id) = id {
        h.insert("webhook-id", id.parse().unwrap());
    }
    if let Some(ts) = ts {
        h.insert("webhook-timestamp", ts.parse().unwrap());
    }
    if let Some(sig) = sig {
        h.insert("webhook-signature", sig.parse().unwrap());
    }
    h
}

fn signed_verifier() -> PortOneWebhookVerifier {
    PortOneWebhookVerifier::builder()
        .secret(format!("whsec_{PORTONE_SECRET}"))
        .build()
        .unwrap()
}

fn verify_portone(
    v: &PortOneWebhookVerifier,
    body: &str,
    sig: &str,
    now: i64,
) -> Result<hanpay_core::WebhookEvent, WebhookError> {
    let h = headers(
        Some("dummy-webhook-id"),
        Some(&PORTONE_TS.to_string()),
        Some(sig),
    );
    let req = WebhookRequest::new(&h, body.as_bytes().to_vec())
        .peer(peer("52.78.5.241"))
        .received_at(at(now));
    v.verify(&req)
}

#[test]
fn the_portone_shaped_vector_verifies() {
    let event = verify_portone(&signed_verifier(), PORTONE_BODY, PORTONE_SIG, PORTONE_TS).unwrap();
    assert_eq!(event.trust, Trust::Signed);
    assert_eq!(event.dedupe_id, "dummy-webhook-id");
    assert_eq!(event.kind, WebhookEventKind::PaymentStatusChanged);
    assert_eq!(event.status_hint, Some(PaymentStatus::Paid));
    assert_eq!(event.payment_key.as_deref(), Some("example-payment-id"));
    assert_eq!(event.order_id.as_deref(), Some("example-payment-id"));
    assert_eq!(event.occurred_at, Some(at(PORTONE_TS)));
    assert_eq!(event.raw_status.as_deref(), Some("Transaction.Paid"));
    assert_eq!(event.provider.as_str(), "portone");
    // The secret without `whsec_` works too.
    let bare = PortOneWebhookVerifier::builder()
        .secret(PORTONE_SECRET)
        .build()
        .unwrap();
    assert!(verify_portone(&bare, PORTONE_BODY, PORTONE_SIG, PORTONE_TS).is_ok());
}

#[test]
fn the_standard_webhooks_vector_verifies() {
    // SW reference vector: its body is not a PortOne payload, so the verifier gets past the
    // signature and stops at the payload.
    let v = PortOneWebhookVerifier::builder()
        .secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .without_allowlist()
        .build()
        .unwrap();
    let h = headers(
        Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        Some("1649367553"),
        Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
    );
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let req = WebhookRequest::new(&h, body.to_vec()).received_at(at(1_649_367_553));
    assert!(matches!(
        v.verify(&req),
        Err(WebhookError::MalformedPayload(_))
    ));
    let h = headers(
        Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        Some("1649367553"),
        Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkx="),
    );
    let req = WebhookRequest::new(&h, body.to_vec()).received_at(at(1_649_367_553));
    assert!(matches!(
        v.verify(&req),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
}

#[test]
fn a_repeated_signature_header_is_refused_whichever_line_is_valid() {
    let v = signed_verifier();
    let junk = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for lines in [[PORTONE_SIG, junk], [junk, PORTONE_SIG]] {
        let mut h = headers(
            Some("dummy-webhook-id"),
            Some(&PORTONE_TS.to_string()),
            None,
        );
        for line in lines {
            h.append("webhook-signature", line.parse().unwrap());
        }
        let req = WebhookRequest::new(&h, PORTONE_BODY.as_bytes().to_vec())
            .peer(peer("52.78.5.241"))
            .received_at(at(PORTONE_TS));
        let err = v.verify(&req).unwrap_err();
        assert_eq!(
            err,
            WebhookError::MalformedHeader {
                name: "webhook-signature",
                reason: "sent more than once".into()
            },
            "{lines:?}"
        );
        assert_eq!(err.http_status(), 401);
    }
}

#[test]
fn one_inserted_space_fails() {
    let tampered = PORTONE_BODY.replace(",\"data\"", ", \"data\"");
    assert!(matches!(
        verify_portone(&signed_verifier(), &tampered, PORTONE_SIG, PORTONE_TS),
        Err(WebhookError::NoMatchingSignature { .. })
    ));
    // …and that body has its own signature, from the reference.
    assert!(verify_portone(
        &signed_verifier(),
        &tampered,
        "v1,O+MgJbdA9XnK4owcGk2oNLHXg2GKGrChY+cw75AaWSs=",
        PORTONE_TS
    )
    .is_ok());
}

#[test]
fn several_signatures_and_secrets() {
    let v = signed_verifier();
    let mixed = format!(
        "v2,{} v1,dawfeoifkpqwoekfpqoekf {PORTONE_SIG}",
        &PORTONE_SIG[3..]
    );
    assert!(verify_portone(&v, PORTONE_BODY, &mixed, PORTONE_TS).is_ok());
    // Rotation: the old and the new secret both configured.
    let rotating = PortOneWebhookVerifier::builder()
        .secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .secret(PORTONE_SECRET)
        .build()
        .unwrap();
    assert!(verify_portone(&rotating, PORTONE_BODY, PORTONE_SIG, PORTONE_TS).is_ok());
}

#[test]
fn broken_signatures_and_timestamps_fail_with_the_right_error() {
    let v = signed_verifier();
    for sig in [
        "v1,",
        "v1,qmNcYHU8w9hP22fs",
        "v2,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=",
    ] {
        assert!(
            matches!(
                verify_portone(&v, PORTONE_BODY, sig, PORTONE_TS),
                Err(WebhookError::NoMatchingSignature { .. })
            ),
            "{sig}"
        );
    }
    assert!(matches!(
        verify_portone(&v, PORTONE_BODY, PORTONE_SIG, PORTONE_TS + 301),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        verify_portone(&v, PORTONE_BODY, PORTONE_SIG, PORTONE_TS - 301),
        Err(WebhookError::TimestampTooNew { .. })
    ));
    let ts = PORTONE_TS.to_string();
    for (h, missing) in [
        (headers(None, Some(&ts), Some(PORTONE_SIG)), "webhook-id"),
        (
            headers(Some("dummy-webhook-id"), None, Some(PORTONE_SIG)),
            "webhook-timestamp",
        ),
        (
            headers(Some("dummy-webhook-id"), Some(&ts), None),
            "webhook-signature",
        ),
    ] {
        let req = WebhookRequest::new(&h, PORTONE_BODY.as_bytes().to_vec())
            .peer(peer("52.78.5.241"))
            .received_at(at(PORTONE_TS));
        assert_eq!(
            v.verify(&req).unwrap_err(),
            WebhookError::MissingHeader(missing)
        );
    }
}

/// Body, content type, expected kind, status hint and payment id.
type Case<'a> = (
    &'a [u8],
    &'a str,
    WebhookEventKind,
    Option<PaymentStatus>,
    Option<&'a str>,
);

fn unsigned() -> PortOneWebhookVerifier {
    PortOneWebhookVerifier::builder().build().unwrap()
}

fn verify_unsigned(
    v: &PortOneWebhookVerifier,
    body: &[u8],
    content_type: &str,
) -> Result<hanpay_core::WebhookEvent, WebhookError> {
    let mut h = HeaderMap::new();
    h.insert("content-type", content_type.parse().unwrap());
    let req = WebhookRequest::new(&h, body.to_vec()).peer(peer("52.78.5.241"));
    v.verify(&req)
}

#[test]
fn payload_variants_without_a_secret_are_source_address_trusted() {
    let v = unsigned();
    let cases: [Case<'_>; 8] = [
        (
            br#"{"type":"Transaction.Cancelled","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"p-1","transactionId":"t-1","cancellationId":"c-1"}}"#,
            "application/json",
            WebhookEventKind::Canceled,
            Some(PaymentStatus::Canceled),
            Some("p-1"),
        ),
        (
            br#"{"type":"Transaction.VirtualAccountIssued","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"p-2","transactionId":"t-2"}}"#,
            "application/json",
            WebhookEventKind::VirtualAccountIssued,
            Some(PaymentStatus::WaitingForDeposit),
            Some("p-2"),
        ),
        (
            br#"{"type":"Transaction.Teleported","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"p-3"}}"#,
            "application/json",
            WebhookEventKind::Other("Transaction.Teleported".into()),
            None,
            Some("p-3"),
        ),
        (
            br#"{"payment_id":"p-4","tx_id":"t-4","status":"PartialCancelled"}"#,
            "application/json",
            WebhookEventKind::PartiallyCanceled,
            Some(PaymentStatus::PartiallyCanceled),
            Some("p-4"),
        ),
        (
            b"payment_id=p-5&tx_id=t-5&status=Paid",
            "application/x-www-form-urlencoded",
            WebhookEventKind::PaymentStatusChanged,
            Some(PaymentStatus::Paid),
            Some("p-5"),
        ),
        (
            b"payment_id=p-6&tx_id=t-6&status=Refunded",
            "application/x-www-form-urlencoded",
            WebhookEventKind::Other("Refunded".into()),
            None,
            Some("p-6"),
        ),
        (
            br#"{"imp_uid":"imp_1","merchant_uid":"order-7","status":"paid"}"#,
            "application/json",
            WebhookEventKind::PaymentStatusChanged,
            Some(PaymentStatus::Paid),
            Some("order-7"),
        ),
        (
            b"imp_uid=imp_8&merchant_uid=order-8&status=failed",
            "application/x-www-form-urlencoded",
            WebhookEventKind::Failed,
            Some(PaymentStatus::Failed),
            Some("order-8"),
        ),
    ];
    for (body, ct, kind, hint, payment) in cases {
        let e = verify_unsigned(&v, body, ct).unwrap();
        assert_eq!(e.kind, kind, "{}", String::from_utf8_lossy(body));
        assert_eq!(e.status_hint, hint);
        assert_eq!(e.payment_key.as_deref(), payment);
        assert_eq!(
            e.trust,
            Trust::SourceAddress("52.78.5.241".parse().unwrap())
        );
        assert!(e.trust.requires_reconciliation());
        assert!(e.dedupe_id.starts_with("portone:"));
    }
    assert!(matches!(
        verify_unsigned(&v, b"{}", "application/json"),
        Err(WebhookError::MalformedPayload(_))
    ));
}

#[test]
fn dedupe_ids_survive_redelivery_and_tell_events_apart() {
    let v = unsigned();
    let first = br#"{"type":"Transaction.PartialCancelled","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"p","transactionId":"t","cancellationId":"c-1"}}"#;
    // The same event re-serialised differently (field order, spacing) is the same event.
    let again = br#"{ "data": {"cancellationId":"c-1","transactionId":"t","paymentId":"p"}, "type": "Transaction.PartialCancelled", "timestamp":"2024-04-25T10:00:00.000Z" }"#;
    let second = br#"{"type":"Transaction.PartialCancelled","timestamp":"2024-04-25T10:05:00.000Z","data":{"paymentId":"p","transactionId":"t","cancellationId":"c-2"}}"#;
    let a = verify_unsigned(&v, first, "application/json").unwrap();
    let b = verify_unsigned(&v, again, "application/json").unwrap();
    let c = verify_unsigned(&v, second, "application/json").unwrap();
    assert_eq!(a.dedupe_id, b.dedupe_id);
    assert_ne!(a.dedupe_id, c.dedupe_id);
    let p = WebhookPayload::parse(first, None).unwrap();
    assert_eq!(payload_dedupe_id(&p), a.dedupe_id);
    // An unsigned webhook-id proves nothing: a replay under a fresh id is still the same event.
    for id in ["whk_123", "whk_fresh_replay"] {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", id.parse().unwrap());
        let req = WebhookRequest::new(&h, first.to_vec()).peer(peer("52.78.5.241"));
        assert_eq!(v.verify(&req).unwrap().dedupe_id, a.dedupe_id, "{id}");
    }
}

#[test]
fn allowlist_direct_proxied_and_mapped_addresses() {
    let body = br#"{"payment_id":"p","tx_id":"t","status":"Paid"}"#;
    let v = PortOneWebhookVerifier::builder()
        .trusted_proxies(["10.0.0.0/8"])
        .build()
        .unwrap();
    let check = |peer_ip: &str, xff: Option<&str>| {
        let mut h = HeaderMap::new();
        if let Some(x) = xff {
            h.insert("x-forwarded-for", x.parse().unwrap());
        }
        let req = WebhookRequest::new(&h, body.to_vec()).peer(peer(peer_ip));
        v.verify(&req)
    };
    assert!(check("52.78.5.241", None).is_ok());
    assert_eq!(
        check("203.0.113.9", None).unwrap_err(),
        WebhookError::ForbiddenSource("203.0.113.9".parse().unwrap())
    );
    let e = check("10.1.2.3", Some("198.51.100.1, 52.78.5.241")).unwrap();
    assert_eq!(
        e.trust,
        Trust::SourceAddress("52.78.5.241".parse().unwrap())
    );
    // A spoofed header from an untrusted peer is ignored: the peer itself is judged.
    assert_eq!(
        check("203.0.113.9", Some("52.78.5.241")).unwrap_err(),
        WebhookError::ForbiddenSource("203.0.113.9".parse().unwrap())
    );
    assert!(check("::ffff:52.78.5.241", None).is_ok());
    // V2 does not send from the V1-only addresses; V1 does.
    assert!(check("52.78.100.19", None).is_err());
    let v1 = PortOneWebhookVerifier::builder()
        .generation(WebhookGeneration::V1)
        .build()
        .unwrap();
    let h = HeaderMap::new();
    let req = WebhookRequest::new(
        &h,
        br#"{"imp_uid":"imp_1","merchant_uid":"o-1","status":"paid"}"#.to_vec(),
    )
    .peer(peer("52.78.100.19"));
    assert!(v1.verify(&req).is_ok());
    // No peer at all: fail closed.
    let req = WebhookRequest::new(&h, body.to_vec());
    assert!(matches!(
        v.verify(&req),
        Err(WebhookError::UnknownSource(_))
    ));
}

#[test]
fn configuration_errors_and_schedules() {
    let debug = format!("{:?}", signed_verifier());
    assert!(
        !debug.contains("pzQGE83") && !debug.contains(PORTONE_SECRET),
        "{debug}"
    );
    assert!(PortOneWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .is_err());
    assert!(PortOneWebhookVerifier::builder()
        .secret("whsec_!!!")
        .build()
        .is_err());
    assert!(PortOneWebhookVerifier::builder()
        .allowlist(["not-an-ip"])
        .build()
        .is_err());
    assert_eq!(
        unsigned().redelivery(),
        hanpay_portone::webhook::redelivery_v2()
    );
    assert_eq!(
        unsigned().redelivery().delays(),
        [1u64, 4, 16, 64, 256].map(|m| Duration::from_secs(m * 60))
    );
    let v1 = PortOneWebhookVerifier::builder()
        .generation(WebhookGeneration::V1)
        .build()
        .unwrap();
    assert_eq!(v1.redelivery(), hanpay_portone::webhook::redelivery_v1());
    let small = PortOneWebhookVerifier::builder()
        .max_body_bytes(10)
        .build()
        .unwrap();
    assert!(matches!(
        verify_unsigned(
            &small,
            br#"{"payment_id":"p","tx_id":"t","status":"Paid"}"#,
            "application/json"
        ),
        Err(WebhookError::BodyTooLarge { .. })
    ));
}

/// What the receiver saw: headers, body, and the verifier's verdict.
type Seen = Arc<
    Mutex<
        Vec<(
            HeaderMap,
            Bytes,
            Result<hanpay_core::WebhookEvent, WebhookError>,
        )>,
    >,
>;

async fn receiver(answers: Vec<u16>, verifier: PortOneWebhookVerifier) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let state = (seen.clone(), Arc::new(answers), Arc::new(verifier));
    let app = Router::new()
        .route(
            "/portone",
            post(
                |State((seen, answers, verifier)): State<(
                    Seen,
                    Arc<Vec<u16>>,
                    Arc<PortOneWebhookVerifier>,
                )>,
                 axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let verdict = {
                        let req = WebhookRequest::new(&headers, body.clone()).peer(peer);
                        verifier.verify(&req)
                    };
                    let mut seen = seen.lock().unwrap();
                    // Answers are scripted per event: count earlier attempts of this webhook-id.
                    let n = seen
                        .iter()
                        .filter(|(h, _, _)| h.get("webhook-id") == headers.get("webhook-id"))
                        .count();
                    seen.push((headers, body, verdict));
                    StatusCode::from_u16(answers.get(n).copied().unwrap_or(200)).unwrap()
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
    (format!("http://{addr}/portone"), seen)
}

#[tokio::test]
async fn fake_portone_redelivers_with_the_same_id_fresh_signatures_and_growing_delays() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = PortOneWebhookVerifier::builder()
        .secret(secret)
        .allowlist(["127.0.0.1"])
        .build()
        .unwrap();
    let (url, seen) = receiver(vec![500, 500, 200], verifier).await;
    // One PortOne minute lasts 60 ms.
    let fake = FakePortOne::builder()
        .webhook_url(url)
        .webhook_secret(secret)
        .time_scale(TimeScale::speedup(1_000))
        .redelivery_jitter(false)
        .start()
        .await
        .unwrap();
    fake.pay("order-hook-1", 10_000, "KRW", "셔츠", PayMethod::Card)
        .unwrap();
    let attempts = fake
        .delivery_log()
        .wait_until(Duration::from_secs(10), |a| {
            a.iter()
                .any(|x| x.event == "Transaction.Paid" && x.delivered)
        })
        .await;
    let paid: Vec<_> = attempts
        .iter()
        .filter(|a| a.event == "Transaction.Paid")
        .collect();
    assert_eq!(
        paid.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(500), Some(200)]
    );
    let id = paid[0].headers["webhook-id"].clone();
    assert!(paid.iter().all(|a| a.headers["webhook-id"] == id));
    // Resends after 0 and 1 PortOne minute: the second gap is the longer one.
    let gap1 = paid[1].sent_at - paid[0].sent_at;
    let gap2 = paid[2].sent_at - paid[1].sent_at;
    assert!(gap2 >= Duration::from_millis(60), "{gap2:?}");
    assert!(gap2 > gap1, "{gap1:?} then {gap2:?}");

    let seen = seen.lock().unwrap();
    let paid_seen: Vec<_> = seen
        .iter()
        .filter(|(h, _, _)| h["webhook-id"] == id)
        .collect();
    assert_eq!(paid_seen.len(), 3);
    let mut dedupe = None;
    for (h, body, verdict) in &paid_seen {
        let event = verdict.as_ref().unwrap();
        assert_eq!(event.trust, Trust::Signed);
        assert_eq!(event.kind, WebhookEventKind::PaymentStatusChanged);
        assert_eq!(event.payment_key.as_deref(), Some("order-hook-1"));
        assert_eq!(body, &fake.webhook_body(id.to_str().unwrap()).unwrap());
        assert!(h.contains_key("webhook-timestamp"));
        dedupe.get_or_insert_with(|| event.dedupe_id.clone());
        assert_eq!(Some(&event.dedupe_id), dedupe.as_ref());
    }
}

#[tokio::test]
async fn the_guide_flow_verify_then_requery_then_compare() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = PortOneWebhookVerifier::builder()
        .secret(secret)
        .allowlist(["127.0.0.1"])
        .build()
        .unwrap();
    let (url, seen) = receiver(vec![], verifier).await;
    let fake = FakePortOne::builder()
        .webhook_url(url)
        .webhook_secret(secret)
        .omit_store_id_in_webhooks()
        .start()
        .await
        .unwrap();
    let portone = PortOne::builder(fake.api_secret())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    fake.issue_virtual_account("order-guide-1", 15_000, "KRW", "책", "SHINHAN")
        .unwrap();
    fake.deposit("order-guide-1").unwrap();
    fake.delivery_log()
        .wait_until(Duration::from_secs(10), |a| {
            a.iter().filter(|x| x.delivered).count() >= 2
        })
        .await;
    let events: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, v)| v.clone().unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, WebhookEventKind::VirtualAccountIssued);
    assert_eq!(events[1].status_hint, Some(PaymentStatus::Paid));
    let body: serde_json::Value = events[1].body_json().unwrap();
    assert!(body["data"].get("storeId").is_none());
    // Re-query and compare the amount with the order, as PortOne's guide says.
    let payment = portone
        .payment(events[1].payment_key.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.total, Money::krw(15_000));
    assert!(payment.is_deposited_virtual_account());
}

/// A correctly signed body with an invalid UTF-8 byte inside a member the verifier ignores is
/// not JSON text: refused, whatever its signature.
#[test]
fn a_signed_body_that_is_not_utf8_json_is_refused() {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(PORTONE_SECRET)
        .unwrap();
    let sign = |body: &[u8]| {
        let mac = hanpay_core::webhook::hmac_sha256(
            &key,
            &[
                b"dummy-webhook-id.",
                PORTONE_TS.to_string().as_bytes(),
                b".",
                body,
            ],
        );
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac)
        )
    };
    assert_eq!(
        sign(PORTONE_BODY.as_bytes()),
        PORTONE_SIG,
        "signed as PortOne signs"
    );
    let verify_bytes = |body: Vec<u8>| {
        let h = headers(
            Some("dummy-webhook-id"),
            Some(&PORTONE_TS.to_string()),
            Some(&sign(&body)),
        );
        let req = WebhookRequest::new(&h, body)
            .peer(peer("52.78.5.241"))
            .received_at(at(PORTONE_TS));
        signed_verifier().verify(&req)
    };
    let good = PORTONE_BODY.replacen(
        r#""type":"Transaction.Paid","#,
        r#""type":"Transaction.Paid","ignoredMember":"abc","#,
        1,
    );
    assert_eq!(
        verify_bytes(good.clone().into_bytes()).unwrap().trust,
        Trust::Signed
    );
    for bad in [&b"\xff"[..], b"\xc3\x28", b"\xed\xa0\x80", b"ab\x80"] {
        let body = good.replacen("abc", "\u{0}", 1).into_bytes();
        let at = body.iter().position(|b| *b == 0).unwrap();
        let body = [&body[..at], bad, &body[at + 1..]].concat();
        let err = verify_bytes(body).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedPayload(_)),
            "{bad:?}: {err}"
        );
    }
}
