//! [`FakePortOne`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::{FakePortOne, Fault, Operation, PayMethod};
use crate::conformance::{ConformanceDriver, DriverError};
use crate::sandbox::{FakePlugin, RunningFake};

/// The PortOne fake, for [`fakes()`](crate::sandbox::fakes).
pub struct FakePortOnePlugin;

/// The one instance.
pub static FAKE: FakePortOnePlugin = FakePortOnePlugin;

#[async_trait]
impl FakePlugin for FakePortOnePlugin {
    fn id(&self) -> &'static str {
        "portone"
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakePortOne::builder().start().await?))
    }
}

#[async_trait]
impl ConformanceDriver for FakePortOne {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        self.pay(
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
        FakePortOne::deposit(self, &payment.payment_key).map_err(DriverError::new)
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        _payment_key: &str,
    ) -> Result<(), DriverError> {
        self.inject(
            Some(Operation::Cancel),
            1,
            Fault::Error {
                error_type: "SERVICE_UNAVAILABLE".into(),
                http_status: Some(503),
            },
        );
        Ok(())
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(
            self.requests()
                .iter()
                .filter(|r| r.operation == Operation::Cancel && r.payment_id == payment_key)
                .count(),
        ))
    }
}

impl RunningFake for FakePortOne {
    fn id(&self) -> &'static str {
        FAKE.id()
    }

    fn base_url(&self) -> String {
        FakePortOne::base_url(self)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PORTONE_API_SECRET", self.api_secret().to_owned()),
            ("PORTONE_STORE_ID", self.store_id().to_owned()),
            ("PORTONE_CHANNEL_KEY", self.channel_key().to_owned()),
            ("PORTONE_API_BASE_URL", FakePortOne::base_url(self)),
        ]
    }
}
