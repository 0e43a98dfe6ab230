//! Events out: [`OutboxWorker`] delivers the events of the durable outbox (written with each
//! applied change when [`WebhookPipelineBuilder::outbox`](crate::WebhookPipelineBuilder::outbox)
//! is on) to the application's URL, signed with **Standard Webhooks**, so that a receiver in
//! any language verifies them with its `standardwebhooks` library.
//!
//! Each delivery is a `POST` of the event as JSON ([`event_body`]):
//!
//! ```json
//! {"id":"evt_…","type":"payment.paid","provider":"tosspayments","payment_key":"…",
//!  "order_id":"…","old_status":"READY","new_status":"PAID","amount":58000,"balance":58000,
//!  "currency":"KRW","occurred_at":"2026-12-01T11:00:00Z"}
//! ```
//!
//! with `webhook-id` (the event id: the same on every attempt, so a receiver dedupes by it),
//! `webhook-timestamp` (the attempt's Unix seconds) and `webhook-signature` (`v1,<base64>`,
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` with the `whsec_…` secret).
//!
//! - **Delivered** when the receiver answers 2xx within the request timeout. Anything else —
//!   another status (redirects are not followed), a timeout, a refused connection — is
//!   retried.
//! - **Retries**: exponential backoff with jitter: after the n-th failed attempt the event
//!   waits `min(max, base · 2ⁿ⁻¹)`, of which a random half is jitter (defaults: base 5 s,
//!   max 1 h).
//! - **Give-up**: after [`max_attempts`](OutboxWorkerBuilder::max_attempts) attempts (default
//!   30, about a day with the default backoff) or once the event is older than
//!   [`max_age`](OutboxWorkerBuilder::max_age) (default 3 days), whichever comes first, the
//!   event is kept as `failed` with its last error; [`OutboxWorker::redeliver`] (or `hanpay
//!   events redeliver ID`) sends it again with the same id.
//! - **Retention**: delivered events are deleted after
//!   [`retention`](OutboxWorkerBuilder::retention) (default 30 days); failed ones stay.
//! - **Order**: one payment's events are delivered one at a time, in order; a retry holds the
//!   payment's later events back (a given-up event does not).
//! - **Several workers** (instances on one PostgreSQL, or a restarted process) share the
//!   outbox: each event is claimed with a [lease](OutboxWorkerBuilder::lease); a worker that
//!   died mid-delivery leaves the lease to lapse and another delivers the event again —
//!   at-least-once, with a stable id.
//! - **Shutdown**: [`run`](OutboxWorker::run) stops between batches: the deliveries in flight
//!   finish (each bounded by the timeout) and are recorded; nothing is left half-done.
//!
//! ```no_run
//! # async fn run(pipeline: hanpay::WebhookPipeline) -> Result<(), Box<dyn std::error::Error>> {
//! use hanpay::{OutboxWorker, Secret};
//! let worker = OutboxWorker::builder(
//!     pipeline.outbox(),
//!     "https://shop.example/hanpay/events",
//!     Secret::new(std::env::var("HANPAY_EVENTS_SECRET")?),
//! )
//! .build()?;
//! worker.run(async { tokio::signal::ctrl_c().await.ok(); }).await;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use hanpay_core::webhook::standard::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use hanpay_core::webhook::StandardWebhooks;
use hanpay_core::{PaymentStatus, Secret};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::store::{ClaimedEvent, NewEvent, Outbox, OutboxEvent, StoreError};

/// The JSON body delivered for an event (keys as in the [module docs](self)).
#[derive(Debug, Serialize)]
struct EventBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    provider: &'a str,
    payment_key: &'a str,
    order_id: Option<&'a str>,
    old_status: Option<&'static str>,
    new_status: &'static str,
    amount: Option<i64>,
    balance: Option<i64>,
    currency: Option<&'a str>,
    occurred_at: String,
}

