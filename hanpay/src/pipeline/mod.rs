//! The webhook pipeline: verify → check the per-payment secret → dedupe → reconcile with the PG
//! → apply only legal status moves → call the application's handler → answer the PG.
//!
//! | Situation | Answer | Handler called |
//! | --- | --- | --- |
//! | processed (status moved, possibly over several legal steps) | 200 | once |
//! | duplicate delivery, no change, or the PG's state would be a move backwards (late, out of order, stale) | 200 | no |
//! | bad signature, missing header, stale timestamp, secret mismatch | 401 | no |
//! | sender not on the allowlist | 403 | no |
//! | body too large | 413 | no |
//! | unknown provider in the URL | 404 | no |
//! | the handler, a store, or the reconciling lookup failed; or the same event is in flight | 5xx | — (the PG redelivers; the redelivery is processed once) |
//!
//! Concurrency: events for one payment (e.g. Toss's `PAYMENT_STATUS_CHANGED` and
//! `DEPOSIT_CALLBACK` for the same deposit, delivered at once) are processed one at a time per
//! (provider, payment key): read the state → reconcile → handler → commit never interleave, so
//! each legal move reaches the handler exactly once. The lock comes from the
//! [`Stores`](crate::store::Stores): in-process for memory and SQLite (pipelines on one SQLite
//! file share it), across instances for PostgreSQL (a lock row held by the instance, no
//! connection held meanwhile).
//!
//! Durability: every verified delivery is recorded in the [`Inbox`]
//! before the PG is answered (its outcome, attempts, first and last seen); an event whose
//! handler kept failing stays there after the PG gives up, for [`WebhookPipeline::replay`].
//! A duplicate of a processed delivery is answered from one read and writes nothing.
//! Processed rows are pruned by the pipeline after [`WebhookPipelineBuilder::inbox_retention`].
//! With [`WebhookPipelineBuilder::outbox`] on, each applied change's events (one per step,
//! [`PaymentEvent::outbox_events`]) are written to the outbox in the same transaction as the
//! state move: a handler failure or a lost compare-and-set writes none.
//!
//! Writes: with the stores of one backend (the default), a delivery is not claimed. One read
//! finds a processed one; under the payment's lock, one more read (beside the state's) finds
//! one processed meanwhile by a concurrent delivery of the same event; and the change, its
//! events, the dedupe entry and the inbox record commit together
//! ([`PaymentStateStore::commit_delivery`]: one statement on PostgreSQL, one transaction on
//! SQLite). With a dedupe or state store of your own, each part is written on its own, and a
//! delivery is claimed first.
//!
//! Reconciliation: every event whose trust is not
//! [`Trust::Signed`](hanpay_core::Trust::Signed), every event without a status, and every event
//! that moves money (paid, canceled, deposit — or concerns a payment already paid) is checked
//! by fetching the payment from the PG, and the PG's answer is what is applied. An event
//! carrying a per-payment secret ([`WebhookEvent::carried_secret`](hanpay_core::WebhookEvent::carried_secret): a
//! [`Trust::SharedSecret`](hanpay_core::Trust::SharedSecret), or a signed Toss
//! `DEPOSIT_CALLBACK`) is compared in constant time with the secret saved at confirm/issue
//! ([`PaymentSecrets`](crate::PaymentSecrets)), or with the one the PG returns for the payment
//! if none was saved.
//!
//! Convergence: the PG's answer is the truth. The stored status moves to it whenever it is
//! reachable through legal moves ([`PaymentStatus::reaches`](hanpay_core::PaymentStatus::reaches)), also over several steps: a
//! signed `Transaction.Ready` stored `Ready`, the next delivery is reconciled and the PG says
//! `CANCELLED` → the handler gets one event `Ready` → `Canceled` with
//! [`skipped`](PaymentEvent::skipped) `[Paid]` and [`actions`](PaymentEvent::actions)
//! confirm-then-cancel. Only an answer that would go backwards (e.g. a stale `PAID` after
//! `CANCELED`) is ignored, and the store keeps the state it is ahead with. An unreconciled
//! hint never skips states: it is applied only as one legal move that is not older than the
//! stored state; any other hint is reconciled (the payment is fetched and the answer applied
//! by the same rule), so an ignored hint never strands a payment.

