//! No fake panics on an amount: huge, negative and over-limit amounts on every amount-bearing
//! route get the PG's documented error answer over HTTP (never a dropped connection, a 5xx or a
//! poisoned fake), and each fake keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use hanpay_testkit::http::send;
use hanpay_tosspayments_fake::FakeToss;

/// Amounts no PG takes: past every documented limit, at the edges of `i64`, and beyond it.
const HUGE: [&str; 5] = [
    "9223372036854775803", // i64::MAX - 4: FakeToss's virtual-account VAT overflowed here
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "9007199254740992", // 2^53, past what a JSON number carries exactly (Toss's limit)
];

/// A JSON body with `amount` spliced in as a raw number (it may not fit an `i64`).
fn with_amount(template: &str, amount: &str) -> String {
    template.replace("AMOUNT", amount)
}

#[tokio::test]
async fn fake_toss_answers_huge_amounts_with_an_error() {
    let fake = FakeToss::start().await.unwrap();
    let http = reqwest::Client::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY))
    );
    let post = |path: &str, body: String| {
        http.post(format!("{}{path}", fake.base_url()))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body)
    };
    for (i, amount) in HUGE.iter().enumerate() {
        let va = with_amount(
            &format!(
                r#"{{"amount":AMOUNT,"orderId":"order-huge-va-{i}","orderName":"큰 주문","customerName":"김토스","bank":"88"}}"#
            ),
            amount,
        );
        let (status, err) = send(post("/v1/virtual-accounts", va)).await;
        assert_eq!(status, 400, "virtual account of {amount}: {err}");
        assert!(err["code"].is_string(), "{err}");

        let session = with_amount(
            &format!(r#"{{"orderId":"order-huge-session-{i}","amount":AMOUNT}}"#),
            amount,
        );
        let (status, err) = send(post("/__fake/sessions", session)).await;
        // The control API: Toss's error, or a 4xx for a body that does not fit an i64.
        assert!(
            (400..500).contains(&status),
            "session of {amount}: {status} {err}"
        );

        let billing = with_amount(
            &format!(
                r#"{{"amount":AMOUNT,"customerKey":"customer-1","orderId":"order-huge-bill-{i}","orderName":"구독"}}"#
            ),
            amount,
        );
        let (status, err) = send(post("/v1/billing/billing-key-unknown", billing)).await;
        assert!(
            (400..500).contains(&status),
            "billing of {amount}: {status} {err}"
        );
    }
    // The documented limit's error, and the fake still serves.
    let (status, err) = send(post(
        "/v1/virtual-accounts",
        r#"{"amount":9223372036854775803,"orderId":"order-huge-va-x","orderName":"큰 주문","customerName":"김토스","bank":"88"}"#.to_owned(),
    ))
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("EXCEED_MAX_AMOUNT")),
        "{err}"
    );
    let (status, issued) = send(post(
        "/v1/virtual-accounts",
        r#"{"amount":39000,"orderId":"order-small-va","orderName":"작은 주문","customerName":"김토스","bank":"88"}"#.to_owned(),
    ))
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(
        issued["suppliedAmount"].as_i64().unwrap() + issued["vat"].as_i64().unwrap(),
        39000
    );
}
