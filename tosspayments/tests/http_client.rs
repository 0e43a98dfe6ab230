//! A `reqwest::Client` of the caller's own, given to the builder: it is the one used, and the
//! per-call timeouts hanpay sets still apply to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{ConfirmRequest, ErrorKind, Money, PaymentProvider, PaymentStatus, RetryPolicy};
use hanpay_tosspayments::{Timeouts, TossPayments};
use hanpay_tosspayments_fake::{FakeToss, SessionMethod};

/// A client that alone can reach the fake: `toss.invalid` resolves to it only here.
fn own_client(fake: &FakeToss) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve("toss.invalid", fake.addr())
        .build()
        .unwrap()
}

fn own_base_url(fake: &FakeToss) -> String {
    format!("http://toss.invalid:{}", fake.addr().port())
}

#[tokio::test]
async fn the_callers_client_carries_the_calls() {
    let fake = FakeToss::start().await.unwrap();
    let toss = TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(own_base_url(&fake))
        .http_client(own_client(&fake))
        .build()
        .unwrap();
    let key = fake
        .create_session("order-own-client-1", 12_000, SessionMethod::Card)
        .unwrap();
    let p = toss
        .confirm(&ConfirmRequest::new(
            key.clone(),
            "order-own-client-1",
            Money::krw(12_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(toss.payment(&key).await.unwrap().total, Money::krw(12_000));

    // Without it, `toss.invalid` does not resolve: the builder's client is not used then.
    let default = TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(own_base_url(&fake))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(
        default.payment(&key).await.unwrap_err().kind(),
        ErrorKind::Transport
    );
}

#[tokio::test]
async fn per_call_timeouts_apply_to_the_callers_client() {
    let fake = FakeToss::start().await.unwrap();
    let key = fake
        .create_session("order-own-client-2", 5_000, SessionMethod::Card)
        .unwrap();
    // The caller's client has no timeout of its own.
    let toss = TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(own_base_url(&fake))
        .http_client(own_client(&fake))
        .timeouts(Timeouts::default().lookup(Duration::from_millis(150)))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    fake.delay_next(Duration::from_secs(3), 1, Some("/v1/payments/"));
    let err = toss.payment(&key).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.to_string().contains("timed out"), "{err}");
}
