//! What the SQL backends share: the body of every store ([`SqlStore`], generic over a
//! [`Dialect`]: the control flow, the row decoders, the transaction of a move and its
//! events), money columns and the amortised expiry sweep. Each backend's module holds its SQL
//! text (one [`Statements`] table) and its dialect-only code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hanpay_core::{async_trait, Currency, Money, PaymentStatus, ProviderId, Secret};
use sqlx::query::{Query, QueryAs};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};
use time::OffsetDateTime;

use crate::idempotency::{Begin, IdempotencyStore, StoredResponse};
use crate::inbox::{InboxEntry, InboxFilter, InboxOutcome, InboxRecord};
use crate::model::{
    parse_status, Change, Claim, DedupeKey, DeliveryCommit, IgnoredEvent, PaymentState,
    RecheckPolicy, SavedSecret, StalePayment,
};
use crate::outbox::{clip, ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter, OutboxState};
use crate::traits::{DedupeStore, Inbox, Outbox, PaymentSecrets, PaymentStateStore};
use crate::StoreError;

/// A money value as (amount, currency code) columns.
pub(crate) fn money_columns(money: Option<&Money>) -> (Option<i64>, Option<String>) {
    match money {
        Some(m) => (Some(m.minor_units()), Some(m.currency().code().to_owned())),
        None => (None, None),
    }
}

/// The inverse of [`money_columns`].
pub(crate) fn money_from(amount: Option<i64>, currency: Option<String>) -> Option<Money> {
    Some(Money::new(amount?, Currency::from_code(&currency?)))
}

/// How many claims between two sweeps of expired dedupe rows. Each sweep deletes at most
/// [`SWEEP_BATCH`] rows through the expiry index, so a delivery's cost stays flat however many
/// rows are remembered.
pub(crate) const SWEEP_EVERY: u64 = 256;

/// The most rows one sweep deletes.
pub(crate) const SWEEP_BATCH: i64 = 1_000;

/// Counts calls; `true` every [`SWEEP_EVERY`]th one.
#[derive(Debug, Default)]
pub struct SweepCounter(AtomicU64);

impl SweepCounter {
    /// A counter at zero.
    pub const fn new() -> Self {
        SweepCounter(AtomicU64::new(0))
    }

    /// Counts a call: `true` when this one is to sweep.
    pub fn due(&self) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1
    }
}

// ---- The body the SQL backends share ------------------------------------------------------

/// The columns a reconciler's claim returns: provider, payment key, order id, status.
pub(crate) type StaleRow = (String, String, Option<String>, Option<String>);

/// The payments of a reconciler's claim (both dialects return [`StaleRow`]s).
pub(crate) fn stale_payments(rows: Vec<StaleRow>) -> Vec<StalePayment> {
    rows.into_iter()
        .map(|(provider, payment_key, order_id, status)| StalePayment {
            provider: ProviderId::new(provider),
            payment_key,
            order_id,
            status: status.as_deref().map(parse_status),
        })
        .collect()
}

