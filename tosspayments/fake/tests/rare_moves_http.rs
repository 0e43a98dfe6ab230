//! The rare moves of issue 18 (a late approval, a reversed deposit, a failed waiting virtual
//! account) played through each fake's `/__fake/…` control API over real HTTP, checked through
//! the PG's own wire routes and the webhooks the fake sends to a [`WebhookInbox`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_testkit::http::{post, send};
use std::time::Duration;

use base64::Engine as _;
use hanpay_testkit::inbox::WebhookInbox;
use hanpay_tosspayments_fake::FakeToss;
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

// --- Toss ------------------------------------------------------------------------------------

fn toss_auth() -> String {
    let key = format!("{}:", FakeToss::SECRET_KEY);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

async fn toss_get(base: &str, key: &str) -> Value {
    let (status, body) = send(
        reqwest::Client::new()
            .get(format!("{base}/v1/payments/{key}"))
            .header("authorization", toss_auth()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn toss_fails_then_approves_late_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let toss = FakeToss::builder()
        .webhook_url(inbox.url("toss"))
        .start()
        .await
        .unwrap();
    let base = toss.base_url();
    let (_, session) = send(
        reqwest::Client::new()
            .post(format!("{base}/__fake/sessions"))
            .json(&json!({"orderId": "order-late-0001", "amount": 15000})),
    )
    .await;
    let key = session["paymentKey"].as_str().unwrap().to_owned();

    // Only a failed or expired payment can be approved late.
    let (status, body) = post(format!("{base}/__fake/payments/{key}/approve-late")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("NOT_SUPPORTED_PROCESS"))
    );

    let (status, body) = post(format!("{base}/__fake/payments/{key}/fail")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ABORTED")));
    assert_eq!(toss_get(&base, &key).await["approvedAt"], Value::Null);

    let (status, body) = post(format!("{base}/__fake/payments/{key}/approve-late")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("DONE")));
    let paid = toss_get(&base, &key).await;
    assert_eq!(paid["status"], "DONE");
    assert!(paid["approvedAt"].is_string());

    let sent = bodies(&inbox, 2).await;
    let statuses: Vec<&str> = sent
        .iter()
        .map(|b| b["data"]["status"].as_str().unwrap())
        .collect();
    assert!(sent
        .iter()
        .all(|b| b["eventType"] == "PAYMENT_STATUS_CHANGED"));
    assert_eq!(
        {
            let mut s = statuses.clone();
            s.sort_unstable();
            s
        },
        ["ABORTED", "DONE"]
    );
    // A second late approval is refused: it is DONE now.
    let (status, _) = post(format!("{base}/__fake/payments/{key}/approve-late")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn toss_reverses_a_deposit_and_fails_a_waiting_account_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let toss = FakeToss::builder()
        .webhook_url(inbox.url("toss"))
        .start()
        .await
        .unwrap();
    let base = toss.base_url();
    let (status, issued) = send(
        reqwest::Client::new()
            .post(format!("{base}/v1/virtual-accounts"))
            .header("authorization", toss_auth())
            .json(&json!({
                "amount": 15000, "orderId": "order-va-rev-0001", "orderName": "셔츠",
                "customerName": "김토스", "bank": "88", "validHours": 24
            })),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let key = issued["paymentKey"].as_str().unwrap().to_owned();
    let mut expected = toss.webhooks_sent();

    // Nothing deposited yet: nothing to reverse.
    let (status, _) = post(format!("{base}/__fake/payments/{key}/reverse-deposit")).await;
    assert_eq!(status, 400);

    assert_eq!(
        post(format!("{base}/__fake/payments/{key}/deposit"))
            .await
            .0,
        200
    );
    let (status, body) = post(format!("{base}/__fake/payments/{key}/reverse-deposit")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("WAITING_FOR_DEPOSIT"))
    );
    let waiting = toss_get(&base, &key).await;
    assert_eq!(waiting["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(waiting["approvedAt"], Value::Null);
    // PAYMENT_STATUS_CHANGED and DEPOSIT_CALLBACK for the deposit, and again for the reversal.
    expected += 4;
    assert_eq!(toss.webhooks_sent(), expected);
    let sent = bodies(&inbox, expected).await;
    let reversal_callbacks = sent
        .iter()
        .filter(|b| b.get("eventType").is_none() && b["status"] == "WAITING_FOR_DEPOSIT")
        .count();
    // One at issue, one at the reversal.
    assert_eq!(reversal_callbacks, 2);

    // The PG fails the waiting account.
    let (status, body) = post(format!("{base}/__fake/payments/{key}/fail")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ABORTED")));
    assert_eq!(toss_get(&base, &key).await["status"], "ABORTED");
}

/// No control route panics on an unknown payment or a garbage key.
#[tokio::test]
async fn the_rare_move_routes_refuse_unknown_payments() {
    let toss = FakeToss::start().await.unwrap();
    for base in [toss.base_url()] {
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
