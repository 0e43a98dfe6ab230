//! Both fakes' `/__fake/…` control APIs driven over real HTTP, as the CLI sandbox and apps in
//! other languages use them, checked through each PG's real wire routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_testkit::http::send;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hanpay_tosspayments_fake::FakeToss;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// A webhook receiver on loopback that answers 200.
async fn receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/webhooks", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

// ---------------------------------------------------------------------------------------------
// FakeToss
// ---------------------------------------------------------------------------------------------

struct Toss {
    base: String,
    http: reqwest::Client,
    auth: String,
}

impl Toss {
    fn new(fake: &FakeToss) -> Toss {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
        Toss {
            base: fake.base_url(),
            http: reqwest::Client::new(),
            auth: format!("Basic {basic}"),
        }
    }

    async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn confirm(&self, payment_key: &str, order_id: &str, amount: i64) -> (u16, Value) {
        send(
            self.http
                .post(format!("{}/v1/payments/confirm", self.base))
                .header("authorization", &self.auth)
                .json(&json!({"paymentKey": payment_key, "orderId": order_id, "amount": amount})),
        )
        .await
    }

    async fn get(&self, payment_key: &str) -> (u16, Value) {
        send(
            self.http
                .get(format!("{}/v1/payments/{payment_key}", self.base))
                .header("authorization", &self.auth),
        )
        .await
    }
}

#[tokio::test]
async fn toss_session_confirm_and_expiry_over_http() {
    let fake = FakeToss::start().await.unwrap();
    let toss = Toss::new(&fake);

    let (status, session) = toss
        .control(
            "/__fake/sessions",
            json!({"orderId": "order-http-0001", "amount": 58000, "method": "card"}),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["orderId"], "order-http-0001");
    assert_eq!(session["amount"], 58000);
    let key = session["paymentKey"].as_str().unwrap().to_owned();

    // The customer authenticated but nothing is approved until the shop confirms.
    let (status, payment) = toss.get(&key).await;
    assert_eq!(
        (status, payment["status"].as_str()),
        (200, Some("IN_PROGRESS"))
    );

    // Confirm through the real wire route: a tampered amount is refused, the right one passes.
    let (status, err) = toss.confirm(&key, "order-http-0001", 1000).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (status, paid) = toss.confirm(&key, "order-http-0001", 58000).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "DONE");
    assert_eq!(paid["totalAmount"], 58000);
    assert_eq!(paid["method"], "카드");
    assert!(paid["secret"].as_str().is_some_and(|s| !s.is_empty()));

    // An expired session: the late confirm fails as Toss's does.
    let (_, late) = toss
        .control(
            "/__fake/sessions",
            json!({"orderId": "order-http-0002", "amount": 12000}),
        )
        .await;
    let late_key = late["paymentKey"].as_str().unwrap().to_owned();
    let (status, _) = toss
        .control(&format!("/__fake/sessions/{late_key}/expire"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, err) = toss.confirm(&late_key, "order-http-0002", 12000).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("NOT_FOUND_PAYMENT_SESSION"))
    );

    // A bad control request says why.
    let (status, err) = toss
        .control(
            "/__fake/sessions",
            json!({"orderId": "order-http-0003", "amount": 1000, "method": "cash"}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );

    // The recorded requests are readable over HTTP too.
    let (status, requests) = send(toss.http.get(format!("{}/__fake/requests", toss.base))).await;
    assert_eq!(status, 200);
    let confirms = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == "/v1/payments/confirm")
        .count();
    assert_eq!(confirms, 3);
}

#[tokio::test]
async fn toss_virtual_account_deposit_over_http_sends_an_unsigned_deposit_callback() {
    let fake = FakeToss::builder()
        .webhook_url(receiver().await)
        .start()
        .await
        .unwrap();
    let toss = Toss::new(&fake);
    let (_, session) = toss
        .control(
            "/__fake/sessions",
            json!({"orderId": "order-http-va-01", "amount": 39000, "method": "virtualAccount", "bank": "88"}),
        )
        .await;
    let key = session["paymentKey"].as_str().unwrap().to_owned();
    let (status, issued) = toss.confirm(&key, "order-http-va-01", 39000).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["status"], "WAITING_FOR_DEPOSIT");
    assert!(issued["virtualAccount"]["accountNumber"]
        .as_str()
        .unwrap()
        .starts_with('X'));
    let secret = issued["secret"].as_str().unwrap().to_owned();

    let (status, deposited) = toss
        .control(&format!("/__fake/payments/{key}/deposit"), json!({}))
        .await;
    assert_eq!(status, 200, "{deposited}");
    assert_eq!(deposited["status"], "DONE");
    let (_, payment) = toss.get(&key).await;
    assert_eq!(payment["status"], "DONE");
    // A second deposit is refused.
    let (status, _) = toss
        .control(&format!("/__fake/payments/{key}/deposit"), json!({}))
        .await;
    assert!(status >= 400);

    // The deposit's DEPOSIT_CALLBACK carries the payment's secret and, as Toss's, no signature.
    let log = fake.webhook_log();
    let attempts = log
        .wait_until(WAIT, |a| {
            a.iter()
                .filter(|a| a.event == "DEPOSIT_CALLBACK" && a.delivered)
                .count()
                >= 2
        })
        .await;
    let callbacks: Vec<_> = attempts
        .iter()
        .filter(|a| a.event == "DEPOSIT_CALLBACK")
        .collect();
    assert_eq!(callbacks.len(), 2, "issue and deposit");
    for attempt in &attempts {
        assert!(attempt
            .headers
            .get("tosspayments-webhook-signature")
            .is_none());
        assert!(attempt.headers.get("x-tosspayments-signature").is_none());
        assert!(attempt
            .headers
            .get("tosspayments-webhook-transmission-id")
            .is_some());
    }
    let (status, sent) = send(toss.http.get(format!("{}/__fake/webhooks", toss.base))).await;
    assert_eq!(status, 200);
    let deposit_callback = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["eventType"] == "DEPOSIT_CALLBACK" && w["status"] == "DONE")
        .unwrap();
    let body: Value = serde_json::from_str(deposit_callback["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["secret"], secret.as_str());
    assert_eq!(body["orderId"], "order-http-va-01");
    assert!(body.get("paymentKey").is_none());
}

#[tokio::test]
async fn toss_faults_and_delays_over_http() {
    let fake = FakeToss::start().await.unwrap();
    let toss = Toss::new(&fake);
    let (_, session) = toss
        .control(
            "/__fake/sessions",
            json!({"orderId": "order-http-fault", "amount": 15000}),
        )
        .await;
    let key = session["paymentKey"].as_str().unwrap().to_owned();

    let (status, _) = toss
        .control(
            "/__fake/faults",
            json!({"status": 500, "code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "pathContains": "/confirm"}),
        )
        .await;
    assert_eq!(status, 204);
    // Another route is unaffected; the confirm fails once, then goes through.
    assert_eq!(toss.get(&key).await.0, 200);
    let (status, err) = toss.confirm(&key, "order-http-fault", 15000).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (500, Some("FAILED_INTERNAL_SYSTEM_PROCESSING"))
    );
    let (status, paid) = toss.confirm(&key, "order-http-fault", 15000).await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("DONE")));

    let (status, _) = toss
        .control(
            "/__fake/delays",
            json!({"millis": 300, "pathContains": "/v1/payments/"}),
        )
        .await;
    assert_eq!(status, 204);
    let started = Instant::now();
    let (status, _) = toss.get(&key).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}
