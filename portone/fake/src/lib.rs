//! [`FakePortOne`]: a PortOne V2 API server on `127.0.0.1:0`, written from PortOne's OpenAPI
//! (as summarised in `shared/reference/portone.md`), never from the client crate's types.
//!
//! What it speaks:
//! - `GET /payments/{paymentId}`, `POST /payments/{paymentId}/cancel`, `/pre-register`,
//!   `/confirm` (수동 승인), `/billing-key` and `/instant` (virtual accounts), camelCase JSON;
//! - `Authorization: PortOne <apiSecret>` (anything else → 401 `UNAUTHORIZED`);
//! - errors as `{type, message}` (plus `pgCode`/`pgMessage` for `PG_PROVIDER`) with the HTTP
//!   status the OpenAPI gives each type;
//! - `Idempotency-Key` on POSTs (an RFC 8941 string, `"…"`): a completed request is replayed,
//!   one still in flight answers 409 `IDEMPOTENCY_OUTSTANDING_REQUEST`;
//! - `currentCancellableAmount` (409 `CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN` when it differs);
//! - optionally asynchronous cancels (`REQUESTED`, completed through the control API).
//!
//! The payment window (`/__window/portone`, with the browser SDK stand-in at
//! `/sdk/portone.js`) is the browser half of checkout: the customer pays by card or virtual
//! account, or declines or closes it, and is redirected to the storefront's `redirectUrl` with
//! PortOne's parameters (see the `window` module).
//!
//! The control API plays the customer and PortOne: pay with a card or easy pay (approved in
//! the browser, or left for a manual confirm), issue and fund a virtual account, fail a
//! payment, register billing keys, fail or delay the next requests. It is available as Rust
//! methods on [`FakePortOne`] and, for the CLI sandbox and other languages, over HTTP under
//! `/__fake/…` on the same address (see the `control` module: `POST
//! /__fake/payments/{paymentId}/pay`, `/authenticate`, `/virtual-account`, `/deposit`,
//! `/fail`, `/complete-cancellations`; `GET /__fake/payments/{paymentId}`; `POST
//! /__fake/faults`, `/__fake/delays`, `/__fake/billing-keys`, `/__fake/async-cancel`). State
//! changes send
//! `2024-04-25` webhooks to the configured URLs, signed with Standard Webhooks (fresh
//! `webhook-timestamp` per attempt, the same `webhook-id`) and redelivered by the testkit's
//! [`WebhookDispatcher`] on PortOne V2's schedule (up to 5 resends, at most 1, 4, 16, 64 and
//! 256 minutes apart with seeded full jitter; any 2xx stops it; each receiver gets 30 s to
//! connect and 30 s to read), sped up by a [`TimeScale`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hanpay_portone_fake::{FakePortOne, PayMethod};
//! let fake = FakePortOne::builder().start().await?;
//! fake.pay("order-0001", 10_000, "KRW", "셔츠", PayMethod::Card).expect("paid");
//! // point the PortOne client at fake.base_url() with fake.api_secret()
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

/// The PG's id, as its hanpay plugin names it. The fake is written from the PG's documentation
/// and cannot read `hanpay-portone`'s; the facade's registration line checks at compile time that
/// the two are equal.
pub const ID: &str = "portone";

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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

pub use self::state::{status_for_error_type, PayMethod};

use hanpay_fake::delivery::{
    Delivery, DeliveryLog, ReceiverTimeouts, TimeScale, WebhookDispatcher,
};

use self::routes::IdempotencyStore;
use self::state::{ApiError, PendingWebhook, State};

/// How long PortOne V2 waits for a webhook receiver: 30 seconds to connect and 30 seconds to
/// read (PortOne's webhook guide).
pub const RECEIVER_TIMEOUTS: ReceiverTimeouts = ReceiverTimeouts {
    connect: Duration::from_secs(30),
    read: Duration::from_secs(30),
    total: None,
};

