//! FakeNicePay's rules over raw HTTP, without any NICEPAY client: Basic auth, HTTP 200 with
//! result codes, duplicate orderIds, cancel and net-cancel rules, signatures, the control API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine as _;
use hanpay_nicepay_fake::{FakeNicePay, WindowMethod};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn basic(id: &str, key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"))
    )
}

fn auth() -> String {
    basic(FakeNicePay::CLIENT_ID, FakeNicePay::SECRET_KEY)
}

async fn post(fake: &FakeNicePay, path: &str, auth: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .header("content-type", "application/json;charset=utf-8")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(fake: &FakeNicePay, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", fake.base_url()))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn basic_auth_needs_both_parts() {
    let fake = FakeNicePay::start().await.unwrap();
    let path = "/v1/payments/UT0000113m01012111051714341073";
    let cases = [
        (None, "U304"),
        (Some("Bearer x".to_owned()), "U304"),
        (Some("Basic %%%".to_owned()), "U101"),
        // Toss style: the secret key alone with a trailing colon.
        (Some(basic(FakeNicePay::SECRET_KEY, "")), "U304"),
        (Some(basic(FakeNicePay::CLIENT_ID, "wrong")), "U104"),
    ];
    for (header, code) in cases {
        let (status, body) = post(&fake, path, header.as_deref(), json!({"amount": 1})).await;
        assert_eq!(status, 401, "{header:?}");
        assert_eq!(body["resultCode"], code, "{header:?}");
    }
    let (status, body) = post(&fake, path, Some(&auth()), json!({"amount": 1})).await;
    assert_eq!(status, 200, "business failures are HTTP 200");
    assert_eq!(body["resultCode"], "U121");
}

#[tokio::test]
async fn approve_rules_and_signed_answers() {
    let fake = FakeNicePay::start().await.unwrap();
    let a = fake
        .authenticate("order-fake-0001", 1004, WindowMethod::Card)
        .unwrap();
    // The returnUrl signature: hex(sha256(authToken + clientId + amount + SecretKey)).
    assert_eq!(
        a.signature,
        sha256_hex(&format!(
            "{}{}1004{}",
            a.auth_token,
            FakeNicePay::CLIENT_ID,
            FakeNicePay::SECRET_KEY
        ))
    );
    let path = format!("/v1/payments/{}", a.tid);
    let (_, wrong) = post(&fake, &path, Some(&auth()), json!({"amount": 1000})).await;
    assert_eq!(wrong["resultCode"], "A123");
    let (_, missing) = post(&fake, &path, Some(&auth()), json!({})).await;
    assert_eq!(missing["resultCode"], "U100");
    let (_, float) = post(&fake, &path, Some(&auth()), json!({"amount": 1004.5})).await;
    assert_eq!(float["resultCode"], "P010");
    // A digit string is accepted, as the Java sample sends it.
    let (status, paid) = post(&fake, &path, Some(&auth()), json!({"amount": "1004"})).await;
    assert_eq!(status, 200);
    assert_eq!(paid["resultCode"], "0000");
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["failedAt"], "0");
    assert_eq!(paid["cancelledAt"], "0");
    let edi = paid["ediDate"].as_str().unwrap();
    assert!(edi.ends_with("+0900") && edi.len() == 28, "{edi}");
    assert_eq!(
        paid["signature"],
        sha256_hex(&format!("{}1004{edi}{}", a.tid, FakeNicePay::SECRET_KEY))
    );
    let (_, again) = post(&fake, &path, Some(&auth()), json!({"amount": 1004})).await;
    assert_eq!(again["resultCode"], "U114");
    // Another window for the same orderId cannot be paid.
    let b = fake
        .authenticate("order-fake-0001", 1004, WindowMethod::Card)
        .unwrap();
    let (_, dup) = post(
        &fake,
        &format!("/v1/payments/{}", b.tid),
        Some(&auth()),
        json!({"amount": 1004}),
    )
    .await;
    assert_eq!(dup["resultCode"], "U112");
    // Lookups.
    let (_, found) = get(&fake, &path).await;
    assert_eq!(found["tid"], a.tid);
    let (_, no_date) = get(&fake, "/v1/payments/find/order-fake-0001").await;
    assert_eq!(no_date["resultCode"], "U100");
    let (_, bad_date) = get(
        &fake,
        "/v1/payments/find/order-fake-0001?orderDate=2021-11-05",
    )
    .await;
    assert_eq!(bad_date["resultCode"], "P024");
    let (_, other_day) = get(
        &fake,
        "/v1/payments/find/order-fake-0001?orderDate=20211105",
    )
    .await;
    assert_eq!(other_day["resultCode"], "U126");
    let (_, none) = get(&fake, "/v1/payments/UT0000113m01012111051714341073").await;
    assert_eq!(none["resultCode"], "U107");
}

