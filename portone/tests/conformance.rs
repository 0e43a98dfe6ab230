//! The core conformance suite against `PortOne` talking to `FakePortOne` over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{async_trait, Money, Payment, RetryPolicy};
use hanpay_portone::{PortOne, Timeouts};
use hanpay_portone_fake::{FakePortOne, Fault, Operation, PayMethod};
use hanpay_testkit::conformance::{run_all, ConformanceDriver, DriverError};

/// Plays the customer and PortOne through the fake's control API.
struct Driver {
    fake: FakePortOne,
    cancel_fault: Fault,
}

#[async_trait]
impl ConformanceDriver for Driver {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        // A channel where PortOne approves in the browser: the merchant's confirm checks it.
        self.fake
            .pay(
                order_id,
                amount.minor_units(),
                amount.currency().code(),
                "hanpay conformance",
                PayMethod::Card,
            )
            .map_err(DriverError::new)?;
        Ok(order_id.to_owned())
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        self.fake
            .deposit(&payment.payment_key)
            .map_err(DriverError::new)
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        _payment_key: &str,
    ) -> Result<(), DriverError> {
        self.fake
            .inject(Some(Operation::Cancel), 1, self.cancel_fault.clone());
        Ok(())
    }

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.fake.requests().len()))
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(
            self.fake
                .requests()
                .iter()
                .filter(|r| r.operation == Operation::Cancel && r.payment_id == payment_key)
                .count(),
        ))
    }
}

fn provider_for(fake: &FakePortOne) -> PortOne {
    PortOne::builder(fake.api_secret())
        .base_url(fake.base_url())
        .store_id(fake.store_id())
        .channel_key(fake.channel_key())
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_millis(400),
        })
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(20))
                .with_jitter(false),
        )
        .build()
        .unwrap()
}

async fn run_with(cancel_fault: Fault) {
    let fake = FakePortOne::builder().start().await.unwrap();
    let provider = provider_for(&fake);
    let driver = Driver { fake, cancel_fault };
    let report = run_all(&provider, &driver).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(report.skipped().count(), 0, "{report}");
}

#[tokio::test]
async fn conformance_with_a_lost_cancel_answer() {
    // The cancel is applied, but its answer comes after the client's read timeout: the retry
    // with the same Idempotency-Key is answered by replay.
    run_with(Fault::DelayResponse(Duration::from_secs(2))).await;
}

#[tokio::test]
async fn conformance_with_a_503_on_cancel() {
    run_with(Fault::Error {
        error_type: "SERVICE_UNAVAILABLE".into(),
        http_status: Some(503),
    })
    .await;
}