/// One SQL backend's SQL text: every statement the shared body runs, written once per backend
/// (`sqlite::SQL`, `postgres::SQL`). The parameters of a statement follow the order in which
/// the body binds them; the "now" parameter (see [`Dialect::bind_now`]) is bound by SQLite
/// only (PostgreSQL reads the server's `now()`), so it has a number in SQLite's text only.
#[derive(Debug)]
pub struct Statements {
    /// Dedupe sweep: (now,) batch.
    pub dedupe_sweep: &'static str,
    /// Dedupe claim, the live row: provider, dedupe id, (now).
    pub dedupe_current: &'static str,
    /// Dedupe claim, insert or take over a lapsed row: provider, dedupe id, expiry, (now).
    pub dedupe_claim: &'static str,
    /// Dedupe complete: provider, dedupe id, expiry.
    pub dedupe_complete: &'static str,
    /// Dedupe release: provider, dedupe id.
    pub dedupe_release: &'static str,
    /// A payment's row: provider, payment key.
    pub payment_get: &'static str,
    /// The first state of a payment: the state's columns, updated at, (now).
    pub payment_insert: &'static str,
    /// A move from an expected state: the state's columns, updated at, (now), expected.
    pub payment_update: &'static str,
    /// An outbox event: its columns, occurred at, (now).
    pub outbox_insert: &'static str,
    /// An ignored event: provider, payment key, dedupe id, reported, kept, reason, (now).
    pub ignored_insert: &'static str,
    /// A payment's ignored events: provider, payment key.
    pub ignored_list: &'static str,
    /// A tracked payment: provider, payment key, order id, (now).
    pub payment_track: &'static str,
    /// A saved secret: provider, payment key, order id, secret, (now).
    pub secret_save: &'static str,
    /// A secret by payment key: provider, payment key.
    pub secret_by_key: &'static str,
    /// The latest secret of an order: provider, order id.
    pub secret_by_order: &'static str,
    /// An inbox record: its columns, (now).
    pub inbox_record: &'static str,
    /// Inbox entries: failed only, provider, since, limit.
    pub inbox_list: &'static str,
    /// An inbox entry: id.
    pub inbox_entry: &'static str,
    /// Inbox prune: cutoff.
    pub inbox_prune: &'static str,
    /// Ignored events prune: cutoff.
    pub ignored_prune: &'static str,
    /// A held claim delivered: id, owner, attempts.
    pub outbox_delivered: &'static str,
    /// A held claim retried later: id, owner, attempts, next attempt, error.
    pub outbox_retry: &'static str,
    /// A held claim failed: id, owner, attempts, error.
    pub outbox_failed: &'static str,
    /// Outbox events: state, provider, payment key, limit.
    pub outbox_list: &'static str,
    /// An outbox event: id.
    pub outbox_event: &'static str,
    /// An event delivered or failed made pending again: id, (now).
    pub outbox_redeliver: &'static str,
    /// Pending events.
    pub outbox_depth: &'static str,
    /// Outbox prune: cutoff.
    pub outbox_prune: &'static str,
    /// Idempotency sweep: (now,) batch.
    pub idempotency_sweep: &'static str,
    /// A live idempotency key: key, (now).
    pub idempotency_read: &'static str,
    /// An idempotency key completed: key, fingerprint, status, body, expiry.
    pub idempotency_complete: &'static str,
    /// An idempotency key released: key, fingerprint.
    pub idempotency_release: &'static str,
}

pub(crate) mod sealed {
    /// Implemented by the two dialects only.
    pub trait Sealed {}
}

/// Something a parameter can be bound to: a query or a typed query.
pub trait Binds<'q, DB: Database>: Sized {
    /// Binds the next parameter.
    fn arg<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self;
}

