//! Applying what was seen: under the payment's lock, ask the PG when needed, [decide], run the
//! application's handler, and commit the move with its outbox events — or record why not.
//!
//! [decide]: super::decide::decide

use hanpay_core::{
    Payment, PaymentError, PaymentProvider, PaymentStatus, ProviderId, WebhookEvent,
    WebhookEventKind,
};
use time::OffsetDateTime;

use super::decide::{decide, Claimed, Decision};
use super::outcome::{failed, store_failed, FailedStage, WebhookOutcome};
use super::WebhookPipeline;
use crate::event::{OrderAction, PaymentEvent};
use crate::registry::Gateway;
use crate::store::{
    Change, DedupeKey, DeliveryCommit, IgnoredEvent, InboxOutcome, InboxRecord, PaymentState,
};

/// What [`WebhookPipeline::apply`] applies: a verified delivery, a question to the PG, or the
/// PG's own answer to hanpay's call.
#[derive(Debug)]
pub(crate) enum Observation<'a> {
    /// A verified webhook: its hint is applied as one ordinary move, or the PG is asked.
    Webhook(&'a WebhookEvent),
    /// No hint: the payment is fetched under its lock and the PG's answer applied.
    Ask(Ask),
    /// What the PG answered hanpay's own confirm, cancel or issue call: applied as it is under
    /// the payment's lock (refused if it would move backwards), never fetched again.
    Answer(Answer<'a>),
}

/// The PG's answer to a call hanpay made, and the id its change is recorded under.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    /// The payment as the PG answered.
    pub(crate) payment: &'a Payment,
    /// Names the change applied (`observe:…`).
    pub(crate) id: String,
}

impl<'a> Answer<'a> {
    /// The PG's answer `payment`, named after `source` (`observe`).
    pub(crate) fn of(source: &str, payment: &'a Payment) -> Answer<'a> {
        Answer {
            payment,
            id: change_id(source, &payment.payment_key),
        }
    }
}

/// `{source}:{payment_key}:{now in ns}`: the id of a change no delivery named.
fn change_id(source: &str, payment_key: &str) -> String {
    format!(
        "{source}:{payment_key}:{}",
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    )
}

/// The kind recorded for a question or an answer.
static STATUS_CHANGED: WebhookEventKind = WebhookEventKind::PaymentStatusChanged;

/// A payment to ask the PG about: a lookup, the reconciler's re-check, a replayed delivery, a
/// confirm or cancel answer.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// The provider.
    pub(crate) provider: ProviderId,
    /// The PG's payment key, when known.
    pub(crate) payment_key: Option<String>,
    /// The merchant's order id, when known.
    pub(crate) order_id: Option<String>,
    /// Names the change applied: a replayed delivery's dedupe id, or `lookup:…`.
    pub(crate) id: String,
    /// What it is about (a replayed delivery keeps its kind).
    pub(crate) kind: WebhookEventKind,
}

impl Ask {
    /// A question about `payment_key` from `source` (`lookup`, `reconcile`, `observe`).
    pub(crate) fn about(
        source: &str,
        provider: &ProviderId,
        payment_key: &str,
        order_id: Option<String>,
    ) -> Ask {
        Ask {
            provider: provider.clone(),
            payment_key: Some(payment_key.to_owned()),
            order_id,
            id: change_id(source, payment_key),
            kind: WebhookEventKind::PaymentStatusChanged,
        }
    }
}

