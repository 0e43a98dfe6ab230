//! [`SqliteStore`]: every store in one SQLite file, for one instance (WAL mode, created if
//! absent). Events of one payment are serialised by an in-process lock: SQLite is for a single
//! process; use PostgreSQL for several instances.
//!
//! The stores' body is shared with PostgreSQL (`SqlStore`); this module holds SQLite's SQL text
//! ([`STATEMENTS`]: times are milliseconds since the epoch, bound by the client) and what only
//! SQLite does: opening the file, the in-process payment lock, the claims of the reconciler
//! and the outbox, and the idempotency key's holder (this process).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use hanpay_core::{async_trait, ProviderId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite};
use time::OffsetDateTime;

use crate::lock::PaymentLocks;
use crate::lock::{LocalPaymentLocks, PaymentGuard};
use crate::model::{millis, RecheckPolicy, StalePayment, NEVER_MS};
use crate::model::{Claim, DedupeKey, DeliveryCommit};
use crate::outbox::Lease;
use crate::sql::{
    sealed, stale_payments, Binds, Dialect, SqlStore, StaleRow, Statements, SweepCounter,
};
use crate::{DatabaseUrl, OpenOptions, StoreError};

/// The migrations, embedded in the binary. Migrations of other applications in the same
/// database are tolerated (`ignore_missing`); hanpay's versions are dated to stay apart.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("migrations/sqlite");
    migrator.set_ignore_missing(true);
    migrator
}

/// Every store over one SQLite database.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// SQLite's side of the SQL stores.
#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

impl sealed::Sealed for SqliteDialect {}

/// The in-process locks of one database file, shared by every store opened on it in this
/// process (two pipelines over the same file exclude each other; other processes do not).
fn locks_of(url: &str) -> LocalPaymentLocks {
    static BY_FILE: OnceLock<Mutex<HashMap<String, LocalPaymentLocks>>> = OnceLock::new();
    let file = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    let file = std::fs::canonicalize(file)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_owned());
    BY_FILE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(file)
        .or_default()
        .clone()
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn at_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn event_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating the file if absent) and, unless `options` say otherwise, migrates.
    pub async fn open(url: &DatabaseUrl, options: &OpenOptions) -> Result<SqliteStore, StoreError> {
        let connect = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::db(&format!("{url} is not a SQLite URL"), &e, None))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.expose().contains(":memory:") || url.expose().contains("mode=memory");
        let connect = if in_memory {
            connect
        } else {
            connect
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let pool_of = |size: u32| {
            SqlitePoolOptions::new()
                .max_connections(size)
                .acquire_timeout(options.acquire_timeout)
        };
        // An in-memory database exists once per connection: one connection does everything.
        let readers = if in_memory {
            1
        } else {
            options.max_connections.max(1)
        };
        let pool = pool_of(readers)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::db(&format!("cannot open {url}"), &e, None))?;
        // SQLite has one writer at a time: writes queue for one connection (in order, each
        // waiting in memory) rather than for the file's lock (sleeping in the busy handler
        // while holding a connection the readers need).
        let writer = if in_memory {
            pool.clone()
        } else {
            pool_of(1).connect_lazy_with(connect)
        };
        let store = SqliteStore {
            pool,
            writer,
            sweeps: Default::default(),
            password: None,
            dialect: if in_memory {
                LocalPaymentLocks::new()
            } else {
                locks_of(url.expose())
            },
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the embedded migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::with_source("SQLite migrations", e))
    }
}

