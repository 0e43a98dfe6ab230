//! The stores the webhook pipeline needs: [`DedupeStore`] (which deliveries were processed)
//! and [`PaymentStateStore`] (the last status applied per payment), with in-memory defaults.
//!
//! Implement the traits over your database when several instances receive webhooks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hanpay_core::{async_trait, Money, PaymentStatus, ProviderId};
use time::OffsetDateTime;

/// A store failed. The pipeline answers 5xx so that the PG redelivers.
#[derive(Debug, thiserror::Error)]
#[error("store error: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// A store error with a message (never a secret).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// A store error wrapping its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn poisoned() -> Self {
        StoreError::new("in-memory store lock poisoned")
    }
}

/// Identifies one delivery: the provider and the event's dedupe id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey {
    /// The provider.
    pub provider: ProviderId,
    /// [`WebhookEvent::dedupe_id`](hanpay_core::WebhookEvent::dedupe_id).
    pub dedupe_id: String,
}

/// The answer to [`DedupeStore::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time seen (or a previous attempt was released): process it.
    New,
    /// Already processed: answer 200 without processing.
    Duplicate,
    /// Another delivery of the same event is being processed right now.
    InProgress,
}

/// Remembers which webhook deliveries were processed.
///
/// `claim` then `complete` on success, or `release` on failure so the redelivery is processed.
/// Entries must be kept at least `ttl`: the pipeline passes the provider's redelivery span plus
/// a margin.
#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// Marks `key` as being processed, unless it is already processed or in progress. A claim
    /// that is neither completed nor released within `lease` may be claimed again.
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError>;

    /// Marks `key` as processed, remembered for `ttl`.
    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError>;

    /// Forgets a claim whose processing failed.
    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, Copy)]
enum DedupeState {
    InProgress { until: Instant },
    Done { until: Instant },
}

/// An in-process [`DedupeStore`] with expiry.
#[derive(Debug, Default)]
pub struct InMemoryDedupeStore {
    entries: Mutex<HashMap<DedupeKey, DedupeState>>,
}

impl InMemoryDedupeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries are remembered (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
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
        let mut entries = self.entries.lock().map_err(|_| StoreError::poisoned())?;
        entries.retain(|_, state| match state {
            DedupeState::InProgress { until } | DedupeState::Done { until } => *until > now,
        });
        match entries.get(key) {
            Some(DedupeState::Done { .. }) => Ok(Claim::Duplicate),
            Some(DedupeState::InProgress { .. }) => Ok(Claim::InProgress),
            None => {
                entries.insert(
                    key.clone(),
                    DedupeState::InProgress {
                        until: now.checked_add(lease).unwrap_or(now),
                    },
                );
                Ok(Claim::New)
            }
        }
    }

    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        // An overflowing TTL means "forever" in practice: use a century.
        let until = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        let mut entries = self.entries.lock().map_err(|_| StoreError::poisoned())?;
        entries.insert(key.clone(), DedupeState::Done { until });
        Ok(())
    }

    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().map_err(|_| StoreError::poisoned())?;
        if matches!(entries.get(key), Some(DedupeState::InProgress { .. })) {
            entries.remove(key);
        }
        Ok(())
    }
}

/// What the application last knew about a payment, as applied from webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    /// The provider.
    pub provider: ProviderId,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// The status applied last.
    pub status: PaymentStatus,
    /// Total paid, when known.
    pub total: Option<Money>,
    /// Cancelable balance, when known.
    pub balance: Option<Money>,
    /// Canceled so far, when known.
    pub canceled: Option<Money>,
    /// When the PG said the applied event happened (or when it was applied).
    pub updated_at: OffsetDateTime,
}

/// An event that was received and verified but not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredEvent {
    /// The event's dedupe id.
    pub dedupe_id: String,
    /// The status the event (or the PG, after reconciliation) reported.
    pub reported: PaymentStatus,
    /// The status kept.
    pub kept: PaymentStatus,
    /// Why it was ignored.
    pub reason: String,
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
    ) -> Result<bool, StoreError>;

    /// Records an event that was not applied (late, out of order, or illegal).
    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError>;
}

