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
//! file share it), across instances for PostgreSQL (a transaction-scoped advisory lock).
//!
//! Durability: every verified delivery is recorded in the [`Inbox`]
//! before the PG is answered (its outcome, attempts, first and last seen); an event whose
//! handler kept failing stays there after the PG gives up, for [`WebhookPipeline::replay`].
//! Processed rows are pruned by the pipeline after [`WebhookPipelineBuilder::inbox_retention`].
//! With [`WebhookPipelineBuilder::outbox`] on, each applied change's events (one per step,
//! [`PaymentEvent::outbox_events`]) are written to the outbox in the same transaction as the
//! state move: a handler failure or a lost compare-and-set writes none.
//!
//! Reconciliation: every event whose trust is not
//! [`Trust::Signed`](hanpay_core::Trust::Signed), every event without a status, and every event
//! that moves money (paid, canceled, deposit — or concerns a payment already paid) is checked
//! by fetching the payment from the PG, and the PG's answer is what is applied. An event
//! carrying a per-payment secret ([`WebhookEvent::carried_secret`]: a
//! [`Trust::SharedSecret`](hanpay_core::Trust::SharedSecret), or a signed Toss
//! `DEPOSIT_CALLBACK`) is compared in constant time with the secret saved at confirm/issue
//! ([`PaymentSecrets`](crate::PaymentSecrets)), or with the one the PG returns for the payment
//! if none was saved.
//!
//! Convergence: the PG's answer is the truth. The stored status moves to it whenever it is
//! reachable through legal moves ([`PaymentStatus::reaches`]), also over several steps: a
//! signed `Transaction.Ready` stored `Ready`, the next delivery is reconciled and the PG says
//! `CANCELLED` → the handler gets one event `Ready` → `Canceled` with
//! [`skipped`](PaymentEvent::skipped) `[Paid]` and [`actions`](PaymentEvent::actions)
//! confirm-then-cancel. Only an answer that would go backwards (e.g. a stale `PAID` after
//! `CANCELED`) is ignored, and the store keeps the state it is ahead with. An unreconciled
//! hint never skips states: it is applied only as one legal move that is not older than the
//! stored state; any other hint is reconciled (the payment is fetched and the answer applied
//! by the same rule), so an ignored hint never strands a payment.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hanpay_core::observe::webhook_decision;
use hanpay_core::webhook::WebhookAck;
use hanpay_core::{
    async_trait, CancellationStatus, Payment, PaymentError, PaymentProvider, PaymentStatus, Secret,
    WebhookError, WebhookEvent, WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::event::{OrderAction, PaymentEvent};
use crate::registry::{Gateway, Hanpay};
use crate::store::{
    Backend, Claim, DedupeKey, DedupeStore, IgnoredEvent, Inbox, InboxOutcome, InboxRecord, Outbox,
    PaymentLocks, PaymentState, PaymentStateStore, StoreError,
};

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

/// Which step of the pipeline failed with a 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStage {
    /// The dedupe, secret or state store.
    Store,
    /// Fetching the payment from the PG.
    Reconcile,
    /// The application's handler.
    Handler,
    /// Another delivery of the same event is being processed.
    InProgress,
}

impl FailedStage {
    /// The stage's name (`"reconcile"`), as serialised and recorded in the inbox.
    pub fn as_str(self) -> &'static str {
        match self {
            FailedStage::Store => "store",
            FailedStage::Reconcile => "reconcile",
            FailedStage::Handler => "handler",
            FailedStage::InProgress => "in_progress",
        }
    }
}

/// What the pipeline did with one delivery, and what to answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// A status move was applied and the handler succeeded.
    Processed(Box<PaymentEvent>),
    /// Verified, but nothing to apply (late, out of order, or no change); recorded.
    Ignored {
        /// The event's dedupe id.
        dedupe_id: String,
        /// Why.
        reason: String,
    },
    /// This delivery was already processed.
    Duplicate {
        /// The event's dedupe id.
        dedupe_id: String,
    },
    /// Refused as not authentic (or too large, or malformed).
    Rejected(WebhookError),
    /// No provider of that name is configured with webhooks.
    UnknownProvider(String),
    /// Processing failed; the PG must redeliver.
    Failed {
        /// Where.
        stage: FailedStage,
        /// Why (never a secret).
        message: String,
    },
}

