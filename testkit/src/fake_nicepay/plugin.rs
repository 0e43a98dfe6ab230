//! [`FakeNicePay`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::{FakeNicePay, Fault, WindowMethod};
use crate::conformance::{ConformanceDriver, DriverCapabilities, DriverError};
use crate::sandbox::{FakePlugin, RunningFake};

/// The NICEPAY fake, for [`fakes()`](crate::sandbox::fakes).
pub struct FakeNicePayPlugin;

/// The one instance.
pub static FAKE: FakeNicePayPlugin = FakeNicePayPlugin;

#[async_trait]
impl FakePlugin for FakeNicePayPlugin {
    fn id(&self) -> &'static str {
        "nicepay"
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakeNicePay::start().await?))
    }
}

/// Plays the customer (the payment window) and NICEPAY through the control API.
#[async_trait]
impl ConformanceDriver for FakeNicePay {
    fn driver_capabilities(&self) -> DriverCapabilities {
        DriverCapabilities {
            card_payments: true,
            // Deposits exist, but the suite reaches them only through `issue_virtual_account`,
            // which NICEPAY has no server API for (skipped by capability).
            virtual_account_deposits: true,
            cancel_faults: true,
        }
    }

    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        self.authenticate(order_id, amount.minor_units(), WindowMethod::Card)
            .map(|a| a.tid)
            .map_err(DriverError::new)
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        FakeNicePay::deposit(self, &payment.payment_key).map_err(DriverError::new)
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError> {
        // A 500 before processing: the cancel did not happen; the client must look first.
        self.fail_next(
            Fault::ServerError,
            Some(&format!("/v1/payments/{payment_key}/cancel")),
            1,
        );
        Ok(())
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.cancel_requests(payment_key)))
    }
}

impl RunningFake for FakeNicePay {
    fn id(&self) -> &'static str {
        FAKE.id()
    }

    fn base_url(&self) -> String {
        FakeNicePay::base_url(self)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NICEPAY_CLIENT_ID", FakeNicePay::CLIENT_ID.to_owned()),
            ("NICEPAY_SECRET_KEY", FakeNicePay::SECRET_KEY.to_owned()),
            ("NICEPAY_API_BASE_URL", FakeNicePay::base_url(self)),
        ]
    }
}