/// PortOne V2's webhook redelivery schedule, as the fake replays it (written from PortOne's
/// documentation; `hanpay-portone`'s tests check it equals the provider crate's): 5 resends after
/// at most 1, 4, 16, 64 and 256 minutes (full jitter); any 2xx stops it.
pub fn redelivery_v2() -> RedeliverySchedule {
    RedeliverySchedule::new(
        "portone-v2",
        [1, 4, 16, 64, 256]
            .into_iter()
            .map(|m| Duration::from_secs(m * 60))
            .collect(),
        true,
        RedeliveryStop::Any2xx,
    )
}

/// PortOne V1's webhook redelivery schedule: 5 resends one minute apart, only after a 5xx or a
/// network error.
pub fn redelivery_v1() -> RedeliverySchedule {
    RedeliverySchedule::new(
        "portone-v1",
        vec![Duration::from_secs(60); 5],
        false,
        RedeliveryStop::Below500,
    )
}

/// An API operation of the fake, to scope injected faults and read the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `GET /payments/{paymentId}`.
    GetPayment,
    /// `POST /payments/{paymentId}/cancel`.
    Cancel,
    /// `POST /payments/{paymentId}/pre-register`.
    PreRegister,
    /// `POST /payments/{paymentId}/confirm`.
    Confirm,
    /// `POST /payments/{paymentId}/billing-key`.
    BillingKeyPayment,
    /// `POST /payments/{paymentId}/instant`.
    InstantPayment,
}

impl Operation {
    fn path_suffix(self) -> &'static str {
        match self {
            Operation::GetPayment => "",
            Operation::Cancel => "/cancel",
            Operation::PreRegister => "/pre-register",
            Operation::Confirm => "/confirm",
            Operation::BillingKeyPayment => "/billing-key",
            Operation::InstantPayment => "/instant",
        }
    }
}

/// A fault injected into the next matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer `{type: error_type}` without processing, at `http_status` or the status the
    /// OpenAPI gives the type.
    Error {
        /// The error `type`, e.g. `PG_PROVIDER` or `INTERNAL_SERVER_ERROR`.
        error_type: String,
        /// Overrides the HTTP status (e.g. 503).
        http_status: Option<u16>,
    },
    /// Answer 502 `PG_PROVIDER` with the PG's own `pgCode` and `pgMessage`, without processing.
    PgProvider {
        /// The PG's code.
        pg_code: String,
        /// The PG's message.
        pg_message: String,
    },
    /// Process slowly: wait before processing. Meanwhile a request with the same
    /// `Idempotency-Key` is answered 409 `IDEMPOTENCY_OUTSTANDING_REQUEST`.
    DelayBeforeProcessing(Duration),
    /// Process at once, then wait before answering: a client that times out meanwhile does not
    /// know the outcome, but the work is done (and replayed for its `Idempotency-Key`).
    DelayResponse(Duration),
}

struct FaultEntry {
    scope: Option<Operation>,
    remaining: u32,
    fault: Fault,
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Which operation.
    pub operation: Operation,
    /// The (decoded) `paymentId` path segment.
    pub payment_id: String,
    /// The raw `Idempotency-Key` header, quotes included.
    pub idempotency_key: Option<String>,
    /// The `Authorization` scheme (`PortOne`, `Bearer`, …).
    pub authorization_scheme: Option<String>,
    /// The JSON body (`null` for none or invalid JSON).
    pub body: Value,
}

/// A control action PortOne refused (e.g. depositing into an account that is not waiting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct FakeError {
    /// The PortOne error `type` it would answer.
    pub error_type: String,
    /// Message.
    pub message: String,
}