impl<'q, DB: Database> Binds<'q, DB> for Query<'q, DB, <DB as Database>::Arguments<'q>> {
    fn arg<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Binds<'q, DB> for QueryAs<'q, DB, O, <DB as Database>::Arguments<'q>> {
    fn arg<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

/// What differs between the SQL backends: the driver, the SQL text, how time is kept (SQLite:
/// milliseconds bound by the client; PostgreSQL: `timestamptz` and the server's `now()`), and
/// the dialect-only code (the payment lock, the reconciler's and the outbox's claims, the
/// idempotency key's holder). Sealed: implemented by `sqlite::SqliteDialect` and
/// `postgres::PgDialect` only.
#[async_trait]
pub trait Dialect: sealed::Sealed + Sized + Send + Sync + 'static {
    /// The sqlx driver.
    type DB: Database;
    /// The time of a call, as bound by [`bind_now`](Self::bind_now).
    type Now: Copy + Send + Sync;
    /// A point in time as a column.
    type Time: for<'q> Encode<'q, Self::DB> + Type<Self::DB> + Send + Sync + 'static;
    /// A small integer column (attempts, HTTP status).
    type Int: for<'q> Encode<'q, Self::DB>
        + for<'r> Decode<'r, Self::DB>
        + Type<Self::DB>
        + TryInto<u16>
        + Send
        + Sync
        + Unpin
        + 'static;
    /// The backend's own state besides the pool.
    type State: Clone + Send + Sync;
    /// The SQL text.
    const SQL: &'static Statements;
    /// The time of this call.
    fn now() -> Self::Now;
    /// Binds `now` where SQLite's text has a parameter for it; PostgreSQL binds nothing.
    fn bind_now<'q, Q: Binds<'q, Self::DB>>(query: Q, now: Self::Now) -> Q;
    /// `duration` after `now`, as bound (PostgreSQL: milliseconds added to the server's `now()`).
    fn after(now: Self::Now, duration: Duration) -> i64;
    /// `duration` before `now`, as bound (PostgreSQL: milliseconds taken from `now()`).
    fn before(now: Self::Now, duration: Duration) -> i64;
    /// A point in time as a column.
    fn time(at: OffsetDateTime) -> Self::Time;
    /// A small integer as a column.
    fn int(n: u32) -> Self::Int;
    /// Reads a time column.
    fn get_time(
        row: &<Self::DB as Database>::Row,
        column: &str,
    ) -> Result<OffsetDateTime, sqlx::Error>;
    /// Reads a nullable time column.
    fn get_time_opt(
        row: &<Self::DB as Database>::Row,
        column: &str,
    ) -> Result<Option<OffsetDateTime>, sqlx::Error>;
    /// Reads a count column (attempts).
    fn get_count(row: &<Self::DB as Database>::Row, column: &str) -> Result<u32, sqlx::Error>;
    /// Rows a statement changed.
    fn rows_affected(done: &<Self::DB as Database>::QueryResult) -> u64;
    /// The embedded migrations.
    fn migrator() -> sqlx::migrate::Migrator;
    /// Counts `begin` calls between two sweeps of expired idempotency keys (one per process).
    fn idempotency_sweeps() -> &'static SweepCounter;
    /// The reconciler's claim ([`PaymentStateStore::claim_stale`]).
    async fn claim_stale(
        store: &SqlStore<Self>,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError>;
    /// The outbox's claim ([`Outbox::claim`]): the claimed rows.
    async fn claim_outbox(
        store: &SqlStore<Self>,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<<Self::DB as Database>::Row>, StoreError>;
    /// [`DedupeStore::claim`] (after the shared sweep).
    async fn claim_dedupe(
        store: &SqlStore<Self>,
        key: &DedupeKey,
        lease: Duration,
    ) -> Result<Claim, StoreError>;
    /// [`PaymentStateStore::commit_delivery`]: `false` when the compare-and-set found another
    /// status (nothing written).
    async fn commit_delivery(
        store: &SqlStore<Self>,
        commit: &DeliveryCommit,
    ) -> Result<bool, StoreError>;
    /// [`Outbox::mark_all_delivered`]: whether each lease was still its event's.
    async fn mark_all_delivered(
        store: &SqlStore<Self>,
        leases: &[Lease],
    ) -> Result<Vec<bool>, StoreError>;
    /// Inserts an idempotency key, or takes over a lapsed one or one whose holder is gone:
    /// `true` when this call started it.
    async fn start_key(
        store: &SqlStore<Self>,
        key: &str,
        fingerprint: &str,
        lease: Duration,
        now: Self::Now,
    ) -> Result<bool, StoreError>;
}

/// Every store over one SQL database: the body SQLite and PostgreSQL share
/// (`sqlite::SqliteStore`, `postgres::PgStore`).
pub struct SqlStore<D: Dialect> {
    pub(crate) pool: Pool<D::DB>,
    /// Where writes go: for SQLite one connection (the database has one writer: writers
    /// queue in the pool, first come first served, instead of sleeping in SQLite's busy
    /// handler while holding a connection readers need); for PostgreSQL the same pool.
    pub(crate) writer: Pool<D::DB>,
    pub(crate) sweeps: Arc<SweepCounter>,
    /// Scrubbed from error messages.
    pub(crate) password: Option<String>,
    pub(crate) dialect: D::State,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            sweeps: self.sweeps.clone(),
            password: self.password.clone(),
            dialect: self.dialect.clone(),
        }
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &<D::DB as Database>::NAME)
            .finish_non_exhaustive()
    }
}

impl<D: Dialect> SqlStore<D> {
    /// The connection pool for the store calls.
    pub fn pool(&self) -> &Pool<D::DB> {
        &self.pool
    }

    pub(crate) fn err(&self, what: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| StoreError::db(what, &e, self.password.as_deref())
    }
}

