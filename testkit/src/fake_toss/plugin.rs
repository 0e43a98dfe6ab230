//! [`FakeToss`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::{FakeToss, Fault, SessionMethod, TossError};
use crate::conformance::{ConformanceDriver, DriverError};
use crate::sandbox::{FakePlugin, RunningFake};

/// The Toss fake, for [`fakes()`](crate::sandbox::fakes).
pub struct FakeTossPlugin;

/// The one instance.
pub static FAKE: FakeTossPlugin = FakeTossPlugin;

#[async_trait]
impl FakePlugin for FakeTossPlugin {
    fn id(&self) -> &'static str {
        "tosspayments"
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakeToss::start().await?))
    }
}

fn toss_err(e: TossError) -> DriverError {
    DriverError::new(format!("{}: {}", e.code, e.message))
}

#[async_trait]
impl ConformanceDriver for FakeToss {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        self.create_session(order_id, amount.minor_units(), SessionMethod::Card)
            .map_err(toss_err)
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        FakeToss::deposit(self, &payment.payment_key).map_err(toss_err)
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError> {
        self.fail_next(
            Fault::new(500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
                .on_path(format!("/v1/payments/{payment_key}/cancel")),
        );
        Ok(())
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        let path = format!("/v1/payments/{payment_key}/cancel");
        Ok(Some(
            self.requests()
                .iter()
                .filter(|r| r.method == "POST" && r.path == path)
                .count(),
        ))
    }
}

impl RunningFake for FakeToss {
    fn id(&self) -> &'static str {
        FAKE.id()
    }

    fn base_url(&self) -> String {
        FakeToss::base_url(self)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
            ("TOSS_API_BASE_URL", FakeToss::base_url(self)),
        ]
    }
}
