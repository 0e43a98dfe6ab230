//! The fakes as plugins: each fake PG implements [`FakePlugin`] next to its server (its crate's
//! `FAKE`), and the facade's registration line for the PG lists it (`hanpay::sandbox::fakes()`,
//! feature `sandbox`), so the facade's conformance run and the CLI's `hanpay sandbox`,
//! `hanpay demo` and `hanpay webhook send` pick up a new PG's fake without edits.

use std::net::SocketAddr;
use std::time::Duration;

use hanpay_core::{async_trait, Money};
use http::HeaderMap;

use hanpay_testkit::conformance::{ConformanceDriver, DriverError};

use crate::storefront::Storefront;

/// A fake PG that can be started without knowing which one it is.
#[async_trait]
pub trait FakePlugin: Send + Sync {
    /// The PG's id, as its hanpay plugin names it (`tosspayments`).
    fn id(&self) -> &'static str;

    /// Starts the fake on `127.0.0.1:0`, with defaults (for tests).
    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>>;

    /// The loopback port `hanpay sandbox` gives it by default.
    fn default_port(&self) -> u16;

    /// The fake's own sandbox options (`--option ID.NAME=VALUE`): `(name, help)`.
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Starts the fake as `hanpay sandbox` and `hanpay demo` run it: on `options.addr`,
    /// delivering webhooks to `options.webhook_urls`, signed as the PG signs them.
    async fn start_sandbox(&self, options: &SandboxOptions) -> std::io::Result<SandboxFake>;

    /// The event names [`sample_webhook`](FakePlugin::sample_webhook) builds.
    fn sample_events(&self) -> &'static [&'static str];

    /// Builds a realistic webhook of the PG, signed as the PG signs it when a secret is given
    /// (`hanpay webhook send`).
    fn sample_webhook(&self, sample: &SampleEvent) -> Result<SampleRequest, String>;
}

/// A started fake: it plays the customer for the conformance suite, and says which variables
/// point an application at it.
#[async_trait]
pub trait RunningFake: ConformanceDriver {
    /// The PG's id.
    fn id(&self) -> &'static str;

    /// The fake's base URL.
    fn base_url(&self) -> String;

    /// The variables an application sets to use this fake's API (what the PG's plugin reads).
    fn env(&self) -> Vec<(&'static str, String)>;

    /// The idempotency keys of the cancel requests for `payment_key` that reached the fake, in
    /// order; `None` when the PG has no idempotency key.
    fn cancel_idempotency_keys(&self, _payment_key: &str) -> Option<Vec<Option<String>>> {
        None
    }

    /// The PG's name (`PAYMENT_STATUS_CHANGED`, `Transaction.Paid`, …) of the webhook it sent
    /// whose hanpay dedupe id is `dedupe_id`, when the fake can tell.
    fn webhook_event_name(&self, _dedupe_id: &str) -> Option<String> {
        None
    }

    /// What [`inject_retryable_fault_on_next_cancel`](ConformanceDriver::inject_retryable_fault_on_next_cancel)
    /// makes the PG answer (`503 SERVICE_UNAVAILABLE`).
    fn retryable_fault(&self) -> &'static str;

    /// How many webhooks the fake has sent so far: one per event and webhook URL, counted when
    /// the first attempt is made (redeliveries are not counted). A test waits until its
    /// receiver has this many.
    fn webhooks_sent(&self) -> usize;

    /// Whether the fake can play `scenario`; `Err` says why not (the PG has no such status,
    /// or the fake does not model it). A test does not ask for a scenario that is not
    /// supported.
    fn scenario_support(&self, scenario: Scenario) -> Result<(), String> {
        Err(format!("{scenario:?} is not implemented by this fake"))
    }

    /// Plays `scenario` on the payment `payment_key` at the PG, sending the webhooks the PG
    /// sends for it. Fails when the payment is not in a state the scenario starts from.
    fn play(&self, scenario: Scenario, payment_key: &str) -> Result<(), DriverError> {
        let _ = payment_key;
        Err(DriverError::new(format!(
            "{scenario:?} is not implemented by this fake"
        )))
    }

    /// For a PG whose virtual accounts are chosen in the payment window (no server API issues
    /// them): the customer authenticates a virtual-account payment for `order_id`, and the
    /// returned key is confirmed by the merchant to issue the account. `Err` when the fake
    /// cannot ([`virtual_account_in_window`](RunningFake::virtual_account_in_window) says why).
    fn authenticate_virtual_account(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError> {
        let _ = (order_id, amount);
        Err(DriverError::new(
            "this fake issues no virtual account from its payment window",
        ))
    }

    /// Whether [`authenticate_virtual_account`](RunningFake::authenticate_virtual_account)
    /// works; `Err` says why not.
    fn virtual_account_in_window(&self) -> Result<(), String> {
        Err("this fake issues no virtual account from its payment window".to_owned())
    }

    /// The PG's part of the demo storefront (`hanpay demo --browser`): its checkout page
    /// against this fake's SDK stand-in and the returns from its payment window. `None` when
    /// the fake has no browser checkout.
    fn storefront(&self) -> Option<Box<dyn Storefront>> {
        None
    }

    /// For a PG that announces a virtual account's deposit with a webhook of its own besides
    /// its status change (Toss's `DEPOSIT_CALLBACK`): waits up to `within` until the merchant
    /// answered that webhook for the deposit into `order_id`'s account with a 2xx. `None` when
    /// the PG sends no such webhook; `Err` when it was not answered in time.
    async fn second_deposit_webhook(
        &self,
        order_id: &str,
        within: Duration,
    ) -> Option<Result<SecondDepositWebhook, String>> {
        let _ = (order_id, within);
        None
    }

    /// For PG-specific extras (downcast to the concrete fake).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The second webhook a PG sends for a virtual account's deposit
/// ([`RunningFake::second_deposit_webhook`]), as the merchant answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondDepositWebhook {
    /// The PG's name for it (`DEPOSIT_CALLBACK`).
    pub event: String,
    /// Its hanpay dedupe id.
    pub dedupe_id: String,
    /// How it proves itself to the merchant (`unsigned, carries the payment's secret`).
    pub proof: &'static str,
    /// The PG's other webhook for the same deposit, as a phrase (`Toss's
    /// PAYMENT_STATUS_CHANGED`).
    pub other: &'static str,
}

/// A rare move a fake PG can be asked to make ([`RunningFake::play`]), beyond what the
/// customer and the merchant do. Each fake documents, in its own module, whether its PG
/// documents the move or whether it is a sandbox scenario.
// Exhaustive on purpose: a new scenario makes every fake decide whether it plays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// The PG fails a payment the customer authenticated but that was not approved yet
    /// (hanpay `Failed`).
    FailPayment,
    /// The confirm window of an authenticated payment passes (hanpay `Expired`).
    ExpirePayment,
    /// The PG fails a waiting virtual account (hanpay `WaitingForDeposit → Failed`).
    FailWaitingAccount,
    /// The deposit deadline of a waiting virtual account passes (hanpay `Expired`, or no
    /// status change where the PG keeps it waiting).
    ExpireWaitingAccount,
    /// A payment that failed or expired is approved late: paid, with its approval time set,
    /// and the PG's paid webhook sent (hanpay `Failed`/`Expired → Paid`).
    ApproveLate,
    /// The deposit into a virtual account is reversed: the payment waits for a deposit again
    /// (hanpay `Paid → WaitingForDeposit`).
    ReverseDeposit,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 6] = [
        Scenario::FailPayment,
        Scenario::ExpirePayment,
        Scenario::FailWaitingAccount,
        Scenario::ExpireWaitingAccount,
        Scenario::ApproveLate,
        Scenario::ReverseDeposit,
    ];
}

