//! In-process stores: for tests and zero-configuration use. Everything is lost on restart, and
//! two processes never see each other's state; building a pipeline on them logs a warning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hanpay_core::{async_trait, PaymentStatus, ProviderId, Secret};
use time::OffsetDateTime;

use crate::inbox::{InboxEntry, InboxFilter, InboxOutcome, InboxRecord};
use crate::model::{
    Claim, DedupeKey, IgnoredEvent, PaymentState, RecheckPolicy, SavedSecret, StalePayment,
    FINAL_STATUSES,
};
use crate::outbox::{clip, ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter, OutboxState};
use crate::traits::{DedupeStore, Inbox, Outbox, PaymentSecrets, PaymentStateStore};
use crate::StoreError;

/// `now + d`, or a century from now when that overflows ("forever" in practice).
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DedupeState {
    InProgress,
    Done,
}

/// A map whose entries expire, with an expiry index: expired entries are removed from the
/// front in O(log n) each, never by sweeping the whole map (the dedupe entries and the
/// idempotency keys).
#[derive(Debug)]
struct Expiring<K, V> {
    /// key → (value, expiry, position in the index).
    entries: HashMap<K, (V, Instant, u64)>,
    /// (expiry, sequence) → key, the oldest expiry first.
    expiry: BTreeMap<(Instant, u64), K>,
    next_seq: u64,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Expiring {
            entries: HashMap::new(),
            expiry: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<K: Clone + Eq + std::hash::Hash, V> Expiring<K, V> {
    /// Removes the entries expired at `now`.
    fn purge(&mut self, now: Instant) {
        while let Some(entry) = self.expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
        }
    }

    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        self.entries.get(key).map(|(value, _, _)| value)
    }

    /// Sets `key` to `value` until `until`.
    fn set(&mut self, key: &K, value: V, until: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some((_, old_until, old_seq)) = self.entries.insert(key.clone(), (value, until, seq))
        {
            self.expiry.remove(&(old_until, old_seq));
        }
        self.expiry.insert((until, seq), key.clone());
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        let (value, until, seq) = self.entries.remove(key)?;
        self.expiry.remove(&(until, seq));
        Some(value)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// An in-process [`DedupeStore`]; expiry through an index, so a claim costs the same with a
/// million deliveries remembered as with none.
#[derive(Debug, Default)]
pub struct InMemoryDedupeStore {
    inner: Mutex<Expiring<DedupeKey, DedupeState>>,
}

impl InMemoryDedupeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries are remembered (expired ones included until the next call).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// `true` when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl DedupeStore for InMemoryDedupeStore {
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.purge(now);
        match inner.get(key).copied() {
            Some(DedupeState::Done) => Ok(Claim::Duplicate),
            Some(DedupeState::InProgress) => Ok(Claim::InProgress),
            None => {
                inner.set(key, DedupeState::InProgress, later(now, lease));
                Ok(Claim::New)
            }
        }
    }

    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.set(key, DedupeState::Done, later(now, ttl));
        Ok(())
    }

    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        if inner.get(key) == Some(&DedupeState::InProgress) {
            inner.remove(key);
        }
        Ok(())
    }

    async fn processed(&self, key: &DedupeKey) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.purge(now);
        Ok(inner.get(key) == Some(&DedupeState::Done))
    }
}

/// One payment: its applied state (if any), when it last changed, when the reconciler may
/// hand it out again, and its ignored events.
#[derive(Debug)]
struct PaymentRow {
    state: Option<PaymentState>,
    order_id: Option<String>,
    changed_at: Instant,
    /// `None`: never again (past the recheck horizon).
    next_check: Option<Instant>,
    ignored: Vec<IgnoredEvent>,
}

impl PaymentRow {
    fn new(now: Instant) -> Self {
        PaymentRow {
            state: None,
            order_id: None,
            changed_at: now,
            next_check: Some(now),
            ignored: Vec::new(),
        }
    }
}