impl From<ApiError> for FakeError {
    fn from(e: ApiError) -> Self {
        FakeError {
            error_type: e.error_type,
            message: e.message,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) api_secret: String,
    pub(crate) store_id: String,
    pub(crate) channel_key: String,
    pub(crate) webhook_secrets: Vec<Vec<u8>>,
    pub(crate) include_store_id: bool,
    pub(crate) jitter: bool,
    pub(crate) seed: u64,
}

/// The seed of the fake's redelivery jitter unless [`FakePortOneBuilder::redelivery_seed`]
/// sets another.
pub const DEFAULT_REDELIVERY_SEED: u64 = 0x6861_6e70_6179;

pub(crate) struct Shared {
    pub(crate) config: Config,
    runtime: Handle,
    state: Mutex<State>,
    idempotency: Mutex<IdempotencyStore>,
    faults: Mutex<Vec<FaultEntry>>,
    requests: Mutex<Vec<RecordedRequest>>,
    dispatcher: WebhookDispatcher,
    bodies: Mutex<Vec<(String, Bytes)>>,
    webhook_urls: Mutex<Vec<String>>,
    tasks: Mutex<Vec<JoinHandle<bool>>>,
    replays: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn lock_idempotency(&self) -> MutexGuard<'_, IdempotencyStore> {
        lock(&self.idempotency)
    }

    fn lock_faults(&self) -> MutexGuard<'_, Vec<FaultEntry>> {
        lock(&self.faults)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    pub(crate) fn note_replay(&self) {
        self.replays.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs a state change and sends the webhooks it produced.
    pub(crate) fn run<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut State) -> Result<(T, Vec<PendingWebhook>), ApiError>,
    ) -> Result<T, FakeError> {
        let (out, hooks) = {
            let mut state = self.lock_state();
            f(&mut state)?
        };
        self.dispatch_webhooks(hooks);
        Ok(out)
    }

    /// See [`FakePortOne::inject`].
    pub(crate) fn inject(&self, scope: Option<Operation>, times: u32, fault: Fault) {
        if times > 0 {
            self.lock_faults().push(FaultEntry {
                scope,
                remaining: times,
                fault,
            });
        }
    }

    /// See [`FakePortOne::payment`].
    pub(crate) fn payment_json(&self, payment_id: &str) -> Option<Value> {
        let state = self.lock_state();
        state
            .payments
            .get(payment_id)
            .map(|p| p.to_json(&self.config.store_id, &self.config.channel_key))
    }

    /// Sends each event to every configured URL, each delivery on its own task.
    pub(crate) fn dispatch_webhooks(self: &Arc<Self>, hooks: Vec<PendingWebhook>) {
        let urls = lock(&self.webhook_urls).clone();
        if urls.is_empty() {
            return;
        }
        let _guard = self.runtime.enter();
        let nominal = redelivery_v2();
        let schedule = RedeliverySchedule::new(
            nominal.name(),
            nominal.delays().to_vec(),
            self.config.jitter,
            nominal.stop_rule(),
        );
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        for hook in hooks {
            let body = Bytes::from(webhook::body_for(
                &hook,
                &self.config.store_id,
                self.config.include_store_id,
            ));
            let id = format!("whk_{}", uuid::Uuid::new_v4().simple());
            lock(&self.bodies).push((id.clone(), body.clone()));
            let secrets = self.config.webhook_secrets.clone();
            let headers_body = body.clone();
            let headers = Arc::new(move |_attempt: u32| {
                let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
                let mut h = HeaderMap::new();
                h.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                if let Ok(v) = HeaderValue::from_str(&id) {
                    h.insert("webhook-id", v);
                }
                h.insert("webhook-timestamp", HeaderValue::from(timestamp));
                let signature = webhook::sign(&secrets, &id, timestamp, &headers_body);
                if let Ok(v) = HeaderValue::from_str(&signature) {
                    if !signature.is_empty() {
                        h.insert("webhook-signature", v);
                    }
                }
                h
            });
            for url in &urls {
                tasks.push(self.dispatcher.dispatch(Delivery {
                    url: url.clone(),
                    body: body.clone(),
                    event: hook.kind.to_owned(),
                    schedule: schedule.clone(),
                    headers: headers.clone(),
                }));
            }
        }
    }
}

