//! The REST API: confirm and its error codes, idempotency, cancel, auth.

use std::time::Duration;

use hanpay::tosspayments::fake::{Fault, SessionMethod};
use serde_json::json;

use super::{Harness, KEY, OTHER_KEY};

#[tokio::test]
async fn confirm_replays_by_idempotency_key_and_refuses_its_reuse() {
    let h = Harness::start().await;
    let (key, order) = h.session(58_000);
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000});
    let (status, first) = h
        .post("/v1/payments/confirm", &body, Some("confirm-1"))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "PAID");
    assert_eq!(first["amount"], 58000);
    assert_eq!(first["currency"], "KRW");
    assert_eq!(first["provider"], "tosspayments");
    assert_eq!(h.toss_calls("/confirm"), 1);

    // The same key and body: the stored answer, no second PG call.
    let response = h
        .http
        .post(format!("{}/v1/payments/confirm", h.base))
        .bearer_auth(KEY)
        .header("idempotency-key", "confirm-1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("idempotent-replayed").unwrap(),
        "true"
    );
    let replayed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(replayed, first);
    assert_eq!(h.toss_calls("/confirm"), 1);

    // The same key with another body: 422, no PG call.
    let other = json!({"payment_key": key, "order_id": order, "amount": 57000});
    let (status, err) = h
        .post("/v1/payments/confirm", &other, Some("confirm-1"))
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "idempotency_key_reused");
    assert_eq!(h.toss_calls("/confirm"), 1);

    // The PG's answer is applied to the state store at once (not left to the webhook).
    let state = h
        .server()
        .hanpay()
        .stores()
        .states
        .get(&hanpay::ProviderId::new("tosspayments"), &key)
        .await
        .unwrap()
        .expect("the confirmed payment has a state");
    assert_eq!(state.status, hanpay::PaymentStatus::Paid);
}

#[tokio::test]
async fn the_answer_survives_a_restart_on_the_same_database() {
    let mut h = Harness::start().await;
    let (key, order) = h.session(58_000);
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000});
    let (status, first) = h
        .post("/v1/payments/confirm", &body, Some("restart-1"))
        .await;
    assert_eq!(status, 200, "{first}");
    h.server.take().unwrap().shutdown().await.unwrap();

    let env = super::env_for(&h.toss, h._portone.as_ref(), &h.dir);
    let config = hanpay_server::config::ServeConfig::load(None, |n| env.get(n).cloned()).unwrap();
    let server = hanpay_server::Server::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    h.base = format!("http://{}", server.addr());
    h.server = Some(server);
    let (status, again) = h
        .post("/v1/payments/confirm", &body, Some("restart-1"))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);
    assert_eq!(h.toss_calls("/confirm"), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_call_the_pg_once() {
    let h = Harness::start().await;
    let (key, order) = h.session(58_000);
    h.toss
        .delay_next(Duration::from_millis(400), 1, Some("/confirm"));
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000});
    let (a, b) = tokio::join!(
        h.post("/v1/payments/confirm", &body, Some("together")),
        h.post("/v1/payments/confirm", &body, Some("together")),
    );
    let statuses = [a.0, b.0];
    assert!(statuses.contains(&200), "{a:?} {b:?}");
    for (status, body) in [&a, &b] {
        assert!(
            *status == 200 || (*status == 409 && body["code"] == "idempotency_key_in_progress"),
            "{status} {body}"
        );
    }
    assert_eq!(h.toss_calls("/confirm"), 1);
}

