//! The rare moves of issue 18 (a late approval, a reversed deposit, a failed waiting virtual
//! account) played through each fake's `/__fake/…` control API over real HTTP, checked through
//! the PG's own wire routes and the webhooks the fake sends to a [`WebhookInbox`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_testkit::http::{post, send};
use std::time::Duration;

use hanpay_portone_fake::FakePortOne;
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

/// No control route panics on an unknown payment or a garbage key.
#[tokio::test]
async fn the_rare_move_routes_refuse_unknown_payments() {
    let portone = FakePortOne::builder().start().await.unwrap();
    for base in [portone.base_url()] {
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
