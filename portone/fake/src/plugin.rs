//! [`FakePortOne`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::storefront::PortOneStorefront;
use super::{FakePortOne, Fault, Operation, PayMethod};
use hanpay_fake::delivery::TimeScale;
use hanpay_fake::sandbox::{
    FakePlugin, RunningFake, SampleEvent, SampleRequest, SandboxFake, SandboxOptions, Scenario,
    LOOPBACK_ALLOWLIST,
};
use hanpay_fake::storefront::Storefront;
use hanpay_testkit::conformance::{ConformanceDriver, DriverError};

/// The Standard Webhooks secret the sandbox signs PortOne webhooks with.
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_aGFucGF5LXNhbmRib3gtcG9ydG9uZS13aCE=";

/// The PortOne fake, for `hanpay::sandbox::fakes()` (listed by the facade's registration line).
pub struct FakePortOnePlugin;

/// The one instance.
pub static FAKE: FakePortOnePlugin = FakePortOnePlugin;

#[async_trait]
impl FakePlugin for FakePortOnePlugin {
    fn id(&self) -> &'static str {
        crate::ID
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakePortOne::builder().start().await?))
    }

    fn default_port(&self) -> u16 {
        8702
    }

    async fn start_sandbox(&self, options: &SandboxOptions) -> std::io::Result<SandboxFake> {
        let mut builder = FakePortOne::builder()
            .webhook_secret(SANDBOX_WEBHOOK_SECRET)
            .time_scale(TimeScale::speedup(options.time_scale.max(1)));
        for url in &options.webhook_urls {
            builder = builder.webhook_url(url.clone());
        }
        let fake = builder.bind(options.addr).await?;
        let mut env = RunningFake::env(&fake);
        env.push(("PORTONE_WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET.to_owned()));
        env.push(("PORTONE_WEBHOOK_ALLOWLIST", LOOPBACK_ALLOWLIST.to_owned()));
        let guide = guide(&fake.base_url());
        Ok(SandboxFake {
            fake: Box::new(fake),
            env,
            guide,
        })
    }

    fn sample_events(&self) -> &'static [&'static str] {
        super::sample::EVENTS
    }

    fn sample_webhook(&self, sample: &SampleEvent) -> Result<SampleRequest, String> {
        super::sample::build(sample)
    }
}

fn guide(portone: &str) -> String {
    format!(
        "Webhooks: signed with Standard Webhooks (PORTONE_WEBHOOK_SECRET above).\n\
         Browser checkout: <script src=\"{portone}/sdk/portone.js\"> (a sandbox stand-in for \
         PortOne.requestPayment) opens the payment window {portone}/__window/portone.\n\n  \
         # the customer pays payment-0001 in the browser (approved at once)\n  \
         curl -s -XPOST {portone}/__fake/payments/payment-0001/pay -H 'content-type: application/json' \\\n    \
         -d '{{\"amount\":58000,\"orderName\":\"티셔츠\"}}'\n  \
         # on a manual-confirm (수동 승인) channel: authenticate, then confirm the paymentToken from your app\n  \
         curl -s -XPOST {portone}/__fake/payments/payment-0002/authenticate -H 'content-type: application/json' \\\n    \
         -d '{{\"amount\":58000}}'\n  \
         # deposit into a virtual account your app issued:\n  \
         curl -s -XPOST {portone}/__fake/payments/PAYMENT_ID/deposit\n  \
         # the next cancel fails once with a 503:\n  \
         curl -s -XPOST {portone}/__fake/faults -H 'content-type: application/json' \\\n    \
         -d '{{\"operation\":\"cancel\",\"errorType\":\"SERVICE_UNAVAILABLE\",\"httpStatus\":503}}'\n  \
         # what the fake holds:\n  \
         curl -s {portone}/__fake/payments/PAYMENT_ID\n"
    )
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

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.requests().len()))
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
    fn storefront(&self) -> Option<Box<dyn Storefront>> {
        Some(Box::new(PortOneStorefront {
            base_url: FakePortOne::base_url(self),
            store_id: self.store_id().to_owned(),
            channel_key: self.channel_key().to_owned(),
        }))
    }

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

    fn cancel_idempotency_keys(&self, payment_key: &str) -> Option<Vec<Option<String>>> {
        Some(
            self.requests()
                .into_iter()
                .filter(|r| r.operation == Operation::Cancel && r.payment_id == payment_key)
                .map(|r| r.idempotency_key)
                .collect(),
        )
    }

    /// PortOne's dedupe id is the Standard Webhooks `webhook-id`.
    fn webhook_event_name(&self, dedupe_id: &str) -> Option<String> {
        self.webhooks_sent()
            .into_iter()
            .find(|(id, _)| id == dedupe_id)
            .and_then(|(_, body)| {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["type"].as_str().map(str::to_owned))
            })
    }

    fn retryable_fault(&self) -> &'static str {
        "503 SERVICE_UNAVAILABLE"
    }

    fn webhooks_sent(&self) -> usize {
        FakePortOne::webhooks_sent(self).len()
    }

    /// Documented by PortOne: a waiting virtual account that fails (`VIRTUAL_ACCOUNT_ISSUED →
    /// FAILED`) and a late approval after a failure (a second `Transaction.Paid`). A sandbox
    /// scenario: a reversed deposit. Not supported: failing or expiring a card payment the
    /// customer authenticated ([`authenticate_card`](ConformanceDriver::authenticate_card)
    /// pays on an auto-confirm channel, approved at once), and expiry (PortOne V2 has no
    /// expired status).
    fn scenario_support(&self, scenario: Scenario) -> Result<(), String> {
        match scenario {
            Scenario::FailWaitingAccount | Scenario::ApproveLate | Scenario::ReverseDeposit => {
                Ok(())
            }
            Scenario::FailPayment => Err(
                "a card payment the customer authenticated is approved at once (auto-confirm \
                 channel): nothing left to fail"
                    .to_owned(),
            ),
            Scenario::ExpirePayment | Scenario::ExpireWaitingAccount => {
                Err("PortOne V2 has no expired status".to_owned())
            }
        }
    }

    fn play(&self, scenario: Scenario, payment_key: &str) -> Result<(), DriverError> {
        match scenario {
            Scenario::FailWaitingAccount => {
                self.fail_payment(payment_key, "입금 기한 내 미입금", "VIRTUAL_ACCOUNT_FAILED")
            }
            Scenario::ApproveLate => self.approve_late(payment_key),
            Scenario::ReverseDeposit => self.reverse_deposit(payment_key),
            other => return Err(DriverError::new(format!("{other:?} is not supported"))),
        }
        .map_err(DriverError::new)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