/// `impl` blocks of the shared body, with the bounds sqlx needs of a driver written once.
macro_rules! shared {
    ($(#[$meta:meta])* impl $($trait:ident for)? { $($body:tt)* }) => {
        $(#[$meta])*
        impl<D: Dialect> $($trait for)? SqlStore<D>
        where
            for<'c> &'c mut <D::DB as Database>::Connection: Executor<'c, Database = D::DB>,
            for<'q> <D::DB as Database>::Arguments<'q>: IntoArguments<'q, D::DB>,
            for<'q> &'q str: Encode<'q, D::DB> + Type<D::DB>,
            for<'q, 'r> String: Encode<'q, D::DB> + Decode<'r, D::DB> + Type<D::DB>,
            for<'q, 'r> i64: Encode<'q, D::DB> + Decode<'r, D::DB> + Type<D::DB>,
            for<'q, 'r> bool: Encode<'q, D::DB> + Decode<'r, D::DB> + Type<D::DB>,
            for<'q, 'r> Vec<u8>: Encode<'q, D::DB> + Decode<'r, D::DB> + Type<D::DB>,
            for<'q> Option<&'q str>: Encode<'q, D::DB>,
            for<'q> Option<String>: Encode<'q, D::DB>,
            for<'q> Option<i64>: Encode<'q, D::DB>,
            for<'q> Option<D::Time>: Encode<'q, D::DB>,
            for<'a> &'a str: ColumnIndex<<D::DB as Database>::Row>,
            usize: ColumnIndex<<D::DB as Database>::Row>,
        {
            $($body)*
        }
    };
}

shared! {
impl {
    async fn sweep(&self) -> Result<(), StoreError> {
        D::bind_now(sqlx::query(D::SQL.dedupe_sweep), D::now())
            .bind(SWEEP_BATCH)
            .execute(&self.writer)
            .await
            .map_err(self.err("dedupe sweep"))?;
        Ok(())
    }

    async fn insert_event(
        &self,
        tx: &mut Transaction<'static, D::DB>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let currency = event
            .amount
            .as_ref()
            .or(event.balance.as_ref())
            .map(|m| m.currency().code().to_owned());
        let query = sqlx::query(D::SQL.outbox_insert)
            .bind(&event.id)
            .bind(&event.event_type)
            .bind(event.provider.as_str())
            .bind(&event.payment_key)
            .bind(&event.order_id)
            .bind(event.old_status.map(PaymentStatus::as_str))
            .bind(event.new_status.as_str())
            .bind(event.amount.as_ref().map(|m| m.minor_units()))
            .bind(event.balance.as_ref().map(|m| m.minor_units()))
            .bind(currency)
            .bind(D::time(event.occurred_at));
        D::bind_now(query, D::now())
            .execute(&mut **tx)
            .await
            .map_err(self.err("outbox write"))?;
        Ok(())
    }

    /// The compare-and-set of a payment's state: an insert over a tracked row (`expected`
    /// `None`) or an update from `expected`; one row affected when it was written.
    fn state_write(
        expected: Option<PaymentStatus>,
        state: &PaymentState,
    ) -> Query<'_, D::DB, <D::DB as Database>::Arguments<'_>> {
        let sql = match expected {
            None => D::SQL.payment_insert,
            Some(_) => D::SQL.payment_update,
        };
        Self::state_binds(sql, expected, state)
    }

    /// `sql` with the compare-and-set's parameters bound first: the state's columns, "now"
    /// where the dialect binds it, then `expected` when given (for a statement that is the
    /// compare-and-set or starts with it).
    pub(crate) fn state_binds<'q>(
        sql: &'q str,
        expected: Option<PaymentStatus>,
        state: &'q PaymentState,
    ) -> Query<'q, D::DB, <D::DB as Database>::Arguments<'q>> {
        let (total, total_cur) = money_columns(state.total.as_ref());
        let (balance, balance_cur) = money_columns(state.balance.as_ref());
        let (canceled, canceled_cur) = money_columns(state.canceled.as_ref());
        let query = sqlx::query(sql)
            .bind(state.provider.as_str())
            .bind(&state.payment_key)
            .bind(&state.order_id)
            .bind(state.status.as_str())
            .bind(total)
            .bind(total_cur)
            .bind(balance)
            .bind(balance_cur)
            .bind(canceled)
            .bind(canceled_cur)
            .bind(D::time(state.updated_at));
        let query = D::bind_now(query, D::now());
        match expected {
            Some(expected) => query.bind(expected.as_str()),
            None => query,
        }
    }

    /// The insert of an ignored event.
    fn ignored_write<'q>(
        provider: &'q ProviderId,
        payment_key: &'q str,
        event: &'q IgnoredEvent,
    ) -> Query<'q, D::DB, <D::DB as Database>::Arguments<'q>> {
        let query = sqlx::query(D::SQL.ignored_insert)
            .bind(provider.as_str())
            .bind(payment_key)
            .bind(&event.dedupe_id)
            .bind(event.reported.as_str())
            .bind(event.kept.as_str())
            .bind(&event.reason);
        D::bind_now(query, D::now())
    }

    /// The upsert of an inbox record, returning its id.
    fn inbox_write(
        record: &InboxRecord,
    ) -> QueryAs<'_, D::DB, (i64,), <D::DB as Database>::Arguments<'_>> {
        let (stage, detail) = record.outcome.columns();
        let query = sqlx::query_as(D::SQL.inbox_record)
            .bind(record.provider.as_str())
            .bind(&record.dedupe_id)
            .bind(&record.kind)
            .bind(&record.payment_key)
            .bind(&record.order_id)
            .bind(&record.trust)
            .bind(record.outcome.label())
            .bind(stage)
            .bind(detail);
        D::bind_now(query, D::now())
    }

    /// The upsert marking a delivery processed until `ttl` from now.
    fn dedupe_done(
        key: &DedupeKey,
        ttl: Duration,
    ) -> Query<'_, D::DB, <D::DB as Database>::Arguments<'_>> {
        sqlx::query(D::SQL.dedupe_complete)
            .bind(key.provider.as_str())
            .bind(&key.dedupe_id)
            .bind(D::after(D::now(), ttl))
    }

    /// [`DedupeStore::claim`] as two statements: the current entry (a processed one answers
    /// at once, from one indexed read), then the insert or takeover of a lapsed one.
    pub(crate) async fn claim_in_two(
        &self,
        key: &DedupeKey,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let now = D::now();
        let current: Option<(bool,)> = D::bind_now(
            sqlx::query_as(D::SQL.dedupe_current)
                .bind(key.provider.as_str())
                .bind(&key.dedupe_id),
            now,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("dedupe claim"))?;
        match current {
            Some((true,)) => return Ok(Claim::Duplicate),
            Some((false,)) => return Ok(Claim::InProgress),
            None => {}
        }
        // Inserts, or takes over a lapsed row; a concurrent claimer waits for the row lock and
        // then sees the new, unexpired row, so exactly one of them gets it.
        let claimed = D::bind_now(
            sqlx::query(D::SQL.dedupe_claim)
                .bind(key.provider.as_str())
                .bind(&key.dedupe_id)
                .bind(D::after(now, lease)),
            now,
        )
        .execute(&self.writer)
        .await
        .map_err(self.err("dedupe claim"))?;
        Ok(if D::rows_affected(&claimed) == 1 {
            Claim::New
        } else {
            Claim::InProgress
        })
    }

    /// [`PaymentStateStore::commit_delivery`] as one transaction of its statements: `false`,
    /// rolled back, when the compare-and-set found another status.
    pub(crate) async fn commit_in_transaction(
        &self,
        commit: &DeliveryCommit,
    ) -> Result<bool, StoreError> {
        let what = "delivery commit";
        let mut tx = self.writer.begin().await.map_err(self.err(what))?;
        match &commit.change {
            Change::Move {
                expected,
                state,
                events,
            } => {
                let done = Self::state_write(*expected, state)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err("payment state write"))?;
                if D::rows_affected(&done) != 1 {
                    // Dropping the transaction rolls it back: nothing was written.
                    return Ok(false);
                }
                // The payment's row is locked by the write above until the commit
                // (PostgreSQL; SQLite holds the database's write lock), so the sequence
                // numbers below cannot race with another move of the same payment.
                for event in events {
                    self.insert_event(&mut tx, event).await?;
                }
            }
            Change::Ignored {
                provider,
                payment_key,
                event,
            } => {
                Self::ignored_write(provider, payment_key, event)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err("ignored event write"))?;
            }
        }
        if let Some((key, ttl)) = &commit.dedupe {
            Self::dedupe_done(key, *ttl)
                .execute(&mut *tx)
                .await
                .map_err(self.err("dedupe complete"))?;
        }
        if let Some(record) = &commit.record {
            Self::inbox_write(record)
                .fetch_one(&mut *tx)
                .await
                .map_err(self.err("inbox write"))?;
        }
        tx.commit().await.map_err(self.err(what))?;
        Ok(true)
    }

    /// The versions of the embedded migrations not applied to this database (empty when it is
    /// up to date), for readiness checks.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(self.err("migration check"))?;
        Ok(D::migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.iter().any(|(a,)| a == v))
            .collect())
    }

    fn state_from(row: &<D::DB as Database>::Row) -> Result<Option<PaymentState>, sqlx::Error> {
        let Some(status): Option<String> = row.try_get("status")? else {
            return Ok(None);
        };
        Ok(Some(PaymentState {
            provider: ProviderId::new(row.try_get::<String, _>("provider")?),
            payment_key: row.try_get("payment_key")?,
            order_id: row.try_get("order_id")?,
            status: parse_status(&status),
            total: money_from(row.try_get("total_amount")?, row.try_get("total_currency")?),
            balance: money_from(
                row.try_get("balance_amount")?,
                row.try_get("balance_currency")?,
            ),
            canceled: money_from(
                row.try_get("canceled_amount")?,
                row.try_get("canceled_currency")?,
            ),
            updated_at: D::get_time(row, "updated_at")?,
        }))
    }

    fn entry_from(row: &<D::DB as Database>::Row) -> Result<InboxEntry, sqlx::Error> {
        let outcome: String = row.try_get("outcome")?;
        Ok(InboxEntry {
            id: row.try_get("id")?,
            provider: ProviderId::new(row.try_get::<String, _>("provider")?),
            dedupe_id: row.try_get("dedupe_id")?,
            kind: row.try_get("kind")?,
            payment_key: row.try_get("payment_key")?,
            order_id: row.try_get("order_id")?,
            trust: row.try_get("trust")?,
            outcome: InboxOutcome::from_columns(
                &outcome,
                row.try_get("stage")?,
                row.try_get("detail")?,
            ),
            attempts: D::get_count(row, "attempts")?,
            first_seen: D::get_time(row, "first_seen")?,
            last_seen: D::get_time(row, "last_seen")?,
        })
    }

    fn outbox_from(row: &<D::DB as Database>::Row) -> Result<OutboxEvent, sqlx::Error> {
        let currency: Option<String> = row.try_get("currency")?;
        let old_status: Option<String> = row.try_get("old_status")?;
        let state: String = row.try_get("state")?;
        Ok(OutboxEvent {
            event: NewEvent {
                id: row.try_get("id")?,
                event_type: row.try_get("event_type")?,
                provider: ProviderId::new(row.try_get::<String, _>("provider")?),
                payment_key: row.try_get("payment_key")?,
                order_id: row.try_get("order_id")?,
                old_status: old_status.as_deref().map(parse_status),
                new_status: parse_status(&row.try_get::<String, _>("new_status")?),
                amount: money_from(row.try_get("amount")?, currency.clone()),
                balance: money_from(row.try_get("balance")?, currency),
                occurred_at: D::get_time(row, "occurred_at")?,
            },
            sequence: row.try_get("sequence")?,
            attempts: D::get_count(row, "attempts")?,
            next_attempt_at: D::get_time(row, "next_attempt_at")?,
            state: OutboxState::parse(&state),
            last_error: row.try_get("last_error")?,
            lease_owner: row.try_get("lease_owner")?,
            lease_expires_at: D::get_time_opt(row, "lease_expires_at")?,
            created_at: D::get_time(row, "created_at")?,
        })
    }

    /// An update of the row a claim still holds: id, owner and attempts bound.
    fn held<'q>(
        sql: &'static str,
        lease: &'q Lease,
    ) -> Query<'q, D::DB, <D::DB as Database>::Arguments<'q>> {
        sqlx::query(sql)
            .bind(&lease.event_id)
            .bind(&lease.owner)
            .bind(D::int(lease.attempt))
    }
}
}