/// An in-process [`PaymentStateStore`], with its [`InMemoryOutbox`] (the events of a move are
/// appended under the same lock as the move).
#[derive(Debug, Default)]
pub struct InMemoryPaymentStates {
    inner: Mutex<HashMap<(ProviderId, String), PaymentRow>>,
    outbox: Arc<InMemoryOutbox>,
}

impl InMemoryPaymentStates {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The outbox [`compare_and_set_with_events`](PaymentStateStore::compare_and_set_with_events)
    /// writes to.
    pub fn outbox(&self) -> Arc<InMemoryOutbox> {
        Arc::clone(&self.outbox)
    }
}

#[async_trait]
impl PaymentStateStore for InMemoryPaymentStates {
    async fn get(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Option<PaymentState>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        Ok(inner
            .get(&(provider.clone(), payment_key.to_owned()))
            .and_then(|row| {
                let mut state = row.state.clone()?;
                if state.order_id.is_none() {
                    state.order_id.clone_from(&row.order_id);
                }
                Some(state)
            }))
    }

    async fn compare_and_set_with_events(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
        events: Vec<NewEvent>,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let row = inner
            .entry((state.provider.clone(), state.payment_key.clone()))
            .or_insert_with(|| PaymentRow::new(now));
        if row.state.as_ref().map(|s| s.status) != expected {
            return Ok(false);
        }
        // Both locks held: the events and the move are seen together or not at all.
        if !events.is_empty() {
            let mut outbox = self
                .outbox
                .inner
                .lock()
                .map_err(|_| StoreError::poisoned())?;
            if let Some(taken) = events.iter().find(|e| outbox.rows.contains_key(&e.id)) {
                return Err(StoreError::new(format!(
                    "outbox: event id {} already exists",
                    taken.id
                )));
            }
            for event in events {
                outbox.insert(event);
            }
        }
        if state.order_id.is_some() {
            row.order_id.clone_from(&state.order_id);
        }
        row.state = Some(state);
        row.changed_at = now;
        row.next_check = Some(now);
        Ok(true)
    }

    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner
            .entry((provider.clone(), payment_key.to_owned()))
            .or_insert_with(|| PaymentRow::new(now))
            .ignored
            .push(event);
        Ok(())
    }

    async fn ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Vec<IgnoredEvent>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        Ok(inner
            .get(&(provider.clone(), payment_key.to_owned()))
            .map(|row| row.ignored.clone())
            .unwrap_or_default())
    }

    async fn track(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        order_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let row = inner
            .entry((provider.clone(), payment_key.to_owned()))
            .or_insert_with(|| PaymentRow::new(now));
        if row.order_id.is_none() {
            row.order_id = order_id.map(str::to_owned);
        }
        Ok(())
    }

    async fn claim_stale(
        &self,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let mut due: Vec<(&(ProviderId, String), &mut PaymentRow)> = inner
            .iter_mut()
            .filter(|((p, _), row)| {
                p == provider
                    && row
                        .state
                        .as_ref()
                        .map_or(true, |s| !FINAL_STATUSES.contains(&s.status))
                    && now.saturating_duration_since(row.changed_at) >= policy.first
                    && row.next_check.is_some_and(|at| at <= now)
            })
            .collect();
        due.sort_by_key(|(_, row)| row.next_check);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|((provider, payment_key), row)| {
                let age = now.saturating_duration_since(row.changed_at);
                row.next_check = policy.next_wait(age, hold).map(|wait| later(now, wait));
                StalePayment {
                    provider: provider.clone(),
                    payment_key: payment_key.clone(),
                    order_id: row.order_id.clone(),
                    status: row.state.as_ref().map(|s| s.status),
                }
            })
            .collect())
    }
}

/// An in-process [`PaymentSecrets`] (lost on restart: fine for one instance and for tests).
#[derive(Debug, Default)]
pub struct InMemoryPaymentSecrets {
    inner: Mutex<Secrets>,
}

