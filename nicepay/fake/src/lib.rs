//! `FakeNicePay`: a wire-faithful fake of the NICEPAY Start API (`/v1`, Server 승인) on
//! loopback.
//!
//! Written against `shared/reference/nicepay.md`, not against any client's types (this crate
//! does not depend on `hanpay-nicepay`):
//!
//! - **Auth** (§1): `Authorization: Basic base64("{clientId}:{secretKey}")`, both parts. No
//!   header or no colon: `401 U304`; bad base64: `401 U101`; a wrong id or key: `401 U104`.
//! - **Answers** (§5.1): business failures are **HTTP 200** with `resultCode != "0000"`; every
//!   success is `resultCode: "0000"` and a Payment object (§4) with `ediDate` and
//!   `signature = hex(sha256(tid + amount + ediDate + SecretKey))`, dates as
//!   `2021-11-05T17:14:35.150+0900` and `"0"` when unset.
//! - **Approve** `POST /v1/payments/{tid}` `{amount}` (a number, or a digit string as the Java
//!   sample sends): the amount must equal the authenticated one (`A123`); a tid approves once
//!   (`U114`); an `orderId` is paid once (`U112`); an unknown tid is `U121`. A `vbank` window
//!   approves to `ready` with a `vbank{}` object.
//! - **Lookups**: `GET /v1/payments/{tid}` (`U107`), `GET /v1/payments/find/{orderId}` with the
//!   required `orderDate=YYYYMMDD` of the day (KST) the payment started (`U100`, `P024`,
//!   `U126`).
//! - **Cancel** `POST /v1/payments/{tid}/cancel` `{reason, orderId, cancelAmt?, refund*}`:
//!   `cancelAmt` absent = the whole balance; above the balance `2032`; a cancelled payment
//!   `2013`; a partial cancel cannot reuse an `orderId` (`U112`); a waiting vbank cancels in full
//!   only (`2028`); a deposited vbank needs `refundAccount` (digits), `refundBankCode` (3
//!   digits) and `refundHolder` (`U100`/`P010`). The answer carries `cancelledTid`, the new
//!   `cancels[]` entry's `tid`.
//! - **Net cancel** `POST /v1/payments/netcancel` `{orderId}` within the window after approval
//!   (1 h; [`FakeNicePayBuilder::net_cancel_window`]), `2020` after it.
//! - **Billing**: `/v1/subscribe/regist` (`encData` must be hex in AES blocks; it is not
//!   decrypted), `/v1/subscribe/{bid}/payments`, `/v1/subscribe/{bid}/expire` (`U309`, `U115`).
//! - **Faults** ([`Fault`]): a 500 before or after processing, an answer held back past the
//!   client's read timeout, or a chosen `resultCode`.
//! - **Webhooks** (§6.2): the Payment object POSTed to each URL after approve, vbank issue,
//!   deposit and cancel; received only on HTTP 200 with body `OK`. NICEPAY documents no
//!   automatic redelivery, so there is none; [`FakeNicePay::resend_webhook`] is the console's
//!   manual resend.
//! - **Payment window** (`/__window/nicepay`, with the window script stand-in at
//!   `/sdk/nicepay.js`): the browser half of checkout, POSTing the authentication to the
//!   `returnUrl` as NICEPAY does (see the `window` module).
//! - **Control API**: the methods below, and over HTTP under `/__fake/…` (see the `control`
//!   module).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hanpay_nicepay_fake::{FakeNicePay, WindowMethod};
//! let fake = FakeNicePay::start().await?;
//! let auth = fake.authenticate("order-0001", 15_000, WindowMethod::Card).expect("window");
//! // Point a NICEPAY client at `fake.base_url()` with `FakeNicePay::CLIENT_ID` /
//! // `FakeNicePay::SECRET_KEY` and approve `auth.tid` for 15,000원.
//! # let _ = auth; Ok(()) }
//! ```
#![forbid(unsafe_code)]

/// The PG's id, as its hanpay plugin names it. The fake is written from the PG's documentation
/// and cannot read `hanpay-nicepay`'s; the facade's registration line checks at compile time that
/// the two are equal.
pub const ID: &str = "nicepay";

