//! # hanpay-store
//!
//! Durable webhook state for hanpay: which deliveries were processed ([`DedupeStore`]), the
//! last status applied per payment ([`PaymentStateStore`]), per-payment secrets
//! ([`PaymentSecrets`]), one payment's events serialised ([`PaymentLocks`]), and every verified
//! delivery ([`Inbox`]), and the events applied changes produce, to deliver ([`Outbox`],
//! written in the same transaction as the change). One implementation per backend, each
//! implementing all six:
//!
//! | URL (`HANPAY_DATABASE_URL`) | Backend | Promises |
//! | --- | --- | --- |
//! | `memory:` | [`Stores::memory`] | one process; lost on restart (tests, zero configuration) |
//! | `sqlite://hanpay.db` | `SqliteStore` (feature `sqlite`) | one instance; survives restarts (WAL file, created if absent) |
//! | `postgres://…` | `PgStore` (feature `postgres`) | several instances on one database: claims with leases, one payment's events serialised across instances, survives restarts |
//!
//! Schemas are versioned migrations embedded in the binary, applied by [`Stores::open`]
//! unless [`OpenOptions::migrate`] is off. The same conformance suite (`suite`, behind the
//! `suite` feature, with fresh stores of each backend and a PostgreSQL server for tests) runs
//! against every backend.
//!
//! ```no_run
//! # async fn run() -> Result<(), hanpay_store::StoreError> {
//! use hanpay_store::{DatabaseUrl, OpenOptions, Stores};
//! let url: DatabaseUrl = "sqlite://hanpay.db".parse().map_err(|e| hanpay_store::StoreError::new(format!("{e}")))?;
//! let stores = Stores::open(&url, &OpenOptions::default()).await?;
//! assert_eq!(stores.backend().name(), "sqlite");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

mod error;
#[cfg(feature = "postgres")]
mod holder;
pub mod idempotency;
pub mod inbox;
mod lock;
pub mod memory;
mod model;
pub mod outbox;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "suite", test))]
pub mod suite;
mod traits;
mod url;

pub use error::StoreError;
pub use idempotency::{Begin, IdempotencyStore, StoredResponse};
pub use inbox::{InboxEntry, InboxFilter, InboxOutcome, InboxRecord};
pub use lock::{HeldLock, LocalPaymentLocks, PaymentGuard, PaymentLocks};
pub use memory::InMemoryIdempotency;
pub use memory::{
    InMemoryDedupeStore, InMemoryInbox, InMemoryOutbox, InMemoryPaymentSecrets,
    InMemoryPaymentStates,
};
pub use model::{
    Change, Claim, DedupeKey, DeliveryCommit, IgnoredEvent, PaymentState, RecheckPolicy,
    SavedSecret, StalePayment, FINAL_STATUSES,
};
pub use outbox::{ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter, OutboxState};
pub use traits::{DedupeStore, Inbox, Outbox, PaymentSecrets, PaymentStateStore};
pub use url::{Backend, DatabaseUrl, UrlError};

/// How [`Stores::open`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Apply the embedded migrations at start-up (default `true`; off: run `hanpay db migrate`).
    pub migrate: bool,
    /// Connections of the pool (default 16).
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing (default 10 s).
    pub acquire_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            migrate: true,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl OpenOptions {
    /// Whether to migrate at start-up.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Connections of the pool.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a call waits for a connection.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
}

/// Every store of one backend, shared (cheap to clone).
#[derive(Clone)]
pub struct Stores {
    /// Processed deliveries.
    pub dedupe: Arc<dyn DedupeStore>,
    /// Applied payment states and ignored events.
    pub states: Arc<dyn PaymentStateStore>,
    /// Per-payment secrets.
    pub secrets: Arc<dyn PaymentSecrets>,
    /// One payment's events at a time.
    pub locks: Arc<dyn PaymentLocks>,
    /// Every verified delivery.
    pub inbox: Arc<dyn Inbox>,
    /// Answers of `POST` requests by idempotency key (`hanpay serve`).
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The events applied changes produced, to deliver (written by `states`).
    pub outbox: Arc<dyn Outbox>,
    backend: Backend,
    closer: Closer,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Closer {
    None,
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgStore),
}