shared! {
#[async_trait]
impl DedupeStore for {
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError> {
        if self.sweeps.due() {
            self.sweep().await?;
        }
        D::claim_dedupe(self, key, lease).await
    }

    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        Self::dedupe_done(key, ttl)
            .execute(&self.writer)
            .await
            .map_err(self.err("dedupe complete"))?;
        Ok(())
    }

    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        sqlx::query(D::SQL.dedupe_release)
            .bind(key.provider.as_str())
            .bind(&key.dedupe_id)
            .execute(&self.writer)
            .await
            .map_err(self.err("dedupe release"))?;
        Ok(())
    }

    async fn processed(&self, key: &DedupeKey) -> Result<bool, StoreError> {
        let current: Option<(bool,)> = D::bind_now(
            sqlx::query_as(D::SQL.dedupe_current)
                .bind(key.provider.as_str())
                .bind(&key.dedupe_id),
            D::now(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("dedupe read"))?;
        Ok(current.is_some_and(|(done,)| done))
    }
}
}

shared! {
#[async_trait]
impl PaymentStateStore for {
    async fn get(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Option<PaymentState>, StoreError> {
        let row = sqlx::query(D::SQL.payment_get)
            .bind(provider.as_str())
            .bind(payment_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("payment state read"))?;
        match row {
            Some(row) => Self::state_from(&row).map_err(self.err("payment state decode")),
            None => Ok(None),
        }
    }

    async fn compare_and_set_with_events(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
        events: Vec<NewEvent>,
    ) -> Result<bool, StoreError> {
        if events.is_empty() {
            let done = Self::state_write(expected, &state)
                .execute(&self.writer)
                .await
                .map_err(self.err("payment state write"))?;
            return Ok(D::rows_affected(&done) == 1);
        }
        let commit = DeliveryCommit {
            change: Change::Move {
                expected,
                state,
                events,
            },
            dedupe: None,
            record: None,
        };
        D::commit_delivery(self, &commit).await
    }

    async fn commit_delivery(
        &self,
        commit: &DeliveryCommit,
    ) -> Result<Option<bool>, StoreError> {
        D::commit_delivery(self, commit).await.map(Some)
    }

    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError> {
        Self::ignored_write(provider, payment_key, &event)
            .execute(&self.writer)
            .await
            .map_err(self.err("ignored event write"))?;
        Ok(())
    }

    async fn ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Vec<IgnoredEvent>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(D::SQL.ignored_list)
            .bind(provider.as_str())
            .bind(payment_key)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("ignored events read"))?;
        Ok(rows
            .into_iter()
            .map(|(dedupe_id, reported, kept, reason)| IgnoredEvent {
                dedupe_id,
                reported: parse_status(&reported),
                kept: parse_status(&kept),
                reason,
            })
            .collect())
    }

    async fn track(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        order_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(D::SQL.payment_track)
            .bind(provider.as_str())
            .bind(payment_key)
            .bind(order_id);
        D::bind_now(query, D::now())
            .execute(&self.writer)
            .await
            .map_err(self.err("payment track"))?;
        Ok(())
    }

    async fn claim_stale(
        &self,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError> {
        D::claim_stale(self, provider, policy, hold, limit).await
    }
}
}