/// SQLite's SQL text. `?N` numbers the parameters in the order the shared body binds them.
pub const STATEMENTS: Statements = Statements {
    dedupe_sweep: "DELETE FROM hanpay_dedupe WHERE rowid IN \
         (SELECT rowid FROM hanpay_dedupe WHERE expires_at <= ?1 LIMIT ?2)",
    dedupe_current: "SELECT done FROM hanpay_dedupe \
         WHERE provider = ?1 AND dedupe_id = ?2 AND expires_at > ?3",
    dedupe_claim: "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
         VALUES (?1, ?2, 0, ?3) \
         ON CONFLICT (provider, dedupe_id) DO UPDATE \
         SET done = 0, expires_at = excluded.expires_at \
         WHERE hanpay_dedupe.expires_at <= ?4",
    dedupe_complete: "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
         VALUES (?1, ?2, 1, ?3) \
         ON CONFLICT (provider, dedupe_id) DO UPDATE \
         SET done = 1, expires_at = excluded.expires_at",
    dedupe_release: "DELETE FROM hanpay_dedupe WHERE provider = ?1 AND dedupe_id = ?2 AND done = 0",
    payment_get: "SELECT * FROM hanpay_payments WHERE provider = ?1 AND payment_key = ?2",
    payment_insert: "INSERT INTO hanpay_payments (provider, payment_key, order_id, status, \
         total_amount, total_currency, balance_amount, balance_currency, \
         canceled_amount, canceled_currency, updated_at, changed_at, next_check_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) \
         ON CONFLICT (provider, payment_key) DO UPDATE SET \
         order_id = COALESCE(excluded.order_id, hanpay_payments.order_id), \
         status = excluded.status, total_amount = excluded.total_amount, \
         total_currency = excluded.total_currency, \
         balance_amount = excluded.balance_amount, \
         balance_currency = excluded.balance_currency, \
         canceled_amount = excluded.canceled_amount, \
         canceled_currency = excluded.canceled_currency, \
         updated_at = excluded.updated_at, changed_at = excluded.changed_at, \
         next_check_at = excluded.next_check_at \
         WHERE hanpay_payments.status IS NULL",
    payment_update: "UPDATE hanpay_payments SET \
         order_id = COALESCE(?3, order_id), status = ?4, \
         total_amount = ?5, total_currency = ?6, balance_amount = ?7, \
         balance_currency = ?8, canceled_amount = ?9, canceled_currency = ?10, \
         updated_at = ?11, changed_at = ?12, next_check_at = ?12 \
         WHERE provider = ?1 AND payment_key = ?2 AND status = ?13",
    outbox_insert: "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, order_id, \
         old_status, new_status, amount, balance, currency, occurred_at, sequence, \
         next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM hanpay_outbox \
          WHERE provider = ?3 AND payment_key = ?4), ?12, ?12)",
    ignored_insert: "INSERT INTO hanpay_ignored \
         (provider, payment_key, dedupe_id, reported, kept, reason, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    ignored_list: "SELECT dedupe_id, reported, kept, reason FROM hanpay_ignored \
         WHERE provider = ?1 AND payment_key = ?2 ORDER BY id",
    payment_track: "INSERT INTO hanpay_payments \
         (provider, payment_key, order_id, updated_at, changed_at, next_check_at) \
         VALUES (?1, ?2, ?3, ?4, ?4, ?4) ON CONFLICT (provider, payment_key) DO NOTHING",
    secret_save: "INSERT INTO hanpay_secrets (provider, payment_key, order_id, secret, saved_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (provider, payment_key) DO UPDATE SET \
         order_id = excluded.order_id, secret = excluded.secret, saved_at = excluded.saved_at",
    secret_by_key: "SELECT secret FROM hanpay_secrets WHERE provider = ?1 AND payment_key = ?2",
    secret_by_order: "SELECT secret FROM hanpay_secrets WHERE provider = ?1 AND order_id = ?2 \
         ORDER BY saved_at DESC LIMIT 1",
    inbox_record: "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, order_id, \
         trust, outcome, stage, detail, attempts, first_seen, last_seen) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10) \
         ON CONFLICT (provider, dedupe_id) DO UPDATE SET \
         attempts = hanpay_inbox.attempts + 1, last_seen = excluded.last_seen, \
         trust = excluded.trust, \
         payment_key = COALESCE(excluded.payment_key, hanpay_inbox.payment_key), \
         order_id = COALESCE(excluded.order_id, hanpay_inbox.order_id), \
         outcome = CASE WHEN excluded.outcome = 'duplicate' THEN hanpay_inbox.outcome \
                   ELSE excluded.outcome END, \
         stage = CASE WHEN excluded.outcome = 'duplicate' THEN hanpay_inbox.stage \
                 ELSE excluded.stage END, \
         detail = CASE WHEN excluded.outcome = 'duplicate' THEN hanpay_inbox.detail \
                  ELSE excluded.detail END \
         RETURNING id",
    inbox_list: "SELECT * FROM hanpay_inbox \
         WHERE (?1 = 0 OR outcome = 'failed') AND (?2 IS NULL OR provider = ?2) \
         AND (?3 IS NULL OR last_seen >= ?3) \
         ORDER BY last_seen DESC, id DESC LIMIT ?4",
    inbox_entry: "SELECT * FROM hanpay_inbox WHERE id = ?1",
    inbox_prune: "DELETE FROM hanpay_inbox WHERE outcome <> 'failed' AND last_seen < ?1",
    ignored_prune: "DELETE FROM hanpay_ignored WHERE recorded_at < ?1",
    outbox_delivered: "UPDATE hanpay_outbox SET state = 'delivered', lease_expires_at = NULL, \
         last_error = NULL \
         WHERE id = ?1 AND lease_owner = ?2 AND attempts = ?3 AND state = 'pending'",
    outbox_retry: "UPDATE hanpay_outbox SET next_attempt_at = ?4, lease_expires_at = NULL, \
         last_error = ?5 \
         WHERE id = ?1 AND lease_owner = ?2 AND attempts = ?3 AND state = 'pending'",
    outbox_failed: "UPDATE hanpay_outbox SET state = 'failed', lease_expires_at = NULL, \
         last_error = ?4 \
         WHERE id = ?1 AND lease_owner = ?2 AND attempts = ?3 AND state = 'pending'",
    outbox_list: "SELECT * FROM hanpay_outbox \
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR provider = ?2) \
         AND (?3 IS NULL OR payment_key = ?3) \
         ORDER BY position DESC LIMIT ?4",
    outbox_event: "SELECT * FROM hanpay_outbox WHERE id = ?1",
    outbox_redeliver: "UPDATE hanpay_outbox SET state = 'pending', attempts = 0, \
         next_attempt_at = ?2, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = ?1 AND state <> 'pending'",
    outbox_depth: "SELECT COUNT(*) FROM hanpay_outbox WHERE state = 'pending'",
    outbox_prune: "DELETE FROM hanpay_outbox WHERE state = 'delivered' AND created_at < ?1",
    idempotency_sweep: "DELETE FROM hanpay_idempotency WHERE rowid IN \
         (SELECT rowid FROM hanpay_idempotency WHERE expires_at <= ?1 LIMIT ?2)",
    idempotency_read: "SELECT fingerprint, done, status, body FROM hanpay_idempotency \
         WHERE idempotency_key = ?1 AND expires_at > ?2",
    idempotency_complete: "UPDATE hanpay_idempotency \
         SET done = 1, status = ?3, body = ?4, expires_at = ?5 \
         WHERE idempotency_key = ?1 AND fingerprint = ?2 AND done = 0",
    idempotency_release: "DELETE FROM hanpay_idempotency \
         WHERE idempotency_key = ?1 AND fingerprint = ?2 AND done = 0",
};