mod commit;
mod decide;
mod intake;
mod outcome;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use hanpay_core::async_trait;

pub(crate) use commit::{Answer, Applying, Ask, Observation};
pub use outcome::{Endpoint, FailedStage, WebhookAnswer, WebhookOutcome};

use crate::event::PaymentEvent;
use crate::registry::Hanpay;
use crate::store::{Backend, DedupeStore, Inbox, Outbox, PaymentLocks, PaymentStateStore};

/// The error an application handler returns; the PG gets a 5xx and redelivers.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The application's reaction to a payment event (update the order, send mail, …).
///
/// Called once per applied status change, before it is committed: if it fails, nothing is
/// recorded and the PG's redelivery is processed again. One change may cover several legal
/// steps when a delivery came late: run every one of [`PaymentEvent::actions`], in order.
#[async_trait]
pub trait WebhookHandler: Send + Sync {
    /// Handles one event.
    async fn handle(&self, event: &PaymentEvent) -> Result<(), HandlerError>;
}

/// A [`WebhookHandler`] from an async closure; see [`handler_fn`].
pub struct FnHandler<F>(F);

/// Wraps an async closure as a [`WebhookHandler`].
///
/// ```
/// use hanpay::{handler_fn, PaymentEvent};
/// let handler = handler_fn(|event: PaymentEvent| async move {
///     println!("{} {:?} -> {}", event.payment_key, event.old_status, event.new_status);
///     Ok(())
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(PaymentEvent) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    FnHandler(f)
}

#[async_trait]
impl<F, Fut> WebhookHandler for FnHandler<F>
where
    F: Fn(PaymentEvent) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    async fn handle(&self, event: &PaymentEvent) -> Result<(), HandlerError> {
        (self.0)(event.clone()).await
    }
}

/// Builds a [`WebhookPipeline`].
pub struct WebhookPipelineBuilder {
    hanpay: Hanpay,
    handler: Arc<dyn WebhookHandler>,
    dedupe: Option<Arc<dyn DedupeStore>>,
    states: Option<Arc<dyn PaymentStateStore>>,
    dedupe_margin: Duration,
    lease: Duration,
    inbox_retention: Option<Duration>,
    outbox: bool,
}

impl WebhookPipelineBuilder {
    /// Writes the events of every applied change to the state store's
    /// [`Outbox`], in the same transaction as the change (default off:
    /// an application that reacts only through its handler grows no table). One event per
    /// step ([`PaymentEvent::outbox_events`]); deliver them with
    /// [`OutboxWorker`](crate::outbox::OutboxWorker) over [`WebhookPipeline::outbox`].
    pub fn outbox(mut self, enabled: bool) -> Self {
        self.outbox = enabled;
        self
    }

    /// Where processed deliveries are remembered (default: the [`Hanpay`]'s
    /// [`Stores`](crate::store::Stores)).
    pub fn dedupe_store(mut self, store: Arc<dyn DedupeStore>) -> Self {
        self.dedupe = Some(store);
        self
    }

    /// Where payment states are kept (default: the [`Hanpay`]'s
    /// [`Stores`](crate::store::Stores)).
    pub fn state_store(mut self, store: Arc<dyn PaymentStateStore>) -> Self {
        self.states = Some(store);
        self
    }

    /// Extra time processed deliveries are remembered beyond the provider's whole redelivery
    /// span (default 1 day).
    pub fn dedupe_margin(mut self, margin: Duration) -> Self {
        self.dedupe_margin = margin;
        self
    }