mod control;
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

pub use routes::{Fault, RecordedRequest};
pub use state::{Authenticated, NiceError, WindowMethod};
pub use webhook::SentWebhook;

use routes::Shared;
use webhook::Outbox;

/// Configures and starts a [`FakeNicePay`].
#[derive(Debug, Clone)]
pub struct FakeNicePayBuilder {
    client_id: String,
    secret_key: String,
    targets: Vec<String>,
    net_cancel_window: Duration,
}

impl Default for FakeNicePayBuilder {
    fn default() -> Self {
        FakeNicePayBuilder {
            client_id: FakeNicePay::CLIENT_ID.to_owned(),
            secret_key: FakeNicePay::SECRET_KEY.to_owned(),
            targets: Vec::new(),
            net_cancel_window: Duration::from_secs(3600),
        }
    }
}

impl FakeNicePayBuilder {
    /// The client key the fake accepts.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The secret key the fake accepts and signs with.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = key.into();
        self
    }

    /// Adds a URL webhooks are POSTed to.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.targets.push(url.into());
        self
    }

    /// How long after approval a net cancel is accepted (default 1 hour, as NICEPAY).
    pub fn net_cancel_window(mut self, window: Duration) -> Self {
        self.net_cancel_window = window;
        self
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and starts serving.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<FakeNicePay> {
        let shared = Arc::new(Shared::new(
            self.client_id,
            self.secret_key,
            self.net_cancel_window,
            Outbox::new(self.targets),
        ));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = control::router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "fake nicepay server stopped");
            }
        });
        Ok(FakeNicePay { addr, shared, task })
    }

    /// Starts on `127.0.0.1:0`.
    pub async fn start(self) -> std::io::Result<FakeNicePay> {
        self.bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }
}