/// Configures and starts a [`FakePortOne`].
#[derive(Debug, Clone)]
pub struct FakePortOneBuilder {
    config: Config,
    webhook_urls: Vec<String>,
    async_cancel: bool,
    secret_error: Option<String>,
    scale: TimeScale,
}

impl FakePortOneBuilder {
    /// The API secret clients must send as `Authorization: PortOne <secret>`.
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.api_secret = secret.into();
        self
    }

    /// The store id (requests naming another store get 403 `FORBIDDEN`).
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.config.store_id = store_id.into();
        self
    }

    /// The channel key reported in payments.
    pub fn channel_key(mut self, key: impl Into<String>) -> Self {
        self.config.channel_key = key.into();
        self
    }

    /// Adds a URL webhooks are POSTed to.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_urls.push(url.into());
        self
    }

    /// Adds a Standard Webhooks secret (`whsec_` + base64, the prefix optional). With several,
    /// every attempt carries one `v1` signature per secret, as during a rotation. With none,
    /// webhooks go out unsigned.
    pub fn webhook_secret(mut self, secret: &str) -> Self {
        let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(key) if !key.is_empty() => self.config.webhook_secrets.push(key),
            _ => self.secret_error = Some("webhook secret is not whsec_ + base64".into()),
        }
        self
    }

    /// How much faster than PortOne the redelivery schedule runs (default: a minute becomes a
    /// millisecond).
    pub fn time_scale(mut self, scale: TimeScale) -> Self {
        self.scale = scale;
        self
    }

    /// Whether each redelivery delay is drawn uniformly from zero to the nominal one (full
    /// jitter), as PortOne does. On by default, from a seeded generator (see
    /// [`FakePortOneBuilder::redelivery_seed`]); off, resends follow the nominal delays.
    pub fn redelivery_jitter(mut self, enabled: bool) -> Self {
        self.config.jitter = enabled;
        self
    }

    /// The seed of the redelivery jitter (default [`DEFAULT_REDELIVERY_SEED`]): the same seed
    /// and the same sequence of events give the same delays on every run.
    pub fn redelivery_seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Answer cancels with a `REQUESTED` cancellation, completed later through
    /// [`FakePortOne::complete_pending_cancellations`].
    pub fn async_cancel(mut self, enabled: bool) -> Self {
        self.async_cancel = enabled;
        self
    }

    /// Leave `data.storeId` out of webhooks, as PortOne did before 2024-12-17.
    pub fn omit_store_id_in_webhooks(mut self) -> Self {
        self.config.include_store_id = false;
        self
    }

    /// Binds `127.0.0.1:0` and serves until the returned handle is dropped.
    pub async fn start(self) -> std::io::Result<FakePortOne> {
        self.bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds `addr` (e.g. a fixed sandbox port; use `127.0.0.1:0` in tests) and serves the V2
    /// API and the `/__fake/…` control API until the returned handle is dropped.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<FakePortOne> {
        if let Some(reason) = self.secret_error {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                reason,
            ));
        }
        let seed = self.config.seed;
        let shared = Arc::new(Shared {
            config: self.config,
            runtime: Handle::current(),
            state: Mutex::new(State {
                async_cancel: self.async_cancel,
                ..State::default()
            }),
            idempotency: Mutex::new(IdempotencyStore::default()),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            dispatcher: WebhookDispatcher::with_timeouts(self.scale, RECEIVER_TIMEOUTS)
                .with_seed(seed),
            bodies: Mutex::new(Vec::new()),
            webhook_urls: Mutex::new(self.webhook_urls),
            tasks: Mutex::new(Vec::new()),
            replays: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = routes::router(Arc::clone(&shared))
            .merge(control::router(Arc::clone(&shared)))
            .merge(window::router(Arc::clone(&shared)));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "fake PortOne server stopped");
            }
        });
        Ok(FakePortOne {
            shared,
            addr,
            server,
        })
    }
}