/// This process's holder token for the idempotency keys it starts: drawn once per process, so
/// that a key started by a process that died is told apart from one this process is running.
fn process_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let started = OffsetDateTime::now_utc().unix_timestamp_nanos();
        format!("{}-{started}", std::process::id())
    })
}

#[async_trait]
impl Dialect for SqliteDialect {
    type DB = Sqlite;
    type Now = i64;
    type Time = i64;
    type Int = i64;
    type State = LocalPaymentLocks;
    const SQL: &'static Statements = &STATEMENTS;

    fn now() -> i64 {
        now_ms()
    }

    fn bind_now<'q, Q: Binds<'q, Sqlite>>(query: Q, now: i64) -> Q {
        query.arg(now)
    }

    fn after(now: i64, duration: Duration) -> i64 {
        now.saturating_add(millis(duration))
    }

    fn before(now: i64, duration: Duration) -> i64 {
        now.saturating_sub(millis(duration))
    }

    fn time(at: OffsetDateTime) -> i64 {
        event_ms(at)
    }

    fn int(n: u32) -> i64 {
        i64::from(n)
    }

    fn get_time(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, sqlx::Error> {
        Ok(at_ms(row.try_get(column)?))
    }

    fn get_time_opt(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(at_ms))
    }

    fn get_count(row: &SqliteRow, column: &str) -> Result<u32, sqlx::Error> {
        Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(u32::MAX))
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
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
        store: &SqliteStore,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError> {
        let now = now_ms();
        // The next wait: `stretch` times the age, between `hold` and `cap`; never again past
        // the horizon.
        let rows: Vec<StaleRow> = sqlx::query_as(
            "UPDATE hanpay_payments SET next_check_at = CASE \
               WHEN ?1 - changed_at + MAX(?2, MIN((?1 - changed_at) * ?3, ?4)) >= ?5 THEN ?6 \
               ELSE ?1 + MAX(?2, MIN((?1 - changed_at) * ?3, ?4)) END \
             WHERE rowid IN \
             (SELECT rowid FROM hanpay_payments \
              WHERE provider = ?7 AND (status IS NULL OR status <> 'CANCELED') \
              AND changed_at <= ?8 AND next_check_at <= ?1 \
              ORDER BY next_check_at LIMIT ?9) \
             RETURNING provider, payment_key, order_id, status",
        )
        .bind(now)
        .bind(millis(hold))
        .bind(i64::from(policy.stretch.max(1)))
        .bind(millis(policy.cap))
        .bind(millis(policy.horizon))
        .bind(NEVER_MS)
        .bind(provider.as_str())
        .bind(now.saturating_sub(millis(policy.first)))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&store.writer)
        .await
        .map_err(store.err("stale payments"))?;
        Ok(stale_payments(rows))
    }

    async fn claim_outbox(
        store: &SqliteStore,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<SqliteRow>, StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE hanpay_outbox SET attempts = attempts + 1, lease_owner = ?1, \
             lease_expires_at = ?2 WHERE position IN \
             (SELECT o.position FROM hanpay_outbox o \
              WHERE o.state = 'pending' AND o.next_attempt_at <= ?3 \
              AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= ?3) \
              AND o.sequence = (SELECT min(e.sequence) FROM hanpay_outbox e \
                  WHERE e.provider = o.provider AND e.payment_key = o.payment_key \
                  AND e.state = 'pending') \
              ORDER BY o.next_attempt_at, o.position LIMIT ?4) \
             RETURNING *",
        )
        .bind(owner)
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&store.writer)
        .await
        .map_err(store.err("outbox claim"))
    }

    async fn claim_dedupe(
        store: &SqliteStore,
        key: &DedupeKey,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        // Two statements in process: a duplicate is answered by the read, without the
        // database's write lock.
        store.claim_in_two(key, lease).await
    }

    async fn commit_delivery(
        store: &SqliteStore,
        commit: &DeliveryCommit,
    ) -> Result<bool, StoreError> {
        store.commit_in_transaction(commit).await
    }

    async fn mark_all_delivered(
        store: &SqliteStore,
        leases: &[Lease],
    ) -> Result<Vec<bool>, StoreError> {
        // One statement per 300 leases (SQLite's bound parameters stay far below its limit):
        // the database's write lock is taken once per statement, not once per event.
        let mut held = Vec::with_capacity(leases.len());
        for chunk in leases.chunks(300) {
            let rows = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "UPDATE hanpay_outbox SET state = 'delivered', lease_expires_at = NULL, \
                 last_error = NULL \
                 WHERE state = 'pending' AND (id, lease_owner, attempts) IN (VALUES {rows}) \
                 RETURNING id, lease_owner, attempts"
            );
            let mut query = sqlx::query_as::<_, (String, String, i64)>(&sql);
            for lease in chunk {
                query = query
                    .bind(&lease.event_id)
                    .bind(&lease.owner)
                    .bind(i64::from(lease.attempt));
            }
            let marked = query
                .fetch_all(&store.writer)
                .await
                .map_err(store.err("outbox mark delivered"))?;
            held.extend(chunk.iter().map(|l| {
                marked.iter().any(|(id, owner, attempt)| {
                    *id == l.event_id && *owner == l.owner && *attempt == i64::from(l.attempt)
                })
            }));
        }
        Ok(held)
    }

    async fn start_key(
        store: &SqliteStore,
        key: &str,
        fingerprint: &str,
        lease: Duration,
        now: i64,
    ) -> Result<bool, StoreError> {
        // Inserts, or takes over a lapsed row or one another process started: one process
        // serves a SQLite file, so that process died (see `process_token`).
        let started = sqlx::query(
            "INSERT INTO hanpay_idempotency \
             (idempotency_key, fingerprint, done, status, body, expires_at, holder) \
             VALUES (?1, ?2, 0, NULL, NULL, ?3, ?5) \
             ON CONFLICT (idempotency_key) DO UPDATE \
             SET fingerprint = excluded.fingerprint, done = 0, status = NULL, body = NULL, \
                 expires_at = excluded.expires_at, holder = excluded.holder \
             WHERE hanpay_idempotency.expires_at <= ?4 \
                OR (NOT hanpay_idempotency.done \
                    AND hanpay_idempotency.holder IS NOT excluded.holder)",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .bind(process_token())
        .execute(&store.writer)
        .await
        .map_err(store.err("idempotency begin"))?;
        Ok(started.rows_affected() == 1)
    }
}

#[async_trait]
impl PaymentLocks for SqliteStore {
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError> {
        Ok(self.dialect.acquire(provider, payment_key).await)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::suite::run_all;
    use crate::{DatabaseUrl, OpenOptions, Stores};

    /// Two pools on one file stand for a restart or a second handle.
    #[tokio::test]
    async fn sqlite_passes_the_store_suite() {
        let dir =
            std::env::temp_dir().join(format!("hanpay-suite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url: DatabaseUrl = format!("sqlite://{}", dir.join("hanpay.db").display())
            .parse()
            .unwrap();
        let a = Stores::open(&url, &OpenOptions::default()).await.unwrap();
        let b = Stores::open(&url, &OpenOptions::default()).await.unwrap();
        let report = run_all(&a, &b).await;
        println!("{report}");
        a.close().await;
        b.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        report.assert_passed();
    }
}