/// A running fake NICEPAY server. Stops when dropped.
pub struct FakeNicePay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeNicePay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNicePay")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for FakeNicePay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeNicePay {
    /// The default client key (the manual's sandbox example).
    pub const CLIENT_ID: &'static str = "S2_af4543a0be4d49a98122e01ec2059a56";
    /// The default secret key (the manual's sandbox example).
    pub const SECRET_KEY: &'static str = "9eb85607103646da9f9c02b128f2e5ee";

    /// A builder with defaults.
    pub fn builder() -> FakeNicePayBuilder {
        FakeNicePayBuilder::default()
    }

    /// Starts a fake with defaults on `127.0.0.1:0`.
    pub async fn start() -> std::io::Result<FakeNicePay> {
        FakeNicePayBuilder::default().start().await
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the base URL a NICEPAY client should use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays the customer in the payment window: authenticates `amount` won for `order_id` and
    /// returns what the returnUrl POST carries (the `tid` to approve).
    pub fn authenticate(
        &self,
        order_id: &str,
        amount: i64,
        method: WindowMethod,
    ) -> Result<Authenticated, NiceError> {
        self.shared
            .lock()
            .office
            .authenticate(&self.shared.client_id, order_id, amount, method)
    }

    /// Plays the customer's deposit into a waiting virtual account (`ready` → `paid`), and
    /// sends the webhook.
    pub fn deposit(&self, tid: &str) -> Result<(), NiceError> {
        let r = self.shared.lock().office.deposit(tid).map(|_| ());
        if r.is_ok() {
            self.shared.announce(tid, false);
        }
        r
    }

    /// Lets a waiting virtual account expire (`ready` → `expired`), and sends the webhook.
    pub fn expire(&self, tid: &str) -> Result<(), NiceError> {
        let r = self.shared.lock().office.expire(tid).map(|_| ());
        if r.is_ok() {
            self.shared.announce(tid, false);
        }
        r
    }

    /// Sandbox scenario: the PG fails a waiting virtual account (`ready` → `failed`), and
    /// sends the webhook.
    pub fn fail(&self, tid: &str) -> Result<(), NiceError> {
        self.change(tid, |office| office.fail(tid).map(|_| ()))
    }

    /// Sandbox scenario: a `failed` or `expired` payment is approved late (`paid`, `paidAt`
    /// set), and the webhook is sent as for a normal approval.
    pub fn approve_late(&self, tid: &str) -> Result<(), NiceError> {
        self.change(tid, |office| office.approve_late(tid).map(|_| ()))
    }

    /// Sandbox scenario: the deposit into a virtual account is reversed (`paid` → `ready`),
    /// and the webhook is sent.
    pub fn reverse_deposit(&self, tid: &str) -> Result<(), NiceError> {
        self.change(tid, |office| office.reverse_deposit(tid).map(|_| ()))
    }

    fn change(
        &self,
        tid: &str,
        f: impl FnOnce(&mut state::Office) -> Result<(), NiceError>,
    ) -> Result<(), NiceError> {
        let r = f(&mut self.shared.lock().office);
        if r.is_ok() {
            self.shared.announce(tid, false);
        }
        r
    }

    /// How many webhooks the fake has sent so far (one per event and URL, counted when sent;
    /// [`sent_webhooks`](Self::sent_webhooks) lists the attempts once answered).
    pub fn webhooks_sent(&self) -> usize {
        self.shared.outbox.started()
    }

    /// Plays the console's manual 재전송: sends the payment's current state again.
    pub fn resend_webhook(&self, tid: &str) {
        self.shared.announce(tid, false);
    }

    /// Injects `fault` into the next `times` API requests whose path contains
    /// `path_contains` (any API request when `None`).
    pub fn fail_next(&self, fault: Fault, path_contains: Option<&str>, times: u32) {
        self.shared
            .add_fault(fault, None, path_contains.map(str::to_owned), times);
    }

    /// Like [`FakeNicePay::fail_next`], for requests of one HTTP `method` only (`"GET"`,
    /// `"POST"`): e.g. lookups failing while cancels work.
    pub fn fail_next_method(
        &self,
        method: &str,
        fault: Fault,
        path_contains: Option<&str>,
        times: u32,
    ) {
        self.shared.add_fault(
            fault,
            Some(method.to_owned()),
            path_contains.map(str::to_owned),
            times,
        );
    }

    /// Overrides the `Content-Type` of API answers (e.g. `application/json;charset=EUC-KR`, to
    /// check that clients decode UTF-8 whatever the header says). `None` restores the default.
    pub fn set_content_type(&self, content_type: Option<&str>) {
        self.shared
            .set_content_type(content_type.map(str::to_owned));
    }

    /// Removes every injected fault not yet used.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Every API request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// How many `POST /v1/payments/{tid}/cancel` requests reached the fake.
    pub fn cancel_requests(&self, tid: &str) -> usize {
        let path = format!("/v1/payments/{tid}/cancel");
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .count()
    }

    /// The payment as `GET /v1/payments/{tid}` would return it.
    pub fn payment_json(&self, tid: &str) -> Option<Value> {
        self.shared
            .lock()
            .office
            .payment(tid)
            .map(|p| p.to_json(&self.shared.secret_key, false))
    }

    /// The tid of the payment for `order_id`, if one was approved.
    pub fn tid_for_order(&self, order_id: &str) -> Option<String> {
        self.shared
            .lock()
            .office
            .payments()
            .find(|p| p.order_id == order_id)
            .map(|p| p.tid.clone())
    }

    /// The status string of the payment `tid` (`"paid"`, `"cancelled"`, …).
    pub fn status(&self, tid: &str) -> Option<String> {
        self.shared
            .lock()
            .office
            .payment(tid)
            .map(|p| p.status.to_owned())
    }

    /// Every webhook attempt so far, with its answer.
    pub fn sent_webhooks(&self) -> Vec<SentWebhook> {
        self.shared.outbox.sent()
    }

    /// Waits until at least `count` webhook attempts were made, or `timeout` passes.
    pub async fn wait_for_webhooks(&self, count: usize, timeout: Duration) -> Vec<SentWebhook> {
        self.shared.outbox.wait_for(count, timeout).await
    }
}
