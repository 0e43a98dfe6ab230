//! The webhook state stores, from [`hanpay_store`]: [`DedupeStore`], [`PaymentStateStore`],
//! [`PaymentSecrets`](crate::PaymentSecrets), [`PaymentLocks`], [`Inbox`] and [`Outbox`], on memory,
//! SQLite (feature `sqlite`, default) or PostgreSQL (feature `postgres`), chosen by
//! [`DatabaseUrl`] (`HANPAY_DATABASE_URL` / `database_url`).

pub use hanpay_store::{
    Backend, Change, Claim, DatabaseUrl, DedupeKey, DedupeStore, DeliveryCommit, HeldLock,
    IgnoredEvent, InMemoryDedupeStore, InMemoryInbox, InMemoryPaymentStates, Inbox, InboxEntry,
    InboxFilter, InboxOutcome, InboxRecord, LocalPaymentLocks, OpenOptions, PaymentGuard,
    PaymentLocks, PaymentState, PaymentStateStore, RecheckPolicy, StalePayment, StoreError, Stores,
    UrlError, FINAL_STATUSES,
};
/// Answers of `POST` requests by idempotency key (`hanpay serve`).
pub use hanpay_store::{Begin, IdempotencyStore, InMemoryIdempotency, StoredResponse};
pub use hanpay_store::{
    ClaimedEvent, InMemoryOutbox, Lease, NewEvent, Outbox, OutboxEvent, OutboxFilter, OutboxState,
};

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use hanpay_store::postgres;

/// The SQLite backend.
#[cfg(feature = "sqlite")]
pub use hanpay_store::sqlite;
