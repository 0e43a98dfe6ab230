//! `FakeToss`: a wire-faithful fake of the Toss Payments `/v1` API on loopback.
//!
//! Written against `shared/reference/tosspayments.md`, not against any client's types: the same
//! paths, JSON field names, `{code, message}` error bodies and HTTP statuses as Toss.
//!
//! - **Auth**: `Authorization: Basic base64("{secretKey}:")`; a missing colon is
//!   `403 INCORRECT_BASIC_AUTH_FORMAT`, anything but a `test_sk_`/`test_gsk_` key is
//!   `401 UNAUTHORIZED_KEY`; in strict mode ([`FakeTossBuilder::secret_key`]) so is any key
//!   but the configured ones.
//! - **Idempotency**: the first answer for (secret key, method, path, `Idempotency-Key`) is
//!   replayed, errors included; `409 IDEMPOTENT_REQUEST_PROCESSING` while it is in flight.
//!   `FORBIDDEN_CONSECUTIVE_REQUEST` is a rejection before processing and is not bound to the key.
//! - **Business rules**: confirm amount must equal the session's (`INVALID_REQUEST`); second
//!   confirm `ALREADY_PROCESSED_PAYMENT`; expired session `404 NOT_FOUND_PAYMENT_SESSION`; cancel
//!   above the balance `403 NOT_CANCELABLE_AMOUNT`; cancel of a canceled payment
//!   `ALREADY_CANCELED_PAYMENT`; partial cancel before deposit
//!   `403 NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT`; a deposited virtual account needs
//!   `refundReceiveAccount` (`INVALID_REQUIRED_PARAM`), digits only
//!   (`INVALID_REFUND_ACCOUNT_NUMBER`); fractional KRW `INVALID_REQUEST`; two cancels of one
//!   payment within the consecutive window (1 s) `403 FORBIDDEN_CONSECUTIVE_REQUEST`.
//! - **Control API** (Rust methods below, and HTTP under `/__fake/…` for the CLI sandbox):
//!   authenticated sessions, expiry, deposits, the rare moves (a failed payment or waiting
//!   account, a late approval, a reversed deposit: `/__fake/payments/{key}/fail`,
//!   `/approve-late`, `/reverse-deposit`), billing auth keys, faults, delays, recorded
//!   requests and webhook attempts.
//! - **Payment window** (`/__window/toss`, with the widget stand-in at `/sdk/toss.js`): the
//!   browser half of checkout, redirecting to `successUrl`/`failUrl` as Toss does; see the
//!   `window` module's routes (card, virtual account, decline, close; expiry after
//!   [`FakeTossBuilder::window_expiry`]).
//! - **Webhooks**: `PAYMENT_STATUS_CHANGED` (and `DEPOSIT_CALLBACK` for virtual accounts) on each
//!   status change, with the `tosspayments-webhook-transmission-*` headers, redelivered on Toss's
//!   schedule ([`redelivery_schedule`]) scaled by
//!   [`FakeTossBuilder::time_scale`], same transmission id, `retried-count` incremented.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hanpay_tosspayments_fake::{FakeToss, SessionMethod};
//! let fake = FakeToss::start().await?;
//! let payment_key = fake
//!     .create_session("order-0001", 15_000, SessionMethod::Card)
//!     .expect("session");
//! // Point a Toss client at `fake.base_url()` with `FakeToss::SECRET_KEY` and confirm it.
//! # let _ = payment_key; Ok(()) }
//! ```
#![forbid(unsafe_code)]

/// The PG's id, as its hanpay plugin names it. The fake is written from the PG's documentation
/// and cannot read `hanpay-tosspayments`'s; the facade's registration line checks at compile time that
/// the two are equal.
pub const ID: &str = "tosspayments";

pub mod plugin;
pub use plugin::FAKE;
mod routes;
mod sample;
mod state;
mod storefront;
mod webhook;
mod window;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

pub use routes::{Delay, Fault, RecordedRequest};
pub use state::{SessionMethod, TossError};
pub use webhook::SentWebhook;