    /// How long a claimed delivery blocks an identical one before it may be claimed again
    /// (default 60 s; covers a handler that was dropped mid-way).
    pub fn in_flight_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long processed inbox rows are kept (failed ones stay until processed). Default:
    /// the longest redelivery span of the configured PGs plus the dedupe margin, and at least
    /// 30 days.
    pub fn inbox_retention(mut self, retention: Duration) -> Self {
        self.inbox_retention = Some(retention);
        self
    }

    /// Builds the pipeline. On in-memory stores it logs one warning: webhook state is lost
    /// on restart.
    pub fn build(self) -> WebhookPipeline {
        let stores = self.hanpay.stores().clone();
        if stores.backend() == Backend::Memory {
            tracing::warn!(
                target: hanpay_core::observe::TARGET,
                "webhook state is in memory and lost on restart: a redelivered event would run \
                 the handler again, and instances do not see each other; set \
                 HANPAY_DATABASE_URL (or database_url) to sqlite://hanpay.db for one instance \
                 or postgres://… for several"
            );
        }
        let longest_span = self
            .hanpay
            .names()
            .iter()
            .filter_map(|name| self.hanpay.verifier(name))
            .map(|v| v.redelivery().total_span())
            .max()
            .unwrap_or_default();
        let inbox_retention = self.inbox_retention.unwrap_or_else(|| {
            longest_span
                .saturating_add(self.dedupe_margin)
                .max(Duration::from_secs(30 * 86_400))
        });
        let endpoints = self
            .hanpay
            .names()
            .into_iter()
            .filter_map(|name| resolve(&self.hanpay, name, self.dedupe_margin))
            .map(|endpoint| (endpoint.provider.clone(), endpoint))
            .collect();
        WebhookPipeline {
            inner: Arc::new(PipelineInner {
                endpoints,
                handler: self.handler,
                // The default stores share one database: a delivery's change, dedupe entry
                // and inbox record commit together.
                combined: self.dedupe.is_none() && self.states.is_none(),
                dedupe: self.dedupe.unwrap_or_else(|| stores.dedupe.clone()),
                states: self.states.unwrap_or_else(|| stores.states.clone()),
                locks: stores.locks.clone(),
                inbox: stores.inbox.clone(),
                hanpay: self.hanpay,
                dedupe_margin: self.dedupe_margin,
                lease: self.lease,
                inbox_retention,
                recorded: AtomicU64::new(0),
                outbox: self.outbox,
            }),
        }
    }
}

/// How many inbox records between two prunes (each prune deletes through an index).
pub(crate) const PRUNE_EVERY: u64 = 1_024;

struct PipelineInner {
    hanpay: Hanpay,
    /// Each provider's webhook endpoint, resolved once at build.
    endpoints: HashMap<String, Endpoint>,
    handler: Arc<dyn WebhookHandler>,
    dedupe: Arc<dyn DedupeStore>,
    states: Arc<dyn PaymentStateStore>,
    dedupe_margin: Duration,
    lease: Duration,
    locks: Arc<dyn PaymentLocks>,
    inbox: Arc<dyn Inbox>,
    inbox_retention: Duration,
    recorded: AtomicU64,
    outbox: bool,
    /// Whether the dedupe store, the state store and the inbox are one backend's, so that a
    /// delivery's writes commit in one transaction.
    combined: bool,
}

/// Receives webhooks for every provider of a [`Hanpay`]. Cheap to clone.
///
/// ```no_run
/// # async fn run(hanpay: hanpay::Hanpay, headers: http::HeaderMap, body: bytes::Bytes) {
/// use hanpay::{handler_fn, PaymentEvent, WebhookPipeline};
/// let pipeline = WebhookPipeline::builder(
///     hanpay,
///     handler_fn(|event: PaymentEvent| async move {
///         println!("{}: {}", event.order_id.unwrap_or_default(), event.action.describe());
///         Ok(())
///     }),
/// )
/// .build();
/// let request = hanpay::WebhookRequest::new(&headers, body);
/// let outcome = pipeline.process("tosspayments", &request).await;
/// assert_eq!(outcome.http_status(), 200);
/// # }
/// ```
#[derive(Clone)]
pub struct WebhookPipeline {
    inner: Arc<PipelineInner>,
}

