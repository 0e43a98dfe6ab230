//! Both fake PGs on loopback and a conformance driver that plays the customer at whichever one
//! the configuration selected.
#![allow(dead_code)]

use std::collections::BTreeMap;

use hanpay::{HanpayConfig, Money, Payment};
use hanpay_core::async_trait;
use hanpay_testkit::conformance::{ConformanceDriver, DriverError};
use hanpay_testkit::fake_portone::{self, FakePortOne, PayMethod};
use hanpay_testkit::fake_toss::{self, FakeToss, SessionMethod};

pub struct Fakes {
    pub toss: FakeToss,
    pub portone: FakePortOne,
}

impl Fakes {
    pub async fn start() -> Fakes {
        Fakes {
            toss: FakeToss::start().await.unwrap(),
            portone: FakePortOne::builder().start().await.unwrap(),
        }
    }

    /// The environment an operator would set, pointing at the fakes.
    pub fn env(&self, provider: &str) -> BTreeMap<String, String> {
        [
            ("HANPAY_PROVIDER", provider.to_owned()),
            ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
            ("TOSS_API_BASE_URL", self.toss.base_url()),
            ("PORTONE_API_SECRET", self.portone.api_secret().to_owned()),
            ("PORTONE_STORE_ID", self.portone.store_id().to_owned()),
            ("PORTONE_CHANNEL_KEY", self.portone.channel_key().to_owned()),
            ("PORTONE_API_BASE_URL", self.portone.base_url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub fn config(&self, provider: &str) -> HanpayConfig {
        let env = self.env(provider);
        HanpayConfig::from_env_with(|name| env.get(name).cloned()).unwrap()
    }
}

/// Plays the customer at the fake of the configured provider.
pub struct Driver<'a> {
    pub fakes: &'a Fakes,
    pub provider: String,
}

fn toss_err(e: fake_toss::TossError) -> DriverError {
    DriverError::new(format!("{}: {}", e.code, e.message))
}

#[async_trait]
impl ConformanceDriver for Driver<'_> {
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        match self.provider.as_str() {
            "tosspayments" => self
                .fakes
                .toss
                .create_session(order_id, amount.minor_units(), SessionMethod::Card)
                .map_err(toss_err),
            _ => {
                self.fakes
                    .portone
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
        }
    }

    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError> {
        match self.provider.as_str() {
            "tosspayments" => self
                .fakes
                .toss
                .deposit(&payment.payment_key)
                .map_err(toss_err),
            _ => self
                .fakes
                .portone
                .deposit(&payment.payment_key)
                .map_err(DriverError::new),
        }
    }

    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError> {
        match self.provider.as_str() {
            "tosspayments" => self.fakes.toss.fail_next(
                fake_toss::Fault::new(500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
                    .on_path(format!("/v1/payments/{payment_key}/cancel")),
            ),
            _ => self.fakes.portone.inject(
                Some(fake_portone::Operation::Cancel),
                1,
                fake_portone::Fault::Error {
                    error_type: "SERVICE_UNAVAILABLE".into(),
                    http_status: Some(503),
                },
            ),
        }
        Ok(())
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(match self.provider.as_str() {
            "tosspayments" => {
                let path = format!("/v1/payments/{payment_key}/cancel");
                self.fakes
                    .toss
                    .requests()
                    .iter()
                    .filter(|r| r.method == "POST" && r.path == path)
                    .count()
            }
            _ => self
                .fakes
                .portone
                .requests()
                .iter()
                .filter(|r| {
                    r.operation == fake_portone::Operation::Cancel && r.payment_id == payment_key
                })
                .count(),
        }))
    }
}