impl Observation<'_> {
    pub(crate) fn provider(&self) -> &ProviderId {
        match self {
            Observation::Webhook(e) => &e.provider,
            Observation::Ask(a) => &a.provider,
            Observation::Answer(a) => &a.payment.provider,
        }
    }

    pub(crate) fn payment_key(&self) -> Option<&str> {
        match self {
            Observation::Webhook(e) => e.payment_key.as_deref(),
            Observation::Ask(a) => a.payment_key.as_deref(),
            Observation::Answer(a) => Some(&a.payment.payment_key),
        }
    }

    pub(crate) fn order_id(&self) -> Option<&str> {
        match self {
            Observation::Webhook(e) => e.order_id.as_deref(),
            Observation::Ask(a) => a.order_id.as_deref(),
            Observation::Answer(a) => Some(&a.payment.order_id),
        }
    }

    /// The delivery's dedupe id, or the question's id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Observation::Webhook(e) => &e.dedupe_id,
            Observation::Ask(a) => &a.id,
            Observation::Answer(a) => &a.id,
        }
    }

    pub(crate) fn kind(&self) -> &WebhookEventKind {
        match self {
            Observation::Webhook(e) => &e.kind,
            Observation::Ask(a) => &a.kind,
            Observation::Answer(_) => &STATUS_CHANGED,
        }
    }

    /// The status a webhook claims; a question claims none.
    fn hint(&self) -> Option<PaymentStatus> {
        match self {
            Observation::Webhook(e) => e.status_hint,
            Observation::Ask(_) | Observation::Answer(_) => None,
        }
    }

    /// The PG's answer this observation already is.
    fn answer(&self) -> Option<&Payment> {
        match self {
            Observation::Answer(a) => Some(a.payment),
            _ => None,
        }
    }

    fn claimed(&self) -> Claimed<'_> {
        match self {
            Observation::Webhook(e) => Claimed {
                occurred_at: e.occurred_at,
                raw_status: e.raw_status.as_deref(),
            },
            Observation::Ask(_) | Observation::Answer(_) => Claimed::default(),
        }
    }

    /// Whether the PG must be asked before anything is applied: always for a question, never
    /// for its answer; for a webhook, unless it is signed and its hint is an ordinary status
    /// that moves no money.
    fn must_ask(&self) -> bool {
        match self {
            Observation::Webhook(e) => {
                e.trust.requires_reconciliation()
                    || e.status_hint
                        .map_or(true, |s| moves_money(s) || s == PaymentStatus::Unknown)
                    || is_money_kind(&e.kind)
            }
            Observation::Ask(_) => true,
            Observation::Answer(_) => false,
        }
    }

    /// The trust label recorded (a question or an answer counts as unverified: the PG's
    /// answer decides).
    pub(crate) fn trust_label(&self) -> &'static str {
        match self {
            Observation::Webhook(e) => e.trust.label(),
            Observation::Ask(_) | Observation::Answer(_) => "unverified",
        }
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

impl WebhookPipeline {
    /// Applies `seen` under the payment's lock: asks the PG when the observation calls for it
    /// (anything but a signed, ordinary, one-step hint), decides, runs the handler, commits.
    /// `looked_up`: the payment if it was fetched before (to check a secret); it tells which
    /// payment to lock, but the state applied is fetched again under the lock, so that an
    /// answer that went stale while waiting is never applied.
    pub(crate) async fn apply(
        &self,
        gateway: &Gateway,
        seen: &Observation<'_>,
        looked_up: Option<Payment>,
    ) -> WebhookOutcome {
        let mut answer = Applying::default();
        self.apply_keeping(gateway, seen, looked_up, &mut answer)
            .await
    }