impl WebhookOutcome {
    /// The HTTP status to answer the PG with.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookOutcome::Processed(_)
            | WebhookOutcome::Ignored { .. }
            | WebhookOutcome::Duplicate { .. } => 200,
            WebhookOutcome::Rejected(e) => e.http_status(),
            WebhookOutcome::UnknownProvider(_) => 404,
            WebhookOutcome::Failed { stage, .. } => match stage {
                FailedStage::Reconcile | FailedStage::InProgress => 503,
                FailedStage::Store | FailedStage::Handler => 500,
            },
        }
    }

    /// A short label: `processed`, `ignored`, `duplicate`, `rejected`, `unknown_provider`,
    /// `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            WebhookOutcome::Processed(_) => "processed",
            WebhookOutcome::Ignored { .. } => "ignored",
            WebhookOutcome::Duplicate { .. } => "duplicate",
            WebhookOutcome::Rejected(_) => "rejected",
            WebhookOutcome::UnknownProvider(_) => "unknown_provider",
            WebhookOutcome::Failed { .. } => "failed",
        }
    }

    /// The JSON body to answer with (never a secret).
    pub fn body(&self) -> serde_json::Value {
        match self {
            WebhookOutcome::Processed(event) => json!({
                "result": "processed",
                "dedupe_id": event.dedupe_id,
                "payment_key": event.payment_key,
                "old_status": event.old_status,
                "new_status": event.new_status,
                "skipped": event.skipped,
                "action": event.action,
                "actions": event.actions,
            }),
            WebhookOutcome::Ignored { dedupe_id, reason } => {
                json!({"result": "ignored", "dedupe_id": dedupe_id, "reason": reason})
            }
            WebhookOutcome::Duplicate { dedupe_id } => {
                json!({"result": "duplicate", "dedupe_id": dedupe_id})
            }
            WebhookOutcome::Rejected(e) => {
                json!({"result": "rejected", "error": e.label(), "message": e.to_string()})
            }
            WebhookOutcome::UnknownProvider(name) => {
                json!({"result": "unknown_provider", "provider": name})
            }
            WebhookOutcome::Failed { stage, message } => {
                json!({"result": "failed", "stage": stage, "message": message})
            }
        }
    }
}

impl WebhookOutcome {
    /// The whole answer: for a delivery that was taken (processed, ignored, a duplicate), the
    /// PG's own [`WebhookAck`] (NICEPAY: `200 OK` as text); otherwise the status of
    /// [`http_status`](Self::http_status) with the JSON [`body`](Self::body).
    pub fn answer(&self, ack: Option<&WebhookAck>) -> WebhookAnswer {
        let taken = matches!(
            self,
            WebhookOutcome::Processed(_)
                | WebhookOutcome::Ignored { .. }
                | WebhookOutcome::Duplicate { .. }
        );
        match ack {
            Some(ack) if taken => WebhookAnswer {
                status: ack.status,
                content_type: ack.content_type,
                body: match ack.body {
                    Some(fixed) => fixed.as_bytes().to_vec(),
                    None => self.body().to_string().into_bytes(),
                },
            },
            _ => WebhookAnswer {
                status: self.http_status(),
                content_type: "application/json",
                body: self.body().to_string().into_bytes(),
            },
        }
    }
}

/// What a receiver sends back to the PG ([`WebhookOutcome::answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

/// One provider's webhook endpoint, resolved once per delivery: its verifier, gateway, body
/// cap, dedupe window and the answer its PG expects ([`WebhookPipeline::endpoint`]).
#[derive(Clone)]
pub struct Endpoint {
    provider: String,
    verifier: Arc<dyn WebhookVerifier>,
    gateway: Gateway,
    max_body_bytes: usize,
    dedupe_ttl: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("dedupe_ttl", &self.dedupe_ttl)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The provider's name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The body cap: the verifier's, lowered by the configured one.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long processed deliveries are remembered.
    pub fn dedupe_ttl(&self) -> Duration {
        self.dedupe_ttl
    }

    /// The answer the PG expects for a delivery that was taken.
    pub fn ack(&self) -> WebhookAck {
        self.verifier.ack()
    }

