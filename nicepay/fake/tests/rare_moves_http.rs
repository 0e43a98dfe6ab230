//! The rare moves of issue 18 (a late approval, a reversed deposit, a failed waiting virtual
//! account) played through each fake's `/__fake/…` control API over real HTTP, checked through
//! the PG's own wire routes and the webhooks the fake sends to a [`WebhookInbox`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_testkit::http::{post, send};
use std::time::Duration;

use base64::Engine as _;
use hanpay_nicepay_fake::FakeNicePay;
use hanpay_testkit::inbox::WebhookInbox;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// The JSON bodies the inbox holds, after waiting for `count` of them.
async fn bodies(inbox: &WebhookInbox, count: usize) -> Vec<Value> {
    let got = inbox.wait_for_json(count, WAIT).await;
    assert_eq!(got.len(), count, "webhooks did not arrive");
    assert!(
        got.iter().all(|b| !b.is_null()),
        "a webhook body is not JSON"
    );
    got
}

// --- NICEPAY ---------------------------------------------------------------------------------

async fn nicepay_vbank(nicepay: &FakeNicePay, order_id: &str) -> String {
    let base = nicepay.base_url();
    let (_, auth) = send(
        reqwest::Client::new()
            .post(format!("{base}/__fake/authenticate"))
            .json(&json!({"orderId": order_id, "amount": 15000, "method": "vbank"})),
    )
    .await;
    let tid = auth["tid"].as_str().unwrap().to_owned();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        FakeNicePay::CLIENT_ID,
        FakeNicePay::SECRET_KEY
    ));
    let (status, approved) = send(
        reqwest::Client::new()
            .post(format!("{base}/v1/payments/{tid}"))
            .header("authorization", format!("Basic {basic}"))
            .json(&json!({"amount": 15000})),
    )
    .await;
    assert_eq!(
        (status, approved["status"].as_str()),
        (200, Some("ready")),
        "{approved}"
    );
    tid
}

#[tokio::test]
async fn nicepay_plays_the_sandbox_scenarios_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let nicepay = FakeNicePay::builder()
        .webhook_url(inbox.url("nicepay"))
        .start()
        .await
        .unwrap();
    let base = nicepay.base_url();

    // Failed, then approved late.
    let tid = nicepay_vbank(&nicepay, "order-nice-late-01").await;
    let (status, body) = post(format!("{base}/__fake/payments/{tid}/approve-late")).await;
    assert_eq!((status, body["resultCode"].as_str()), (400, Some("4123")));
    let (_, failed) = post(format!("{base}/__fake/payments/{tid}/fail")).await;
    assert_eq!(failed["status"], "failed");
    assert_ne!(failed["failedAt"], "0");
    let (_, paid) = post(format!("{base}/__fake/payments/{tid}/approve-late")).await;
    assert_eq!(paid["status"], "paid");
    assert_ne!(paid["paidAt"], "0");

    // Expired, then approved late.
    let tid2 = nicepay_vbank(&nicepay, "order-nice-late-02").await;
    assert_eq!(
        post(format!("{base}/__fake/payments/{tid2}/expire"))
            .await
            .1["status"],
        "expired"
    );
    assert_eq!(
        post(format!("{base}/__fake/payments/{tid2}/approve-late"))
            .await
            .1["status"],
        "paid"
    );

    // Deposited, reversed, deposited again.
    let tid3 = nicepay_vbank(&nicepay, "order-nice-rev-03").await;
    assert_eq!(
        post(format!("{base}/__fake/payments/{tid3}/deposit"))
            .await
            .1["status"],
        "paid"
    );
    let (_, reversed) = post(format!("{base}/__fake/payments/{tid3}/reverse-deposit")).await;
    assert_eq!(
        (reversed["status"].as_str(), reversed["paidAt"].as_str()),
        (Some("ready"), Some("0"))
    );
    let (status, _) = post(format!("{base}/__fake/payments/{tid3}/reverse-deposit")).await;
    assert_eq!(status, 400);
    assert_eq!(
        post(format!("{base}/__fake/payments/{tid3}/deposit"))
            .await
            .1["status"],
        "paid"
    );

    // One webhook per change: 3 approvals (ready), fail, late, expire, late, deposit,
    // reversal, deposit.
    assert_eq!(nicepay.webhooks_sent(), 10);
    let sent = bodies(&inbox, 10).await;
    let of = |tid: &str| -> Vec<String> {
        let mut s: Vec<String> = sent
            .iter()
            .filter(|b| b["tid"] == tid)
            .map(|b| b["status"].as_str().unwrap().to_owned())
            .collect();
        s.sort_unstable();
        s
    };
    assert_eq!(of(&tid), ["failed", "paid", "ready"]);
    assert_eq!(of(&tid2), ["expired", "paid", "ready"]);
    assert_eq!(of(&tid3), ["paid", "paid", "ready", "ready"]);
}

/// No control route panics on an unknown payment or a garbage key.
#[tokio::test]
async fn the_rare_move_routes_refuse_unknown_payments() {
    let nicepay = FakeNicePay::start().await.unwrap();
    for base in [nicepay.base_url()] {
        for route in ["fail", "approve-late", "reverse-deposit"] {
            for key in ["nope", "%F0%9F%92%A5", "a%2Fb"] {
                let (status, _) = post(format!("{base}/__fake/payments/{key}/{route}")).await;
                assert!(
                    (400..500).contains(&status),
                    "{base} {route} {key}: {status}"
                );
            }
        }
    }
}
