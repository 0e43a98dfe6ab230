//! [`PgStore`]: every store in one PostgreSQL database shared by several instances.
//!
//! - **Claims** carry a lease computed with the server's `now()`: a claim left by a crashed
//!   instance is taken over by the next delivery once the lease lapses.
//! - **One payment's events are serialised across instances** by a lock row
//!   (`hanpay_payment_locks`), taken with one statement and deleted at
//!   [`PaymentGuard::release`] (or, for a guard dropped unreleased, in the background). No
//!   connection is held while the PG is asked and the handler runs, so how many payments are
//!   being applied at once is not bounded by a pool. The row names its holder's liveness
//!   connection (as idempotency keys do): a crashed instance's lock is taken over at once; a
//!   live holder keeps it for at most [`PAYMENT_LOCK_LEASE`] (5 minutes, far beyond any PG
//!   call's timeouts), after which a holder stuck that long loses it — its commit is then
//!   refused if the state moved meanwhile. An in-process lock is taken first, so that waiters
//!   of one instance wait in memory; another instance's waiter retries every 5–200 ms, for up
//!   to 30 s.
//! - **The reconciler** hands out stale payments with `FOR UPDATE SKIP LOCKED` and a hold
//!   time, so two instances never fetch the same payment at the same time.
//!
//! The stores' body is shared with SQLite (`SqlStore`); this module holds PostgreSQL's SQL text
//! ([`STATEMENTS`]: times are `timestamptz`, read from the server's `now()`) and what only
//! PostgreSQL does: connecting, the payment lock row, the claims with `SKIP LOCKED`, and
//! the idempotency key's holder (a liveness connection).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hanpay_core::{async_trait, Money, PaymentStatus, ProviderId};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Postgres, Row};
use time::OffsetDateTime;

use crate::holder::Holder;
use crate::lock::PaymentLocks;
use crate::lock::{HeldLock, LocalPaymentLocks, PaymentGuard};
use crate::model::{millis, RecheckPolicy, StalePayment};
use crate::model::{Change, Claim, DedupeKey, DeliveryCommit, PaymentState};
use crate::outbox::Lease;
use crate::outbox::NewEvent;
use crate::sql::{
    sealed, stale_payments, Binds, Dialect, SqlStore, StaleRow, Statements, SweepCounter,
};
use crate::{DatabaseUrl, OpenOptions, StoreError};

/// The migrations, embedded in the binary. Migrations of other applications in the same
/// database are tolerated (`ignore_missing`); hanpay's versions are dated to stay apart.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator
}

/// Every store over one PostgreSQL database.
pub type PgStore = SqlStore<PgDialect>;

/// PostgreSQL's side of the SQL stores.
#[derive(Debug, Clone, Copy)]
pub struct PgDialect;

impl sealed::Sealed for PgDialect {}

/// What a [`PgStore`] keeps besides its pool.
#[derive(Clone)]
pub struct PgState {
    /// Where the liveness connection (`holder`) connects.
    connect: Arc<PgConnectOptions>,
    /// This store's liveness connection: who holds the idempotency keys it starts.
    holder: Arc<Holder>,
    locks: LocalPaymentLocks,
}