/// A running fake PortOne V2 API. Dropping it stops the server and pending deliveries.
pub struct FakePortOne {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakePortOne {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePortOne")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for FakePortOne {
    fn drop(&mut self) {
        self.server.abort();
        for task in lock(&self.shared.tasks).drain(..) {
            task.abort();
        }
    }
}

impl FakePortOne {
    /// A builder with defaults: API secret `fake-portone-api-secret`, store
    /// `store-00000000-fake`, no webhook URL, no webhook secret, synchronous cancels.
    pub fn builder() -> FakePortOneBuilder {
        FakePortOneBuilder {
            config: Config {
                api_secret: "fake-portone-api-secret".into(),
                store_id: "store-00000000-fake".into(),
                channel_key: "channel-key-fake".into(),
                webhook_secrets: Vec::new(),
                include_store_id: true,
                jitter: true,
                seed: DEFAULT_REDELIVERY_SEED,
            },
            webhook_urls: Vec::new(),
            async_cancel: false,
            secret_error: None,
            scale: TimeScale::default(),
        }
    }

    /// `http://127.0.0.1:<port>`: the base URL to point a client at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API secret the fake accepts.
    pub fn api_secret(&self) -> &str {
        &self.shared.config.api_secret
    }

    /// The store id.
    pub fn store_id(&self) -> &str {
        &self.shared.config.store_id
    }

    /// The channel key.
    pub fn channel_key(&self) -> &str {
        &self.shared.config.channel_key
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<(T, Vec<PendingWebhook>), ApiError>,
    ) -> Result<T, FakeError> {
        self.shared.run(f)
    }

    /// The customer pays in the browser and PortOne approves at once (the default flow): the
    /// payment is `PAID` and `Transaction.Paid` is sent. Fails with `INFORMATION_MISMATCH` when
    /// the amount differs from a pre-registered one.
    pub fn pay(
        &self,
        payment_id: &str,
        amount: i64,
        currency: &str,
        order_name: &str,
        method: PayMethod,
    ) -> Result<(), FakeError> {
        self.run(|s| {
            s.browser_pay(payment_id, amount, currency, order_name, &method, false)
                .map(|(_, hooks)| ((), hooks))
        })
    }

    /// The customer authenticates on a channel set to manual confirm (수동 승인): the payment
    /// stays `READY` and the returned `paymentToken` must be sent to `/confirm`.
    pub fn authenticate(
        &self,
        payment_id: &str,
        amount: i64,
        currency: &str,
        order_name: &str,
        method: PayMethod,
    ) -> Result<String, FakeError> {
        self.run(|s| {
            s.browser_pay(payment_id, amount, currency, order_name, &method, true)
                .map(|(token, hooks)| (token.unwrap_or_default(), hooks))
        })
    }

    /// The customer picks a virtual account in the browser; it is issued
    /// (`VIRTUAL_ACCOUNT_ISSUED`, valid 72 h). Returns the account number.
    pub fn issue_virtual_account(
        &self,
        payment_id: &str,
        amount: i64,
        currency: &str,
        order_name: &str,
        bank: &str,
    ) -> Result<String, FakeError> {
        self.run(|s| s.browser_virtual_account(payment_id, amount, currency, order_name, bank, 72))
    }

    /// The customer deposits into the virtual account: `PAID`, `Transaction.Paid` sent.
    pub fn deposit(&self, payment_id: &str) -> Result<(), FakeError> {
        self.run(|s| s.deposit(payment_id).map(|hooks| ((), hooks)))
    }

    /// The PG fails the payment (a `READY` one, or a waiting virtual account: PortOne documents
    /// `VIRTUAL_ACCOUNT_ISSUED → FAILED`): `FAILED`, `Transaction.Failed` sent.
    pub fn fail_payment(
        &self,
        payment_id: &str,
        reason: &str,
        pg_code: &str,
    ) -> Result<(), FakeError> {
        self.run(|s| s.fail(payment_id, reason, pg_code).map(|hooks| ((), hooks)))
    }

