//! [`FakeNicePay`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::storefront::NicePayStorefront;
use super::{FakeNicePay, Fault, WindowMethod};
use hanpay_fake::sandbox::{
    FakePlugin, RunningFake, SampleEvent, SampleRequest, SandboxFake, SandboxOptions, Scenario,
    LOOPBACK_ALLOWLIST,
};
use hanpay_fake::storefront::Storefront;
use hanpay_testkit::conformance::{ConformanceDriver, DriverCapabilities, DriverError};

/// The NICEPAY fake, for `hanpay::sandbox::fakes()` (listed by the facade's registration line).
pub struct FakeNicePayPlugin;

/// The one instance.
pub static FAKE: FakeNicePayPlugin = FakeNicePayPlugin;

#[async_trait]
impl FakePlugin for FakeNicePayPlugin {
    fn id(&self) -> &'static str {
        crate::ID
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakeNicePay::start().await?))
    }

    fn default_port(&self) -> u16 {
        8703
    }

    /// NICEPAY documents no automatic redelivery, so the time scale has nothing to speed up.
    async fn start_sandbox(&self, options: &SandboxOptions) -> std::io::Result<SandboxFake> {
        let mut builder = FakeNicePay::builder();
        for url in &options.webhook_urls {
            builder = builder.webhook_url(url.clone());
        }
        let fake = builder.bind(options.addr).await?;
        let mut env = RunningFake::env(&fake);
        env.push(("NICEPAY_WEBHOOK_ALLOWLIST", LOOPBACK_ALLOWLIST.to_owned()));
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

fn guide(nicepay: &str) -> String {
    format!(
        "Webhooks: the Payment object, its signature (sha256 of tid, amount, ediDate and \
         NICEPAY_SECRET_KEY) in the body; it does not cover the status, so your app fetches the \
         payment before acting. Answer HTTP 200 with body OK (hanpay's router does); NICEPAY \
         redelivers only from its console.\n\
         Browser checkout: <script src=\"{nicepay}/sdk/nicepay.js\"> (a sandbox stand-in for \
         AUTHNICE.requestPay) opens the payment window {nicepay}/__window/nicepay.\n\n  \
         # the customer authenticates in the payment window (returnUrl gets tid, authResultCode=0000)\n  \
         curl -s -XPOST {nicepay}/__fake/authenticate -H 'content-type: application/json' \\\n    \
         -d '{{\"orderId\":\"order-0001\",\"amount\":58000,\"method\":\"card\"}}'\n  \
         # then approve the tid from your app; for a virtual account (\"method\":\"vbank\"), deposit:\n  \
         curl -s -XPOST {nicepay}/__fake/payments/TID/deposit\n  \
         # the console's resend button:\n  \
         curl -s -XPOST {nicepay}/__fake/payments/TID/webhook\n  \
         # what the fake holds:\n  \
         curl -s {nicepay}/__fake/payments/TID\n"
    )
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

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.requests().len()))
    }

    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.cancel_requests(payment_key)))
    }
}

impl RunningFake for FakeNicePay {
    fn storefront(&self) -> Option<Box<dyn Storefront>> {
        Some(Box::new(NicePayStorefront {
            base_url: FakeNicePay::base_url(self),
        }))
    }

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

    /// The verifier's dedupe id is `nicepay:{tid}:{status}:{latest cancel tid}`.
    fn webhook_event_name(&self, dedupe_id: &str) -> Option<String> {
        let mut parts = dedupe_id.strip_prefix("nicepay:")?.split(':');
        let (_tid, status) = (parts.next()?, parts.next()?);
        Some(format!("status {status}"))
    }

    fn retryable_fault(&self) -> &'static str {
        "500 before processing"
    }

    fn webhooks_sent(&self) -> usize {
        FakeNicePay::webhooks_sent(self)
    }

    /// Documented by NICEPAY: a waiting virtual account that expires (`expired`). Sandbox
    /// scenarios: a failed waiting account, a late approval (`failed`/`expired` → `paid`) and
    /// a reversed deposit (`paid` → `ready`). Not supported: failing or expiring a card payment
    /// the customer authenticated, as NICEPAY keeps no payment before the merchant's approval
    /// (the tid is unknown to its API until then).
    fn scenario_support(&self, scenario: Scenario) -> Result<(), String> {
        match scenario {
            Scenario::FailWaitingAccount
            | Scenario::ExpireWaitingAccount
            | Scenario::ApproveLate
            | Scenario::ReverseDeposit => Ok(()),
            Scenario::FailPayment | Scenario::ExpirePayment => Err(
                "an authenticated card payment does not exist at NICEPAY before its approval"
                    .to_owned(),
            ),
        }
    }

    fn play(&self, scenario: Scenario, payment_key: &str) -> Result<(), DriverError> {
        match scenario {
            Scenario::FailWaitingAccount => self.fail(payment_key),
            Scenario::ExpireWaitingAccount => self.expire(payment_key),
            Scenario::ApproveLate => self.approve_late(payment_key),
            Scenario::ReverseDeposit => self.reverse_deposit(payment_key),
            other => return Err(DriverError::new(format!("{other:?} is not supported"))),
        }
        .map_err(DriverError::new)
    }

    /// The customer picks 가상계좌 (`vbank`) in the window; the merchant's approval of the
    /// returned tid issues the account (`ready`).
    fn authenticate_virtual_account(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        self.authenticate(order_id, amount.minor_units(), WindowMethod::Vbank)
            .map(|a| a.tid)
            .map_err(DriverError::new)
    }

    fn virtual_account_in_window(&self) -> Result<(), String> {
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