#[derive(Debug, Default)]
struct Secrets {
    by_key: HashMap<(ProviderId, String), Secret>,
    by_order: HashMap<(ProviderId, String), Secret>,
}

impl InMemoryPaymentSecrets {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PaymentSecrets for InMemoryPaymentSecrets {
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.by_key.insert(
            (saved.provider.clone(), saved.payment_key),
            saved.secret.clone(),
        );
        inner
            .by_order
            .insert((saved.provider, saved.order_id), saved.secret);
        Ok(())
    }

    async fn find(
        &self,
        provider: &ProviderId,
        payment_key: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let by_key = payment_key.and_then(|k| inner.by_key.get(&(provider.clone(), k.to_owned())));
        let by_order =
            || order_id.and_then(|o| inner.by_order.get(&(provider.clone(), o.to_owned())));
        Ok(by_key.or_else(by_order).cloned())
    }
}

#[derive(Debug, Default)]
struct InboxInner {
    rows: BTreeMap<i64, InboxEntry>,
    by_key: HashMap<(ProviderId, String), i64>,
    /// (last seen, id), for pruning without a scan.
    by_seen: BTreeSet<(OffsetDateTime, i64)>,
    next_id: i64,
}

/// An in-process [`Inbox`].
#[derive(Debug, Default)]
pub struct InMemoryInbox {
    inner: Mutex<InboxInner>,
}