    /// A `FAILED` payment is approved late (as PortOne documents): `PAID` with `paidAt`,
    /// `Transaction.Paid` sent.
    pub fn approve_late(&self, payment_id: &str) -> Result<(), FakeError> {
        self.run(|s| s.approve_late(payment_id).map(|hooks| ((), hooks)))
    }

    /// Sandbox scenario: the deposit into a virtual account is reversed (`PAID →
    /// VIRTUAL_ACCOUNT_ISSUED`), `Transaction.VirtualAccountIssued` sent.
    pub fn reverse_deposit(&self, payment_id: &str) -> Result<(), FakeError> {
        self.run(|s| s.reverse_deposit(payment_id).map(|hooks| ((), hooks)))
    }

    /// Makes `billing_key` usable with `POST /payments/{id}/billing-key`.
    pub fn register_billing_key(&self, billing_key: &str) {
        self.shared
            .lock_state()
            .billing_keys
            .push(billing_key.to_owned());
    }

    /// Switches asynchronous cancels on or off.
    pub fn set_async_cancel(&self, enabled: bool) {
        self.shared.lock_state().async_cancel = enabled;
    }

    /// Completes the payment's `REQUESTED` cancellations and sends their webhooks.
    pub fn complete_pending_cancellations(&self, payment_id: &str) -> Result<(), FakeError> {
        self.run(|s| {
            s.complete_pending_cancellations(payment_id)
                .map(|h| ((), h))
        })
    }

    /// Injects `fault` into the next `times` requests of `scope` (`None`: any operation).
    pub fn inject(&self, scope: Option<Operation>, times: u32, fault: Fault) {
        self.shared.inject(scope, times, fault);
    }

    /// Fails the next `times` requests of `scope` with `error_type` at its OpenAPI status.
    pub fn fail_next(&self, scope: Option<Operation>, times: u32, error_type: &str) {
        self.inject(
            scope,
            times,
            Fault::Error {
                error_type: error_type.to_owned(),
                http_status: None,
            },
        );
    }

    /// Adds a webhook URL at run time.
    pub fn add_webhook_url(&self, url: impl Into<String>) {
        lock(&self.shared.webhook_urls).push(url.into());
    }

    /// The payment as `GET /payments/{id}` would answer it.
    pub fn payment(&self, payment_id: &str) -> Option<Value> {
        self.shared.payment_json(payment_id)
    }

