//! Both fakes' `/__fake/…` control APIs driven over real HTTP, as the CLI sandbox and apps in
//! other languages use them, checked through each PG's real wire routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_testkit::http::send;
use std::time::{Duration, Instant};

use hanpay_portone_fake::FakePortOne;
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
// FakePortOne
// ---------------------------------------------------------------------------------------------

struct PortOne {
    base: String,
    http: reqwest::Client,
    auth: String,
}

impl PortOne {
    fn new(fake: &FakePortOne) -> PortOne {
        PortOne {
            base: fake.base_url(),
            http: reqwest::Client::new(),
            auth: format!("PortOne {}", fake.api_secret()),
        }
    }

    async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn get(&self, payment_id: &str) -> (u16, Value) {
        send(
            self.http
                .get(format!("{}/payments/{payment_id}", self.base))
                .header("authorization", &self.auth),
        )
        .await
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("authorization", &self.auth)
                .header("idempotency-key", format!("\"{key}\""))
                .json(&body),
        )
        .await
    }
}

#[tokio::test]
async fn portone_binds_the_address_it_is_given() {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let fake = FakePortOne::builder().bind(loopback).await.unwrap();
    assert_ne!(fake.addr().port(), 0);
    assert_eq!(fake.base_url(), format!("http://{}", fake.addr()));
    // The address is really the fake's: a second one cannot take it.
    let err = FakePortOne::builder().bind(fake.addr()).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let po = PortOne::new(&fake);
    assert_eq!(po.get("nothing-here").await.0, 404);
}