    /// [`apply`](Self::apply), keeping the PG's answer (or its error) in `answer`: what a
    /// lookup through the pipeline returns to its caller. With `answer.delivery`, the
    /// delivery's dedupe entry and inbox record commit with the change, in one transaction,
    /// when the stores share one database.
    pub(crate) async fn apply_keeping(
        &self,
        gateway: &Gateway,
        seen: &Observation<'_>,
        mut looked_up: Option<Payment>,
        answer: &mut Applying,
    ) -> WebhookOutcome {
        let states = &self.inner.states;
        let provider = seen.provider();
        // An event that names only the order (Toss's DEPOSIT_CALLBACK) is looked up first, to
        // learn which payment to lock.
        if seen.payment_key().is_none() && looked_up.is_none() {
            match fetch(gateway, seen.id(), None, seen.order_id()).await {
                Ok(p) => looked_up = Some(p),
                Err(outcome) => return outcome,
            }
        }
        let Some(payment_key) = looked_up
            .as_ref()
            .map(|p| p.payment_key.clone())
            .or_else(|| seen.payment_key().map(str::to_owned))
        else {
            return WebhookOutcome::Ignored {
                dedupe_id: seen.id().to_owned(),
                reason: "the event names no payment".into(),
            };
        };

        // From here to the commit, one event per payment at a time (across instances on
        // PostgreSQL); dropping the guard releases it.
        let _lock = match self.inner.locks.lock(provider, &payment_key).await {
            Ok(guard) => guard,
            Err(e) => return store_failed(e),
        };
        // A delivery whose writes commit with its change was not claimed: under the lock,
        // nothing else applies this payment, so one read tells whether it was processed
        // meanwhile (by a concurrent delivery of the same event that held the lock first).
        let delivery = answer.delivery.as_ref().filter(|_| self.inner.combined);
        let (processed, state) = match delivery {
            Some(d) => {
                let (processed, state) = futures_util::future::join(
                    self.inner.dedupe.processed(&d.key),
                    states.get(provider, &payment_key),
                )
                .await;
                (processed, state)
            }
            None => (Ok(false), states.get(provider, &payment_key).await),
        };
        match processed {
            Ok(true) => {
                return WebhookOutcome::Duplicate {
                    dedupe_id: seen.id().to_owned(),
                }
            }
            Ok(false) => {}
            Err(e) => return store_failed(e),
        }
        let mut current = match state {
            Ok(state) => state,
            Err(e) => return store_failed(e),
        };
        // The PG's answer to hanpay's own call is the fetch: it is not asked again.
        let answered = seen.answer().cloned();
        let needs_fetch = answered.is_none()
            && (looked_up.is_some()
                || seen.must_ask()
                || current.as_ref().is_some_and(|s| s.status.is_paid()));
        let mut fetched = if answered.is_some() {
            answered
        } else if needs_fetch {
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
                    seen.order_id().map(str::to_owned),
                    seen.hint().unwrap_or(PaymentStatus::Unknown),
                ),
            };
            let old = current.as_ref().map(|s| s.status);
            let skipped = match decide(
                current.as_ref(),
                new_status,
                fetched.as_ref(),
                seen.claimed(),
            ) {
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
                        dedupe_id: seen.id().to_owned(),
                        reason,
                    };
                }
                Decision::Ignore(reason) => {
                    let ignored = IgnoredEvent {
                        dedupe_id: seen.id().to_owned(),
                        reported: new_status,
                        kept: old.unwrap_or(new_status),
                        reason: reason.clone(),
                    };
                    let change = Change::Ignored {
                        provider: provider.clone(),
                        payment_key: payment_key.clone(),
                        event: ignored,
                    };
                    let outcome = InboxOutcome::Ignored {
                        reason: reason.clone(),
                    };
                    if let Err(e) = self
                        .commit(seen, change, &payment_key, outcome, answer)
                        .await
                    {
                        return store_failed(e);
                    }
                    tracing::info!(
                        target: hanpay_core::observe::TARGET,
                        provider = %provider,
                        dedupe_id = %seen.id(),
                        reason = %reason,
                        "webhook verified but not applied"
                    );
                    return WebhookOutcome::Ignored {
                        dedupe_id: seen.id().to_owned(),
                        reason,
                    };
                }
            };

            let payment_event = PaymentEvent {
                provider: provider.clone(),
                dedupe_id: seen.id().to_owned(),
                kind: seen.kind().clone(),
                payment_key: payment_key.clone(),
                order_id: order_id.clone(),
                old_status: old,
                new_status,
                action: OrderAction::for_transition(
                    skipped.last().copied().or(old),
                    new_status,
                    seen.kind(),
                ),
                actions: OrderAction::for_path(old, &skipped, new_status, seen.kind()),
                skipped,
                total: fetched.as_ref().map(|p| p.total.clone()),
                balance: fetched.as_ref().map(|p| p.balance.clone()),
                canceled: fetched.as_ref().map(|p| p.canceled.clone()),
                reconciled: fetched.is_some(),
                trust: seen.trust_label(),
                payment: fetched.clone(),
            };
            // The handler runs before the move is committed: if it fails, the redelivery
            // finds the old state and is processed again.
            if let Err(e) = self.inner.handler.handle(&payment_event).await {
                return failed(FailedStage::Handler, e.to_string());
            }
            let occurred_at = seen
                .claimed()
                .occurred_at
                .unwrap_or_else(OffsetDateTime::now_utc);
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
            let change = Change::Move {
                expected: old,
                state,
                events,
            };
            match self
                .commit(seen, change, &payment_key, InboxOutcome::Applied, answer)
                .await
            {
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

impl WebhookPipeline {
    /// Writes `change`: with a delivery and stores sharing one database, in one transaction
    /// with the delivery's dedupe entry and inbox record (then marked
    /// [committed](Delivery::committed)); else the change alone. `false`: the compare-and-set
    /// found another status, nothing was written.
    async fn commit(
        &self,
        seen: &Observation<'_>,
        change: Change,
        payment_key: &str,
        outcome: InboxOutcome,
        answer: &mut Applying,
    ) -> Result<bool, crate::store::StoreError> {
        let states = &self.inner.states;
        if let Some(delivery) = answer.delivery.as_mut().filter(|_| self.inner.combined) {
            let commit = DeliveryCommit {
                change,
                dedupe: Some((delivery.key.clone(), delivery.ttl)),
                record: Some(inbox_record(seen, outcome, Some(payment_key.to_owned()))),
            };
            match states.commit_delivery(&commit).await? {
                Some(written) => {
                    delivery.committed = written;
                    return Ok(written);
                }
                // This store writes the parts one by one.
                None => return self.write_change(commit.change).await,
            }
        }
        self.write_change(change).await
    }

    /// Writes `change` on its own.
    async fn write_change(&self, change: Change) -> Result<bool, crate::store::StoreError> {
        let states = &self.inner.states;
        match change {
            Change::Move {
                expected,
                state,
                events,
            } => {
                states
                    .compare_and_set_with_events(expected, state, events)
                    .await
            }
            Change::Ignored {
                provider,
                payment_key,
                event,
            } => states
                .record_ignored(&provider, &payment_key, event)
                .await
                .map(|()| true),
        }
    }
}

/// The inbox record of `seen` with `outcome`.
pub(crate) fn inbox_record(
    seen: &Observation<'_>,
    outcome: InboxOutcome,
    payment_key: Option<String>,
) -> InboxRecord {
    InboxRecord {
        provider: seen.provider().clone(),
        dedupe_id: seen.id().to_owned(),
        kind: seen.kind().as_str().to_owned(),
        payment_key: payment_key.or_else(|| seen.payment_key().map(str::to_owned)),
        order_id: seen.order_id().map(str::to_owned),
        trust: seen.trust_label().to_owned(),
        outcome,
    }
}

/// A webhook delivery being applied: its dedupe entry and inbox record commit with its change.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// The delivery's dedupe key.
    pub(crate) key: DedupeKey,
    /// How long it is remembered as processed.
    pub(crate) ttl: std::time::Duration,
    /// Whether its dedupe entry and inbox record were committed with the change.
    pub(crate) committed: bool,
}

/// The context of [`WebhookPipeline::apply_keeping`]: the PG's answer to the lookups it made
/// (the last payment fetched, or the error of the last fetch), and the delivery being applied.
#[derive(Debug, Default)]
pub(crate) struct Applying {
    /// The payment as the PG answered last.
    pub(crate) payment: Option<Payment>,
    /// Why the last lookup failed.
    pub(crate) error: Option<PaymentError>,
    /// A lookup (not a webhook): an answer with nothing new is not recorded as an ignored
    /// event.
    pub(crate) quiet: bool,
    /// The webhook delivery being applied, if any.
    pub(crate) delivery: Option<Delivery>,
}

impl Applying {
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

/// Fetches the payment a delivery names, by key or else by order id.
pub(crate) async fn fetch(
    gateway: &Gateway,
    id: &str,
    payment_key: Option<&str>,
    order_id: Option<&str>,
) -> Result<Payment, WebhookOutcome> {
    let result: Result<Payment, PaymentError> = match (payment_key, order_id) {
        (Some(key), _) => gateway.payment(key).await,
        (None, Some(order)) => gateway.payment_by_order_id(order).await,
        (None, None) => {
            return Err(WebhookOutcome::Ignored {
                dedupe_id: id.to_owned(),
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