use routes::Shared;
use webhook::WebhookConfig;

use hanpay_fake::delivery::{DeliveryLog, TimeScale};

/// Toss Payments' webhook redelivery schedule, as the fake replays it (written from Toss's
/// documentation; `hanpay-tosspayments`' tests check it equals the schedule the provider crate
/// publishes for the pipeline): 7 resends after 1, 4, 16, 64, 256, 1024 and 4096 minutes; only
/// 200 stops it.
pub fn redelivery_schedule() -> hanpay_core::webhook::RedeliverySchedule {
    use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop};
    RedeliverySchedule::new(
        ID,
        [1, 4, 16, 64, 256, 1024, 4096]
            .into_iter()
            .map(|m| Duration::from_secs(m * 60))
            .collect(),
        false,
        RedeliveryStop::Only200,
    )
}

/// A whole Toss `Payment` object in `status` (`DONE`, `CANCELED`, `PARTIAL_CANCELED`,
/// `WAITING_FOR_DEPOSIT`, `IN_PROGRESS`, `READY`, `ABORTED`, `EXPIRED`) for `order_id` and
/// `amount` won, made by the fake's own operations and named `payment_key`: what the fake's
/// `GET /v1/payments/{paymentKey}` and its webhooks would carry.
pub fn sample_payment(
    payment_key: &str,
    order_id: &str,
    amount: i64,
    status: &str,
) -> Result<Value, TossError> {
    state::sample_payment(payment_key, order_id, amount, status)
}

/// The `PAYMENT_STATUS_CHANGED` body the fake sends for `payment`: `eventType`, `createdAt`
/// (KST, microseconds, no offset) and the whole Payment object as `data`.
pub fn payment_status_changed_body(payment: &Value) -> String {
    webhook::payment_status_changed(payment)
}

/// Configures and starts a [`FakeToss`].
#[derive(Debug, Clone)]
pub struct FakeTossBuilder {
    targets: Vec<String>,
    scale: TimeScale,
    security_key: Option<String>,
    relay_secret: Option<String>,
    consecutive_cancel_window: Duration,
    deposit_callback: bool,
    accepted_keys: Vec<String>,
    window_expiry: Duration,
}

impl Default for FakeTossBuilder {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            scale: TimeScale::default(),
            security_key: None,
            relay_secret: None,
            consecutive_cancel_window: Duration::from_secs(1),
            deposit_callback: true,
            accepted_keys: Vec::new(),
            window_expiry: Duration::from_secs(600),
        }
    }
}

impl FakeTossBuilder {
    /// Adds a URL webhooks are POSTed to.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.targets.push(url.into());
        self
    }

    /// How much faster than Toss the redelivery schedule runs (default: a minute becomes a
    /// millisecond, so the 7 resends take about 5.5 s instead of 3.8 days).
    pub fn time_scale(mut self, scale: TimeScale) -> Self {
        self.scale = scale;
        self
    }

    /// Signs webhooks with `tosspayments-webhook-signature` using this 64-hex-char security key.
    pub fn security_key(mut self, key: impl Into<String>) -> Self {
        self.security_key = Some(key.into());
        self
    }

    /// Adds `x-tosspayments-signature` (base64 HMAC-SHA256 of the body) with this secret.
    pub fn relay_secret(mut self, secret: impl Into<String>) -> Self {
        self.relay_secret = Some(secret.into());
        self
    }

    /// The window in which a second cancel of one payment is refused (default 1 s, as Toss).
    pub fn consecutive_cancel_window(mut self, window: Duration) -> Self {
        self.consecutive_cancel_window = window;
        self
    }

    /// Whether `DEPOSIT_CALLBACK` is sent for virtual accounts (default `true`).
    pub fn deposit_callback(mut self, enabled: bool) -> Self {
        self.deposit_callback = enabled;
        self
    }

    /// Strict keys: accept only `secret_key` (repeatable, for several keys), as Toss accepts
    /// only the merchant's own keys; any other key gets `401 UNAUTHORIZED_KEY`. Without it,
    /// any `test_sk_…`/`test_gsk_…` key is accepted.
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.accepted_keys.push(secret_key.into());
        self
    }

    /// How long a payment authenticated in the payment window (`/__window/toss`) waits for
    /// confirm before it expires (`EXPIRED`, confirm answers `NOT_FOUND_PAYMENT_SESSION`).
    /// Default 10 minutes, Toss's confirm window (reference §2); shorten it for the sandbox.
    pub fn window_expiry(mut self, after: Duration) -> Self {
        self.window_expiry = after;
        self
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and starts serving.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<FakeToss> {
        let shared = Arc::new(Shared::new(
            self.consecutive_cancel_window,
            WebhookConfig {
                targets: self.targets,
                security_key: self.security_key,
                relay_secret: self.relay_secret,
                send_deposit_callback: self.deposit_callback,
            },
            self.scale,
            self.accepted_keys,
            self.window_expiry,
        ));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = routes::router(Arc::clone(&shared), window::routes());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "fake toss server stopped");
            }
        });
        Ok(FakeToss { addr, shared, task })
    }

    /// Starts on `127.0.0.1:0`.
    pub async fn start(self) -> std::io::Result<FakeToss> {
        self.bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }
}

