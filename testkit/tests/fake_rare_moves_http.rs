//! The rare moves of issue 18 (a late approval, a reversed deposit, a failed waiting virtual
//! account) played through each fake's `/__fake/…` control API over real HTTP, checked through
//! the PG's own wire routes and the webhooks the fake sends to a [`WebhookInbox`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine as _;
use hanpay_testkit::fake_nicepay::FakeNicePay;
use hanpay_testkit::fake_portone::FakePortOne;
use hanpay_testkit::fake_toss::FakeToss;
use hanpay_testkit::inbox::WebhookInbox;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(url: String) -> (u16, Value) {
    send(reqwest::Client::new().post(url)).await
}

/// The JSON bodies the inbox holds, after waiting for `count` of them.
async fn bodies(inbox: &WebhookInbox, count: usize) -> Vec<Value> {
    let got = inbox.wait_for(count, WAIT).await;
    assert_eq!(got.len(), count, "webhooks did not arrive");
    got.iter()
        .map(|d| serde_json::from_slice(&d.body).unwrap())
        .collect()
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

// --- PortOne ---------------------------------------------------------------------------------

async fn portone_get(portone: &FakePortOne, id: &str) -> Value {
    let (status, body) = send(
        reqwest::Client::new()
            .get(format!("{}/payments/{id}", portone.base_url()))
            .header("authorization", format!("PortOne {}", portone.api_secret())),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn types(sent: &[Value]) -> Vec<String> {
    sent.iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn portone_fails_a_waiting_account_then_approves_it_late_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let portone = FakePortOne::builder()
        .webhook_url(inbox.url("portone"))
        .start()
        .await
        .unwrap();
    let base = portone.base_url();
    let id = "order-va-fail-0001";
    let (status, _) = send(
        reqwest::Client::new()
            .post(format!("{base}/__fake/payments/{id}/virtual-account"))
            .json(&json!({"amount": 15000})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(format!("{base}/__fake/payments/{id}/fail")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("FAILED")));
    let failed = portone_get(&portone, id).await;
    assert_eq!(failed["status"], "FAILED");
    assert!(failed["failedAt"].is_string());

    let (status, body) = post(format!("{base}/__fake/payments/{id}/approve-late")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("PAID")));
    let paid = portone_get(&portone, id).await;
    assert_eq!(paid["status"], "PAID");
    assert!(paid["paidAt"].is_string());
    assert!(paid.get("failedAt").is_none());

    let sent = bodies(&inbox, 3).await;
    let mut kinds = types(&sent);
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "Transaction.Failed",
            "Transaction.Paid",
            "Transaction.VirtualAccountIssued"
        ]
    );
    // PAID now: not approvable again.
    let (status, body) = post(format!("{base}/__fake/payments/{id}/approve-late")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn portone_reverses_a_deposit_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let portone = FakePortOne::builder()
        .webhook_url(inbox.url("portone"))
        .start()
        .await
        .unwrap();
    let base = portone.base_url();
    let id = "order-va-rev-0002";
    send(
        reqwest::Client::new()
            .post(format!("{base}/__fake/payments/{id}/virtual-account"))
            .json(&json!({"amount": 15000})),
    )
    .await;
    // A card payment has no deposit to reverse.
    send(
        reqwest::Client::new()
            .post(format!("{base}/__fake/payments/order-card-0002/pay"))
            .json(&json!({"amount": 15000})),
    )
    .await;
    let (status, _) = post(format!(
        "{base}/__fake/payments/order-card-0002/reverse-deposit"
    ))
    .await;
    assert_eq!(status, 400);

    assert_eq!(
        post(format!("{base}/__fake/payments/{id}/deposit")).await.0,
        200
    );
    let (status, body) = post(format!("{base}/__fake/payments/{id}/reverse-deposit")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("VIRTUAL_ACCOUNT_ISSUED"))
    );
    let waiting = portone_get(&portone, id).await;
    assert_eq!(waiting["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert!(waiting.get("paidAt").is_none());
    // Deposited again.
    assert_eq!(
        post(format!("{base}/__fake/payments/{id}/deposit")).await.0,
        200
    );
    assert_eq!(portone_get(&portone, id).await["status"], "PAID");
    // Issued, paid, reversed, paid (and the card's Ready and Paid).
    let sent = bodies(&inbox, 6).await;
    let mine: Vec<Value> = sent
        .into_iter()
        .filter(|b| b["data"]["paymentId"] == id)
        .collect();
    let count = |kind: &str| types(&mine).iter().filter(|k| *k == kind).count();
    assert_eq!(count("Transaction.VirtualAccountIssued"), 2);
    assert_eq!(count("Transaction.Paid"), 2);
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
    let toss = FakeToss::start().await.unwrap();
    let portone = FakePortOne::builder().start().await.unwrap();
    let nicepay = FakeNicePay::start().await.unwrap();
    for base in [toss.base_url(), portone.base_url(), nicepay.base_url()] {
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