#[tokio::test]
async fn every_confirm_error_code() {
    let h = Harness::start().await;

    // Amount mismatch: Toss answers INVALID_REQUEST; hanpay looks the payment up.
    let (key, order) = h.session(58_000);
    let (status, err) = h
        .post(
            "/v1/payments/confirm",
            &json!({"payment_key": key, "order_id": order, "amount": 50000}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "payment_amount_mismatch");

    // Already confirmed: the payment comes with the error.
    let (key, order) = h.session(58_000);
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000});
    assert_eq!(h.post("/v1/payments/confirm", &body, None).await.0, 200);
    let (status, err) = h.post("/v1/payments/confirm", &body, None).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "payment_already_confirmed");
    assert_eq!(err["pg"]["code"], "ALREADY_PROCESSED_PAYMENT");
    assert_eq!(err["payment"]["status"], "PAID");

    // Expired session.
    let (key, order) = h.session(58_000);
    h.toss.expire_session(&key).unwrap();
    let (status, err) = h
        .post(
            "/v1/payments/confirm",
            &json!({"payment_key": key, "order_id": order, "amount": 58000}),
            None,
        )
        .await;
    assert_eq!(status, 410, "{err}");
    assert_eq!(err["code"], "payment_expired");
    assert_eq!(err["pg"]["code"], "NOT_FOUND_PAYMENT_SESSION");

    // Refused by the card company: the PG's code and message are kept.
    let (key, order) = h.session(58_000);
    h.toss.fail_next(
        Fault::new(403, "REJECT_CARD_COMPANY")
            .message("카드사에서 거절했습니다.")
            .on_path("/confirm"),
    );
    let (status, err) = h
        .post(
            "/v1/payments/confirm",
            &json!({"payment_key": key, "order_id": order, "amount": 58000}),
            None,
        )
        .await;
    assert_eq!(status, 402, "{err}");
    assert_eq!(err["code"], "payment_confirm_failed");
    assert_eq!(err["pg"]["code"], "REJECT_CARD_COMPANY");
    assert_eq!(err["pg"]["message"], "카드사에서 거절했습니다.");
    assert_eq!(err["pg"]["status"], 403);

    // Invalid before any PG call: a zero amount, a fractional amount, a bad order id.
    let before = h.toss.requests().len();
    for body in [
        json!({"payment_key": "pk-1", "order_id": "order-0001", "amount": 0}),
        json!({"payment_key": "pk-1", "order_id": "order-0001", "amount": 58000.5}),
        json!({"payment_key": "pk-1", "order_id": "x", "amount": 58000}),
    ] {
        let (status, err) = h.post("/v1/payments/confirm", &body, None).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["code"], "invalid_request");
    }
    assert_eq!(h.toss.requests().len(), before, "a PG call was made");

    // An unknown provider.
    let (status, err) = h
        .post(
            "/v1/payments/confirm",
            &json!({"provider": "nope", "payment_key": "pk-1", "order_id": "order-0001", "amount": 1}),
            None,
        )
        .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(err["code"], "unknown_provider");
}

#[tokio::test]
async fn cancel_in_part_then_in_full_and_look_up() {
    let h = Harness::start().await;
    // Every PG call counts: a confirm through serve is one (no lookup before it, none to
    // apply its answer), a cancel at most two, a lookup one.
    let calls = || h.toss.requests().len();
    let before = calls();
    let key = h.paid().await;
    assert_eq!(calls() - before, 1, "PG calls of a confirm");
    let path = format!("/v1/payments/tosspayments/{key}/cancel");
    let before = calls();
    let (status, partial) = h
        .post(
            &path,
            &json!({"reason": "고객 요청", "amount": 8000}),
            Some("cancel-1"),
        )
        .await;
    assert_eq!(status, 200, "{partial}");
    assert!(
        calls() - before <= 2,
        "PG calls of a cancel: {}",
        calls() - before
    );
    assert_eq!(partial["status"], "PARTIALLY_CANCELED");
    assert_eq!(partial["balance"], 50000);
    assert_eq!(partial["canceled"], 8000);
    assert_eq!(partial["cancellations"].as_array().unwrap().len(), 1);

    let (status, full) = h
        .post(&path, &json!({"reason": "고객 요청"}), Some("cancel-2"))
        .await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["status"], "CANCELED");
    assert_eq!(full["balance"], 0);

    let before = calls();
    let (status, got) = h.get(&format!("/v1/payments/tosspayments/{key}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(calls() - before, 1, "PG calls of a lookup");
    assert_eq!(got["status"], "CANCELED");
    let order = got["order_id"].as_str().unwrap().to_owned();
    let (status, by_order) = h
        .get(&format!("/v1/orders/tosspayments/{order}/payment"))
        .await;
    assert_eq!(status, 200, "{by_order}");
    assert_eq!(by_order["payment_key"], key.as_str());

    // A cancel of a canceled payment: the PG's refusal, classified.
    let (status, err) = h.post(&path, &json!({"reason": "again"}), None).await;
    assert!(status == 409 || status == 400, "{status} {err}");
    assert!(
        err["pg"]["code"].is_string() || err["code"] == "not_cancelable",
        "{err}"
    );
}

#[tokio::test]
async fn refund_account_and_cancel_validation_answer_422_before_any_pg_call() {
    let h = Harness::start().await;
    let key = h.paid().await;
    let path = format!("/v1/payments/tosspayments/{key}/cancel");
    let before = h.toss.requests().len();
    let cases = [
        // Hyphens in the number.
        json!({"reason": "환불", "refund_account": {"bank": "088", "number": "110-214-7270", "holder_name": "윤한빈"}}),
        // A test virtual account's X.
        json!({"reason": "환불", "refund_account": {"bank": "031", "number": "X600802567548", "holder_name": "Pankaj"}}),
        // No holder.
        json!({"reason": "환불", "refund_account": {"bank": "SHINHAN", "number": "1102147270", "holder_name": " "}}),
        // An unknown bank.
        json!({"reason": "환불", "refund_account": {"bank": "999", "number": "1102147270", "holder_name": "윤한빈"}}),
        // No reason; a negative amount; a fractional amount; tax-free above the amount.
        json!({"reason": ""}),
        json!({"reason": "환불", "amount": -1}),
        json!({"reason": "환불", "amount": 100.5}),
        json!({"reason": "환불", "amount": 1000, "tax_free_amount": 2000}),
    ];
    for body in cases {
        let (status, err) = h
            .post(&path, &body, Some(&uuid::Uuid::new_v4().to_string()))
            .await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["code"], "invalid_request", "{err}");
    }
    assert_eq!(h.toss.requests().len(), before, "a PG call was made");
}