impl PgStore {
    /// Connects (failing at once when the server cannot be reached) and, unless `options` say
    /// otherwise, migrates. Several instances may start together: migrations take a lock.
    pub async fn connect(url: &DatabaseUrl, options: &OpenOptions) -> Result<PgStore, StoreError> {
        let password = url.password();
        let scrub = |what: String, e: sqlx::Error| StoreError::db(&what, &e, password.as_deref());
        let connect = PgConnectOptions::from_str(url.expose())
            .map_err(|e| scrub(format!("{url} is not a PostgreSQL URL"), e))?;
        let pool_of = |size: u32| {
            PgPoolOptions::new()
                .max_connections(size.max(1))
                .acquire_timeout(options.acquire_timeout)
        };
        let pool = pool_of(options.max_connections)
            .connect_with(connect.clone())
            .await
            .map_err(|e| scrub(format!("cannot connect to {url}"), e))?;
        let store = PgStore {
            writer: pool.clone(),
            pool,
            sweeps: Default::default(),
            password,
            dialect: PgState {
                connect: Arc::new(connect),
                holder: Arc::default(),
                locks: LocalPaymentLocks::new(),
            },
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the embedded migrations that are not applied yet (under sqlx's advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::new(format!("PostgreSQL migrations: {e}")))
    }

    /// Closes the pool: every later call fails.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// PostgreSQL's SQL text. `$N` numbers the parameters in the order the shared body binds them
/// (PostgreSQL binds no "now": it reads the server's `now()`).
pub const STATEMENTS: Statements = Statements {
    dedupe_sweep: "DELETE FROM hanpay_dedupe WHERE ctid IN \
         (SELECT ctid FROM hanpay_dedupe WHERE expires_at <= now() LIMIT $1)",
    dedupe_current: "SELECT done FROM hanpay_dedupe \
         WHERE provider = $1 AND dedupe_id = $2 AND expires_at > now()",
    dedupe_claim: "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
         VALUES ($1, $2, false, now() + $3 * interval '1 millisecond') \
         ON CONFLICT (provider, dedupe_id) DO UPDATE \
         SET done = false, expires_at = EXCLUDED.expires_at \
         WHERE hanpay_dedupe.expires_at <= now()",
    dedupe_complete: "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
         VALUES ($1, $2, true, now() + $3 * interval '1 millisecond') \
         ON CONFLICT (provider, dedupe_id) DO UPDATE \
         SET done = true, expires_at = EXCLUDED.expires_at",
    dedupe_release: "DELETE FROM hanpay_dedupe WHERE provider = $1 AND dedupe_id = $2 AND NOT done",
    payment_get: "SELECT * FROM hanpay_payments WHERE provider = $1 AND payment_key = $2",
    payment_insert: "INSERT INTO hanpay_payments (provider, payment_key, order_id, status, \
         total_amount, total_currency, balance_amount, balance_currency, \
         canceled_amount, canceled_currency, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (provider, payment_key) DO UPDATE SET \
         order_id = COALESCE(EXCLUDED.order_id, hanpay_payments.order_id), \
         status = EXCLUDED.status, total_amount = EXCLUDED.total_amount, \
         total_currency = EXCLUDED.total_currency, \
         balance_amount = EXCLUDED.balance_amount, \
         balance_currency = EXCLUDED.balance_currency, \
         canceled_amount = EXCLUDED.canceled_amount, \
         canceled_currency = EXCLUDED.canceled_currency, \
         updated_at = EXCLUDED.updated_at, changed_at = now(), next_check_at = now() \
         WHERE hanpay_payments.status IS NULL",
    payment_update: "UPDATE hanpay_payments SET \
         order_id = COALESCE($3, order_id), status = $4, \
         total_amount = $5, total_currency = $6, balance_amount = $7, \
         balance_currency = $8, canceled_amount = $9, canceled_currency = $10, \
         updated_at = $11, changed_at = now(), next_check_at = now() \
         WHERE provider = $1 AND payment_key = $2 AND status = $12",
    outbox_insert: "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, order_id, \
         old_status, new_status, amount, balance, currency, occurred_at, sequence) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM hanpay_outbox \
          WHERE provider = $3 AND payment_key = $4))",
    ignored_insert: "INSERT INTO hanpay_ignored \
         (provider, payment_key, dedupe_id, reported, kept, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    ignored_list: "SELECT dedupe_id, reported, kept, reason FROM hanpay_ignored \
         WHERE provider = $1 AND payment_key = $2 ORDER BY id",
    payment_track: "INSERT INTO hanpay_payments (provider, payment_key, order_id, updated_at) \
         VALUES ($1, $2, $3, now()) ON CONFLICT (provider, payment_key) DO NOTHING",
    secret_save: "INSERT INTO hanpay_secrets (provider, payment_key, order_id, secret) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (provider, payment_key) DO UPDATE SET \
         order_id = EXCLUDED.order_id, secret = EXCLUDED.secret, saved_at = now()",
    secret_by_key: "SELECT secret FROM hanpay_secrets WHERE provider = $1 AND payment_key = $2",
    secret_by_order: "SELECT secret FROM hanpay_secrets WHERE provider = $1 AND order_id = $2 \
         ORDER BY saved_at DESC LIMIT 1",
    inbox_record: "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, order_id, \
         trust, outcome, stage, detail, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) \
         ON CONFLICT (provider, dedupe_id) DO UPDATE SET \
         attempts = hanpay_inbox.attempts + 1, last_seen = now(), trust = EXCLUDED.trust, \
         payment_key = COALESCE(EXCLUDED.payment_key, hanpay_inbox.payment_key), \
         order_id = COALESCE(EXCLUDED.order_id, hanpay_inbox.order_id), \
         outcome = CASE WHEN EXCLUDED.outcome = 'duplicate' THEN hanpay_inbox.outcome \
                   ELSE EXCLUDED.outcome END, \
         stage = CASE WHEN EXCLUDED.outcome = 'duplicate' THEN hanpay_inbox.stage \
                 ELSE EXCLUDED.stage END, \
         detail = CASE WHEN EXCLUDED.outcome = 'duplicate' THEN hanpay_inbox.detail \
                  ELSE EXCLUDED.detail END \
         RETURNING id",
    inbox_list: "SELECT * FROM hanpay_inbox \
         WHERE (NOT $1 OR outcome = 'failed') AND ($2::text IS NULL OR provider = $2) \
         AND ($3::timestamptz IS NULL OR last_seen >= $3) \
         ORDER BY last_seen DESC, id DESC LIMIT $4",
    inbox_entry: "SELECT * FROM hanpay_inbox WHERE id = $1",
    inbox_prune: "DELETE FROM hanpay_inbox WHERE outcome <> 'failed' \
         AND last_seen < now() - $1 * interval '1 millisecond'",
    ignored_prune: "DELETE FROM hanpay_ignored \
         WHERE recorded_at < now() - $1 * interval '1 millisecond'",
    outbox_delivered: "UPDATE hanpay_outbox SET state = 'delivered', lease_expires_at = NULL, \
         last_error = NULL \
         WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'pending'",
    outbox_retry: "UPDATE hanpay_outbox \
         SET next_attempt_at = now() + $4 * interval '1 millisecond', \
         lease_expires_at = NULL, last_error = $5 \
         WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'pending'",
    outbox_failed: "UPDATE hanpay_outbox SET state = 'failed', lease_expires_at = NULL, \
         last_error = $4 \
         WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'pending'",
    outbox_list: "SELECT * FROM hanpay_outbox \
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR provider = $2) \
         AND ($3::text IS NULL OR payment_key = $3) \
         ORDER BY position DESC LIMIT $4",
    outbox_event: "SELECT * FROM hanpay_outbox WHERE id = $1",
    outbox_redeliver: "UPDATE hanpay_outbox SET state = 'pending', attempts = 0, \
         next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = $1 AND state <> 'pending'",
    outbox_depth: "SELECT COUNT(*) FROM hanpay_outbox WHERE state = 'pending'",
    outbox_prune: "DELETE FROM hanpay_outbox WHERE state = 'delivered' \
         AND created_at < now() - $1 * interval '1 millisecond'",
    idempotency_sweep: "DELETE FROM hanpay_idempotency WHERE ctid IN \
         (SELECT ctid FROM hanpay_idempotency WHERE expires_at <= now() LIMIT $1)",
    idempotency_read: "SELECT fingerprint, done, status, body FROM hanpay_idempotency \
         WHERE idempotency_key = $1 AND expires_at > now()",
    idempotency_complete: "UPDATE hanpay_idempotency SET done = true, status = $3, body = $4, \
         expires_at = now() + $5 * interval '1 millisecond' \
         WHERE idempotency_key = $1 AND fingerprint = $2 AND NOT done",
    idempotency_release: "DELETE FROM hanpay_idempotency \
         WHERE idempotency_key = $1 AND fingerprint = $2 AND NOT done",
};

#[async_trait]
impl Dialect for PgDialect {
    type DB = Postgres;
    type Now = ();
    type Time = OffsetDateTime;
    type Int = i32;
    type State = PgState;
    const SQL: &'static Statements = &STATEMENTS;

    fn now() {}

    fn bind_now<'q, Q: Binds<'q, Postgres>>(query: Q, _now: ()) -> Q {
        query
    }

    fn after(_now: (), duration: Duration) -> i64 {
        millis(duration)
    }

    fn before(_now: (), duration: Duration) -> i64 {
        millis(duration)
    }

    fn time(at: OffsetDateTime) -> OffsetDateTime {
        at
    }

    fn int(n: u32) -> i32 {
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    fn get_time(row: &PgRow, column: &str) -> Result<OffsetDateTime, sqlx::Error> {
        row.try_get(column)
    }

    fn get_time_opt(row: &PgRow, column: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        row.try_get(column)
    }

    fn get_count(row: &PgRow, column: &str) -> Result<u32, sqlx::Error> {
        Ok(u32::try_from(row.try_get::<i32, _>(column)?).unwrap_or(0))
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn migrator() -> sqlx::migrate::Migrator {
        migrator()
    }

    fn idempotency_sweeps() -> &'static SweepCounter {
        static SWEEPS: SweepCounter = SweepCounter::new();
        &SWEEPS
    }

    async fn claim_stale(
        store: &PgStore,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError> {
        // The next wait: `stretch` times the age, between `hold` and `cap`; never again
        // ('infinity') past the horizon.
        let rows: Vec<StaleRow> = sqlx::query_as(
            "UPDATE hanpay_payments p SET next_check_at = CASE \
               WHEN now() - p.changed_at + due.wait >= $5 * interval '1 millisecond' \
               THEN 'infinity'::timestamptz ELSE now() + due.wait END \
             FROM (SELECT provider, payment_key, \
                     GREATEST($2 * interval '1 millisecond', \
                       LEAST((now() - changed_at) * $3::int, $4 * interval '1 millisecond')) \
                     AS wait \
                   FROM hanpay_payments \
                   WHERE provider = $1 AND (status IS NULL OR status <> 'CANCELED') \
                   AND changed_at <= now() - $6 * interval '1 millisecond' \
                   AND next_check_at <= now() \
                   ORDER BY next_check_at LIMIT $7 FOR UPDATE SKIP LOCKED) due \
             WHERE p.provider = due.provider AND p.payment_key = due.payment_key \
             RETURNING p.provider, p.payment_key, p.order_id, p.status",
        )
        .bind(provider.as_str())
        .bind(millis(hold))
        .bind(i32::try_from(policy.stretch.max(1)).unwrap_or(i32::MAX))
        .bind(millis(policy.cap))
        .bind(millis(policy.horizon))
        .bind(millis(policy.first))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&store.pool)
        .await
        .map_err(store.err("stale payments"))?;
        Ok(stale_payments(rows))
    }

    async fn claim_outbox(
        store: &PgStore,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<PgRow>, StoreError> {
        sqlx::query(OUTBOX_CLAIM)
            .bind(owner)
            .bind(millis(lease))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&store.pool)
            .await
            .map_err(store.err("outbox claim"))
    }

    async fn claim_dedupe(
        store: &PgStore,
        key: &DedupeKey,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        // One round trip: the current entry, and the insert (or takeover of a lapsed one) only
        // when there is none; a concurrent claimer of the same key waits for the row lock and
        // then finds the new, unexpired row.
        let (done, claimed): (Option<bool>, i64) = sqlx::query_as(
            "WITH cur AS (SELECT done FROM hanpay_dedupe \
                 WHERE provider = $1 AND dedupe_id = $2 AND expires_at > now()), \
             ins AS (INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
                 SELECT $1, $2, false, now() + $3 * interval '1 millisecond' \
                 WHERE NOT EXISTS (SELECT 1 FROM cur) \
                 ON CONFLICT (provider, dedupe_id) DO UPDATE \
                 SET done = false, expires_at = EXCLUDED.expires_at \
                 WHERE hanpay_dedupe.expires_at <= now() \
                 RETURNING 1) \
             SELECT (SELECT done FROM cur), (SELECT COUNT(*) FROM ins)",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(millis(lease))
        .fetch_one(&store.pool)
        .await
        .map_err(store.err("dedupe claim"))?;
        Ok(match (done, claimed) {
            (_, 1) => Claim::New,
            (Some(true), _) => Claim::Duplicate,
            _ => Claim::InProgress,
        })
    }

    async fn commit_delivery(store: &PgStore, commit: &DeliveryCommit) -> Result<bool, StoreError> {
        match &commit.change {
            Change::Move {
                expected,
                state,
                events,
            } if same_payment(commit, state, events) => {
                commit_move(store, commit, *expected, state, events).await
            }
            // An ignored event (or parts naming another payment): one transaction.
            _ => store.commit_in_transaction(commit).await,
        }
    }

    async fn mark_all_delivered(
        store: &PgStore,
        leases: &[Lease],
    ) -> Result<Vec<bool>, StoreError> {
        let ids: Vec<&str> = leases.iter().map(|l| l.event_id.as_str()).collect();
        let owners: Vec<&str> = leases.iter().map(|l| l.owner.as_str()).collect();
        let attempts: Vec<i32> = leases
            .iter()
            .map(|l| i32::try_from(l.attempt).unwrap_or(i32::MAX))
            .collect();
        let marked: Vec<(String, String, i32)> = sqlx::query_as(
            "UPDATE hanpay_outbox o SET state = 'delivered', lease_expires_at = NULL, \
             last_error = NULL \
             FROM unnest($1::text[], $2::text[], $3::int[]) AS l(id, owner, attempts) \
             WHERE o.id = l.id AND o.lease_owner = l.owner AND o.attempts = l.attempts \
             AND o.state = 'pending' \
             RETURNING o.id, o.lease_owner, o.attempts",
        )
        .bind(&ids)
        .bind(&owners)
        .bind(&attempts)
        .fetch_all(&store.pool)
        .await
        .map_err(store.err("outbox mark delivered"))?;
        Ok(leases
            .iter()
            .zip(&attempts)
            .map(|(l, attempt)| {
                marked
                    .iter()
                    .any(|(id, owner, a)| *id == l.event_id && *owner == l.owner && a == attempt)
            })
            .collect())
    }

    async fn start_key(
        store: &PgStore,
        key: &str,
        fingerprint: &str,
        lease: Duration,
        _now: (),
    ) -> Result<bool, StoreError> {
        // Inserts, or takes over a lapsed row or one whose holder died (its liveness
        // connection is gone from pg_stat_activity: see `holder`); a concurrent caller waits for
        // the row lock and then sees the new row, held by a live holder, so exactly one starts.
        let holder = store.dialect.holder.id(&store.dialect.connect).await;
        let started = sqlx::query(
            "INSERT INTO hanpay_idempotency \
             (idempotency_key, fingerprint, done, status, body, expires_at, holder_pid, \
              holder_started) \
             VALUES ($1, $2, false, NULL, NULL, now() + $3 * interval '1 millisecond', $4, $5) \
             ON CONFLICT (idempotency_key) DO UPDATE \
             SET fingerprint = EXCLUDED.fingerprint, done = false, status = NULL, body = NULL, \
                 expires_at = EXCLUDED.expires_at, holder_pid = EXCLUDED.holder_pid, \
                 holder_started = EXCLUDED.holder_started \
             WHERE hanpay_idempotency.expires_at <= now() \
                OR (NOT hanpay_idempotency.done AND hanpay_idempotency.holder_pid IS NOT NULL \
                    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                        WHERE a.pid = hanpay_idempotency.holder_pid \
                        AND a.backend_start = hanpay_idempotency.holder_started))",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(millis(lease))
        .bind(holder.map(|h| h.pid))
        .bind(holder.map(|h| h.started))
        .execute(&store.pool)
        .await
        .map_err(store.err("idempotency begin"))?;
        Ok(started.rows_affected() == 1)
    }
}

/// Whether a move's events, dedupe entry and record all name its payment's provider (and the
/// events its payment): what [`commit_move`]'s single statement assumes.
fn same_payment(commit: &DeliveryCommit, state: &PaymentState, events: &[NewEvent]) -> bool {
    events
        .iter()
        .all(|e| e.provider == state.provider && e.payment_key == state.payment_key)
        && commit
            .dedupe
            .as_ref()
            .map_or(true, |(key, _)| key.provider == state.provider)
        && commit
            .record
            .as_ref()
            .map_or(true, |r| r.provider == state.provider)
}

/// The tail of [`commit_move`]'s statement after the payment's compare-and-set (`moved`):
/// the events, numbered after the payment's last; the dedupe entry; the inbox record. Each
/// writes only when the move did.
fn move_tail() -> String {
    let record = STATEMENTS.inbox_record;
    let conflict = record
        .find("ON CONFLICT")
        .and_then(|start| record.find(" RETURNING").map(|end| &record[start..end]))
        .unwrap_or("ON CONFLICT DO NOTHING");
    format!(
        "ev AS (INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, order_id, \
           old_status, new_status, amount, balance, currency, occurred_at, sequence) \
           SELECT e.id, e.kind, $1, $2, e.order_id, e.old, e.new, e.amount, e.balance, \
           e.currency, e.at, \
           (SELECT COALESCE(MAX(o.sequence), 0) FROM hanpay_outbox o \
            WHERE o.provider = $1 AND o.payment_key = $2) + e.n \
           FROM moved, unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
             $18::int8[], $19::int8[], $20::text[], $21::timestamptz[]) \
             WITH ORDINALITY AS e(id, kind, order_id, old, new, amount, balance, currency, at, n)), \
         dd AS (INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
           SELECT $1, $22, true, now() + $23 * interval '1 millisecond' FROM moved \
           WHERE $22::text IS NOT NULL \
           ON CONFLICT (provider, dedupe_id) DO UPDATE \
           SET done = true, expires_at = EXCLUDED.expires_at), \
         ib AS (INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, order_id, \
           trust, outcome, stage, detail, attempts) \
           SELECT $1, $24, $25, $26, $27, $28, $29, $30, $31, 1 FROM moved \
           WHERE $24::text IS NOT NULL {conflict}) \
         SELECT COUNT(*) FROM moved"
    )
}

/// A move from no state (over a tracked row) as one statement.
static MOVE_FROM_NONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH moved AS ({} AND $12::text IS NULL RETURNING provider), {}",
        STATEMENTS.payment_insert,
        move_tail()
    )
});