/// The bytes delivered for `event`: the JSON of the [module docs](self), amounts as integers
/// in the currency's minor unit.
pub fn event_body(event: &NewEvent) -> Vec<u8> {
    let currency = event
        .amount
        .as_ref()
        .or(event.balance.as_ref())
        .map(|m| m.currency().code());
    let body = EventBody {
        id: &event.id,
        event_type: &event.event_type,
        provider: event.provider.as_str(),
        payment_key: &event.payment_key,
        order_id: event.order_id.as_deref(),
        old_status: event.old_status.map(PaymentStatus::as_str),
        new_status: event.new_status.as_str(),
        amount: event.amount.as_ref().map(|m| m.minor_units()),
        balance: event.balance.as_ref().map(|m| m.minor_units()),
        currency,
        occurred_at: event.occurred_at.format(&Rfc3339).unwrap_or_default(),
    };
    // Serialising strings and integers cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Exponential backoff with jitter; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure (before jitter).
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3_600),
        }
    }
}

impl Backoff {
    /// The wait before `min(max, base · 2^(failures-1))` without jitter.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1 << exp).min(self.max)
    }

    /// The wait after the `failures`-th failed attempt: half of [`ceiling`](Self::ceiling)
    /// plus a random part of the other half.
    pub fn delay(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half.saturating_add(Duration::from_millis(fastrand::u64(0..=half_ms)))
    }
}

/// Why an [`OutboxWorker`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxConfigError {
    /// The target URL is not an `http(s)://` URL.
    #[error("the events URL is not an http(s) URL: {0}")]
    InvalidUrl(String),
    /// The secret is not a `whsec_…` Standard Webhooks secret (never shown).
    #[error("the events secret: {0}")]
    InvalidSecret(String),
    /// The HTTP client could not be built.
    #[error("the events HTTP client: {0}")]
    Client(String),
}

/// Builds an [`OutboxWorker`]; see the [module docs](self) for the defaults.
pub struct OutboxWorkerBuilder {
    outbox: Arc<dyn Outbox>,
    url: String,
    secret: Secret,
    timeout: Duration,
    backoff: Backoff,
    max_attempts: u32,
    max_age: Duration,
    batch: usize,
    concurrency: usize,
    rounds: usize,
    lease: Duration,
    poll_interval: Duration,
    owner: Option<String>,
    on_report: Option<ReportHook>,
    retention: Duration,
}

/// Called with every round's [`DeliveryReport`] (for metrics).
type ReportHook = Arc<dyn Fn(&DeliveryReport) + Send + Sync>;

/// How often [`OutboxWorker::run`] deletes delivered events past the retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// The variable naming where the application receives events.
pub const HANPAY_EVENTS_URL: &str = "HANPAY_EVENTS_URL";
/// The variable holding the `whsec_…` secret events are signed with.
pub const HANPAY_EVENTS_SECRET: &str = "HANPAY_EVENTS_SECRET";

