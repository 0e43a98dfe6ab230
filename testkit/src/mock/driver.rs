//! [`MockProvider`] as its own [`ConformanceDriver`]: it authenticates cards, takes deposits
//! and scripts cancel faults in memory.

use async_trait::async_trait;
use hanpay_core::{Money, Payment};

use super::{Fault, MockProvider, Operation};
use crate::conformance::{ConformanceDriver, DriverError};

#[async_trait]
impl ConformanceDriver for MockProvider {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        Ok(MockProvider::authenticate_card(self, order_id, amount)?)
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        MockProvider::deposit(self, &payment.payment_key)?;
        Ok(())
    }

    /// The next cancel of `payment_key` is applied, then answered with a 500: the hardest
    /// case for idempotency.
    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError> {
        self.fail_next_for(
            Operation::Cancel,
            payment_key,
            Fault::retryable_after_apply(),
        );
        Ok(())
    }

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.calls().len()))
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(
            self.calls_of(Operation::Cancel)
                .iter()
                .filter(|c| c.payment_key.as_deref() == Some(payment_key))
                .count(),
        ))
    }
}