/// A running fake Toss Payments server. Stops when dropped.
pub struct FakeToss {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeToss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeToss")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for FakeToss {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeToss {
    /// A secret key the fake accepts (in lenient mode any `test_sk_…`/`test_gsk_…` key works;
    /// the sandbox accepts only this one).
    pub const SECRET_KEY: &'static str = "test_sk_fakeTossSecretKey0000000";

    /// A builder with defaults.
    pub fn builder() -> FakeTossBuilder {
        FakeTossBuilder::default()
    }

    /// Starts a fake with defaults on `127.0.0.1:0`.
    pub async fn start() -> std::io::Result<FakeToss> {
        FakeTossBuilder::default().start().await
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the base URL a Toss client should use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays the customer: authenticates a payment for `order_id` and `amount` (KRW) in the
    /// widget and returns the `paymentKey` the successUrl would carry (status `IN_PROGRESS`).
    pub fn create_session(
        &self,
        order_id: &str,
        amount: i64,
        method: SessionMethod,
    ) -> Result<String, TossError> {
        let r = self
            .shared
            .lock()
            .office
            .create_session(order_id, amount, method, "테스트 주문");
        self.shared.bump();
        r
    }

    /// Lets the session expire: a later confirm gets `NOT_FOUND_PAYMENT_SESSION` and the payment
    /// reads `EXPIRED`. On a waiting virtual account it sets `expired` (no status change, no
    /// webhook, as Toss).
    pub fn expire_session(&self, payment_key: &str) -> Result<(), TossError> {
        let r = self.shared.lock().office.expire(payment_key);
        r.map(|(_, changes)| self.shared.announce(changes))
    }

    /// Plays the customer depositing into a waiting virtual account.
    pub fn deposit(&self, payment_key: &str) -> Result<(), TossError> {
        let r = self.shared.lock().office.deposit(payment_key);
        r.map(|(_, changes)| self.shared.announce(changes))
    }

    /// The PG fails the payment (sandbox scenario): an authenticated one (`IN_PROGRESS`) or a
    /// waiting virtual account becomes `ABORTED`; the webhooks are sent.
    pub fn fail_payment(&self, payment_key: &str) -> Result<(), TossError> {
        let r = self.shared.lock().office.fail(payment_key);
        r.map(|(_, changes)| self.shared.announce(changes))
    }

    /// A payment that ended `ABORTED` or `EXPIRED` is approved late (sandbox scenario): `DONE`
    /// with `approvedAt`, and `PAYMENT_STATUS_CHANGED` sent.
    pub fn approve_late(&self, payment_key: &str) -> Result<(), TossError> {
        let r = self.shared.lock().office.approve_late(payment_key);
        r.map(|(_, changes)| self.shared.announce(changes))
    }

    /// The deposit into a virtual account is reversed (Toss: `DONE → WAITING_FOR_DEPOSIT` on a
    /// deposit error); the webhooks are sent.
    pub fn reverse_deposit(&self, payment_key: &str) -> Result<(), TossError> {
        let r = self.shared.lock().office.reverse_deposit(payment_key);
        r.map(|(_, changes)| self.shared.announce(changes))
    }

    /// How many webhooks the fake has sent so far (first attempts, one per event and URL).
    pub fn webhooks_sent(&self) -> usize {
        self.shared.lock().outbox.sent().len()
    }

    /// A one-time billing `authKey` for `customer_key` (what the billing successUrl carries).
    pub fn billing_auth_key(&self, customer_key: &str) -> String {
        self.shared.lock().office.billing_auth(customer_key)
    }

    /// Makes the next matching API requests fail.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.add_fault(fault);
    }

