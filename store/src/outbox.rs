//! The outbox: the events an applied status change produces (`payment.paid`, …), written in
//! the same transaction as the change
//! ([`PaymentStateStore::compare_and_set_with_events`](crate::PaymentStateStore::compare_and_set_with_events))
//! and handed to a delivery worker through [`Outbox`](crate::Outbox).
//!
//! Life of an event: `pending` → claimed with a lease (still `pending`, with a lease owner and
//! expiry; [`attempts`](OutboxEvent::attempts) counts the claims) → `delivered`, or back to
//! `pending` at a later [`next_attempt_at`](OutboxEvent::next_attempt_at) (a retry), or
//! `failed` (given up; kept, and sent again by [`redeliver`](crate::Outbox::redeliver)).
//!
//! Ordering: events of one payment carry a [`sequence`](OutboxEvent::sequence) (1, 2, …);
//! [`claim`](crate::Outbox::claim) never hands out an event while an earlier one of the same
//! payment is still pending (leased, waiting for a retry, or due). A failed event does not
//! block the ones after it: a give-up must not stall a payment's later events forever.
//!
//! Leases: a claim is only valid while its lease runs; a claimer that crashed leaves its lease
//! to lapse and the next claim takes the event over. Only the current holder (owner and
//! attempt, see [`Lease`]) can mark the event delivered, retried or failed.

use std::fmt;

use hanpay_core::{Money, PaymentStatus, ProviderId};
use time::OffsetDateTime;

/// An event to write with a state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// A unique event id (`evt_…`), the same on every delivery attempt (`webhook-id`).
    pub id: String,
    /// The event type (`payment.paid`, `payment.canceled`, `virtual_account.issued`, …).
    pub event_type: String,
    /// The provider.
    pub provider: ProviderId,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// The status before this step (`None`: nothing was applied before).
    pub old_status: Option<PaymentStatus>,
    /// The status after this step.
    pub new_status: PaymentStatus,
    /// The payment's total, when known.
    pub amount: Option<Money>,
    /// The cancelable balance after this step, when known.
    pub balance: Option<Money>,
    /// When the change happened (the PG's time, or when it was applied).
    pub occurred_at: OffsetDateTime,
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Not delivered yet (possibly leased, or waiting for a retry).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up; sent again only by [`redeliver`](crate::Outbox::redeliver).
    Failed,
}

impl OutboxState {
    /// `pending`, `delivered` or `failed` (as stored).
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }

    /// The inverse of [`as_str`](Self::as_str); anything else reads as failed, so that an
    /// unreadable row is never delivered on its own and stays listed.
    pub fn parse(text: &str) -> OutboxState {
        match text {
            "pending" => OutboxState::Pending,
            "delivered" => OutboxState::Delivered,
            _ => OutboxState::Failed,
        }
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// What was written.
    pub event: NewEvent,
    /// Its place among the payment's events (1, 2, …).
    pub sequence: i64,
    /// How many times it was claimed for delivery.
    pub attempts: u32,
    /// Pending: when it may be claimed next.
    pub next_attempt_at: OffsetDateTime,
    /// Where it is in its life.
    pub state: OutboxState,
    /// Why the last attempt failed (never a secret).
    pub last_error: Option<String>,
    /// Who holds (or last held) it.
    pub lease_owner: Option<String>,
    /// Until when the lease runs.
    pub lease_expires_at: Option<OffsetDateTime>,
    /// When it was written.
    pub created_at: OffsetDateTime,
}

/// Proof of a claim: the event, the claimer and which attempt. Marking an event succeeds only
/// with the lease of its latest claim, while the event is still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The event's id.
    pub event_id: String,
    /// The claimer.
    pub owner: String,
    /// The attempt number the claim set.
    pub attempt: u32,
}

/// An event handed out by [`claim`](crate::Outbox::claim), with its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEvent {
    /// The event.
    pub event: OutboxEvent,
    /// The lease to mark it with.
    pub lease: Lease,
}

/// Which events [`list`](crate::Outbox::list) returns (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    /// Only events in this state.
    pub state: Option<OutboxState>,
    /// Only this provider's.
    pub provider: Option<ProviderId>,
    /// Only this payment's.
    pub payment_key: Option<String>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

impl OutboxFilter {
    /// Whether `event` passes the filter (limit aside).
    pub(crate) fn accepts(&self, event: &OutboxEvent) -> bool {
        self.state.map_or(true, |s| s == event.state)
            && self
                .provider
                .as_ref()
                .map_or(true, |p| *p == event.event.provider)
            && self
                .payment_key
                .as_ref()
                .map_or(true, |k| *k == event.event.payment_key)
    }

    /// The limit as SQL wants it.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn sql_limit(&self) -> i64 {
        match self.limit {
            0 => i64::MAX,
            n => i64::try_from(n).unwrap_or(i64::MAX),
        }
    }
}

/// An error text as stored: at most 500 characters.
pub(crate) fn clip(error: &str) -> String {
    error.chars().take(500).collect()
}

/// The rows a claim just leased to `owner`, oldest due first, with their leases (what the SQL
/// backends return from `claim`; each row's `attempts` is the attempt the claim set).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn leased(mut events: Vec<OutboxEvent>, owner: &str) -> Vec<ClaimedEvent> {
    events.sort_by_key(|e| (e.next_attempt_at, e.created_at));
    events
        .into_iter()
        .map(|event| ClaimedEvent {
            lease: Lease {
                event_id: event.event.id.clone(),
                owner: owner.to_owned(),
                attempt: event.attempts,
            },
            event,
        })
        .collect()
}