/// An in-process [`PaymentStateStore`].
#[derive(Debug, Default)]
pub struct InMemoryPaymentStates {
    inner: Mutex<HashMap<(ProviderId, String), StateEntry>>,
}

/// One payment's applied state and its ignored events.
type StateEntry = (Option<PaymentState>, Vec<IgnoredEvent>);

impl InMemoryPaymentStates {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events recorded as ignored for a payment.
    pub fn ignored(&self, provider: &ProviderId, payment_key: &str) -> Vec<IgnoredEvent> {
        self.inner
            .lock()
            .ok()
            .and_then(|m| {
                m.get(&(provider.clone(), payment_key.to_owned()))
                    .map(|(_, ignored)| ignored.clone())
            })
            .unwrap_or_default()
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
            .and_then(|(state, _)| state.clone()))
    }

    async fn compare_and_set(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let entry = inner
            .entry((state.provider.clone(), state.payment_key.clone()))
            .or_default();
        if entry.0.as_ref().map(|s| s.status) != expected {
            return Ok(false);
        }
        entry.0 = Some(state);
        Ok(true)
    }

    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner
            .entry((provider.clone(), payment_key.to_owned()))
            .or_default()
            .1
            .push(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(id: &str) -> DedupeKey {
        DedupeKey {
            provider: ProviderId::from_static("mock"),
            dedupe_id: id.into(),
        }
    }

    #[tokio::test]
    async fn dedupe_lifecycle() {
        let store = InMemoryDedupeStore::new();
        let lease = Duration::from_secs(60);
        let ttl = Duration::from_secs(3600);
        assert_eq!(store.claim(&key("a"), lease).await.unwrap(), Claim::New);
        assert_eq!(
            store.claim(&key("a"), lease).await.unwrap(),
            Claim::InProgress
        );
        store.release(&key("a")).await.unwrap();
        assert_eq!(store.claim(&key("a"), lease).await.unwrap(), Claim::New);
        store.complete(&key("a"), ttl).await.unwrap();
        assert_eq!(
            store.claim(&key("a"), lease).await.unwrap(),
            Claim::Duplicate
        );
        // Releasing a completed entry does not forget it.
        store.release(&key("a")).await.unwrap();
        assert_eq!(
            store.claim(&key("a"), lease).await.unwrap(),
            Claim::Duplicate
        );
        // A huge TTL does not overflow.
        store.complete(&key("b"), Duration::MAX).await.unwrap();
        assert_eq!(
            store.claim(&key("b"), lease).await.unwrap(),
            Claim::Duplicate
        );
    }

    #[tokio::test]
    async fn expired_entries_and_leases_are_forgotten() {
        let store = InMemoryDedupeStore::new();
        store.complete(&key("old"), Duration::ZERO).await.unwrap();
        assert_eq!(
            store.claim(&key("old"), Duration::ZERO).await.unwrap(),
            Claim::New
        );
        // The zero lease has lapsed: the next delivery may claim it.
        assert_eq!(
            store.claim(&key("old"), Duration::ZERO).await.unwrap(),
            Claim::New
        );
    }

    #[tokio::test]
    async fn compare_and_set() {
        let store = InMemoryPaymentStates::new();
        let provider = ProviderId::from_static("mock");
        let state = |status| PaymentState {
            provider: provider.clone(),
            payment_key: "pk".into(),
            order_id: None,
            status,
            total: None,
            balance: None,
            canceled: None,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(store
            .compare_and_set(None, state(PaymentStatus::Paid))
            .await
            .unwrap());
        assert!(!store
            .compare_and_set(None, state(PaymentStatus::Canceled))
            .await
            .unwrap());
        assert!(store
            .compare_and_set(Some(PaymentStatus::Paid), state(PaymentStatus::Canceled))
            .await
            .unwrap());
        assert_eq!(
            store.get(&provider, "pk").await.unwrap().unwrap().status,
            PaymentStatus::Canceled
        );
    }
}