#[tokio::test]
async fn portone_pay_and_manual_confirm_over_http() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let po = PortOne::new(&fake);

    let (status, paid) = po
        .control(
            "/__fake/payments/payment-http-1/pay",
            json!({"amount": 58000, "orderName": "티셔츠"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "PAID");
    let (status, payment) = po.get("payment-http-1").await;
    assert_eq!(status, 200);
    assert_eq!(payment["status"], "PAID");
    assert_eq!(payment["amount"]["total"], 58000);
    assert_eq!(payment["orderName"], "티셔츠");
    assert_eq!(payment["method"]["type"], "PaymentMethodCard");
    // The control view is the same payment.
    let (status, shown) = send(
        po.http
            .get(format!("{}/__fake/payments/payment-http-1", po.base)),
    )
    .await;
    assert_eq!((status, &shown), (200, &payment));

    // Easy pay.
    let (status, _) = po
        .control(
            "/__fake/payments/payment-http-2/pay",
            json!({"amount": 12000, "method": "easyPay", "provider": "NAVERPAY"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, payment) = po.get("payment-http-2").await;
    assert_eq!(payment["method"]["type"], "PaymentMethodEasyPay");
    assert_eq!(payment["method"]["provider"], "NAVERPAY");

    // Manual confirm (수동 승인): authenticate, then confirm through the real wire route.
    let (status, auth) = po
        .control(
            "/__fake/payments/payment-http-3/authenticate",
            json!({"amount": 30000}),
        )
        .await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["status"], "READY");
    let token = auth["paymentToken"].as_str().unwrap().to_owned();
    assert_eq!(po.get("payment-http-3").await.1["status"], "READY");
    let (status, confirmed) = po
        .post(
            "/payments/payment-http-3/confirm",
            "confirm-payment-http-3",
            json!({"paymentToken": token, "totalAmount": 30000, "currency": "KRW"}),
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(po.get("payment-http-3").await.1["status"], "PAID");

    // A payment id already used is refused in PortOne's terms.
    let (status, err) = po
        .control(
            "/__fake/payments/payment-http-1/pay",
            json!({"amount": 58000}),
        )
        .await;
    assert!(status >= 400, "{err}");
    assert!(err["type"].is_string());
    // Malformed control bodies and unknown payments.
    let (status, err) = po
        .control(
            "/__fake/payments/payment-http-4/pay",
            json!({"amount": "lots"}),
        )
        .await;
    assert_eq!(
        (status, err["type"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (status, err) = send(po.http.get(format!("{}/__fake/payments/nope", po.base))).await;
    assert_eq!(
        (status, err["type"].as_str()),
        (404, Some("PAYMENT_NOT_FOUND"))
    );
}

#[tokio::test]
async fn portone_virtual_account_deposit_and_failure_over_http() {
    let fake = FakePortOne::builder()
        .webhook_url(receiver().await)
        .webhook_secret("whsec_aGFucGF5LXRlc3Qtc2VjcmV0LWtleSE=")
        .start()
        .await
        .unwrap();
    let po = PortOne::new(&fake);

    let (status, issued) = po
        .control(
            "/__fake/payments/payment-http-va/virtual-account",
            json!({"amount": 39000, "bank": "SHINHAN"}),
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["status"], "VIRTUAL_ACCOUNT_ISSUED");
    let account = issued["accountNumber"].as_str().unwrap().to_owned();
    let (_, payment) = po.get("payment-http-va").await;
    assert_eq!(payment["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(payment["method"]["accountNumber"], account.as_str());

    let (status, deposited) = po
        .control("/__fake/payments/payment-http-va/deposit", json!({}))
        .await;
    assert_eq!((status, deposited["status"].as_str()), (200, Some("PAID")));
    assert_eq!(po.get("payment-http-va").await.1["status"], "PAID");
    let (status, err) = po
        .control("/__fake/payments/payment-http-va/deposit", json!({}))
        .await;
    assert_eq!(
        (status, err["type"].as_str()),
        (409, Some("PAYMENT_NOT_WAITING_FOR_DEPOSIT"))
    );
    // The deposit was announced, signed with Standard Webhooks.
    let attempts = fake
        .delivery_log()
        .wait_until(WAIT, |a| {
            a.iter()
                .any(|a| a.event == "Transaction.Paid" && a.delivered)
        })
        .await;
    let paid = attempts
        .iter()
        .find(|a| a.event == "Transaction.Paid")
        .unwrap();
    assert!(paid.headers.get("webhook-signature").is_some());

    // The PG fails a payment waiting for its deposit.
    po.control(
        "/__fake/payments/payment-http-fail/virtual-account",
        json!({"amount": 10000}),
    )
    .await;
    let (status, failed) = po
        .control(
            "/__fake/payments/payment-http-fail/fail",
            json!({"reason": "입금 기한 만료", "pgCode": "EXPIRED"}),
        )
        .await;
    assert_eq!((status, failed["status"].as_str()), (200, Some("FAILED")));
    assert_eq!(po.get("payment-http-fail").await.1["status"], "FAILED");
}

#[tokio::test]
async fn portone_faults_and_delays_over_http() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let po = PortOne::new(&fake);
    po.control(
        "/__fake/payments/payment-http-f/pay",
        json!({"amount": 15000}),
    )
    .await;

    let (status, fault) = po
        .control(
            "/__fake/faults",
            json!({"operation": "cancel", "errorType": "SERVICE_UNAVAILABLE", "httpStatus": 503}),
        )
        .await;
    assert_eq!(status, 200, "{fault}");
    assert_eq!(fault["httpStatus"], 503);
    // A lookup is not a cancel: unaffected.
    assert_eq!(po.get("payment-http-f").await.0, 200);
    let cancel = json!({"reason": "품절", "currentCancellableAmount": 15000});
    let (status, err) = po
        .post(
            "/payments/payment-http-f/cancel",
            "cancel-payment-http-f-1",
            cancel.clone(),
        )
        .await;
    assert_eq!(
        (status, err["type"].as_str()),
        (503, Some("SERVICE_UNAVAILABLE"))
    );
    assert_eq!(fake.cancellation_count("payment-http-f"), 0);
    // The retry with the same key goes through: exactly one cancellation.
    let (status, done) = po
        .post(
            "/payments/payment-http-f/cancel",
            "cancel-payment-http-f-1",
            cancel,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["cancellation"]["status"], "SUCCEEDED");
    assert_eq!(fake.cancellation_count("payment-http-f"), 1);

    // A PG error with the PG's own code, on any operation.
    let (status, _) = po
        .control(
            "/__fake/faults",
            json!({"pgCode": "CARD_LIMIT", "pgMessage": "한도 초과"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, err) = po.get("payment-http-f").await;
    assert_eq!((status, err["type"].as_str()), (502, Some("PG_PROVIDER")));
    assert_eq!(err["pgCode"], "CARD_LIMIT");
    assert_eq!(po.get("payment-http-f").await.0, 200);

    let (status, err) = po
        .control(
            "/__fake/faults",
            json!({"operation": "refund", "errorType": "X"}),
        )
        .await;
    assert_eq!(
        (status, err["type"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );

    let (status, delay) = po
        .control(
            "/__fake/delays",
            json!({"operation": "getPayment", "millis": 300}),
        )
        .await;
    assert_eq!((status, delay["stage"].as_str()), (200, Some("response")));
    let started = Instant::now();
    assert_eq!(po.get("payment-http-f").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}