impl std::fmt::Debug for WebhookPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookPipeline")
            .field("hanpay", &self.inner.hanpay)
            .finish_non_exhaustive()
    }
}

/// `provider`'s webhook endpoint: its verifier, gateway, body cap and dedupe window.
fn resolve(hanpay: &Hanpay, provider: &str, dedupe_margin: Duration) -> Option<Endpoint> {
    let verifier = hanpay.verifier(provider)?;
    let gateway = hanpay.gateway_for(provider).ok()?;
    let verifier_limit = verifier.max_body_bytes();
    let max_body_bytes = match hanpay.max_webhook_body_bytes() {
        Some(limit) => limit.min(verifier_limit),
        None => verifier_limit,
    };
    let dedupe_ttl = verifier
        .redelivery()
        .total_span()
        .saturating_add(dedupe_margin);
    Some(Endpoint {
        provider: provider.to_owned(),
        verifier,
        gateway,
        max_body_bytes,
        dedupe_ttl,
    })
}

impl WebhookPipeline {
    pub(crate) fn dedupe_store(&self) -> &Arc<dyn DedupeStore> {
        &self.inner.dedupe
    }

    pub(crate) fn state_store(&self) -> &Arc<dyn PaymentStateStore> {
        &self.inner.states
    }

    pub(crate) fn inbox(&self) -> &Arc<dyn Inbox> {
        &self.inner.inbox
    }

    /// Starts a pipeline over `hanpay`'s providers calling `handler`.
    pub fn builder(
        hanpay: Hanpay,
        handler: impl WebhookHandler + 'static,
    ) -> WebhookPipelineBuilder {
        WebhookPipelineBuilder {
            hanpay,
            handler: Arc::new(handler),
            dedupe: None,
            states: None,
            dedupe_margin: Duration::from_secs(86_400),
            lease: Duration::from_secs(60),
            inbox_retention: None,
            outbox: false,
        }
    }

    /// Whether applied changes write outbox events ([`WebhookPipelineBuilder::outbox`]).
    pub fn writes_events(&self) -> bool {
        self.inner.outbox
    }

    /// The outbox the events are written to: the [`Hanpay`]'s stores' (with a custom
    /// [`state_store`](WebhookPipelineBuilder::state_store), use that store's outbox instead).
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::clone(&self.inner.hanpay.stores().outbox)
    }

    /// The facade this pipeline serves.
    pub fn hanpay(&self) -> &Hanpay {
        &self.inner.hanpay
    }

    /// The webhook endpoint of `provider`, resolved when the pipeline was built: `None` when no
    /// provider of that name is configured with webhooks.
    pub fn endpoint(&self, provider: &str) -> Option<Endpoint> {
        self.inner.endpoints.get(provider).cloned()
    }

    /// The body cap for `provider`: the verifier's, lowered by the configured one.
    pub fn max_body_bytes(&self, provider: &str) -> usize {
        match self.inner.endpoints.get(provider) {
            Some(endpoint) => endpoint.max_body_bytes,
            None => {
                let default = hanpay_core::webhook::DEFAULT_MAX_BODY_BYTES;
                match self.inner.hanpay.max_webhook_body_bytes() {
                    Some(limit) => limit.min(default),
                    None => default,
                }
            }
        }
    }

    /// How long processed deliveries of `provider` are remembered: its whole redelivery span
    /// plus the margin.
    pub fn dedupe_ttl(&self, provider: &str) -> Duration {
        self.inner
            .endpoints
            .get(provider)
            .map(|e| e.dedupe_ttl)
            .unwrap_or(self.inner.dedupe_margin)
    }
}