impl std::fmt::Debug for OutboxWorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorkerBuilder")
            .field("url", &redacted(&self.url))
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .field("max_age", &self.max_age)
            .field("batch", &self.batch)
            .field("concurrency", &self.concurrency)
            .field("rounds", &self.rounds)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl OutboxWorkerBuilder {
    /// How long one delivery may take, connecting to reading the answer (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry backoff (default base 5 s, max 1 h).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = Backoff {
            base,
            max: max.max(base),
        };
        self
    }

    /// Give up after this many attempts (default 30; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Give up on an event older than this (default 3 days).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// At most this many events claimed per round, each of another payment (default 128):
    /// one claim and one record of the deliveries per round.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// At most this many deliveries of one round in flight at once (default 32).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// How many rounds [`run`](OutboxWorker::run) keeps going side by side (default 2): the
    /// next claim is made while a round delivers. At most `rounds ×`
    /// [`concurrency`](Self::concurrency) deliveries are in flight; each payment's events
    /// still go one at a time, in order (a claim hands out a payment's first pending event
    /// only, and not while it is leased).
    pub fn rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds.max(1);
        self
    }

    /// How long a claimed event is this worker's before another may take it over (default
    /// 60 s; raised to what a round can take at worst — every delivery timing out, a
    /// [`concurrency`](Self::concurrency) at a time — plus one timeout, so a slow round is not
    /// taken over while it runs).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long [`run`](OutboxWorker::run) waits when nothing is due (default 1 s), unless
    /// [`wake`](OutboxWorker::wake)d.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The name this worker claims events under (default `worker-` and a random id).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// How long delivered events are kept before [`run`](OutboxWorker::run) deletes them
    /// (default 30 days; checked hourly). Failed and pending events are never deleted.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Calls `hook` with the report of every round (delivery attempts for metrics).
    pub fn on_report(mut self, hook: impl Fn(&DeliveryReport) + Send + Sync + 'static) -> Self {
        self.on_report = Some(Arc::new(hook));
        self
    }

    /// Checks the URL and the secret and builds the worker.
    pub fn build(self) -> Result<OutboxWorker, OutboxConfigError> {
        let url = reqwest::Url::parse(&self.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| OutboxConfigError::InvalidUrl(redacted(&self.url)))?;
        let signer = StandardWebhooks::new([self.secret.expose()])
            .map_err(|e| OutboxConfigError::InvalidSecret(e.to_string()))?;
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hanpay-outbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboxConfigError::Client(e.to_string()))?;
        let owner = self
            .owner
            .unwrap_or_else(|| format!("worker-{}", uuid::Uuid::new_v4().simple()));
        Ok(OutboxWorker {
            inner: Arc::new(WorkerInner {
                outbox: self.outbox,
                url,
                signer,
                client,
                timeout: self.timeout,
                backoff: self.backoff,
                max_attempts: self.max_attempts,
                max_age: self.max_age,
                batch: self.batch,
                concurrency: self.concurrency,
                rounds: self.rounds,
                lease: self.lease.max(self.timeout.saturating_mul(
                    u32::try_from(self.batch.div_ceil(self.concurrency) + 1).unwrap_or(u32::MAX),
                )),
                poll_interval: self.poll_interval,
                owner,
                wake: Notify::new(),
                on_report: self.on_report,
                retention: self.retention,
            }),
        })
    }
}

/// What one [`OutboxWorker::run_once`] round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Events claimed.
    pub claimed: usize,
    /// Events the receiver accepted (2xx).
    pub delivered: usize,
    /// Events that failed this attempt and wait for a retry.
    pub retried: usize,
    /// Events given up (`failed`).
    pub failed: usize,
    /// Events whose lease lapsed and was taken over before the outcome was recorded (another
    /// worker delivers them again).
    pub lost: usize,
}

/// The outcome of one attempt, before it is recorded.
enum Attempt {
    Delivered,
    Failed(String),
}

struct WorkerInner {
    outbox: Arc<dyn Outbox>,
    url: reqwest::Url,
    signer: StandardWebhooks,
    client: reqwest::Client,
    timeout: Duration,
    backoff: Backoff,
    max_attempts: u32,
    max_age: Duration,
    batch: usize,
    concurrency: usize,
    rounds: usize,
    lease: Duration,
    poll_interval: Duration,
    owner: String,
    wake: Notify,
    on_report: Option<ReportHook>,
    retention: Duration,
}

/// Delivers the outbox's events; see the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct OutboxWorker {
    inner: Arc<WorkerInner>,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker")
            .field("url", &redacted(self.inner.url.as_str()))
            .field("owner", &self.inner.owner)
            .field("timeout", &self.inner.timeout)
            .field("backoff", &self.inner.backoff)
            .field("max_attempts", &self.inner.max_attempts)
            .field("lease", &self.inner.lease)
            .finish_non_exhaustive()
    }
}