#[tokio::test]
async fn cancel_and_net_cancel_rules() {
    let fake = FakeNicePay::start().await.unwrap();
    let a = fake
        .authenticate("order-fake-0002", 10_000, WindowMethod::Card)
        .unwrap();
    post(
        &fake,
        &format!("/v1/payments/{}", a.tid),
        Some(&auth()),
        json!({"amount": 10_000}),
    )
    .await;
    let cancel = format!("/v1/payments/{}/cancel", a.tid);
    let (_, no_reason) = post(&fake, &cancel, Some(&auth()), json!({"orderId": "c-1"})).await;
    assert_eq!(no_reason["resultCode"], "U100");
    let (_, over) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1", "cancelAmt": 10_001}),
    )
    .await;
    assert_eq!(over["resultCode"], "2032");
    let (_, part) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1", "cancelAmt": 3_000, "amount": 3000}),
    )
    .await;
    assert_eq!(
        part["resultCode"], "0000",
        "unknown fields (the samples' amount) are ignored"
    );
    assert_eq!(part["status"], "partialCancelled");
    assert_eq!(part["balanceAmt"], 7_000);
    assert_eq!(part["cancels"][0]["tid"], part["cancelledTid"]);
    assert_ne!(part["cancelledTid"], a.tid);
    let (_, reused) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1", "cancelAmt": 1_000}),
    )
    .await;
    assert_eq!(
        reused["resultCode"], "U112",
        "a partial cancel cannot reuse an orderId"
    );
    let (_, rest) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-2"}),
    )
    .await;
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["balanceAmt"], 0);
    let (_, twice) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-3"}),
    )
    .await;
    assert_eq!(twice["resultCode"], "2013");

    let b = fake
        .authenticate("order-fake-0003", 5_000, WindowMethod::Card)
        .unwrap();
    post(
        &fake,
        &format!("/v1/payments/{}", b.tid),
        Some(&auth()),
        json!({"amount": 5_000}),
    )
    .await;
    let (_, net) = post(
        &fake,
        "/v1/payments/netcancel",
        Some(&auth()),
        json!({"orderId": "order-fake-0003"}),
    )
    .await;
    assert_eq!(net["status"], "cancelled");
    let (_, none) = post(
        &fake,
        "/v1/payments/netcancel",
        Some(&auth()),
        json!({"orderId": "order-none"}),
    )
    .await;
    assert_eq!(none["resultCode"], "U126");
}

#[tokio::test]
async fn vbank_deposit_and_refund_account_rules() {
    let fake = FakeNicePay::start().await.unwrap();
    let a = fake
        .authenticate("order-fake-0004", 15_000, WindowMethod::Vbank)
        .unwrap();
    let (_, ready) = post(
        &fake,
        &format!("/v1/payments/{}", a.tid),
        Some(&auth()),
        json!({"amount": 15_000}),
    )
    .await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["vbank"]["vbankCode"], "088");
    assert!(ready["vbank"]["vbankNumber"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    fake.deposit(&a.tid).unwrap();
    assert!(fake.deposit(&a.tid).is_err(), "deposited once");
    let cancel = format!("/v1/payments/{}/cancel", a.tid);
    let (_, no_account) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1"}),
    )
    .await;
    assert_eq!(no_account["resultCode"], "U100");
    let (_, bad) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1",
        "refundAccount": "110-214-7270", "refundBankCode": "004", "refundHolder": "홍길동"}),
    )
    .await;
    assert_eq!(bad["resultCode"], "P010");
    let (_, ok) = post(
        &fake,
        &cancel,
        Some(&auth()),
        json!({"reason": "r", "orderId": "c-1",
        "refundAccount": "1102147270", "refundBankCode": "004", "refundHolder": "홍길동"}),
    )
    .await;
    assert_eq!(ok["status"], "cancelled");
}

#[tokio::test]
async fn control_api_over_http() {
    let fake = FakeNicePay::start().await.unwrap();
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", fake.base_url());
    let authed: Value = client
        .post(url("/__fake/authenticate"))
        .json(&json!({"orderId": "order-ctl-0001", "amount": 15000, "method": "vbank"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(authed["authResultCode"], "0000");
    assert_eq!(
        authed["amount"], "15000",
        "the returnUrl form posts the amount as a string"
    );
    let tid = authed["tid"].as_str().unwrap().to_owned();
    let fault: Value = client
        .post(url("/__fake/faults"))
        .json(&json!({"kind": "resultCode", "code": "A246", "message": "비정상 과다접속", "method": "POST"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fault["times"], 1);
    let (_, busy) = post(
        &fake,
        &format!("/v1/payments/{tid}"),
        Some(&auth()),
        json!({"amount": 15000}),
    )
    .await;
    assert_eq!(busy["resultCode"], "A246");
    let (_, ready) = post(
        &fake,
        &format!("/v1/payments/{tid}"),
        Some(&auth()),
        json!({"amount": 15000}),
    )
    .await;
    assert_eq!(ready["status"], "ready");
    let paid: Value = client
        .post(url(&format!("/__fake/payments/{tid}/deposit")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "paid");
    let shown: Value = client
        .get(url(&format!("/__fake/payments/{tid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "paid");
    let requests: Value = client
        .get(url("/__fake/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests.as_array().unwrap().len(), 2);
    let hooks: Value = client
        .get(url("/__fake/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        hooks.as_array().unwrap().is_empty(),
        "no webhook URL configured"
    );
    let bad = client
        .post(url("/__fake/faults"))
        .json(&json!({"kind": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

#[tokio::test]
async fn webhooks_are_sent_once_and_resent_by_hand() {
    // A receiver that answers 500 first: NICEPAY documents no automatic retry.
    use axum::{http::StatusCode, routing, Router};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/hook",
        routing::post(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "FAIL")
                } else {
                    (StatusCode::OK, "OK")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fake = FakeNicePay::builder()
        .webhook_url(url)
        .start()
        .await
        .unwrap();
    let a = fake
        .authenticate("order-hook-0009", 1004, WindowMethod::Card)
        .unwrap();
    post(
        &fake,
        &format!("/v1/payments/{}", a.tid),
        Some(&auth()),
        json!({"amount": 1004}),
    )
    .await;
    let sent = fake.wait_for_webhooks(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].delivered);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    let edi = body["ediDate"].as_str().unwrap();
    assert_eq!(
        body["signature"],
        sha256_hex(&format!("{}1004{edi}{}", a.tid, FakeNicePay::SECRET_KEY))
    );
    // Nothing more comes by itself; the console's resend delivers it.
    fake.resend_webhook(&a.tid);
    let sent = fake.wait_for_webhooks(2, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 2);
    assert!(sent[1].delivered);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
