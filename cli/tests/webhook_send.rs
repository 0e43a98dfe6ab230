//! `hanpay webhook send` builds the events the PGs send: Toss's `PAYMENT_STATUS_CHANGED` with the
//! whole Payment object (the sandbox's own builder), every PortOne event in PortOne's guide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use hanpay::core::webhook::StandardWebhooks;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hanpay");
const PO_SECRET: &str = "whsec_pzQGE83cSIRKM4/WH5QY+g==";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver that keeps every request and answers 200.
async fn capture() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

async fn send(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["webhook", "send"])
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn toss_payment_status_changed_carries_the_whole_payment() {
    let (url, seen) = capture().await;
    for status in [
        "DONE",
        "CANCELED",
        "PARTIAL_CANCELED",
        "WAITING_FOR_DEPOSIT",
    ] {
        let out = send(&[
            "--provider",
            "tosspayments",
            "--event",
            "PAYMENT_STATUS_CHANGED",
            "--to",
            &url,
            "--payment-id",
            "tgen_sendtest0001",
            "--order-id",
            "order-send-0001",
            "--status",
            status,
            "--amount",
            "15000",
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let expected = hanpay::tosspayments::fake::sample_payment(
        "tgen_sendtest0001",
        "order-send-0001",
        15_000,
        "DONE",
    )
    .unwrap();
    for (i, (_, body)) in seen.iter().enumerate() {
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["eventType"], "PAYMENT_STATUS_CHANGED");
        let data = v["data"].as_object().unwrap();
        // The same Payment object the sandbox serves and sends: every field, not a summary.
        let keys: Vec<_> = data.keys().collect();
        let want: Vec<_> = expected.as_object().unwrap().keys().collect();
        assert_eq!(keys, want, "event {i}");
        for field in ["type", "lastTransactionKey", "foreignEasyPay", "secret"] {
            assert!(data.contains_key(field), "{field}");
        }
        assert_eq!(data["paymentKey"], "tgen_sendtest0001");
        assert_eq!(data["orderId"], "order-send-0001");
    }
    let done: Value = serde_json::from_slice(&seen[0].1).unwrap();
    assert_eq!(done["data"]["status"], "DONE");
    assert!(done["data"]["card"].is_object());
    assert!(done["data"]["lastTransactionKey"].is_string());
    let canceled: Value = serde_json::from_slice(&seen[1].1).unwrap();
    assert_eq!(canceled["data"]["balanceAmount"], 0);
    assert_eq!(canceled["data"]["cancels"][0]["cancelAmount"], 15_000);
    let partial: Value = serde_json::from_slice(&seen[2].1).unwrap();
    assert_eq!(partial["data"]["status"], "PARTIAL_CANCELED");
    let waiting: Value = serde_json::from_slice(&seen[3].1).unwrap();
    assert!(waiting["data"]["virtualAccount"].is_object());

    let out = send(&[
        "--provider",
        "tosspayments",
        "--event",
        "PAYMENT_STATUS_CHANGED",
        "--to",
        &url,
        "--status",
        "NOPE",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unknown status"));
}

#[tokio::test]
async fn portone_billing_key_and_dispute_events_are_sent_signed() {
    let (url, seen) = capture().await;
    let events = [
        "BillingKey.Ready",
        "BillingKey.Issued",
        "BillingKey.Failed",
        "BillingKey.Deleted",
        "BillingKey.Updated",
        "Transaction.DisputeCreated",
        "Transaction.DisputeResolved",
        "Transaction.Confirm",
    ];
    for event in events {
        let out = send(&[
            "--provider",
            "portone",
            "--event",
            event,
            "--to",
            &url,
            "--secret",
            PO_SECRET,
            "--payment-id",
            "id-0001",
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{event}: {}", text(&out.stderr));
    }
    let signer = StandardWebhooks::new([PO_SECRET]).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), events.len());
    for ((headers, body), event) in seen.iter().zip(events) {
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["type"], event);
        assert!(v["data"]["storeId"].is_string());
        if event.starts_with("BillingKey.") {
            assert_eq!(v["data"]["billingKey"], "id-0001");
            assert!(v["data"].get("paymentId").is_none());
        } else {
            assert_eq!(v["data"]["paymentId"], "id-0001");
            assert!(v["data"]["transactionId"].is_string());
            if event == "Transaction.Confirm" {
                assert_eq!(v["data"]["totalAmount"], 58_000, "the default --amount");
            }
        }
        let id = headers["webhook-id"].to_str().unwrap();
        let ts: i64 = headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            headers["webhook-signature"].to_str().unwrap(),
            signer.sign(id, ts, body)
        );
    }
}

/// NICEPAY, through its fake's plugin only: the Payment object with the body signature NICEPAY
/// documents, `hex(sha256(tid + amount + ediDate + SecretKey))`, recomputed here from the
/// reference, not from hanpay's code.
#[tokio::test]
async fn nicepay_notifications_are_signed_in_the_body() {
    use sha2::Digest as _;
    let (url, seen) = capture().await;
    let out = send(&[
        "--provider",
        "nicepay",
        "--event",
        "partialCancelled",
        "--to",
        &url,
        "--secret",
        "nice-secret",
        "--amount",
        "30000",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (headers, body) = seen.lock().unwrap()[0].clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "partialCancelled");
    assert_eq!(v["amount"], 30000);
    assert_eq!(v["balanceAmt"], 15000);
    let expected = hex::encode(sha2::Sha256::digest(format!(
        "{}{}{}nice-secret",
        v["tid"].as_str().unwrap(),
        v["amount"],
        v["ediDate"].as_str().unwrap()
    )));
    assert_eq!(v["signature"], expected.as_str());

    // An event NICEPAY does not send is refused, naming the ones it does.
    let out = send(&[
        "--provider",
        "nicepay",
        "--event",
        "Transaction.Paid",
        "--to",
        &url,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("partialCancelled"),
        "{}",
        text(&out.stderr)
    );
}