    /// How many cancellations (any status) the payment has.
    pub fn cancellation_count(&self, payment_id: &str) -> usize {
        self.shared
            .lock_state()
            .payments
            .get(payment_id)
            .map_or(0, |p| p.cancellations.len())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were answered by idempotent replay.
    pub fn replays(&self) -> usize {
        self.shared.replays.load(Ordering::SeqCst)
    }

    /// The log of webhook delivery attempts (wait on it with [`DeliveryLog::wait_until`]).
    pub fn delivery_log(&self) -> &DeliveryLog {
        self.shared.dispatcher.log()
    }

    /// How long webhook receivers are waited for (PortOne's 30 s to connect and to read).
    pub fn receiver_timeouts(&self) -> ReceiverTimeouts {
        self.shared.dispatcher.timeouts()
    }

    /// The exact body sent with `webhook_id`.
    pub fn webhook_body(&self, webhook_id: &str) -> Option<Bytes> {
        lock(&self.shared.bodies)
            .iter()
            .find(|(id, _)| id == webhook_id)
            .map(|(_, body)| body.clone())
    }

    /// Every webhook sent so far: `(webhook-id, body)` in order.
    pub fn webhooks_sent(&self) -> Vec<(String, Bytes)> {
        lock(&self.shared.bodies).clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    async fn call(
        fake: &FakePortOne,
        method: reqwest::Method,
        path: &str,
        auth: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", fake.base_url()))
            .header("authorization", auth);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    #[test]
    fn portone_waits_30_seconds() {
        assert_eq!(RECEIVER_TIMEOUTS.connect, Duration::from_secs(30));
        assert_eq!(RECEIVER_TIMEOUTS.read, Duration::from_secs(30));
    }

    #[tokio::test]
    async fn speaks_the_v2_wire_format() {
        let fake = FakePortOne::builder().start().await.unwrap();
        let auth = format!("PortOne {}", fake.api_secret());
        let get = reqwest::Method::GET;
        let post = reqwest::Method::POST;

        let (s, b) = call(
            &fake,
            get.clone(),
            "/payments/x-1",
            "Bearer nope",
            None,
            None,
        )
        .await;
        assert_eq!((s, b["type"].as_str()), (401, Some("UNAUTHORIZED")));
        let (s, b) = call(&fake, get.clone(), "/payments/x-1", &auth, None, None).await;
        assert_eq!((s, b["type"].as_str()), (404, Some("PAYMENT_NOT_FOUND")));
        assert!(b["message"].is_string());

        fake.pay("order-wire-1", 10_000, "KRW", "셔츠", PayMethod::Card)
            .unwrap();
        let (s, b) = call(
            &fake,
            get.clone(),
            "/payments/order-wire-1",
            &auth,
            None,
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(b["status"], "PAID");
        assert_eq!(b["amount"]["total"], 10_000);
        assert_eq!(b["method"]["type"], "PaymentMethodCard");
        assert_eq!(b["channel"]["type"], "TEST");
        assert!(b["paidAt"].is_string());

        let (s, b) = call(
            &fake,
            post.clone(),
            "/payments/order-wire-1/cancel",
            &auth,
            None,
            Some("{"),
        )
        .await;
        assert_eq!((s, b["type"].as_str()), (400, Some("INVALID_REQUEST")));

        let body = r#"{"reason":"고객 요청","amount":3000,"currentCancellableAmount":10000}"#;
        let key = Some("\"cancel-order-wire-1-0001\"");
        let (s1, b1) = call(
            &fake,
            post.clone(),
            "/payments/order-wire-1/cancel",
            &auth,
            key,
            Some(body),
        )
        .await;
        let (s2, b2) = call(
            &fake,
            post.clone(),
            "/payments/order-wire-1/cancel",
            &auth,
            key,
            Some(body),
        )
        .await;
        assert_eq!((s1, s2), (200, 200));
        assert_eq!(b1, b2, "replayed");
        assert_eq!(b1["cancellation"]["status"], "SUCCEEDED");
        assert_eq!(fake.cancellation_count("order-wire-1"), 1);
        assert_eq!(fake.replays(), 1);
        let other = r#"{"reason":"다른 요청","amount":1000}"#;
        let (s, _) = call(
            &fake,
            post.clone(),
            "/payments/order-wire-1/cancel",
            &auth,
            key,
            Some(other),
        )
        .await;
        assert_eq!(s, 400, "same key, different request");

        let stale = r#"{"reason":"r","amount":1000,"currentCancellableAmount":10000}"#;
        let (s, b) = call(
            &fake,
            post.clone(),
            "/payments/order-wire-1/cancel",
            &auth,
            None,
            Some(stale),
        )
        .await;
        assert_eq!(
            (s, b["type"].as_str()),
            (409, Some("CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"))
        );

        fake.fail_next(Some(Operation::GetPayment), 1, "PG_PROVIDER");
        let (s, b) = call(&fake, get, "/payments/order-wire-1", &auth, None, None).await;
        assert_eq!((s, b["type"].as_str()), (502, Some("PG_PROVIDER")));
        let (s, _) = call(&fake, post, "/nope", &auth, None, None).await;
        assert_eq!(s, 404);
    }

    /// What the official SDKs' types require, found missing when they were pointed at the
    /// sandbox: `origin` on every payment, `paidAt` in `InstantPaymentSummary`, `pgCode` and
    /// `pgMessage` in a `PG_PROVIDER` error injected by type.
    #[tokio::test]
    async fn answers_carry_the_fields_the_openapi_requires() {
        let fake = FakePortOne::builder().start().await.unwrap();
        let auth = format!("PortOne {}", fake.api_secret());
        let post = reqwest::Method::POST;

        fake.pay("order-origin-1", 1_000, "KRW", "n", PayMethod::Card)
            .unwrap();
        let p = fake.payment("order-origin-1").unwrap();
        assert_eq!(p["origin"]["platformType"], "PC");
        assert!(p["origin"]["ipAddress"].is_string());

        let instant = r#"{"channelKey":"channel-key-fake","orderName":"n","currency":"KRW",
            "amount":{"total":15000},
            "method":{"virtualAccount":{"bank":"SHINHAN","expiry":{"validHours":72},
                "option":{"type":"NORMAL"},
                "cashReceipt":{"type":"PERSONAL","customerIdentityNumber":"01012345678"}}}}"#;
        let (s, b) = call(
            &fake,
            post.clone(),
            "/payments/order-instant-1/instant",
            &auth,
            None,
            Some(instant),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert!(b["payment"]["pgTxId"].is_string());
        assert!(b["payment"]["paidAt"].is_string(), "{b}");
        let p = fake.payment("order-instant-1").unwrap();
        assert_eq!(p["origin"]["platformType"], "API");

        fake.fail_next(Some(Operation::Cancel), 1, "PG_PROVIDER");
        let cancel = r#"{"reason":"r"}"#;
        let path = "/payments/order-origin-1/cancel";
        let (s, b) = call(&fake, post.clone(), path, &auth, None, Some(cancel)).await;
        assert_eq!((s, b["type"].as_str()), (502, Some("PG_PROVIDER")));
        assert!(b["pgCode"].is_string() && b["pgMessage"].is_string(), "{b}");
        fake.fail_next(Some(Operation::Cancel), 1, "CHANNEL_SPECIFIC");
        let (s, b) = call(&fake, post, path, &auth, None, Some(cancel)).await;
        assert_eq!(s, 502);
        assert!(b["failures"].is_array() && b["succeededChannels"].is_array());
    }

    /// PortOne jitters its redelivery delays and waits 30 s for a receiver; the fake does both,
    /// from a seed.
    #[tokio::test]
    async fn redelivery_is_jittered_from_a_seed_and_waits_30_seconds() {
        async fn delays(seed: Option<u64>) -> Vec<Duration> {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(|| async { http::StatusCode::INTERNAL_SERVER_ERROR }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            let mut builder = FakePortOne::builder()
                .webhook_url(url)
                .time_scale(TimeScale::speedup(6_000_000));
            if let Some(seed) = seed {
                builder = builder.redelivery_seed(seed);
            }
            let fake = builder.start().await.unwrap();
            assert_eq!(fake.receiver_timeouts(), RECEIVER_TIMEOUTS);
            fake.pay("order-jitter-1", 1_000, "KRW", "n", PayMethod::Card)
                .unwrap();
            let attempts = fake
                .delivery_log()
                .wait_until(Duration::from_secs(10), |a| {
                    a.iter().filter(|x| x.event == "Transaction.Paid").count() == 6
                })
                .await;
            attempts
                .iter()
                .filter(|a| a.event == "Transaction.Paid")
                .filter_map(|a| a.next_delay)
                .collect()
        }
        let nominal = redelivery_v2().delays().to_vec();
        let default_seed = delays(None).await;
        assert_eq!(default_seed.len(), 5);
        assert!(default_seed.iter().zip(&nominal).all(|(d, n)| d <= n));
        assert_ne!(default_seed, nominal, "jittered by default");
        assert_eq!(default_seed, delays(None).await, "deterministic");
        assert_ne!(default_seed, delays(Some(42)).await);
    }
}
