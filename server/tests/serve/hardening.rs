//! Hardening (issue 18, item 5) over real HTTP: request ids, duplicate `Authorization`
//! headers, unknown body fields, error messages that quote the caller's input, and the amount
//! an amount mismatch names.

use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use super::{Harness, KEY};

async fn request_id_for(h: &Harness, id: HeaderValue) -> String {
    let response = h
        .http
        .get(format!("{}/healthz", h.base))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let echoed = response.headers().get_all("x-request-id");
    assert_eq!(echoed.iter().count(), 1, "one id is echoed");
    echoed
        .iter()
        .next()
        .unwrap()
        .to_str()
        .expect("the echoed id is visible ASCII")
        .to_owned()
}

fn is_bounded_printable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[tokio::test]
async fn request_ids_are_bounded_and_printable_or_replaced() {
    let h = Harness::start().await;
    // Kept: up to 128 visible ASCII characters.
    for kept in ["req-42", &"a".repeat(128), "!~{}[]<>\"'`|^%$#@"] {
        assert_eq!(
            request_id_for(&h, HeaderValue::from_str(kept).unwrap()).await,
            kept
        );
    }
    // Replaced by a generated id: too long, raw non-ASCII bytes, spaces, tabs.
    let long = "x".repeat(16_000);
    let refused: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_str(&"b".repeat(129)).unwrap(),
        HeaderValue::from_bytes(b"req-\xff\xfe-id").unwrap(),
        HeaderValue::from_bytes("요청-1".as_bytes()).unwrap(),
        HeaderValue::from_str("req 42").unwrap(),
        HeaderValue::from_str("req\t42").unwrap(),
    ];
    for id in refused {
        let shown = String::from_utf8_lossy(id.as_bytes())
            .chars()
            .take(40)
            .collect::<String>();
        let echoed = request_id_for(&h, id.clone()).await;
        assert!(is_bounded_printable(&echoed), "{shown:?} → {echoed:.80}");
        assert_ne!(echoed.as_bytes(), id.as_bytes(), "{shown:?} was echoed");
        assert!(
            !echoed.contains("xxxxxxxxxx") && !echoed.contains("req"),
            "{echoed}"
        );
    }
    // Two ids: neither is trusted over the other, one new id is made.
    let response = h
        .http
        .get(format!("{}/healthz", h.base))
        .header("x-request-id", "first-id")
        .header("x-request-id", "second-id")
        .send()
        .await
        .unwrap();
    let echoed: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
    assert_eq!(echoed.len(), 1);
    let echoed = echoed[0].to_str().unwrap();
    assert!(
        is_bounded_printable(echoed) && !echoed.contains("-id"),
        "{echoed}"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_401_in_either_order() {
    let h = Harness::start().await;
    let (key, order) = h.session(58_000);
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000}).to_string();
    let valid = format!("Bearer {KEY}");
    let wrong = "Bearer not-the-key-0123456789".to_owned();
    for (first, second) in [(&valid, &wrong), (&wrong, &valid), (&valid, &valid)] {
        let response = h
            .http
            .post(format!("{}/v1/payments/confirm", h.base))
            .header("content-type", "application/json")
            .header("authorization", first)
            .header("authorization", second)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let err: Value = response.json().await.unwrap();
        assert_eq!(status, 401, "{first:?}, {second:?}: {err}");
        assert_eq!(err["code"], "unauthorized");
        assert!(!err.to_string().contains(KEY));
    }
    assert_eq!(h.toss_calls("/confirm"), 0, "no PG call");
    // One valid header still goes through.
    let (status, paid) = h
        .post(
            "/v1/payments/confirm",
            &json!({"payment_key": key, "order_id": order, "amount": 58000}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{paid}");
}

#[tokio::test]
async fn unknown_body_fields_are_refused_naming_the_field() {
    let h = Harness::start().await;
    let (key, order) = h.session(58_000);
    let cases = [
        (
            "/v1/payments/confirm",
            json!({"payment_key": key, "order_id": order, "amount": 58000, "amout": 58000}),
            "amout",
        ),
        (
            "/v1/payments/tosspayments/some-key/cancel",
            json!({"reason": "고객 요청", "amonut": 1000}),
            "amonut",
        ),
        (
            "/v1/payments/tosspayments/some-key/cancel",
            json!({"reason": "고객 요청", "refund_account":
                {"bank": "088", "number": "1102147270", "holder_name": "윤한빈", "holder": "x"}}),
            "holder",
        ),
        (
            "/v1/virtual-accounts",
            json!({"order_id": "order-va-typo-1", "order_name": "티셔츠", "customer_name": "윤한빈",
                   "amount": 39000, "bank": "004", "valid_hour": 24}),
            "valid_hour",
        ),
    ];
    for (path, body, field) in cases {
        let (status, err) = h.post(path, &body, None).await;
        assert!(status == 422 || status == 400, "{path}: {status} {err}");
        assert_eq!(err["code"], "invalid_request", "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}`")), "{message}");
    }
    assert_eq!(h.toss_calls("/v1/"), 0, "no PG call");
}