    /// The answer to send for `outcome`.
    pub fn answer(&self, outcome: &WebhookOutcome) -> WebhookAnswer {
        outcome.answer(Some(&self.ack()))
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
        WebhookPipeline {
            inner: Arc::new(PipelineInner {
                handler: self.handler,
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
const PRUNE_EVERY: u64 = 1_024;

struct PipelineInner {
    hanpay: Hanpay,
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

fn is_money_kind(kind: &WebhookEventKind) -> bool {
    matches!(
        kind,
        WebhookEventKind::DepositReceived
            | WebhookEventKind::Canceled
            | WebhookEventKind::PartiallyCanceled
    )
}

fn moves_money(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Paid | PaymentStatus::PartiallyCanceled | PaymentStatus::Canceled
    )
}

fn failed(stage: FailedStage, message: impl Into<String>) -> WebhookOutcome {
    WebhookOutcome::Failed {
        stage,
        message: message.into(),
    }
}

fn store_failed(e: StoreError) -> WebhookOutcome {
    failed(FailedStage::Store, e.to_string())
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

    /// The webhook endpoint of `provider`, resolved once: `None` when no provider of that
    /// name is configured with webhooks.
    pub fn endpoint(&self, provider: &str) -> Option<Endpoint> {
        let hanpay = &self.inner.hanpay;
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
            .saturating_add(self.inner.dedupe_margin);
        Some(Endpoint {
            provider: provider.to_owned(),
            verifier,
            gateway,
            max_body_bytes,
            dedupe_ttl,
        })
    }

    /// The body cap for `provider`: the verifier's, lowered by the configured one.
    pub fn max_body_bytes(&self, provider: &str) -> usize {
        match self.endpoint(provider) {
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
        self.endpoint(provider)
            .map(|e| e.dedupe_ttl)
            .unwrap_or(self.inner.dedupe_margin)
    }

    /// Processes one delivery to `provider` (the `{provider}` of `POST /webhooks/{provider}`).
    pub async fn process(&self, provider: &str, request: &WebhookRequest<'_>) -> WebhookOutcome {
        match self.endpoint(provider) {
            Some(endpoint) => self.process_at(&endpoint, request).await,
            None => {
                webhook_decision(provider, None, None, Some("unknown_provider"));
                WebhookOutcome::UnknownProvider(provider.to_owned())
            }
        }
    }

    /// Processes one delivery to an endpoint resolved with [`endpoint`](Self::endpoint).
    pub async fn process_at(
        &self,
        endpoint: &Endpoint,
        request: &WebhookRequest<'_>,
    ) -> WebhookOutcome {
        let provider = endpoint.provider.as_str();
        let verifier = &endpoint.verifier;
        let gateway = &endpoint.gateway;
        if let Err(e) = request.check_body_size(endpoint.max_body_bytes) {
            webhook_decision(provider, None, None, Some(e.label()));
            return WebhookOutcome::Rejected(e);
        }
        let event = match verifier.verify(request) {
            Ok(event) => event,
            Err(e) => {
                webhook_decision(provider, None, None, Some(e.label()));
                return WebhookOutcome::Rejected(e);
            }
        };

        // A per-payment secret proves nothing until compared with the one saved at confirm —
        // whatever the trust: a relay's signature (Toss `DEPOSIT_CALLBACK` relayed with
        // `x-tosspayments-signature`) proves who forwarded the body, not that its secret is the
        // payment's.
        let mut fetched = None;
        if let Some(carried) = event.carried_secret() {
            match self.expected_secret(gateway, &event).await {
                Ok((Some(expected), payment)) if carried.ct_eq(expected.expose()) => {
                    fetched = payment;
                }
                Ok(_) => {
                    let e = WebhookError::SecretMismatch;
                    webhook_decision(
                        provider,
                        Some(&event.dedupe_id),
                        Some(event.trust.label()),
                        Some(e.label()),
                    );
                    return WebhookOutcome::Rejected(e);
                }
                Err(outcome) => return outcome,
            }
        }
        webhook_decision(
            provider,
            Some(&event.dedupe_id),
            Some(event.trust.label()),
            None,
        );
        let outcome = self.dedupe_and_apply(endpoint, &event, fetched).await;
        self.record(&event, outcome).await
    }

    /// Records a verified delivery's outcome in the inbox before the PG is answered; a failed
    /// write is a 5xx (the redelivery is then a duplicate, recorded).
    pub(crate) async fn record(
        &self,
        event: &WebhookEvent,
        outcome: WebhookOutcome,
    ) -> WebhookOutcome {
        let inbox_outcome = match &outcome {
            WebhookOutcome::Processed(_) => InboxOutcome::Applied,
            // Being processed elsewhere is not this event's failure: count the attempt, keep
            // the outcome the processing records.
            WebhookOutcome::Duplicate { .. }
            | WebhookOutcome::Failed {
                stage: FailedStage::InProgress,
                ..
            } => InboxOutcome::Duplicate,
            WebhookOutcome::Ignored { reason, .. } => InboxOutcome::Ignored {
                reason: reason.clone(),
            },
            WebhookOutcome::Failed { stage, message } => InboxOutcome::Failed {
                stage: stage.as_str().to_owned(),
                error: message.clone(),
            },
            WebhookOutcome::Rejected(_) | WebhookOutcome::UnknownProvider(_) => return outcome,
        };
        let payment_key = match &outcome {
            WebhookOutcome::Processed(e) => Some(e.payment_key.clone()),
            _ => event.payment_key.clone(),
        };
        let record = InboxRecord {
            provider: event.provider.clone(),
            dedupe_id: event.dedupe_id.clone(),
            kind: event.kind.as_str().to_owned(),
            payment_key,
            order_id: event.order_id.clone(),
            trust: event.trust.label().to_owned(),
            outcome: inbox_outcome,
        };
        if let Err(e) = self.inner.inbox.record(record).await {
            tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "inbox write failed");
            if matches!(outcome, WebhookOutcome::Failed { .. }) {
                return outcome;
            }
            return store_failed(e);
        }
        if self.inner.recorded.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let inbox = Arc::clone(&self.inner.inbox);
            let retention = self.inner.inbox_retention;
            tokio::spawn(async move {
                if let Err(e) = inbox.prune(retention).await {
                    tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "inbox prune failed");
                }
            });
        }
        outcome
    }

    /// Dedupe, then apply: everything after verification.
    async fn dedupe_and_apply(
        &self,
        endpoint: &Endpoint,
        event: &WebhookEvent,
        fetched: Option<Payment>,
    ) -> WebhookOutcome {
        let inner = &self.inner;
        let key = DedupeKey {
            provider: event.provider.clone(),
            dedupe_id: event.dedupe_id.clone(),
        };
        match inner.dedupe.claim(&key, inner.lease).await {
            Ok(Claim::New) => {}
            Ok(Claim::Duplicate) => {
                return WebhookOutcome::Duplicate {
                    dedupe_id: event.dedupe_id.clone(),
                }
            }
            Ok(Claim::InProgress) => {
                return failed(
                    FailedStage::InProgress,
                    "the same event is being processed; redeliver later",
                )
            }
            Err(e) => return store_failed(e),
        }

        let outcome = self.apply(&endpoint.gateway, event, fetched).await;
        if matches!(outcome, WebhookOutcome::Failed { .. }) {
            if let Err(e) = inner.dedupe.release(&key).await {
                tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "dedupe release failed");
            }
            return outcome;
        }
        if let Err(e) = inner.dedupe.complete(&key, endpoint.dedupe_ttl).await {
            // The move is committed: the redelivery will find nothing to apply.
            return store_failed(e);
        }
        outcome
    }

    /// The secret to compare with: the saved one, else the one the PG returns for the payment.
    async fn expected_secret(
        &self,
        gateway: &Gateway,
        event: &WebhookEvent,
    ) -> Result<(Option<Secret>, Option<Payment>), WebhookOutcome> {
        let saved = self
            .inner
            .hanpay
            .secrets()
            .find(
                &event.provider,
                event.payment_key.as_deref(),
                event.order_id.as_deref(),
            )
            .await
            .map_err(store_failed)?;
        if saved.is_some() {
            return Ok((saved, None));
        }
        let payment = fetch(gateway, event).await?;
        Ok((payment.secret.clone(), Some(payment)))
    }

    /// `looked_up`: the payment if it was fetched before (to check a secret); it tells which
    /// payment to lock, but the state applied is fetched again under the lock, so that an
    /// answer that went stale while waiting is never applied.
    pub(crate) async fn apply(
        &self,
        gateway: &Gateway,
        event: &WebhookEvent,
        looked_up: Option<Payment>,
    ) -> WebhookOutcome {
        let mut answer = PgAnswer::default();
        self.apply_keeping(gateway, event, looked_up, &mut answer)
            .await
    }

    /// [`apply`](Self::apply), keeping the PG's answer (or its error) in `answer`: what a
    /// lookup through the pipeline returns to its caller.
    pub(crate) async fn apply_keeping(
        &self,
        gateway: &Gateway,
        event: &WebhookEvent,
        mut looked_up: Option<Payment>,
        answer: &mut PgAnswer,
    ) -> WebhookOutcome {
        let states = &self.inner.states;
        let provider = &event.provider;
        // An event that names only the order (Toss's DEPOSIT_CALLBACK) is looked up first, to
        // learn which payment to lock.
        if event.payment_key.is_none() && looked_up.is_none() {
            match fetch(gateway, event).await {
                Ok(p) => looked_up = Some(p),
                Err(outcome) => return outcome,
            }
        }
        let Some(payment_key) = looked_up
            .as_ref()
            .map(|p| p.payment_key.clone())
            .or_else(|| event.payment_key.clone())
        else {
            return WebhookOutcome::Ignored {
                dedupe_id: event.dedupe_id.clone(),
                reason: "the event names no payment".into(),
            };
        };

        // From here to the commit, one event per payment at a time (across instances on
        // PostgreSQL); dropping the guard releases it.
        let _lock = match self.inner.locks.lock(provider, &payment_key).await {
            Ok(guard) => guard,
            Err(e) => return store_failed(e),
        };
        let mut current = match states.get(provider, &payment_key).await {
            Ok(state) => state,
            Err(e) => return store_failed(e),
        };
        let needs_fetch = looked_up.is_some()
            || event.trust.requires_reconciliation()
            || event
                .status_hint
                .map_or(true, |s| moves_money(s) || s == PaymentStatus::Unknown)
            || is_money_kind(&event.kind)
            || current.as_ref().is_some_and(|s| s.status.is_paid());
        let mut fetched = if needs_fetch {
            match answer.fetch(gateway, &payment_key).await {
                Ok(p) => Some(p),
                Err(outcome) => return outcome,
            }
        } else {
            None
        };

        // Up to three attempts if another event for the same payment commits meanwhile.
        let mut attempts = 0;
        loop {
            let (order_id, new_status) = match &fetched {
                Some(p) => (Some(p.order_id.clone()), p.status),
                None => (
                    event.order_id.clone(),
                    event.status_hint.unwrap_or(PaymentStatus::Unknown),
                ),
            };
            let old = current.as_ref().map(|s| s.status);
            let skipped = match decide(current.as_ref(), new_status, fetched.as_ref(), event) {
                Decision::Apply { skipped } => skipped,
                Decision::Reconcile => {
                    // A hint that is not one legal move from the stored state: the PG's answer
                    // decides, so the payment is never stranded by an ignored hint.
                    match answer.fetch(gateway, &payment_key).await {
                        Ok(p) => fetched = Some(p),
                        Err(outcome) => return outcome,
                    }
                    continue;
                }
                Decision::Ignore(reason)
                    if answer.quiet && current.as_ref().is_some_and(|c| c.status == new_status) =>
                {
                    // A lookup that found nothing new: nothing to record.
                    return WebhookOutcome::Ignored {
                        dedupe_id: event.dedupe_id.clone(),
                        reason,
                    };
                }
                Decision::Ignore(reason) => {
                    let ignored = IgnoredEvent {
                        dedupe_id: event.dedupe_id.clone(),
                        reported: new_status,
                        kept: old.unwrap_or(new_status),
                        reason: reason.clone(),
                    };
                    if let Err(e) = states.record_ignored(provider, &payment_key, ignored).await {
                        return store_failed(e);
                    }
                    tracing::info!(
                        target: hanpay_core::observe::TARGET,
                        provider = %provider,
                        dedupe_id = %event.dedupe_id,
                        reason = %reason,
                        "webhook verified but not applied"
                    );
                    return WebhookOutcome::Ignored {
                        dedupe_id: event.dedupe_id.clone(),
                        reason,
                    };
                }
            };

            let payment_event = PaymentEvent {
                provider: provider.clone(),
                dedupe_id: event.dedupe_id.clone(),
                kind: event.kind.clone(),
                payment_key: payment_key.clone(),
                order_id: order_id.clone(),
                old_status: old,
                new_status,
                action: OrderAction::for_transition(
                    skipped.last().copied().or(old),
                    new_status,
                    &event.kind,
                ),
                actions: OrderAction::for_path(old, &skipped, new_status, &event.kind),
                skipped,
                total: fetched.as_ref().map(|p| p.total.clone()),
                balance: fetched.as_ref().map(|p| p.balance.clone()),
                canceled: fetched.as_ref().map(|p| p.canceled.clone()),
                reconciled: fetched.is_some(),
                trust: event.trust.label(),
                payment: fetched.clone(),
            };
            // The handler runs before the move is committed: if it fails, the redelivery
            // finds the old state and is processed again.
            if let Err(e) = self.inner.handler.handle(&payment_event).await {
                return failed(FailedStage::Handler, e.to_string());
            }
            let occurred_at = event.occurred_at.unwrap_or_else(OffsetDateTime::now_utc);
            let state = PaymentState {
                provider: provider.clone(),
                payment_key: payment_key.clone(),
                order_id: order_id.clone(),
                status: new_status,
                total: payment_event.total.clone(),
                balance: payment_event.balance.clone(),
                canceled: payment_event.canceled.clone(),
                updated_at: occurred_at,
            };
            // The change's events commit with it, or not at all.
            let events = if self.inner.outbox {
                payment_event.outbox_events(occurred_at)
            } else {
                Vec::new()
            };
            match states.compare_and_set_with_events(old, state, events).await {
                Ok(true) => return WebhookOutcome::Processed(Box::new(payment_event)),
                Ok(false) => {
                    attempts += 1;
                    if attempts == 3 {
                        return failed(
                            FailedStage::Store,
                            "the payment's state kept changing concurrently",
                        );
                    }
                    current = match states.get(provider, &payment_key).await {
                        Ok(state) => state,
                        Err(e) => return store_failed(e),
                    };
                }
                Err(e) => return store_failed(e),
            }
        }
    }
}

/// What to do with an event on top of the stored state.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Apply the move; `skipped` are the states passed on the way (reconciled events only).
    Apply { skipped: Vec<PaymentStatus> },
    /// An unreconciled hint that is not one legal move forward from the stored state: fetch
    /// the payment and decide on the PG's answer instead.
    Reconcile,
    /// Record the event and answer 200 without calling the handler.
    Ignore(String),
}

/// The rule: a status from the PG's API (`fetched`) is the truth, applied whenever it is
/// reachable from the stored status through legal moves (naming the states skipped); only one
/// that would go backwards is ignored. An unreconciled hint is applied only as one legal move,
/// never skipping states, and never when it is older than the stored state.
fn decide(
    current: Option<&PaymentState>,
    new_status: PaymentStatus,
    fetched: Option<&Payment>,
    event: &WebhookEvent,
) -> Decision {
    if new_status == PaymentStatus::Unknown {
        if fetched.is_none() {
            return Decision::Reconcile;
        }
        return Decision::Ignore(format!(
            "status {:?} is unknown to hanpay",
            fetched
                .map(|p| p.raw_status.clone())
                .or_else(|| event.raw_status.clone())
                .unwrap_or_default()
        ));
    }
    let Some(current) = current else {
        return Decision::Apply {
            skipped: fetched
                .and_then(|p| skipped_states(None, new_status, p))
                .unwrap_or_default(),
        };
    };
    if current.status == new_status {
        let more_canceled = new_status == PaymentStatus::PartiallyCanceled
            && fetched.is_some_and(|p| Some(&p.canceled) != current.canceled.as_ref());
        if !more_canceled {
            return Decision::Ignore(format!("no change: already {new_status}"));
        }
        return Decision::Apply {
            skipped: Vec::new(),
        };
    }
    let Some(payment) = fetched else {
        let late = event.occurred_at.is_some_and(|at| at < current.updated_at);
        // The rare moves (a late approval, a reversed deposit, a failed waiting account) are
        // applied on the PG's word only: a hint of one is reconciled.
        let ordinary =
            current.status.can_move_to(new_status) && !current.status.needs_pg_word(new_status);
        if ordinary && !late {
            return Decision::Apply {
                skipped: Vec::new(),
            };
        }
        return Decision::Reconcile;
    };
    match skipped_states(Some(current.status), new_status, payment) {
        Some(skipped) => Decision::Apply { skipped },
        None => Decision::Ignore(format!(
            "the PG says {new_status}, which cannot follow {} through legal moves (a stale \
             answer or a late event); never applied backwards",
            current.status
        )),
    }
}

/// The states a payment passed from `from` to `to` (the PG's answer `payment`), or `None`
/// when `to` is not reachable. Where several legal ways lead there, the answer tells them
/// apart: a virtual account passed `WaitingForDeposit`, an approved payment passed `Paid`,
/// one canceled in several parts passed `PartiallyCanceled`. From `None` (no state stored),
/// only the states the answer shows.
fn skipped_states(
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    payment: &Payment,
) -> Option<Vec<PaymentStatus>> {
    use PaymentStatus::*;
    // The lifecycle's order, for "strictly between `from` and `to`".
    let rank = |s: PaymentStatus| match s {
        Ready => Some(0),
        Pending => Some(1),
        WaitingForDeposit => Some(2),
        Paid => Some(3),
        PartiallyCanceled => Some(4),
        Canceled => Some(5),
        Failed | Expired | Unknown => None,
    };
    let low = match from {
        None => -1,
        Some(s) => rank(s).unwrap_or(i32::MAX),
    };
    let high = rank(to).unwrap_or(i32::MIN);
    let done_cancellations = payment
        .cancellations
        .iter()
        .filter(|c| c.status == CancellationStatus::Done)
        .count();
    let via: Vec<PaymentStatus> = [
        (WaitingForDeposit, payment.virtual_account().is_some()),
        (Paid, payment.approved_at.is_some()),
        (PartiallyCanceled, done_cancellations >= 2),
    ]
    .into_iter()
    .filter(|&(state, shown)| shown && rank(state).is_some_and(|r| low < r && r < high))
    .map(|(state, _)| state)
    .collect();
    match from {
        Some(from) => from
            .path_via(&via, to)
            .or_else(|| from.path_to(to))
            .or_else(|| shown_rare_path(from, to, payment)),
        None => {
            let Some((&first, rest)) = via.split_first() else {
                return Some(Vec::new());
            };
            let Some(mut skipped) = first.path_via(rest, to) else {
                return Some(Vec::new());
            };
            skipped.insert(0, first);
            Some(skipped)
        }
    }
}

/// A path with several moves that [need the PG's word](PaymentStatus::needs_pg_word) (a
/// reversed deposit, then a failed waiting account), taken only when the answer shows every
/// state it passes: a virtual account for `WaitingForDeposit`, an approval for `Paid`, two
/// cancellations for `PartiallyCanceled`; never one through `Failed`, `Expired` or earlier.
fn shown_rare_path(
    from: PaymentStatus,
    to: PaymentStatus,
    payment: &Payment,
) -> Option<Vec<PaymentStatus>> {
    let skipped = from.path_on_pg_word(to)?;
    let done = payment
        .cancellations
        .iter()
        .filter(|c| c.status == CancellationStatus::Done)
        .count();
    let shown = |state: &PaymentStatus| match state {
        PaymentStatus::WaitingForDeposit => payment.virtual_account().is_some(),
        PaymentStatus::Paid => payment.approved_at.is_some(),
        PaymentStatus::PartiallyCanceled => done >= 2,
        _ => false,
    };
    skipped.iter().all(shown).then_some(skipped)
}

/// The PG's answer to the lookups [`WebhookPipeline::apply_keeping`] made: the last payment
/// fetched, or the error of the last fetch.
#[derive(Debug, Default)]
pub(crate) struct PgAnswer {
    /// The payment as the PG answered last.
    pub(crate) payment: Option<Payment>,
    /// Why the last lookup failed.
    pub(crate) error: Option<PaymentError>,
    /// A lookup (not a webhook): an answer with nothing new is not recorded as an ignored
    /// event.
    pub(crate) quiet: bool,
}

impl PgAnswer {
    /// Fetches the payment from the PG, keeping the answer: the answer applied.
    async fn fetch(
        &mut self,
        gateway: &Gateway,
        payment_key: &str,
    ) -> Result<Payment, WebhookOutcome> {
        match gateway.payment(payment_key).await {
            Ok(payment) => {
                self.payment = Some(payment.clone());
                self.error = None;
                Ok(payment)
            }
            Err(e) => {
                let outcome = failed(
                    FailedStage::Reconcile,
                    format!("could not fetch the payment from the PG: {e}"),
                );
                self.error = Some(e);
                Err(outcome)
            }
        }
    }
}

async fn fetch(gateway: &Gateway, event: &WebhookEvent) -> Result<Payment, WebhookOutcome> {
    let result: Result<Payment, PaymentError> = match (&event.payment_key, &event.order_id) {
        (Some(key), _) => gateway.payment(key).await,
        (None, Some(order)) => gateway.payment_by_order_id(order).await,
        (None, None) => {
            return Err(WebhookOutcome::Ignored {
                dedupe_id: event.dedupe_id.clone(),
                reason: "the event names no payment".into(),
            })
        }
    };
    result.map_err(|e| {
        failed(
            FailedStage::Reconcile,
            format!("could not fetch the payment from the PG: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    use hanpay_core::{
        Bank, Cancellation, ConfirmRequest, Money, ProviderId, VirtualAccountRequest,
        WebhookEventKind,
    };
    use hanpay_testkit::mock::MockProvider;
    use PaymentStatus::*;

    fn state(status: PaymentStatus, updated_at: OffsetDateTime) -> PaymentState {
        PaymentState {
            provider: ProviderId::from_static("mock"),
            payment_key: "pay-1".into(),
            order_id: None,
            status,
            total: None,
            balance: None,
            canceled: None,
            updated_at,
        }
    }

    fn hint(status: PaymentStatus, occurred_at: Option<OffsetDateTime>) -> WebhookEvent {
        WebhookEvent {
            provider: ProviderId::from_static("mock"),
            dedupe_id: "evt-1".into(),
            kind: WebhookEventKind::PaymentStatusChanged,
            payment_key: Some("pay-1".into()),
            order_id: None,
            status_hint: Some(status),
            raw_status: None,
            occurred_at,
            trust: hanpay_core::Trust::Signed,
            payment_secret: None,
            body: bytes::Bytes::new(),
        }
    }

    /// A card payment as the PG returns it once approved, and a virtual account one.
    async fn answers() -> (Payment, Payment) {
        let mock = MockProvider::new();
        let key = mock
            .authenticate_card("order-card-1", &Money::krw(10_000))
            .unwrap();
        let card = mock
            .confirm(&ConfirmRequest::new(
                &key,
                "order-card-1",
                Money::krw(10_000),
            ))
            .await
            .unwrap();
        let va = mock
            .issue_virtual_account(&VirtualAccountRequest::new(
                Money::krw(10_000),
                "order-va-1",
                "셔츠",
                "김토스",
                Bank::Shinhan,
            ))
            .await
            .unwrap();
        let va = mock.deposit(&va.payment_key).unwrap();
        assert!(card.approved_at.is_some() && va.virtual_account().is_some());
        (card, va)
    }

    fn with_status(payment: &Payment, status: PaymentStatus) -> Payment {
        let mut p = payment.clone();
        p.status = status;
        p
    }

    #[tokio::test]
    async fn a_reachable_answer_is_applied_with_the_states_the_answer_shows() {
        let (card, va) = answers().await;
        let now = OffsetDateTime::now_utc();
        let event = hint(Paid, None);
        let decide_on = |stored: Option<PaymentStatus>, answer: &Payment| {
            let current = stored.map(|s| state(s, now));
            decide(current.as_ref(), answer.status, Some(answer), &event)
        };
        let apply = |skipped: &[PaymentStatus]| Decision::Apply {
            skipped: skipped.to_vec(),
        };
        let canceled = with_status(&card, Canceled);
        assert_eq!(decide_on(Some(Ready), &canceled), apply(&[Paid]));
        assert_eq!(decide_on(Some(Pending), &canceled), apply(&[Paid]));
        assert_eq!(decide_on(Some(Paid), &canceled), apply(&[]));
        // Approved late after failing or expiring: the PG's answer revives it.
        assert_eq!(decide_on(Some(Failed), &card), apply(&[]));
        assert_eq!(decide_on(Some(Expired), &canceled), apply(&[Paid]));
        // A deposit reversed, then the waiting account failed: two rare moves, taken because
        // the answer shows the virtual account; a card payment shows no such way.
        let va_failed = with_status(&va, Failed);
        assert_eq!(
            decide_on(Some(Paid), &va_failed),
            apply(&[WaitingForDeposit])
        );
        assert!(matches!(
            decide_on(Some(Paid), &with_status(&card, Failed)),
            Decision::Ignore(_)
        ));
        // Expired, then a virtual account waiting again: revival and reversal would both be
        // needed, and the answer shows no approval.
        let mut waiting_again = with_status(&va, WaitingForDeposit);
        waiting_again.approved_at = None;
        assert!(matches!(
            decide_on(Some(Expired), &waiting_again),
            Decision::Ignore(_)
        ));
        assert_eq!(decide_on(None, &canceled), apply(&[Paid]));
        // Refunded in two parts: it passed PartiallyCanceled.
        let mut twice = canceled.clone();
        let part = Cancellation {
            amount: Money::krw(5_000),
            tax_free_amount: None,
            reason: None,
            canceled_at: None,
            transaction_key: None,
            status: CancellationStatus::Done,
        };
        twice.cancellations = vec![part.clone(), part];
        assert_eq!(
            decide_on(Some(Ready), &twice),
            apply(&[Paid, PartiallyCanceled])
        );
        // A virtual account deposited, then refunded; one canceled before the deposit.
        let va_canceled = with_status(&va, Canceled);
        assert_eq!(
            decide_on(Some(Ready), &va_canceled),
            apply(&[WaitingForDeposit, Paid])
        );
        assert_eq!(
            decide_on(Some(WaitingForDeposit), &va_canceled),
            apply(&[Paid])
        );
        assert_eq!(decide_on(None, &va), apply(&[WaitingForDeposit]));
        let mut never_paid = va_canceled.clone();
        never_paid.approved_at = None;
        assert_eq!(decide_on(Some(WaitingForDeposit), &never_paid), apply(&[]));
    }

    #[tokio::test]
    async fn a_stale_answer_behind_the_store_is_never_applied() {
        let (card, _) = answers().await;
        let now = OffsetDateTime::now_utc();
        let event = hint(Paid, None);
        for (stored, answer) in [
            (Canceled, Paid),
            (PartiallyCanceled, Paid),
            (Paid, Ready),
            (WaitingForDeposit, Ready),
            (Failed, Ready),
        ] {
            let current = state(stored, now);
            let answer = with_status(&card, answer);
            let decision = decide(Some(&current), answer.status, Some(&answer), &event);
            assert!(
                matches!(&decision, Decision::Ignore(reason) if reason.contains("never applied backwards")),
                "{stored} then {}: {decision:?}",
                answer.status
            );
        }
        let current = state(Canceled, now);
        let answer = with_status(&card, Canceled);
        assert!(matches!(
            decide(Some(&current), Canceled, Some(&answer), &event),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn a_hint_is_one_legal_move_or_it_is_reconciled() {
        let now = OffsetDateTime::now_utc();
        let earlier = now - time::Duration::seconds(5);
        let apply = Decision::Apply {
            skipped: Vec::new(),
        };
        let ready = state(Ready, now);
        assert_eq!(decide(None, Ready, None, &hint(Ready, None)), apply);
        assert_eq!(
            decide(Some(&ready), Failed, None, &hint(Failed, None)),
            apply
        );
        // Not one legal move: never skipped, never simply ignored.
        let waiting = state(WaitingForDeposit, now);
        assert_eq!(
            decide(Some(&waiting), Ready, None, &hint(Ready, None)),
            Decision::Reconcile
        );
        assert_eq!(
            decide(Some(&ready), Canceled, None, &hint(Canceled, None)),
            Decision::Reconcile
        );
        // Legal, but older than what is stored.
        assert_eq!(
            decide(Some(&ready), Failed, None, &hint(Failed, Some(earlier))),
            Decision::Reconcile
        );
        assert_eq!(
            decide(Some(&ready), Unknown, None, &hint(Unknown, None)),
            Decision::Reconcile
        );
        // A late approval, a reversed deposit, a failed waiting account: legal, but only on
        // the PG's word, never on a hint.
        for (stored, hinted) in [
            (Failed, Paid),
            (Expired, Paid),
            (Paid, WaitingForDeposit),
            (WaitingForDeposit, Failed),
        ] {
            assert_eq!(
                decide(Some(&state(stored, now)), hinted, None, &hint(hinted, None)),
                Decision::Reconcile,
                "{stored} -> {hinted}"
            );
        }
        assert!(matches!(
            decide(Some(&ready), Ready, None, &hint(Ready, None)),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn stage_names_are_the_serde_names() {
        for stage in [
            FailedStage::Store,
            FailedStage::Reconcile,
            FailedStage::Handler,
            FailedStage::InProgress,
        ] {
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::Value::String(stage.as_str().into())
            );
        }
    }

    #[test]
    fn a_taken_delivery_gets_the_pgs_own_answer() {
        let ok = WebhookAck::fixed(200, "OK", "text/plain; charset=utf-8");
        let duplicate = WebhookOutcome::Duplicate {
            dedupe_id: "d".into(),
        };
        let answer = duplicate.answer(Some(&ok));
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"OK"[..]));
        assert_eq!(answer.content_type, "text/plain; charset=utf-8");
        // A refusal keeps its status and JSON body whatever the PG's ack.
        let refused = WebhookOutcome::Rejected(WebhookError::SecretMismatch).answer(Some(&ok));
        assert_eq!(refused.status, 401);
        assert_eq!(refused.content_type, "application/json");
        // The default ack is the JSON summary.
        let summary = duplicate.answer(Some(&WebhookAck::JSON_SUMMARY));
        assert_eq!(summary.body, duplicate.body().to_string().into_bytes());
    }
}
