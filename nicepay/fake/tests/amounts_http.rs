//! No fake panics on an amount: huge, negative and over-limit amounts on every amount-bearing
//! route get the PG's documented error answer over HTTP (never a dropped connection, a 5xx or a
//! poisoned fake), and each fake keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use hanpay_nicepay_fake::FakeNicePay;
use hanpay_testkit::http::send;

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
async fn fake_nicepay_answers_huge_amounts_with_an_error() {
    let fake = FakeNicePay::start().await.unwrap();
    let http = reqwest::Client::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            FakeNicePay::CLIENT_ID,
            FakeNicePay::SECRET_KEY
        ))
    );
    let post = |path: &str, body: String| {
        http.post(format!("{}{path}", fake.base_url()))
            .header("authorization", &auth)
            .header("content-type", "application/json;charset=utf-8")
            .body(body)
    };
    for (i, amount) in HUGE
        .iter()
        .chain(&["-1", "-9223372036854775808"])
        .enumerate()
    {
        let auth_body = with_amount(
            &format!(r#"{{"orderId":"order-huge-{i}","amount":AMOUNT}}"#),
            amount,
        );
        let (status, err) = send(post("/__fake/authenticate", auth_body)).await;
        // The control API answers as NICEPAY does: a result code (or a 4xx for a body that
        // does not fit its types).
        let refused = (400..500).contains(&status)
            || (status == 200 && err["resultCode"].as_str().is_some_and(|c| c != "0000"));
        assert!(refused, "authenticate {amount}: {status} {err}");

        let (_, window) = send(post(
            "/__fake/authenticate",
            format!(r#"{{"orderId":"order-small-{i}","amount":1004}}"#),
        ))
        .await;
        let tid = window["tid"].as_str().unwrap().to_owned();
        for field in [amount.to_string(), format!("\"{amount}\"")] {
            let (status, err) = send(post(
                &format!("/v1/payments/{tid}"),
                format!(r#"{{"amount":{field}}}"#),
            ))
            .await;
            assert_eq!(status, 200, "{err}");
            assert_ne!(err["resultCode"], "0000", "approve of {field}: {err}");
        }
        let (status, paid) = send(post(
            &format!("/v1/payments/{tid}"),
            r#"{"amount":1004}"#.into(),
        ))
        .await;
        assert_eq!(
            (status, paid["resultCode"].as_str()),
            (200, Some("0000")),
            "{paid}"
        );
        let cancel = with_amount(
            &format!(
                r#"{{"reason":"고객 요청","orderId":"order-small-{i}-c","cancelAmt":AMOUNT}}"#
            ),
            amount,
        );
        let (status, err) = send(post(&format!("/v1/payments/{tid}/cancel"), cancel)).await;
        assert_eq!(status, 200, "{err}");
        assert_ne!(err["resultCode"], "0000", "cancel of {amount}: {err}");
    }
    // Thirteen digits is NICEPAY's too-long error (P009), not a mismatch.
    let (_, window) = send(post(
        "/__fake/authenticate",
        r#"{"orderId":"order-13-digits","amount":1004}"#.to_owned(),
    ))
    .await;
    let tid = window["tid"].as_str().unwrap().to_owned();
    let (_, err) = send(post(
        &format!("/v1/payments/{tid}"),
        r#"{"amount":1000000000000}"#.into(),
    ))
    .await;
    assert_eq!(err["resultCode"], "P009", "{err}");
}
