//! The values the stores keep: dedupe keys and claims, payment states, ignored events, saved
//! secrets.

use hanpay_core::{Money, PaymentStatus, ProviderId, Secret};
use time::OffsetDateTime;

/// Identifies one delivery: the provider and the event's dedupe id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey {
    /// The provider.
    pub provider: ProviderId,
    /// [`WebhookEvent::dedupe_id`](hanpay_core::WebhookEvent::dedupe_id).
    pub dedupe_id: String,
}

/// The answer to [`DedupeStore::claim`](crate::DedupeStore::claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time seen (or a previous attempt was released, or its lease lapsed): process it.
    New,
    /// Already processed: answer 200 without processing.
    Duplicate,
    /// Another delivery of the same event is being processed right now.
    InProgress,
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

/// A payment the reconciler should look at again, from
/// [`PaymentStateStore::claim_stale`](crate::PaymentStateStore::claim_stale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalePayment {
    /// The provider.
    pub provider: ProviderId,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// The status applied last; `None` when the payment is only tracked (confirmed or issued
    /// through the facade, no event applied yet).
    pub status: Option<PaymentStatus>,
}

/// The statuses the reconciler re-fetches when they have not changed for a while: the
/// payment is still waiting for something the PG will decide.
pub const RECONCILED_STATUSES: [PaymentStatus; 3] = [
    PaymentStatus::Ready,
    PaymentStatus::Pending,
    PaymentStatus::WaitingForDeposit,
];

/// A saved per-payment secret and what it belongs to.
#[derive(Debug, Clone)]
pub struct SavedSecret {
    /// The provider.
    pub provider: ProviderId,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The secret (prints `***`).
    pub secret: Secret,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// The status's stored name, as in [`PaymentStatus::as_str`].
pub(crate) fn parse_status(text: &str) -> PaymentStatus {
    PaymentStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(PaymentStatus::Unknown)
}

/// `now - retention`, saturating (a huge retention keeps everything).
pub(crate) fn cutoff(retention: std::time::Duration) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    time::Duration::try_from(retention)
        .ok()
        .and_then(|d| now.checked_sub(d))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A duration in whole milliseconds for SQL, capped at a century ("forever" in practice).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    const CENTURY_MS: u128 = 100 * 365 * 86_400 * 1000;
    i64::try_from(d.as_millis().min(CENTURY_MS)).unwrap_or(i64::MAX)
}