impl InMemoryInbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Inbox for InMemoryInbox {
    async fn record(&self, record: InboxRecord) -> Result<i64, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut guard = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let inner = &mut *guard;
        let key = (record.provider.clone(), record.dedupe_id.clone());
        if let Some(&id) = inner.by_key.get(&key) {
            if let Some(row) = inner.rows.get_mut(&id) {
                inner.by_seen.remove(&(row.last_seen, id));
                row.attempts = row.attempts.saturating_add(1);
                row.last_seen = now;
                row.trust = record.trust;
                if record.payment_key.is_some() {
                    row.payment_key = record.payment_key;
                }
                if record.order_id.is_some() {
                    row.order_id = record.order_id;
                }
                if record.outcome != InboxOutcome::Duplicate {
                    row.outcome = record.outcome;
                }
                inner.by_seen.insert((now, id));
                return Ok(id);
            }
        }
        inner.next_id += 1;
        let id = inner.next_id;
        inner.rows.insert(
            id,
            InboxEntry {
                id,
                provider: record.provider,
                dedupe_id: record.dedupe_id,
                kind: record.kind,
                payment_key: record.payment_key,
                order_id: record.order_id,
                trust: record.trust,
                outcome: record.outcome,
                attempts: 1,
                first_seen: now,
                last_seen: now,
            },
        );
        inner.by_key.insert(key, id);
        inner.by_seen.insert((now, id));
        Ok(id)
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let limit = if filter.limit == 0 {
            usize::MAX
        } else {
            filter.limit
        };
        Ok(inner
            .by_seen
            .iter()
            .rev()
            .filter_map(|(_, id)| inner.rows.get(id))
            .filter(|e| filter.accepts(e))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn entry(&self, id: i64) -> Result<Option<InboxEntry>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        Ok(inner.rows.get(&id).cloned())
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = crate::model::cutoff(retention);
        let mut guard = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let inner = &mut *guard;
        let old: Vec<(OffsetDateTime, i64)> =
            inner.by_seen.range(..(cutoff, i64::MIN)).copied().collect();
        let mut deleted = 0;
        for (seen, id) in old {
            let failed = inner.rows.get(&id).is_some_and(|e| e.outcome.is_failed());
            if failed {
                continue;
            }
            inner.by_seen.remove(&(seen, id));
            if let Some(row) = inner.rows.remove(&id) {
                inner.by_key.remove(&(row.provider, row.dedupe_id));
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

#[derive(Debug, Default)]
struct OutboxInner {
    rows: HashMap<String, OutboxEvent>,
    /// Write order → id (for listing newest first).
    order: BTreeMap<u64, String>,
    next: u64,
    /// The last sequence per payment.
    sequences: HashMap<(ProviderId, String), i64>,
    /// The pending events' sequences per payment: the first one is the only one claimable.
    pending: HashMap<(ProviderId, String), BTreeMap<i64, String>>,
}

impl OutboxInner {
    fn insert(&mut self, event: NewEvent) {
        let payment = (event.provider.clone(), event.payment_key.clone());
        let sequence = self.sequences.entry(payment.clone()).or_insert(0);
        *sequence = sequence.saturating_add(1);
        let sequence = *sequence;
        let now = OffsetDateTime::now_utc();
        self.pending
            .entry(payment)
            .or_default()
            .insert(sequence, event.id.clone());
        self.next += 1;
        self.order.insert(self.next, event.id.clone());
        self.rows.insert(
            event.id.clone(),
            OutboxEvent {
                event,
                sequence,
                attempts: 0,
                next_attempt_at: now,
                state: OutboxState::Pending,
                last_error: None,
                lease_owner: None,
                lease_expires_at: None,
                created_at: now,
            },
        );
    }

    /// The leased row, if `lease` is still its latest claim and it is pending.
    fn held(&mut self, lease: &Lease) -> Option<&mut OutboxEvent> {
        self.rows.get_mut(&lease.event_id).filter(|row| {
            row.state == OutboxState::Pending
                && row.attempts == lease.attempt
                && row.lease_owner.as_deref() == Some(lease.owner.as_str())
        })
    }

    fn leave_pending(&mut self, id: &str) {
        let Some(row) = self.rows.get(id) else {
            return;
        };
        let payment = (row.event.provider.clone(), row.event.payment_key.clone());
        if let Some(seqs) = self.pending.get_mut(&payment) {
            seqs.remove(&row.sequence);
            if seqs.is_empty() {
                self.pending.remove(&payment);
            }
        }
    }
}

/// `now + d` for wall-clock times, saturating at a century.
fn wall_later(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    let d = d.min(Duration::from_secs(100 * 365 * 86_400));
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d))
        .unwrap_or(now)
}

/// An in-process [`Outbox`] (lost on restart). Get the one a state store writes to with
/// [`InMemoryPaymentStates::outbox`].
#[derive(Debug, Default)]
pub struct InMemoryOutbox {
    inner: Mutex<OutboxInner>,
}

#[async_trait]
impl Outbox for InMemoryOutbox {
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut guard = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let inner = &mut *guard;
        let mut due: Vec<(OffsetDateTime, i64, String)> = inner
            .pending
            .values()
            .filter_map(|seqs| seqs.values().next())
            .filter_map(|id| inner.rows.get(id))
            .filter(|row| {
                row.next_attempt_at <= now && row.lease_expires_at.map_or(true, |t| t <= now)
            })
            .map(|row| (row.next_attempt_at, row.sequence, row.event.id.clone()))
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, _, id) in due.into_iter().take(limit) {
            if let Some(row) = inner.rows.get_mut(&id) {
                row.attempts = row.attempts.saturating_add(1);
                row.lease_owner = Some(owner.to_owned());
                row.lease_expires_at = Some(wall_later(now, lease));
                claimed.push(ClaimedEvent {
                    lease: Lease {
                        event_id: id,
                        owner: owner.to_owned(),
                        attempt: row.attempts,
                    },
                    event: row.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn mark_delivered(&self, lease: &Lease) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let Some(row) = inner.held(lease) else {
            return Ok(false);
        };
        row.state = OutboxState::Delivered;
        row.lease_expires_at = None;
        row.last_error = None;
        inner.leave_pending(&lease.event_id);
        Ok(true)
    }

    async fn schedule_retry(
        &self,
        lease: &Lease,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let Some(row) = inner.held(lease) else {
            return Ok(false);
        };
        row.next_attempt_at = wall_later(now, delay);
        row.lease_expires_at = None;
        row.last_error = Some(clip(error));
        Ok(true)
    }

    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let Some(row) = inner.held(lease) else {
            return Ok(false);
        };
        row.state = OutboxState::Failed;
        row.lease_expires_at = None;
        row.last_error = Some(clip(error));
        inner.leave_pending(&lease.event_id);
        Ok(true)
    }

    async fn list(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEvent>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let limit = if filter.limit == 0 {
            usize::MAX
        } else {
            filter.limit
        };
        Ok(inner
            .order
            .values()
            .rev()
            .filter_map(|id| inner.rows.get(id))
            .filter(|e| filter.accepts(e))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn event(&self, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        Ok(inner.rows.get(id).cloned())
    }

    async fn redeliver(&self, id: &str) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut guard = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let inner = &mut *guard;
        let Some(row) = inner.rows.get_mut(id) else {
            return Ok(false);
        };
        if row.state == OutboxState::Pending {
            return Ok(false);
        }
        row.state = OutboxState::Pending;
        row.attempts = 0;
        row.next_attempt_at = now;
        row.lease_owner = None;
        row.lease_expires_at = None;
        inner
            .pending
            .entry((row.event.provider.clone(), row.event.payment_key.clone()))
            .or_default()
            .insert(row.sequence, id.to_owned());
        Ok(true)
    }

    async fn depth(&self) -> Result<u64, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        Ok(inner.pending.values().map(|s| s.len() as u64).sum())
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = crate::model::cutoff(retention);
        let mut guard = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let inner = &mut *guard;
        // Written in order: stop at the first event written after the cutoff.
        let mut old = Vec::new();
        for (&n, id) in &inner.order {
            match inner.rows.get(id) {
                Some(row) if row.created_at >= cutoff => break,
                Some(row) if row.state == OutboxState::Delivered => old.push((n, id.clone())),
                _ => {}
            }
        }
        for (n, id) in &old {
            inner.order.remove(n);
            inner.rows.remove(id);
        }
        Ok(old.len() as u64)
    }
}

// ---- Idempotency keys (serve) -------------------------------------------------------------

/// In-process [`IdempotencyStore`](crate::IdempotencyStore).
#[derive(Debug, Default)]
pub struct InMemoryIdempotency {
    inner: Mutex<Expiring<String, IdempotencyEntry>>,
}

#[derive(Debug, Clone)]
struct IdempotencyEntry {
    fingerprint: String,
    response: Option<crate::idempotency::StoredResponse>,
}

impl InMemoryIdempotency {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl crate::IdempotencyStore for InMemoryIdempotency {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<crate::idempotency::Begin, StoreError> {
        use crate::idempotency::Begin;
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        // Expired keys go through the expiry index: a call costs the same with a million keys
        // answered as with none.
        inner.purge(now);
        if let Some(entry) = inner.get(key) {
            return Ok(if entry.fingerprint != fingerprint {
                Begin::Mismatch
            } else {
                match &entry.response {
                    Some(r) => Begin::Completed(r.clone()),
                    None => Begin::InProgress,
                }
            });
        }
        inner.set(
            &key.to_owned(),
            IdempotencyEntry {
                fingerprint: fingerprint.to_owned(),
                response: None,
            },
            later(now, lease),
        );
        Ok(Begin::Started)
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &crate::idempotency::StoredResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.purge(now);
        if inner
            .get(key)
            .is_some_and(|e| e.fingerprint == fingerprint && e.response.is_none())
        {
            let entry = IdempotencyEntry {
                fingerprint: fingerprint.to_owned(),
                response: Some(response.clone()),
            };
            inner.set(&key.to_owned(), entry, later(now, ttl));
        }
        Ok(())
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        if inner
            .get(key)
            .is_some_and(|e| e.fingerprint == fingerprint && e.response.is_none())
        {
            inner.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::run_all;
    use crate::Stores;

    #[tokio::test]
    async fn memory_passes_the_store_suite() {
        let stores = Stores::memory();
        let report = run_all(&stores, &stores).await;
        println!("{report}");
        report.assert_passed();
    }
}
