//! [`FakeToss`] as a [`FakePlugin`].

use hanpay_core::webhook::body_digest;
use hanpay_core::{async_trait, Money, Payment};

use std::time::Duration;

use super::storefront::TossStorefront;
use super::{FakeToss, Fault, SessionMethod, TossError};
use hanpay_fake::delivery::{Attempt, TimeScale};
use hanpay_fake::sandbox::{
    FakePlugin, RunningFake, SampleEvent, SampleRequest, SandboxFake, SandboxOptions, Scenario,
    SecondDepositWebhook, LOOPBACK_ALLOWLIST,
};
use hanpay_fake::storefront::Storefront;
use hanpay_testkit::conformance::{ConformanceDriver, DriverError};

/// The Toss fake, for `hanpay::sandbox::fakes()` (listed by the facade's registration line).
pub struct FakeTossPlugin;

/// The one instance.
pub static FAKE: FakeTossPlugin = FakeTossPlugin;

#[async_trait]
impl FakePlugin for FakeTossPlugin {
    fn id(&self) -> &'static str {
        crate::ID
    }

    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>> {
        Ok(Box::new(FakeToss::start().await?))
    }

    fn default_port(&self) -> u16 {
        8701
    }

    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "relay_secret",
                "sign webhooks with x-tosspayments-signature using this secret, as a platform \
                 that relays Toss events does (Toss itself signs no payment webhook)",
            ),
            (
                "consecutive_cancel_ms",
                "how long after a cancel another cancel of the same payment gets 403 \
                 FORBIDDEN_CONSECUTIVE_REQUEST, in milliseconds (default 1000; 0 for tests that \
                 cancel in quick succession)",
            ),
            (
                "accept_any_key",
                "true: accept any test_sk_ key (default: only the printed TOSS_SECRET_KEY; \
                 another gets 401 UNAUTHORIZED_KEY, as at Toss)",
            ),
        ]
    }

    async fn start_sandbox(&self, options: &SandboxOptions) -> std::io::Result<SandboxFake> {
        let mut builder =
            FakeToss::builder().time_scale(TimeScale::speedup(options.time_scale.max(1)));
        let accept_any_key = options.flag("accept_any_key");
        if !accept_any_key {
            builder = builder.secret_key(FakeToss::SECRET_KEY);
        }
        if let Some(ms) = options.option("consecutive_cancel_ms") {
            let ms: u64 = ms.trim().parse().map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "tosspayments.consecutive_cancel_ms: a number of milliseconds",
                )
            })?;
            builder = builder.consecutive_cancel_window(std::time::Duration::from_millis(ms));
        }
        let relay_secret = options.option("relay_secret").map(str::to_owned);
        if let Some(secret) = &relay_secret {
            if secret.trim().is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the tosspayments.relay_secret option is empty",
                ));
            }
            builder = builder.relay_secret(secret.clone());
        }
        for url in &options.webhook_urls {
            builder = builder.webhook_url(url.clone());
        }
        let fake = builder.bind(options.addr).await?;
        let mut env = RunningFake::env(&fake);
        env.push(("TOSS_WEBHOOK_ALLOWLIST", LOOPBACK_ALLOWLIST.to_owned()));
        if let Some(secret) = &relay_secret {
            // With it set, hanpay refuses a Toss event without x-tosspayments-signature.
            env.push(("TOSS_WEBHOOK_SECRET", secret.clone()));
        }
        let guide = guide(&fake.base_url(), relay_secret.is_some(), accept_any_key);
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