/// How `hanpay sandbox` starts a fake.
#[derive(Clone)]
pub struct SandboxOptions {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its webhooks go.
    pub webhook_urls: Vec<String>,
    /// Redelivery speed-up: each of the PG's delays is divided by this (1 = real time).
    pub time_scale: u32,
    /// `(name, value)`: this fake's own [`options`](FakePlugin::options), already checked.
    pub options: Vec<(String, String)>,
}

impl std::fmt::Debug for SandboxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Option values may be secrets (a relay secret): names only.
        f.debug_struct("SandboxOptions")
            .field("addr", &self.addr)
            .field("webhook_urls", &self.webhook_urls)
            .field("time_scale", &self.time_scale)
            .field(
                "options",
                &self.options.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SandboxOptions {
    /// The last value given for option `name`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether boolean option `name` is on (`true`, `1`, `yes`).
    pub fn flag(&self, name: &str) -> bool {
        self.option(name)
            .is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes" | "on"))
    }
}

/// A fake started for the sandbox, with what an application needs to use it.
pub struct SandboxFake {
    /// The fake.
    pub fake: Box<dyn RunningFake>,
    /// Every variable an application sets to use it: API and webhook verification.
    pub env: Vec<(&'static str, String)>,
    /// The banner's section for it: how its webhooks are signed, and the control API.
    pub guide: String,
}

/// What `hanpay webhook send` asks a fake to build.
#[derive(Clone, Default)]
pub struct SampleEvent {
    /// The PG's event name.
    pub event: String,
    /// The signing secret (or, for a per-payment secret event, the payment's secret).
    pub secret: Option<String>,
    /// The payment key / id.
    pub payment_id: Option<String>,
    /// The order id.
    pub order_id: Option<String>,
    /// The status the event announces.
    pub status: Option<String>,
    /// The amount, in won.
    pub amount: i64,
}

/// A built webhook: headers and the exact body.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    /// Headers to send.
    pub headers: HeaderMap,
    /// The exact body.
    pub body: String,
}

impl SampleRequest {
    /// A JSON body with `content-type: application/json`.
    pub fn json(body: String) -> SampleRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        SampleRequest { headers, body }
    }

    /// Adds a header.
    pub fn header(&mut self, name: &'static str, value: &str) -> Result<(), String> {
        let value =
            http::HeaderValue::from_str(value).map_err(|_| format!("invalid value for {name}"))?;
        self.headers
            .insert(http::HeaderName::from_static(name), value);
        Ok(())
    }
}

/// The sender addresses the sandbox's webhooks come from, for the apps' allowlists.
pub const LOOPBACK_ALLOWLIST: &str = "127.0.0.1,::1";