#[tokio::test]
async fn error_messages_quote_at_most_64_characters_of_the_input() {
    let h = Harness::start().await;
    let long = "p".repeat(5_000);
    let (key, order) = h.session(58_000);
    let long_field = "f".repeat(5_000);
    let mut typo = json!({"payment_key": key, "order_id": order, "amount": 58000});
    typo[&long_field] = json!(1);
    let (status, err) = h
        .post(
            "/v1/payments/confirm",
            &json!({"provider": long, "payment_key": key, "order_id": order, "amount": 58000}),
            None,
        )
        .await;
    let (status_typo, err_typo) = h.post("/v1/payments/confirm", &typo, None).await;
    let (status_path, err_path) = h.get(&format!("/v1/payments/{long}/some-key")).await;
    let (status_str, err_str) = h
        .post(
            "/v1/payments/confirm",
            &json!({"payment_key": key, "order_id": order, "amount": long}),
            None,
        )
        .await;
    for (status, err, quoted) in [
        (status, err, 'p'),
        (status_typo, err_typo, 'f'),
        (status_path, err_path, 'p'),
        (status_str, err_str, 'p'),
    ] {
        assert!((400..500).contains(&status), "{status} {err}");
        let message = err["message"].as_str().unwrap();
        let run = message
            .split(|c| c != quoted)
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(run <= 64, "{run} characters quoted: {message:.200}");
        assert!(message.contains('…'), "{message:.200}");
        assert!(message.chars().count() < 400, "{message:.400}");
    }
    assert_eq!(h.toss_calls("/confirm"), 0, "no PG call");
}

#[tokio::test]
async fn an_amount_mismatch_names_the_pgs_amount() {
    let h = Harness::start().await;
    let (key, order) = h.session(1_000);
    // The largest amount Toss takes: Toss's session is for 1,000원, and the answer says so.
    let (status, err) = h
        .post_raw(
            "/v1/payments/confirm",
            format!(r#"{{"payment_key":"{key}","order_id":"{order}","amount":9007199254740991}}"#),
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["code"], "payment_amount_mismatch");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("1,000원"), "{message}");
    assert!(!message.contains("unknown amount"), "{message}");
    // One confirm call, which Toss refused itself (no lookup before it): nothing charged.
    assert_eq!(
        h.toss_calls("/confirm"),
        1,
        "one confirm, refused by the PG"
    );
    let (status, got) = h.get(&format!("/v1/payments/tosspayments/{key}")).await;
    assert_eq!(status, 200, "{got}");
    assert_ne!(got["status"], "PAID", "{got}");
    // Past what Toss can carry: refused before any call, naming the amount asked for.
    let (status, err) = h
        .post_raw(
            "/v1/payments/confirm",
            format!(
                r#"{{"payment_key":"{key}","order_id":"{order}","amount":9223372036854775807}}"#
            ),
            None,
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("invalid_request")),
        "{err}"
    );
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("9,223,372,036,854,775,807"), "{message}");
    assert!(!message.contains("unknown amount"), "{message}");
}