/// A move from a stored status as one statement.
static MOVE_FROM_STATUS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH moved AS ({} RETURNING provider), {}",
        STATEMENTS.payment_update,
        move_tail()
    )
});

/// A delivery's move, its events, dedupe entry and inbox record in one statement (one round
/// trip, atomic like a transaction): `false` when the compare-and-set found another status,
/// and then nothing is written.
async fn commit_move(
    store: &PgStore,
    commit: &DeliveryCommit,
    expected: Option<PaymentStatus>,
    state: &PaymentState,
    events: &[NewEvent],
) -> Result<bool, StoreError> {
    let sql: &str = match expected {
        None => &MOVE_FROM_NONE,
        Some(_) => &MOVE_FROM_STATUS,
    };
    let column = |f: fn(&NewEvent) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
    let amounts = |f: fn(&NewEvent) -> Option<&Money>| {
        events
            .iter()
            .map(|e| f(e).map(Money::minor_units))
            .collect::<Vec<_>>()
    };
    let record = commit.record.as_ref();
    let (stage, detail) = record.map(|r| r.outcome.columns()).unwrap_or_default();
    // $1–$12: the compare-and-set's (a move from no state binds no status: NULL).
    let query = PgStore::state_binds(sql, expected, state);
    let query = match expected {
        Some(_) => query,
        None => query.bind(None::<&str>),
    };
    let row = query
        .bind(column(|e| Some(e.id.clone())))
        .bind(column(|e| Some(e.event_type.clone())))
        .bind(column(|e| e.order_id.clone()))
        .bind(column(|e| e.old_status.map(|s| s.as_str().to_owned())))
        .bind(column(|e| Some(e.new_status.as_str().to_owned())))
        .bind(amounts(|e| e.amount.as_ref()))
        .bind(amounts(|e| e.balance.as_ref()))
        .bind(column(|e| {
            e.amount
                .as_ref()
                .or(e.balance.as_ref())
                .map(|m| m.currency().code().to_owned())
        }))
        .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(
            commit
                .dedupe
                .as_ref()
                .map(|(key, _)| key.dedupe_id.as_str()),
        )
        .bind(commit.dedupe.as_ref().map(|(_, ttl)| millis(*ttl)))
        .bind(record.map(|r| r.dedupe_id.as_str()))
        .bind(record.map(|r| r.kind.as_str()))
        .bind(record.and_then(|r| r.payment_key.as_deref()))
        .bind(record.and_then(|r| r.order_id.as_deref()))
        .bind(record.map(|r| r.trust.as_str()))
        .bind(record.map(|r| r.outcome.label()))
        .bind(stage)
        .bind(detail)
        .fetch_one(&store.pool)
        .await
        .map_err(store.err("delivery commit"))?;
    let moved: i64 = row.try_get(0).map_err(store.err("delivery commit"))?;
    Ok(moved == 1)
}