shared! {
#[async_trait]
impl PaymentSecrets for {
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError> {
        let query = sqlx::query(D::SQL.secret_save)
            .bind(saved.provider.as_str())
            .bind(&saved.payment_key)
            .bind(&saved.order_id)
            .bind(saved.secret.expose());
        D::bind_now(query, D::now())
            .execute(&self.writer)
            .await
            .map_err(self.err("secret write"))?;
        Ok(())
    }

    async fn find(
        &self,
        provider: &ProviderId,
        payment_key: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        if let Some(key) = payment_key {
            let found: Option<(String,)> = sqlx::query_as(D::SQL.secret_by_key)
                .bind(provider.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.err("secret read"))?;
            if let Some((secret,)) = found {
                return Ok(Some(Secret::new(secret)));
            }
        }
        let Some(order) = order_id else {
            return Ok(None);
        };
        let found: Option<(String,)> = sqlx::query_as(D::SQL.secret_by_order)
            .bind(provider.as_str())
            .bind(order)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("secret read"))?;
        Ok(found.map(|(s,)| Secret::new(s)))
    }
}
}

shared! {
#[async_trait]
impl Inbox for {
    async fn record(&self, record: InboxRecord) -> Result<i64, StoreError> {
        let (id,): (i64,) = Self::inbox_write(&record)
            .fetch_one(&self.writer)
            .await
            .map_err(self.err("inbox write"))?;
        Ok(id)
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        let rows = sqlx::query(D::SQL.inbox_list)
            .bind(filter.failed_only)
            .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
            .bind(filter.since.map(D::time))
            .bind(filter.sql_limit())
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("inbox read"))?;
        rows.iter()
            .map(Self::entry_from)
            .collect::<Result<_, _>>()
            .map_err(self.err("inbox decode"))
    }

    async fn entry(&self, id: i64) -> Result<Option<InboxEntry>, StoreError> {
        let row = sqlx::query(D::SQL.inbox_entry)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("inbox read"))?;
        row.as_ref()
            .map(Self::entry_from)
            .transpose()
            .map_err(self.err("inbox decode"))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = D::before(D::now(), retention);
        let inbox = sqlx::query(D::SQL.inbox_prune)
            .bind(cutoff)
            .execute(&self.writer)
            .await
            .map_err(self.err("inbox prune"))?;
        let ignored = sqlx::query(D::SQL.ignored_prune)
            .bind(cutoff)
            .execute(&self.writer)
            .await
            .map_err(self.err("inbox prune"))?;
        Ok(D::rows_affected(&inbox) + D::rows_affected(&ignored))
    }
}
}

