//! The core conformance suite against `TossPayments` talking to `FakeToss` over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_core::{Money, Payment};
use hanpay_testkit::conformance::{run_all, ConformanceDriver, DriverError};
use hanpay_tosspayments::TossPayments;
use hanpay_tosspayments_fake::{FakeToss, Fault, SessionMethod};

/// Plays the customer and Toss's back office through FakeToss's control API.
struct FakeTossDriver {
    fake: FakeToss,
}

#[hanpay_core::async_trait]
impl ConformanceDriver for FakeTossDriver {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        self.fake
            .create_session(order_id, amount.minor_units(), SessionMethod::Card)
            .map_err(|e| DriverError::new(format!("{}: {}", e.code, e.message)))
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        self.fake
            .deposit(&payment.payment_key)
            .map_err(|e| DriverError::new(format!("{}: {}", e.code, e.message)))
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError> {
        self.fake.fail_next(
            Fault::new(500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
                .on_path(format!("/v1/payments/{payment_key}/cancel")),
        );
        Ok(())
    }

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.fake.requests().len()))
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        let path = format!("/v1/payments/{payment_key}/cancel");
        Ok(Some(
            self.fake
                .requests()
                .iter()
                .filter(|r| r.method == "POST" && r.path == path)
                .count(),
        ))
    }
}

#[tokio::test]
async fn conformance_suite_passes_against_fake_toss() {
    let fake = FakeToss::start().await.unwrap();
    let toss = TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let driver = FakeTossDriver { fake };
    let report = run_all(&toss, &driver).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(report.skipped().count(), 0, "{report}");
}