/// How long a payment's lock row holds at most: past it (a holder stuck longer than any PG
/// call's timeouts allow) another instance may take it. A holder that died is taken over at
/// once (its liveness connection is gone).
pub const PAYMENT_LOCK_LEASE: Duration = Duration::from_secs(300);

/// How long a lock waits for another instance's holder before failing.
const PAYMENT_LOCK_WAIT: Duration = Duration::from_secs(30);

/// A payment's lock row, held until released (or, dropped unreleased, deleted in the
/// background).
struct PgHeld {
    pool: PgPool,
    provider: ProviderId,
    payment_key: String,
    token: Option<String>,
}

impl PgHeld {
    async fn delete(
        pool: &PgPool,
        provider: &str,
        payment_key: &str,
        token: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM hanpay_payment_locks \
             WHERE provider = $1 AND payment_key = $2 AND token = $3",
        )
        .bind(provider)
        .bind(payment_key)
        .bind(token)
        .execute(pool)
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl HeldLock for PgHeld {
    async fn release(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(token) = self.token.take() else {
            return Ok(());
        };
        PgHeld::delete(
            &self.pool,
            self.provider.as_str(),
            &self.payment_key,
            &token,
        )
        .await
        .map_err(|e| StoreError::db("payment lock release", &e, None))
    }
}

impl Drop for PgHeld {
    fn drop(&mut self) {
        // A cancelled holder: free the row now rather than after the lease.
        let (Some(token), Ok(runtime)) = (self.token.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let pool = self.pool.clone();
        let provider = self.provider.clone();
        let payment_key = std::mem::take(&mut self.payment_key);
        runtime.spawn(async move {
            if let Err(e) = PgHeld::delete(&pool, provider.as_str(), &payment_key, &token).await {
                tracing::warn!(error = %e, "payment lock release failed; it lapses with its lease");
            }
        });
    }
}

#[async_trait]
impl PaymentLocks for PgStore {
    /// The in-process lock, then the payment's lock row: one statement that inserts it, or
    /// takes it over when its lease lapsed or its holder died. Held by another instance, it is
    /// tried again with a growing pause (5 ms to 200 ms), for up to 30 s.
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError> {
        let local = self.dialect.locks.acquire(provider, payment_key).await;
        let holder = self.dialect.holder.id(&self.dialect.connect).await;
        let token = uuid_token();
        let deadline = tokio::time::Instant::now() + PAYMENT_LOCK_WAIT;
        let mut pause = Duration::from_millis(5);
        loop {
            let taken = sqlx::query(
                "INSERT INTO hanpay_payment_locks \
                 (provider, payment_key, token, expires_at, holder_pid, holder_started) \
                 VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond', $5, $6) \
                 ON CONFLICT (provider, payment_key) DO UPDATE \
                 SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, \
                     holder_pid = EXCLUDED.holder_pid, holder_started = EXCLUDED.holder_started \
                 WHERE hanpay_payment_locks.expires_at <= now() \
                    OR (hanpay_payment_locks.holder_pid IS NOT NULL \
                        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                            WHERE a.pid = hanpay_payment_locks.holder_pid \
                            AND a.backend_start = hanpay_payment_locks.holder_started))",
            )
            .bind(provider.as_str())
            .bind(payment_key)
            .bind(&token)
            .bind(millis(PAYMENT_LOCK_LEASE))
            .bind(holder.map(|h| h.pid))
            .bind(holder.map(|h| h.started))
            .execute(&self.pool)
            .await
            .map_err(self.err("payment lock"))?;
            if taken.rows_affected() == 1 {
                return Ok(local.and_then(PgHeld {
                    pool: self.pool.clone(),
                    provider: provider.clone(),
                    payment_key: payment_key.to_owned(),
                    token: Some(token),
                }));
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(StoreError::new(format!(
                    "payment lock: {provider} {payment_key} stayed held by another instance for {} s",
                    PAYMENT_LOCK_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

/// A fresh lock token (which acquisition holds the row).
fn uuid_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The outbox claim: up to `$3` due events, leased to `$1` for `$2` ms.
///
/// Its plan cannot degrade with the backlog: it walks `hanpay_outbox_due` (pending events in
/// `(next_attempt_at, position)` order, so no sort) and stops after `$3` rows it can take; each
/// row's head-of-line rule (no earlier pending event of its payment) is one probe of
/// `hanpay_outbox_pending` for the payment's first pending sequence, a scalar subquery the
/// planner cannot turn into a join over the backlog. SKIP LOCKED: a row another instance is
/// claiming right now is left to it; once that claim commits, the row's lease excludes it (the
/// condition is checked again on the row's latest version).
const OUTBOX_CLAIM: &str =
    "UPDATE hanpay_outbox o SET attempts = o.attempts + 1, lease_owner = $1, \
     lease_expires_at = now() + $2 * interval '1 millisecond' \
     FROM (SELECT c.position FROM hanpay_outbox c \
           WHERE c.state = 'pending' AND c.next_attempt_at <= now() \
           AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= now()) \
           AND c.sequence = (SELECT min(e.sequence) FROM hanpay_outbox e \
               WHERE e.provider = c.provider AND e.payment_key = c.payment_key \
               AND e.state = 'pending') \
           ORDER BY c.next_attempt_at, c.position LIMIT $3 \
           FOR UPDATE SKIP LOCKED) due \
     WHERE o.position = due.position \
     RETURNING o.*";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::OUTBOX_CLAIM;
    use crate::suite::{pg_server, run_all};
    use crate::{DatabaseUrl, OpenOptions, Stores};

    /// A fresh database on the test server; two pools stand for two instances.
    #[tokio::test]
    async fn postgres_passes_the_store_suite() {
        let url: DatabaseUrl = pg_server::shared().fresh_database().await.parse().unwrap();
        let a = Stores::open(&url, &OpenOptions::default()).await.unwrap();
        let b = Stores::open(&url, &OpenOptions::default()).await.unwrap();
        let report = run_all(&a, &b).await;
        println!("{report}");
        report.assert_passed();
    }

    /// How many rows a plan touched: each node's rows times its loops, plus the rows its
    /// filters removed times its loops (from `EXPLAIN ANALYZE`'s text).
    fn rows_touched(plan: &[String]) -> u64 {
        let number = |text: &str| -> u64 {
            text.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        };
        let mut loops = 1;
        let mut touched: u64 = 0;
        for line in plan {
            if let Some((_, removed)) = line.split_once("Rows Removed by ") {
                // Per loop of the node above it.
                let removed = removed.split_once(": ").map_or("", |(_, n)| n);
                touched = touched.saturating_add(number(removed.trim()).saturating_mul(loops));
            } else if let Some((_, actual)) = line.split_once("(actual ") {
                let rows = actual.split_once("rows=").map_or(0, |(_, r)| number(r));
                loops = actual.split_once("loops=").map_or(1, |(_, l)| number(l));
                touched = touched.saturating_add(rows.saturating_mul(loops));
            }
        }
        touched
    }

    /// A backlog of 100,000 pending events (two per payment, as after a receiver was down) on
    /// a database whose statistics were taken with nothing pending: a claim of 32 walks an
    /// index to the first due heads of their payments, whatever the backlog. It scanned and
    /// joined the backlog against itself (millions of rows per claim) before.
    #[tokio::test]
    async fn an_outbox_claim_through_a_backlog_touches_few_rows() {
        use crate::Outbox;
        use std::time::Duration;

        let url: DatabaseUrl = pg_server::shared().fresh_database().await.parse().unwrap();
        let store = super::PgStore::connect(&url, &OpenOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let pool = store.pool().clone();
        // Statistics of the outbox's normal state: delivered rows, nothing pending.
        sqlx::query(
            "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, new_status, \
             occurred_at, sequence, state) \
             SELECT 'old-' || g, 'payment.paid', 'mock', 'old-' || g, 'PAID', now(), 1, \
             'delivered' FROM generate_series(1, 20000) g",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE hanpay_outbox")
            .execute(&pool)
            .await
            .unwrap();
        // The backlog: 50,000 payments with two pending events each.
        sqlx::query(
            "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, new_status, \
             occurred_at, sequence, next_attempt_at) \
             SELECT 'ev-' || p || '-' || s, 'payment.paid', 'mock', 'pay-' || p, 'PAID', \
             now(), s, now() - interval '1 hour' + (p * 2 + s) * interval '1 millisecond' \
             FROM generate_series(1, 50000) p, generate_series(1, 2) s",
        )
        .execute(&pool)
        .await
        .unwrap();

        let plan: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN ANALYZE {OUTBOX_CLAIM}"))
            .bind("explain")
            .bind(60_000_i64)
            .bind(32_i64)
            .fetch_all(&pool)
            .await
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|(line,)| line).collect();
        let touched = rows_touched(&plan);
        assert!(
            touched < 5_000,
            "a claim of 32 touched {touched} rows:\n{}",
            plan.join("\n")
        );

        // And the claim keeps each payment's order: the heads only, one per payment.
        let claimed = store
            .claim("worker", Duration::from_secs(60), 32)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 32);
        let mut payments: Vec<&str> = claimed
            .iter()
            .map(|c| c.event.event.payment_key.as_str())
            .collect();
        payments.sort_unstable();
        payments.dedup();
        assert_eq!(payments.len(), 32);
        assert!(claimed.iter().all(|c| c.event.sequence == 1));
    }

    #[tokio::test]
    async fn an_unreachable_postgres_fails_without_the_password() {
        let url: DatabaseUrl = "postgres://shop:hunter2@127.0.0.1:1/shop".parse().unwrap();
        let err = Stores::open(
            &url,
            &OpenOptions::default().acquire_timeout(std::time::Duration::from_secs(2)),
        )
        .await
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("postgres://shop:***@127.0.0.1:1/shop"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