fn guide(toss: &str, relay_signed: bool, accept_any_key: bool) -> String {
    let mut out = String::new();
    if relay_signed {
        out.push_str(
            "Webhooks: relay-signed with x-tosspayments-signature (tosspayments.relay_secret), as a \
             platform relaying Toss events signs them; TOSS_WEBHOOK_SECRET verifies them.\n",
        );
    } else {
        out.push_str(
            "Webhooks: unsigned, as Toss sends PAYMENT_STATUS_CHANGED and DEPOSIT_CALLBACK. Your app \
             admits them by sender address (TOSS_WEBHOOK_ALLOWLIST) and the per-payment secret saved \
             at confirm / virtual-account issue, then checks the payment with the API. (Behind a \
             platform that relays them signed? Restart with --option tosspayments.relay_secret=SECRET.)\n",
        );
    }
    if accept_any_key {
        out.push_str("Any test_sk_ key is accepted (tosspayments.accept_any_key).\n");
    } else {
        out.push_str(
            "Only TOSS_SECRET_KEY above is accepted: another key gets 401 UNAUTHORIZED_KEY, as at \
             Toss (--option tosspayments.accept_any_key=true to accept any test_sk_ key).\n",
        );
    }
    out.push_str(&format!(
        "Browser checkout: <script src=\"{toss}/sdk/toss.js\"> (a sandbox stand-in for the Toss SDK) \
         opens the payment window {toss}/__window/toss.\n"
    ));
    out.push_str(&format!(
        "\n  # the customer authenticates a card payment (the widget's successUrl carries paymentKey)\n  \
         curl -s -XPOST {toss}/__fake/sessions -H 'content-type: application/json' \\\n    \
         -d '{{\"orderId\":\"order-0001\",\"amount\":58000,\"method\":\"card\"}}'\n  \
         # then confirm it from your app; for a virtual account issued by your app, deposit:\n  \
         curl -s -XPOST {toss}/__fake/payments/PAYMENT_KEY/deposit\n  \
         # the next cancel fails once with a transient error:\n  \
         curl -s -XPOST {toss}/__fake/faults -H 'content-type: application/json' \\\n    \
         -d '{{\"status\":500,\"code\":\"FAILED_INTERNAL_SYSTEM_PROCESSING\",\"pathContains\":\"/cancel\"}}'\n"
    ));
    out
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

    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(Some(self.requests().len()))
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

#[async_trait]
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

    fn cancel_idempotency_keys(&self, payment_key: &str) -> Option<Vec<Option<String>>> {
        let path = format!("/v1/payments/{payment_key}/cancel");
        Some(
            self.requests()
                .into_iter()
                .filter(|r| r.method == "POST" && r.path == path)
                .map(|r| r.idempotency_key)
                .collect(),
        )
    }

    /// Toss's dedupe id of every event the fake sends is the body's digest (neither Toss
    /// signature covers the transmission id, and none of these bodies carries an `eventId`).
    fn webhook_event_name(&self, dedupe_id: &str) -> Option<String> {
        self.sent_webhooks()
            .into_iter()
            .find(|w| body_digest(w.body.as_bytes()) == dedupe_id)
            .map(|w| w.event_type)
    }

    fn retryable_fault(&self) -> &'static str {
        "500 FAILED_INTERNAL_SYSTEM_PROCESSING"
    }

    fn webhooks_sent(&self) -> usize {
        FakeToss::webhooks_sent(self)
    }

    /// Every scenario. Documented by Toss: an expired confirm window (`EXPIRED`), a deposit
    /// deadline that passes (the status stays `WAITING_FOR_DEPOSIT`, no webhook) and a reversed
    /// deposit (`DONE → WAITING_FOR_DEPOSIT`). Sandbox scenarios: a failed payment or waiting
    /// account (`ABORTED`) and a late approval (`ABORTED`/`EXPIRED → DONE`).
    fn scenario_support(&self, _scenario: Scenario) -> Result<(), String> {
        Ok(())
    }

    fn play(&self, scenario: Scenario, payment_key: &str) -> Result<(), DriverError> {
        match scenario {
            Scenario::FailPayment | Scenario::FailWaitingAccount => self.fail_payment(payment_key),
            Scenario::ExpirePayment | Scenario::ExpireWaitingAccount => {
                self.expire_session(payment_key)
            }
            Scenario::ApproveLate => self.approve_late(payment_key),
            Scenario::ReverseDeposit => self.reverse_deposit(payment_key),
        }
        .map_err(toss_err)
    }

    fn storefront(&self) -> Option<Box<dyn Storefront>> {
        Some(Box::new(TossStorefront {
            base_url: FakeToss::base_url(self),
        }))
    }

    /// Toss sends a virtual account's deposit twice: `PAYMENT_STATUS_CHANGED` and
    /// `DEPOSIT_CALLBACK` (status `DONE`); this waits for the latter's 2xx (matched by its
    /// `tosspayments-webhook-transmission-id`). Its dedupe id is the body's digest.
    async fn second_deposit_webhook(
        &self,
        order_id: &str,
        within: Duration,
    ) -> Option<Result<SecondDepositWebhook, String>> {
        Some(self.deposit_callback_answered(order_id, within).await)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl FakeToss {
    /// Waits until the merchant answered the `DEPOSIT_CALLBACK` announcing `DONE` for
    /// `order_id` with a 2xx.
    async fn deposit_callback_answered(
        &self,
        order_id: &str,
        within: Duration,
    ) -> Result<SecondDepositWebhook, String> {
        const STATUS: &str = "DONE";
        let sent = self
            .sent_webhooks()
            .into_iter()
            .find(|w| {
                w.event_type == "DEPOSIT_CALLBACK"
                    && serde_json::from_str::<serde_json::Value>(&w.body)
                        .is_ok_and(|b| b["orderId"] == order_id && b["status"] == STATUS)
            })
            .ok_or_else(|| format!("Toss sent no DEPOSIT_CALLBACK {STATUS} for {order_id}"))?;
        let id = sent.transmission_id.clone();
        let answered = |attempts: &[Attempt]| {
            attempts.iter().any(|a| {
                a.delivered
                    && a.headers
                        .get("tosspayments-webhook-transmission-id")
                        .is_some_and(|v| v.as_bytes() == id.as_bytes())
            })
        };
        let attempts = self.webhook_log().wait_until(within, |a| answered(a)).await;
        if answered(&attempts) {
            Ok(SecondDepositWebhook {
                event: sent.event_type,
                dedupe_id: body_digest(sent.body.as_bytes()),
                proof: "unsigned, carries the payment's secret",
                other: "Toss's PAYMENT_STATUS_CHANGED",
            })
        } else {
            Err(format!(
                "the shop did not accept the DEPOSIT_CALLBACK {STATUS} for {order_id} within {within:?}"
            ))
        }
    }
}