#[tokio::test]
async fn no_key_or_a_wrong_key_is_401_without_any_pg_call() {
    let h = Harness::start().await;
    let (key, order) = h.session(58_000);
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000}).to_string();
    let url = format!("{}/v1/payments/confirm", h.base);
    let cases = [
        None,
        Some("Bearer not-the-key-0123456789".to_owned()),
        Some(format!("Basic {KEY}")),
        Some(format!("Bearer {KEY}x")),
    ];
    for auth in cases {
        let mut request = h.http.post(&url).body(body.clone());
        if let Some(value) = &auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{auth:?}");
        let err: serde_json::Value = response.json().await.unwrap();
        assert_eq!(err["code"], "unauthorized");
        assert!(!err.to_string().contains(KEY));
    }
    let response = h
        .http
        .get(format!("{}/v1/payments/tosspayments/{key}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(h.toss.requests().len(), 0, "a PG call was made");

    // The rotated key works.
    let response = h
        .http
        .post(&url)
        .bearer_auth(OTHER_KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn providers_and_virtual_accounts() {
    let h = Harness::start().await;
    let (status, list) = h.get("/v1/providers").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["default"], "tosspayments");
    let ids: Vec<&str> = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["portone", "tosspayments"]);
    let toss = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "tosspayments")
        .unwrap();
    assert_eq!(toss["default"], true);
    let caps = toss["capabilities"].as_array().unwrap();
    assert!(caps.iter().any(|c| c == "confirm") && caps.iter().any(|c| c == "webhooks"));

    let order = format!("order-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (status, va) = h
        .post(
            "/v1/virtual-accounts",
            &json!({
                "order_id": order, "order_name": "테스트 주문", "customer_name": "윤한빈",
                "amount": 390000, "bank": "004", "valid_hours": 24
            }),
            Some("va-1"),
        )
        .await;
    if caps.iter().any(|c| c == "virtual_accounts") {
        assert_eq!(status, 201, "{va}");
        assert_eq!(va["status"], "WAITING_FOR_DEPOSIT");
        assert_eq!(va["amount"], 390000);
        assert!(va["virtual_account"]["account_number"].is_string(), "{va}");
    } else {
        assert_eq!(status, 422, "{va}");
        assert_eq!(va["code"], "unsupported");
    }
    let _ = SessionMethod::Card;
}

/// Paid is not final: a payment refunded in the PG's console (straight at the PG, no webhook)
/// is applied the first time anyone looks it up through `serve` — one PG call — and a cancel
/// the PG refuses because the payment is already canceled applies that state too.
#[tokio::test]
async fn a_lookup_applies_a_refund_made_at_the_pg() {
    use hanpay::{PaymentStatus, ProviderId};
    let h = Harness::start().await;
    let key = h.paid().await;
    let other = h.paid().await;
    for k in [&key, &other] {
        let refund = h
            .http
            .post(format!("{}/v1/payments/{k}/cancel", h.toss.base_url()))
            .basic_auth(hanpay::tosspayments::fake::FakeToss::SECRET_KEY, Some(""))
            .json(&json!({"cancelReason": "콘솔에서 환불"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refund.status(), 200);
    }
    let states = h.server().hanpay().stores().states.clone();
    let stored = |k: String| {
        let states = states.clone();
        async move {
            states
                .get(&ProviderId::from_static("tosspayments"), &k)
                .await
                .unwrap()
                .map(|s| s.status)
        }
    };
    assert_eq!(stored(key.clone()).await, Some(PaymentStatus::Paid));
    let lookups = |h: &Harness, k: &str| {
        let path = format!("/v1/payments/{k}");
        h.toss
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    };
    let before = lookups(&h, &key);
    let (status, got) = h.get(&format!("/v1/payments/tosspayments/{key}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "CANCELED");
    assert_eq!(stored(key.clone()).await, Some(PaymentStatus::Canceled));
    assert_eq!(lookups(&h, &key) - before, 1, "one PG call per lookup");

    // A cancel refused because the PG already canceled: the refusal goes out, and the
    // canceled state is applied.
    let (status, err) = h
        .post(
            &format!("/v1/payments/tosspayments/{other}/cancel"),
            &json!({"reason": "고객 요청"}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(stored(other.clone()).await, Some(PaymentStatus::Canceled));
}
