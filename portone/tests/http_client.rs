//! A `reqwest::Client` of the caller's own, given to the builder: it is the one used, and the
//! per-call timeout hanpay sets still applies to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{ErrorKind, Money, PaymentProvider, PaymentStatus, RetryPolicy};
use hanpay_portone::{PortOne, PortOneBuilder, Timeouts};
use hanpay_portone_fake::{FakePortOne, Fault, Operation, PayMethod};

/// A builder that alone can reach the fake: `portone.invalid` resolves to it only through the
/// caller's client.
fn builder(fake: &FakePortOne) -> PortOneBuilder {
    PortOne::builder(fake.api_secret())
        .base_url(format!("http://portone.invalid:{}", fake.addr().port()))
        .store_id(fake.store_id())
        .retry_policy(RetryPolicy::none())
}

fn own_client(fake: &FakePortOne) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve("portone.invalid", fake.addr())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_callers_client_carries_the_calls() {
    let fake = FakePortOne::builder().start().await.unwrap();
    fake.pay("order-own-client-1", 8_000, "KRW", "양말", PayMethod::Card)
        .unwrap();
    let portone = builder(&fake)
        .http_client(own_client(&fake))
        .build()
        .unwrap();
    let p = portone.payment("order-own-client-1").await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.total, Money::krw(8_000));
    assert_eq!(p.raw.value()["storeId"], fake.store_id());

    let default = builder(&fake).build().unwrap();
    assert_eq!(
        default
            .payment("order-own-client-1")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Retryable
    );
}

#[tokio::test]
async fn per_call_timeout_applies_to_the_callers_client() {
    let fake = FakePortOne::builder().start().await.unwrap();
    fake.pay("order-own-client-2", 3_000, "KRW", "모자", PayMethod::Card)
        .unwrap();
    // The caller's client has no timeout of its own; connect + read bound each call.
    let portone = builder(&fake)
        .http_client(own_client(&fake))
        .timeouts(Timeouts {
            connect: Duration::from_millis(100),
            read: Duration::from_millis(100),
        })
        .build()
        .unwrap();
    fake.inject(
        Some(Operation::GetPayment),
        1,
        Fault::DelayResponse(Duration::from_secs(3)),
    );
    let err = portone.payment("order-own-client-2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable);
    assert!(err.to_string().contains("timed out"), "{err}");
}