shared! {
#[async_trait]
impl Outbox for {
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let rows = D::claim_outbox(self, owner, lease, limit).await?;
        let claimed = rows
            .iter()
            .map(Self::outbox_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err("outbox decode"))?;
        Ok(crate::outbox::leased(claimed, owner))
    }

    async fn mark_delivered(&self, lease: &Lease) -> Result<bool, StoreError> {
        let done = Self::held(D::SQL.outbox_delivered, lease)
            .execute(&self.writer)
            .await
            .map_err(self.err("outbox mark delivered"))?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn mark_all_delivered(&self, leases: &[Lease]) -> Result<Vec<bool>, StoreError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        D::mark_all_delivered(self, leases).await
    }

    async fn schedule_retry(
        &self,
        lease: &Lease,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let done = Self::held(D::SQL.outbox_retry, lease)
            .bind(D::after(D::now(), delay))
            .bind(clip(error))
            .execute(&self.writer)
            .await
            .map_err(self.err("outbox retry"))?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let done = Self::held(D::SQL.outbox_failed, lease)
            .bind(clip(error))
            .execute(&self.writer)
            .await
            .map_err(self.err("outbox mark failed"))?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn list(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows = sqlx::query(D::SQL.outbox_list)
            .bind(filter.state.map(OutboxState::as_str))
            .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
            .bind(&filter.payment_key)
            .bind(filter.sql_limit())
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("outbox read"))?;
        rows.iter()
            .map(Self::outbox_from)
            .collect::<Result<_, _>>()
            .map_err(self.err("outbox decode"))
    }

    async fn event(&self, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        let row = sqlx::query(D::SQL.outbox_event)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("outbox read"))?;
        row.as_ref()
            .map(Self::outbox_from)
            .transpose()
            .map_err(self.err("outbox decode"))
    }

    async fn redeliver(&self, id: &str) -> Result<bool, StoreError> {
        let done = D::bind_now(sqlx::query(D::SQL.outbox_redeliver).bind(id), D::now())
            .execute(&self.writer)
            .await
            .map_err(self.err("outbox redeliver"))?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn depth(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(D::SQL.outbox_depth)
            .fetch_one(&self.pool)
            .await
            .map_err(self.err("outbox depth"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(D::SQL.outbox_prune)
            .bind(D::before(D::now(), retention))
            .execute(&self.writer)
            .await
            .map_err(self.err("outbox prune"))?;
        Ok(D::rows_affected(&done))
    }
}
}

shared! {
#[async_trait]
impl IdempotencyStore for {
    async fn begin(&self, key: &str, fingerprint: &str, lease: Duration) -> Result<Begin, StoreError> {
        let now = D::now();
        if D::idempotency_sweeps().due() {
            D::bind_now(sqlx::query(D::SQL.idempotency_sweep), now)
                .bind(SWEEP_BATCH)
                .execute(&self.writer)
                .await
                .map_err(self.err("idempotency sweep"))?;
        }
        if D::start_key(self, key, fingerprint, lease, now).await? {
            return Ok(Begin::Started);
        }
        let row: Option<(String, bool, Option<D::Int>, Option<Vec<u8>>)> =
            D::bind_now(sqlx::query_as(D::SQL.idempotency_read).bind(key), now)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.err("idempotency begin"))?;
        Ok(match row {
            // Lapsed between the two statements: the caller retries later.
            None => Begin::InProgress,
            Some((stored, _, _, _)) if stored != fingerprint => Begin::Mismatch,
            Some((_, true, Some(status), body)) => Begin::Completed(StoredResponse {
                status: status.try_into().unwrap_or(500),
                body: body.unwrap_or_default(),
            }),
            Some(_) => Begin::InProgress,
        })
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        sqlx::query(D::SQL.idempotency_complete)
            .bind(key)
            .bind(fingerprint)
            .bind(D::int(u32::from(response.status)))
            .bind(&response.body)
            .bind(D::after(D::now(), ttl))
            .execute(&self.writer)
            .await
            .map_err(self.err("idempotency complete"))?;
        Ok(())
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query(D::SQL.idempotency_release)
            .bind(key)
            .bind(fingerprint)
            .execute(&self.writer)
            .await
            .map_err(self.err("idempotency release"))?;
        Ok(())
    }
}
}
