//! The values the stores keep: dedupe keys and claims, payment states, ignored events, saved
//! secrets.

use std::time::Duration;

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

/// The SQL stores' "never again" for `next_check_at` past the horizon.
#[cfg(feature = "sqlite")]
pub(crate) const NEVER_MS: i64 = i64::MAX;

/// The statuses the reconciler never re-fetches: nothing follows `Canceled`. Every other
/// status can still move at the PG — a payment waiting for something the PG decides, a
/// `Paid` one refunded in the PG's console or canceled late, a `Failed` one approved late —
/// so it is re-checked on its [`RecheckPolicy`] until the policy's horizon.
pub const FINAL_STATUSES: [PaymentStatus; 1] = [PaymentStatus::Canceled];

/// When the reconciler looks at a payment again, counted from its last change (its *age*):
/// first once it is `first` old, then each time after `stretch` times its age, at least `hold`
/// and at most `cap` later, and never once it is `horizon` old (a re-check that would fall at
/// or past the horizon is the last one).
///
/// With `first` 1 min, `stretch` 5 and `cap` 1 day, a payment is re-checked at the ages 1 min,
/// 6 min, 36 min, 3.6 h, 21.6 h, then daily; with `stretch` 2 at 1, 3, 9, 27, 81 min, 4 h,
/// 12 h, 36 h, then daily ([`ages`](Self::ages) lists them). A status change starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecheckPolicy {
    /// The age of the first re-check.
    pub first: Duration,
    /// Each next re-check waits this many times the payment's age (at least 1).
    pub stretch: u32,
    /// The longest wait between two re-checks.
    pub cap: Duration,
    /// No re-check once the payment is this old (e.g. the PG's cancel window).
    pub horizon: Duration,
}

impl RecheckPolicy {
    /// The wait before the next re-check of a payment checked at `age`: `None` past the
    /// horizon.
    pub fn next_wait(&self, age: Duration, hold: Duration) -> Option<Duration> {
        let wait = age
            .saturating_mul(self.stretch.max(1))
            .min(self.cap)
            .max(hold);
        (age.saturating_add(wait) < self.horizon).then_some(wait)
    }

    /// The ages at which a payment that never changes is re-checked, up to `until` (or the
    /// horizon): the schedule's cost in PG lookups is the length of this list.
    pub fn ages(&self, until: Duration) -> Vec<Duration> {
        let until = until.min(self.horizon);
        let mut ages = Vec::new();
        let mut age = self.first;
        while age <= until {
            ages.push(age);
            match self.next_wait(age, Duration::from_millis(1)) {
                Some(wait) if !wait.is_zero() => age = age.saturating_add(wait),
                _ => break,
            }
        }
        ages
    }
}

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
    text.parse().unwrap_or(PaymentStatus::Unknown)
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

/// What a processed delivery writes to the payment: its move, or why it was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A compare-and-set of the payment's state (`expected`: the status it must still have,
    /// `None`: no state yet) with the move's outbox events.
    Move {
        /// The status the payment must still have.
        expected: Option<PaymentStatus>,
        /// The state written.
        state: PaymentState,
        /// The move's outbox events, in order.
        events: Vec<crate::outbox::NewEvent>,
    },
    /// An event that was verified but not applied, recorded on its payment.
    Ignored {
        /// The provider.
        provider: ProviderId,
        /// The payment.
        payment_key: String,
        /// The event and why it was not applied.
        event: IgnoredEvent,
    },
}

/// Everything a processed delivery writes, committed in one transaction by
/// [`PaymentStateStore::commit_delivery`](crate::PaymentStateStore::commit_delivery): the
/// change on its payment, its dedupe entry marked processed, and its inbox record.
#[derive(Debug, Clone)]
pub struct DeliveryCommit {
    /// The move or the ignored event.
    pub change: Change,
    /// The delivery's dedupe entry, remembered as processed for the duration.
    pub dedupe: Option<(DedupeKey, Duration)>,
    /// The delivery's inbox record.
    pub record: Option<crate::inbox::InboxRecord>,
}
