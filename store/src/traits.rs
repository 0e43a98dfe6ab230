//! The store traits the webhook pipeline and the reconciler use. Every backend (memory,
//! SQLite, PostgreSQL) implements all of them, and `suite` (feature `suite`) checks that
//! each one keeps the same promises.

use std::time::Duration;

use hanpay_core::{async_trait, PaymentStatus, ProviderId, Secret};

use crate::inbox::{InboxEntry, InboxFilter, InboxRecord};
use crate::model::{
    Claim, DedupeKey, DeliveryCommit, IgnoredEvent, PaymentState, RecheckPolicy, SavedSecret,
    StalePayment,
};
use crate::outbox::{ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter};
use crate::StoreError;

/// Remembers which webhook deliveries were processed.
///
/// `claim` then `complete` on success, or `release` on failure so the redelivery is processed.
/// Entries must be kept at least `ttl`: the pipeline passes the provider's redelivery span plus
/// a margin. Expired entries must not slow a call down: expire through an index or an
/// amortised sweep, never a scan per call.
#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// Marks `key` as being processed, unless it is already processed or in progress. A claim
    /// that is neither completed nor released within `lease` may be claimed again (by this or
    /// another instance: a crashed instance's claim is taken over).
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError>;

    /// Marks `key` as processed, remembered for `ttl`.
    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError>;

    /// Forgets a claim whose processing failed (a processed entry is kept).
    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError>;

    /// Whether `key` was processed (and is still remembered): one indexed read, no write.
    /// With the payment's lock held (nothing else applies the same payment meanwhile), this
    /// and [`PaymentStateStore::commit_delivery`] replace claim, complete and release — for
    /// the stores of one backend only, so a dedupe store of its own (Redis, …) need not
    /// implement it: the default refuses.
    async fn processed(&self, key: &DedupeKey) -> Result<bool, StoreError> {
        let _ = key;
        Err(StoreError::new(
            "this dedupe store answers claims only (processed is asked of a backend's own stores)",
        ))
    }
}