    /// Delays the answers of the next `times` API requests whose path contains `path_contains`
    /// (any path when `None`). The operation itself takes effect immediately.
    pub fn delay_next(&self, delay: Duration, times: u32, path_contains: Option<&str>) {
        self.shared.add_delay(Delay {
            millis: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            times,
            path_contains: path_contains.map(str::to_owned),
        });
    }

    /// Overrides the `Content-Type` of API answers (e.g. `application/json;charset=EUC-KR`, to
    /// check that clients decode UTF-8 whatever the header says). `None` restores the default.
    pub fn set_content_type(&self, content_type: Option<&str>) {
        self.shared
            .set_content_type(content_type.map(str::to_owned));
    }

    /// Every API request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every webhook the fake sent (bodies and transmission ids).
    pub fn sent_webhooks(&self) -> Vec<SentWebhook> {
        self.shared.lock().outbox.sent().to_vec()
    }

    /// The log of every webhook delivery attempt (with headers and answers); wait on it with
    /// [`DeliveryLog::wait_until`].
    pub fn webhook_log(&self) -> DeliveryLog {
        self.shared.dispatcher.log().clone()
    }

    /// The payment as Toss would return it, if it exists.
    pub fn payment_json(&self, payment_key: &str) -> Option<Value> {
        self.shared
            .lock()
            .office
            .payment(payment_key)
            .map(state::FakePayment::to_json)
    }

    /// The payment key of the payment for `order_id`.
    pub fn payment_key_for_order(&self, order_id: &str) -> Option<String> {
        self.shared
            .lock()
            .office
            .payments()
            .find(|p| p.order_id == order_id)
            .map(|p| p.payment_key.clone())
    }

    /// Waits until `condition` holds, re-checking whenever the fake's state changes (requests,
    /// control calls, webhook attempts). Wrap it in a timeout in tests.
    pub async fn wait_until(&self, condition: impl Fn(&FakeToss) -> bool) {
        let mut rx = self.shared.changed.subscribe();
        loop {
            if condition(self) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use base64::Engine as _;

    async fn get_with_key(fake: &FakeToss, key: &str) -> (u16, Value) {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        let res = reqwest::Client::new()
            .get(format!("{}/v1/payments/tgen_unknown", fake.base_url()))
            .header("authorization", format!("Basic {auth}"))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    #[tokio::test]
    async fn strict_mode_accepts_only_the_configured_key() {
        let strict = FakeToss::builder()
            .secret_key(FakeToss::SECRET_KEY)
            .start()
            .await
            .unwrap();
        let (status, body) = get_with_key(&strict, FakeToss::SECRET_KEY).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND_PAYMENT"))
        );
        let (status, body) = get_with_key(&strict, "test_sk_someOtherMerchantsKey0000").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHORIZED_KEY"))
        );
        assert!(body["message"].is_string());

        let lenient = FakeToss::start().await.unwrap();
        let (status, _) = get_with_key(&lenient, "test_sk_someOtherMerchantsKey0000").await;
        assert_eq!(status, 404, "lenient: any test key");
    }
}