/// A store of every kind.
trait AllStores:
    DedupeStore + PaymentStateStore + PaymentSecrets + PaymentLocks + Inbox + Outbox + IdempotencyStore
{
}
impl<
        T: DedupeStore
            + PaymentStateStore
            + PaymentSecrets
            + PaymentLocks
            + Inbox
            + Outbox
            + IdempotencyStore,
    > AllStores for T
{
}

impl Stores {
    /// In-process stores (lost on restart).
    pub fn memory() -> Stores {
        let states = InMemoryPaymentStates::new();
        let outbox = states.outbox();
        Stores {
            dedupe: Arc::new(InMemoryDedupeStore::new()),
            states: Arc::new(states),
            outbox,
            secrets: Arc::new(InMemoryPaymentSecrets::new()),
            locks: Arc::new(LocalPaymentLocks::new()),
            inbox: Arc::new(InMemoryInbox::new()),
            idempotency: Arc::new(InMemoryIdempotency::new()),
            backend: Backend::Memory,
            closer: Closer::None,
        }
    }

    #[allow(dead_code)]
    fn of<S: AllStores + 'static>(store: Arc<S>, backend: Backend, closer: Closer) -> Stores {
        Stores {
            dedupe: store.clone(),
            states: store.clone(),
            secrets: store.clone(),
            locks: store.clone(),
            idempotency: store.clone(),
            inbox: store.clone(),
            outbox: store,
            backend,
            closer,
        }
    }

    /// Opens the backend `url` names (and migrates, unless `options` say otherwise). Fails at
    /// once when the database cannot be reached; the error never shows the password.
    pub async fn open(url: &DatabaseUrl, options: &OpenOptions) -> Result<Stores, StoreError> {
        match url.backend() {
            Backend::Memory => Ok(Stores::memory()),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let store = sqlite::SqliteStore::open(url, options).await?;
                Ok(Stores::of(
                    Arc::new(store.clone()),
                    Backend::Sqlite,
                    Closer::Sqlite(store),
                ))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let store = postgres::PgStore::connect(url, options).await?;
                Ok(Stores::of(
                    Arc::new(store.clone()),
                    Backend::Postgres,
                    Closer::Postgres(store),
                ))
            }
            #[allow(unreachable_patterns)]
            other => {
                let _ = options;
                Err(StoreError::new(format!(
                    "hanpay was built without the `{other}` feature"
                )))
            }
        }
    }

    /// Applies the embedded migrations of `url`'s backend (`hanpay db migrate`).
    pub async fn migrate(url: &DatabaseUrl) -> Result<Backend, StoreError> {
        let options = OpenOptions::default().migrate(true).max_connections(1);
        Ok(Stores::open(url, &options).await?.backend())
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The embedded migrations not applied to the database (empty when up to date; always
    /// empty for memory). Fails when the database cannot be reached: a readiness check.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        match &self.closer {
            Closer::None => Ok(Vec::new()),
            #[cfg(feature = "sqlite")]
            Closer::Sqlite(store) => store.pending_migrations().await,
            #[cfg(feature = "postgres")]
            Closer::Postgres(store) => store.pending_migrations().await,
        }
    }

    /// Closes the database pools (nothing for memory): every later call fails.
    pub async fn close(&self) {
        match &self.closer {
            Closer::None => {}
            #[cfg(feature = "sqlite")]
            Closer::Sqlite(store) => {
                store.pool().close().await;
                store.writer.close().await;
            }
            #[cfg(feature = "postgres")]
            Closer::Postgres(store) => store.close().await,
        }
    }
}