/// The URL without its password (and query, which may carry a token).
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            if u.query().is_some() {
                u.set_query(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// Reads at most 200 characters of an error answer, as UTF-8.
async fn snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 1_024 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&bytes)
        .chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An HTTP error with its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl OutboxWorker {
    /// A worker delivering `outbox`'s events to `url`, signed with `secret` (`whsec_…`).
    pub fn builder(
        outbox: Arc<dyn Outbox>,
        url: impl Into<String>,
        secret: Secret,
    ) -> OutboxWorkerBuilder {
        OutboxWorkerBuilder {
            outbox,
            url: url.into(),
            secret,
            timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            max_attempts: 30,
            max_age: Duration::from_secs(3 * 86_400),
            batch: 128,
            concurrency: 32,
            rounds: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            owner: None,
            on_report: None,
            retention: Duration::from_secs(30 * 86_400),
        }
    }

    /// A worker from [`HANPAY_EVENTS_URL`] and [`HANPAY_EVENTS_SECRET`] as `get` returns them
    /// (e.g. `|name| std::env::var(name).ok()`): `None` when no URL is set (no events are
    /// delivered); an error naming the variable when the secret is missing.
    pub fn from_env_with(
        outbox: Arc<dyn Outbox>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<OutboxWorkerBuilder>, OutboxConfigError> {
        let Some(url) = get(HANPAY_EVENTS_URL).filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let secret = get(HANPAY_EVENTS_SECRET)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                OutboxConfigError::InvalidSecret(format!(
                    "{HANPAY_EVENTS_URL} is set but {HANPAY_EVENTS_SECRET} is not (a whsec_… \
                     secret the application verifies events with)"
                ))
            })?;
        Ok(Some(OutboxWorker::builder(
            outbox,
            url.trim(),
            Secret::new(secret.trim()),
        )))
    }

    /// The outbox delivered from.
    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.inner.outbox
    }

    /// The name this worker claims under.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// Makes a waiting [`run`](Self::run) start a round now (e.g. after a change was applied).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Sends event `id` again (a failed or delivered one: pending now, attempts reset, same
    /// id) and wakes the worker. `false` when there is no such event or it is pending already.
    pub async fn redeliver(&self, id: &str) -> Result<bool, StoreError> {
        let done = self.inner.outbox.redeliver(id).await?;
        if done {
            self.wake();
        }
        Ok(done)
    }

    /// How many events wait for delivery.
    pub async fn depth(&self) -> Result<u64, StoreError> {
        self.inner.outbox.depth().await
    }

    /// One round: claims up to a batch of due events, delivers them
    /// [`concurrency`](OutboxWorkerBuilder::concurrency) at a time, records the outcomes (the
    /// deliveries in one write).
    pub async fn run_once(&self) -> Result<DeliveryReport, StoreError> {
        let inner = &self.inner;
        let claimed = inner
            .outbox
            .claim(&inner.owner, inner.lease, inner.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            ..DeliveryReport::default()
        };
        // Collected first: a stream over a closure borrowing `self` would not be `Send` for
        // every lifetime, which a spawned round needs.
        let sends: Vec<_> = claimed.iter().map(|c| self.attempt(&c.event)).collect();
        let attempts: Vec<Attempt> = stream::iter(sends)
            .buffered(inner.concurrency)
            .collect()
            .await;
        let mut first_error = None;
        // The round's deliveries are recorded at once (one statement on PostgreSQL, one
        // transaction on SQLite); a failure is recorded with its own retry time.
        let mut delivered = Vec::new();
        for (claimed, attempt) in claimed.iter().zip(attempts) {
            match attempt {
                Attempt::Delivered => delivered.push(claimed),
                Attempt::Failed(error) => {
                    if let Err(e) = self.record_failure(claimed, error, &mut report).await {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        if !delivered.is_empty() {
            let leases: Vec<_> = delivered.iter().map(|c| c.lease.clone()).collect();
            match inner.outbox.mark_all_delivered(&leases).await {
                Ok(held) => {
                    for (claimed, held) in delivered.iter().zip(held) {
                        if held {
                            report.delivered += 1;
                        } else {
                            lost(claimed, &mut report);
                        }
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(hook) = &inner.on_report {
            hook(&report);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Rounds until `shutdown` completes: at once while rounds deliver, else every
    /// [`poll_interval`](OutboxWorkerBuilder::poll_interval) or on [`wake`](Self::wake).
    /// [`rounds`](OutboxWorkerBuilder::rounds) rounds run side by side, so the next claim is
    /// made while a round's deliveries are in flight. `shutdown` is looked at between rounds
    /// only, so the deliveries in flight finish and are recorded. Store errors are logged and
    /// the next round tries again.
    pub async fn run<F: Future<Output = ()>>(&self, shutdown: F) {
        let stopping = AtomicBool::new(false);
        let stop = Notify::new();
        let loops = futures_util::future::join_all(
            (0..self.inner.rounds).map(|i| self.rounds(i == 0, &stopping, &stop)),
        );
        let signal = async {
            shutdown.await;
            stopping.store(true, Ordering::SeqCst);
            stop.notify_waiters();
        };
        // The loops end only once `stopping` is set, after their rounds in flight are recorded.
        futures_util::future::join(loops, signal).await;
    }

    /// One of [`run`](Self::run)'s loops of rounds; the first one also prunes.
    async fn rounds(&self, prunes: bool, stopping: &AtomicBool, stop: &Notify) {
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            if prunes && tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                if let Err(e) = self.inner.outbox.prune(self.inner.retention).await {
                    tracing::warn!(
                        target: hanpay_core::observe::TARGET,
                        error = %e,
                        "outbox prune failed"
                    );
                }
            }
            // A round that delivered anything goes again at once: the claim may have been
            // full, and the delivered events' successors are due now.
            let busy = match self.run_once().await {
                Ok(report) => report.claimed == self.inner.batch || report.delivered > 0,
                Err(e) => {
                    tracing::warn!(
                        target: hanpay_core::observe::TARGET,
                        error = %e,
                        "outbox round failed"
                    );
                    false
                }
            };
            if busy {
                continue;
            }
            // Registered before the flag is read, so a stop in between is not missed.
            let stopped = stop.notified();
            futures_util::pin_mut!(stopped);
            stopped.as_mut().enable();
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            tokio::select! {
                () = stopped => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(self.inner.poll_interval) => {}
            }
        }
    }

    /// One POST of `event`.
    async fn attempt(&self, event: &OutboxEvent) -> Attempt {
        let inner = &self.inner;
        let body = event_body(&event.event);
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = inner.signer.sign(&event.event.id, timestamp, &body);
        let sent = inner
            .client
            .post(inner.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(HEADER_ID, &event.event.id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Attempt::Delivered,
            Ok(response) => {
                let status = response.status();
                let text = snippet(response).await;
                Attempt::Failed(if text.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    format!("HTTP {}: {text}", status.as_u16())
                })
            }
            Err(e) if e.is_timeout() => {
                Attempt::Failed(format!("no answer within {} ms", inner.timeout.as_millis()))
            }
            Err(e) => Attempt::Failed(describe(e)),
        }
    }

    /// Records a failed attempt under the claim's lease: a retry after the backoff, or given
    /// up (`failed`) past the attempts or the age allowed.
    async fn record_failure(
        &self,
        claimed: &ClaimedEvent,
        error: String,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let lease = &claimed.lease;
        let event = &claimed.event;
        let age = OffsetDateTime::now_utc() - event.created_at;
        let too_old = time::Duration::try_from(inner.max_age).is_ok_and(|max| age >= max);
        let give_up = lease.attempt >= inner.max_attempts || too_old;
        tracing::warn!(
            target: hanpay_core::observe::TARGET,
            event_id = %event.event.id,
            attempt = lease.attempt,
            give_up,
            error = %error,
            "event delivery failed"
        );
        let held = if give_up {
            let why = format!("{error} (gave up after {} attempts)", lease.attempt);
            let held = inner.outbox.mark_failed(lease, &why).await?;
            if held {
                report.failed += 1;
            }
            held
        } else {
            let delay = inner.backoff.delay(lease.attempt);
            let held = inner.outbox.schedule_retry(lease, delay, &error).await?;
            if held {
                report.retried += 1;
            }
            held
        };
        if !held {
            lost(claimed, report);
        }
        Ok(())
    }
}

/// Counts an outcome that could not be recorded because the claim's lease lapsed.
fn lost(claimed: &ClaimedEvent, report: &mut DeliveryReport) {
    report.lost += 1;
    tracing::warn!(
        target: hanpay_core::observe::TARGET,
        event_id = %claimed.event.event.id,
        "the event's lease lapsed before its outcome was recorded; it is delivered again"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hanpay_core::{Money, ProviderId};

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter() {
        let b = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3_600),
        };
        let ceilings: Vec<u64> = (1..=12).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(
            ceilings,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(3_600));
        for n in 1..40 {
            let d = b.delay(n);
            assert!(d >= b.ceiling(n) / 2 && d <= b.ceiling(n), "{n}: {d:?}");
        }
    }

    #[test]
    fn the_body_has_the_documented_keys_and_integer_amounts() {
        let event = NewEvent {
            id: "evt_1".into(),
            event_type: "payment.partially_canceled".into(),
            provider: ProviderId::from_static("tosspayments"),
            payment_key: "pk_1".into(),
            order_id: Some("order-1".into()),
            old_status: Some(PaymentStatus::Paid),
            new_status: PaymentStatus::PartiallyCanceled,
            amount: Some(Money::krw(58_000)),
            balance: Some(Money::krw(50_000)),
            occurred_at: OffsetDateTime::from_unix_timestamp(1_725_390_022).unwrap(),
        };
        let body: serde_json::Value = serde_json::from_slice(&event_body(&event)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "id": "evt_1", "type": "payment.partially_canceled", "provider": "tosspayments",
                "payment_key": "pk_1", "order_id": "order-1", "old_status": "PAID",
                "new_status": "PARTIALLY_CANCELED", "amount": 58000, "balance": 50000,
                "currency": "KRW", "occurred_at": "2024-09-03T19:00:22Z"
            })
        );
    }

    #[test]
    fn secrets_and_url_credentials_stay_out_of_debug_and_errors() {
        let outbox: Arc<dyn Outbox> = Arc::new(crate::store::InMemoryOutbox::default());
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let builder = OutboxWorker::builder(
            outbox.clone(),
            "https://user:hunter2@shop.example/events?token=abc",
            Secret::new(secret),
        );
        let text = format!("{builder:?}");
        let worker = builder.build().unwrap();
        let text = format!("{text} {worker:?}");
        for leak in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hunter2", "abc"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        let err = OutboxWorker::builder(
            outbox.clone(),
            "https://shop.example/",
            Secret::new("whsec_not*base64"),
        )
        .build()
        .unwrap_err();
        assert!(!err.to_string().contains("not*base64"), "{err}");
        let err = OutboxWorker::builder(outbox.clone(), "ftp://shop.example/", Secret::new(secret))
            .build()
            .unwrap_err();
        assert!(matches!(err, OutboxConfigError::InvalidUrl(_)), "{err}");

        let none = OutboxWorker::from_env_with(outbox.clone(), |_| None).unwrap();
        assert!(none.is_none());
        let err = OutboxWorker::from_env_with(outbox.clone(), |name| {
            (name == HANPAY_EVENTS_URL).then(|| "https://shop.example/events".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains(HANPAY_EVENTS_SECRET), "{err}");
        let built = OutboxWorker::from_env_with(outbox, |name| match name {
            HANPAY_EVENTS_URL => Some("https://shop.example/events".to_owned()),
            HANPAY_EVENTS_SECRET => Some(secret.to_owned()),
            _ => None,
        })
        .unwrap()
        .unwrap()
        .build()
        .unwrap();
        assert!(!format!("{built:?}").contains("MfKQ9r8G"));
    }
}