/// The last applied status per payment. The pipeline moves it only along
/// [`PaymentStatus::can_move_to`].
#[async_trait]
pub trait PaymentStateStore: Send + Sync {
    /// The state of a payment, if any event was applied to it.
    async fn get(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Option<PaymentState>, StoreError>;

    /// Writes `state` if the current status is still `expected` (`None`: no state yet).
    /// Returns `false`, writing nothing, when it changed meanwhile.
    async fn compare_and_set(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
    ) -> Result<bool, StoreError> {
        self.compare_and_set_with_events(expected, state, Vec::new())
            .await
    }

    /// [`compare_and_set`](Self::compare_and_set), and in the same transaction, when the
    /// state is written, `events` are appended to this store's [`Outbox`] (in order, each
    /// with the payment's next sequence number). When the state is not written, no event is.
    async fn compare_and_set_with_events(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
        events: Vec<NewEvent>,
    ) -> Result<bool, StoreError>;

    /// Commits a processed delivery in one transaction: its [change](crate::Change) (a
    /// compare-and-set with its events, or an ignored event), its dedupe entry marked
    /// processed and its inbox record — in this store's database, so only when the
    /// [`DedupeStore`] and the [`Inbox`] are this backend's too. `Some(false)`: the
    /// compare-and-set found another status, and nothing was written. `None` (the default):
    /// this store cannot; the caller writes each part on its own.
    async fn commit_delivery(&self, commit: &DeliveryCommit) -> Result<Option<bool>, StoreError> {
        let _ = commit;
        Ok(None)
    }

    /// Records an event that was not applied (late, out of order, or illegal).
    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError>;

    /// The events recorded as ignored for a payment, oldest first.
    async fn ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Vec<IgnoredEvent>, StoreError>;

    /// Starts tracking a payment with no state yet (confirmed or issued through the facade),
    /// so that the reconciler finds it even if every webhook about it is lost. Does nothing
    /// when the payment is known.
    async fn track(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        order_id: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` payments of `provider` whose re-check is due under `policy`: tracked
    /// only (status `None`) or in any status but the [final](crate::FINAL_STATUSES) ones, at
    /// least `policy.first` old, whose next check time has come. Each one returned gets its
    /// next check time in the same statement: `policy`'s next wait after its age (at least
    /// `hold`, so that a concurrent call — another instance — does not get it meanwhile), or
    /// never again past the horizon. A status change makes it due again after `policy.first`.
    async fn claim_stale(
        &self,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError>;
}

/// Where per-payment secrets are kept (the ones the PG returned at confirm or virtual-account
/// issue, checked against Toss's `DEPOSIT_CALLBACK`).
#[async_trait]
pub trait PaymentSecrets: Send + Sync {
    /// Saves (or replaces) the secret of a payment.
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError>;

    /// The secret of the payment with this key, or else of the payment for this order.
    async fn find(
        &self,
        provider: &ProviderId,
        payment_key: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError>;
}

/// The durable record of every verified delivery; see [`crate::inbox`].
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Records a delivery (one row per provider and dedupe id: a redelivery counts an attempt
    /// and updates the outcome). Returns the row's id.
    async fn record(&self, record: InboxRecord) -> Result<i64, StoreError>;

    /// The entries passing `filter`, newest first.
    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError>;

    /// One entry by id.
    async fn entry(&self, id: i64) -> Result<Option<InboxEntry>, StoreError>;

    /// Deletes entries that did not fail, and ignored-event records, last seen more than
    /// `retention` ago. Failed entries stay until a replay or redelivery succeeds. Returns how
    /// many rows were deleted.
    async fn prune(&self, retention: Duration) -> Result<u64, StoreError>;
}

/// The durable outbox of events to deliver; see [`crate::outbox`]. Events are written by
/// [`PaymentStateStore::compare_and_set_with_events`] of the same backend.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Hands out up to `limit` due events, each leased to `owner` for `lease`: pending, due
    /// ([`next_attempt_at`](OutboxEvent::next_attempt_at) passed), not leased (or the lease
    /// lapsed), and with no earlier pending event of the same payment. Each claim counts an
    /// attempt. A concurrent claimer (another instance) never gets the same event while the
    /// lease runs.
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError>;

    /// Marks the leased event delivered. `false` when the lease is no longer the event's
    /// (lapsed and taken over, or the event was marked meanwhile): nothing is written.
    async fn mark_delivered(&self, lease: &Lease) -> Result<bool, StoreError>;

    /// [`mark_delivered`](Self::mark_delivered) for a round's worth of leases at once, in one
    /// statement or transaction where the backend allows: for each lease, in order, whether it
    /// was still the event's. The default marks them one by one.
    async fn mark_all_delivered(&self, leases: &[Lease]) -> Result<Vec<bool>, StoreError> {
        let mut held = Vec::with_capacity(leases.len());
        for lease in leases {
            held.push(self.mark_delivered(lease).await?);
        }
        Ok(held)
    }

    /// Releases the leased event for another attempt after `delay`, keeping `error`.
    /// `false` when the lease is no longer the event's.
    async fn schedule_retry(
        &self,
        lease: &Lease,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError>;

    /// Gives the leased event up (`failed`), keeping `error`. `false` when the lease is no
    /// longer the event's.
    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<bool, StoreError>;

    /// The events passing `filter`, newest first.
    async fn list(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEvent>, StoreError>;

    /// One event by id.
    async fn event(&self, id: &str) -> Result<Option<OutboxEvent>, StoreError>;

    /// Sends a failed (or delivered) event again: pending, due now, attempts reset, its id
    /// unchanged. `false` when there is no such event or it is already pending.
    async fn redeliver(&self, id: &str) -> Result<bool, StoreError>;

    /// How many events are pending (for metrics).
    async fn depth(&self) -> Result<u64, StoreError>;

    /// Deletes delivered events written more than `retention` ago (pending and failed ones
    /// stay). Returns how many were deleted.
    async fn prune(&self, retention: Duration) -> Result<u64, StoreError>;
}
