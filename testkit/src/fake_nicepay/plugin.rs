//! [`FakeNicePay`] as a [`FakePlugin`].

use hanpay_core::{async_trait, Money, Payment};

use super::{FakeNicePay, Fault, WindowMethod};
use crate::conformance::{ConformanceDriver, DriverCapabilities, DriverError};
use crate::sandbox::{
    FakePlugin, RunningFake, SampleEvent, SampleRequest, SandboxFake, SandboxOptions,
    LOOPBACK_ALLOWLIST,
};

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

    /// The verifier's dedupe id is `nicepay:{tid}:{status}:{latest cancel tid}`.
    fn webhook_event_name(&self, dedupe_id: &str) -> Option<String> {
        let mut parts = dedupe_id.strip_prefix("nicepay:")?.split(':');
        let (_tid, status) = (parts.next()?, parts.next()?);
        Some(format!("status {status}"))
    }

    fn retryable_fault(&self) -> &'static str {
        "500 before processing"
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
