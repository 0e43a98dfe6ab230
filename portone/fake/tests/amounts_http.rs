//! No fake panics on an amount: huge, negative and over-limit amounts on every amount-bearing
//! route get the PG's documented error answer over HTTP (never a dropped connection, a 5xx or a
//! poisoned fake), and each fake keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_portone_fake::FakePortOne;
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
async fn fake_portone_answers_huge_amounts_with_an_error_or_carries_them() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let auth = format!("PortOne {}", fake.api_secret());
    let post = |path: &str, key: &str, body: String| {
        http.post(format!("{}{path}", fake.base_url()))
            .header("authorization", &auth)
            .header("idempotency-key", format!("\"{key}\""))
            .header("content-type", "application/json")
            .body(body)
    };
    for (i, amount) in HUGE
        .iter()
        .chain(&["-1", "-9223372036854775808"])
        .enumerate()
    {
        let id = format!("payment-huge-{i}");
        let pre = with_amount(r#"{"totalAmount":AMOUNT,"currency":"KRW"}"#, amount);
        let (status, err) = send(post(&format!("/payments/{id}/pre-register"), &id, pre)).await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "pre-register {amount}: {status} {err}"
        );

        let pay = with_amount(r#"{"amount":AMOUNT,"orderName":"큰 주문"}"#, amount);
        let (status, paid) = send(post(&format!("/__fake/payments/{id}-paid/pay"), "c", pay)).await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "pay {amount}: {status} {paid}"
        );
        if status == 200 {
            // Carried as PortOne's int64 would: the payment reads back and cancels in full.
            let (status, payment) = send(
                http.get(format!("{}/payments/{id}-paid", fake.base_url()))
                    .header("authorization", &auth),
            )
            .await;
            assert_eq!(status, 200, "{payment}");
            assert_eq!(payment["amount"]["total"].to_string(), *amount);
            let cancel = with_amount(
                r#"{"reason":"고객 요청","amount":AMOUNT,"taxFreeAmount":AMOUNT}"#,
                amount,
            );
            let (status, cancelled) = send(post(
                &format!("/payments/{id}-paid/cancel"),
                &format!("{id}-cancel"),
                cancel,
            ))
            .await;
            assert!(
                status == 200 || (400..500).contains(&status),
                "cancel {amount}: {status} {cancelled}"
            );
        }

        let va = with_amount(r#"{"amount":AMOUNT,"orderName":"큰 주문"}"#, amount);
        let (status, err) = send(post(
            &format!("/__fake/payments/{id}-va/virtual-account"),
            "c",
            va,
        ))
        .await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "virtual account {amount}: {status} {err}"
        );

        let small = r#"{"amount":1000,"orderName":"작은 주문"}"#.to_owned();
        let (status, _) = send(post(
            &format!("/__fake/payments/{id}-small/pay"),
            "c",
            small,
        ))
        .await;
        assert_eq!(status, 200);
        let cancel = with_amount(
            r#"{"reason":"고객 요청","amount":AMOUNT,"currentCancellableAmount":AMOUNT}"#,
            amount,
        );
        let (status, err) = send(post(
            &format!("/payments/{id}-small/cancel"),
            &format!("{id}-small-cancel"),
            cancel,
        ))
        .await;
        assert!(
            (400..500).contains(&status),
            "cancel of {amount} on 1,000: {status} {err}"
        );
    }
}
