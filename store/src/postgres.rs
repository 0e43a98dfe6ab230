//! [`PgStore`]: every store in one PostgreSQL database shared by several instances.
//!
//! - **Claims** carry a lease computed with the server's `now()`: a claim left by a crashed
//!   instance is taken over by the next delivery once the lease lapses.
//! - **One payment's events are serialised across instances** by a transaction-scoped advisory
//!   lock, `pg_advisory_xact_lock(hashtextextended('hanpay:' || provider || ':' ||
//!   payment_key, 0))`, taken on a connection of a separate lock pool and held from before
//!   the state is read until after it is committed. It is released by the transaction's end:
//!   at [`PaymentGuard::release`], and also when the instance crashes or the connection drops
//!   (the server ends the session), so a lock is never left behind. An in-process lock is
//!   taken first, so that waiters of one instance wait in memory rather than on a connection.
//!   A hash collision only makes two payments wait for each other.
//! - **The reconciler** hands out stale payments with `FOR UPDATE SKIP LOCKED` and a hold
//!   time, so two instances never fetch the same payment at the same time.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hanpay_core::{async_trait, PaymentStatus, ProviderId, Secret};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use time::OffsetDateTime;

use crate::holder::Holder;
use crate::inbox::{InboxEntry, InboxFilter, InboxOutcome, InboxRecord};
use crate::lock::{HeldLock, LocalPaymentLocks, PaymentGuard};
use crate::model::{
    millis, parse_status, Claim, DedupeKey, IgnoredEvent, PaymentState, RecheckPolicy, SavedSecret,
    StalePayment,
};
use crate::outbox::{clip, ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter, OutboxState};
use crate::sql::{money_columns, money_from, SweepCounter, SWEEP_BATCH};
use crate::traits::{DedupeStore, Inbox, Outbox, PaymentLocks, PaymentSecrets, PaymentStateStore};
use crate::{DatabaseUrl, OpenOptions, StoreError};

/// The migrations, embedded in the binary. Migrations of other applications in the same
/// database are tolerated (`ignore_missing`); hanpay's versions are dated to stay apart.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator
}

/// Every store over one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    lock_pool: PgPool,
    /// Where the liveness connection of [`holder`](Self::holder) connects.
    connect: Arc<PgConnectOptions>,
    /// This store's liveness connection: who holds the idempotency keys it starts.
    holder: Arc<Holder>,
    locks: LocalPaymentLocks,
    sweeps: Arc<SweepCounter>,
    password: Option<String>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
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
        let lock_pool = pool_of(options.max_connections).connect_lazy_with(connect.clone());
        let store = PgStore {
            pool,
            lock_pool,
            connect: Arc::new(connect),
            holder: Arc::default(),
            locks: LocalPaymentLocks::new(),
            sweeps: Default::default(),
            password,
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

    /// The connection pool for the store calls.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes both pools: every later call fails.
    pub async fn close(&self) {
        self.pool.close().await;
        self.lock_pool.close().await;
    }

    fn err(&self, what: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| StoreError::db(what, &e, self.password.as_deref())
    }

    async fn insert_event(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let currency = event
            .amount
            .as_ref()
            .or(event.balance.as_ref())
            .map(|m| m.currency().code().to_owned());
        sqlx::query(
            "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, order_id, \
             old_status, new_status, amount, balance, currency, occurred_at, sequence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             (SELECT COALESCE(MAX(sequence), 0) + 1 FROM hanpay_outbox \
              WHERE provider = $3 AND payment_key = $4))",
        )
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
        .bind(event.occurred_at)
        .execute(&mut **tx)
        .await
        .map_err(self.err("outbox write"))?;
        Ok(())
    }

    async fn sweep(&self) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_dedupe WHERE ctid IN \
             (SELECT ctid FROM hanpay_dedupe WHERE expires_at <= now() LIMIT $1)",
        )
        .bind(SWEEP_BATCH)
        .execute(&self.pool)
        .await
        .map_err(self.err("dedupe sweep"))?;
        Ok(())
    }
}

#[async_trait]
impl DedupeStore for PgStore {
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError> {
        if self.sweeps.due() {
            self.sweep().await?;
        }
        let current: Option<(bool,)> = sqlx::query_as(
            "SELECT done FROM hanpay_dedupe \
             WHERE provider = $1 AND dedupe_id = $2 AND expires_at > now()",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
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
        let claimed = sqlx::query(
            "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
             VALUES ($1, $2, false, now() + $3 * interval '1 millisecond') \
             ON CONFLICT (provider, dedupe_id) DO UPDATE \
             SET done = false, expires_at = EXCLUDED.expires_at \
             WHERE hanpay_dedupe.expires_at <= now()",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(millis(lease))
        .execute(&self.pool)
        .await
        .map_err(self.err("dedupe claim"))?;
        Ok(if claimed.rows_affected() == 1 {
            Claim::New
        } else {
            Claim::InProgress
        })
    }

    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
             VALUES ($1, $2, true, now() + $3 * interval '1 millisecond') \
             ON CONFLICT (provider, dedupe_id) DO UPDATE \
             SET done = true, expires_at = EXCLUDED.expires_at",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(millis(ttl))
        .execute(&self.pool)
        .await
        .map_err(self.err("dedupe complete"))?;
        Ok(())
    }

    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_dedupe WHERE provider = $1 AND dedupe_id = $2 AND NOT done",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .execute(&self.pool)
        .await
        .map_err(self.err("dedupe release"))?;
        Ok(())
    }
}

fn state_from(row: &PgRow) -> Result<Option<PaymentState>, sqlx::Error> {
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
        updated_at: row.try_get("updated_at")?,
    }))
}

#[async_trait]
impl PaymentStateStore for PgStore {
    async fn get(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Option<PaymentState>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM hanpay_payments WHERE provider = $1 AND payment_key = $2")
                .bind(provider.as_str())
                .bind(payment_key)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.err("payment state read"))?;
        match row {
            Some(row) => state_from(&row).map_err(self.err("payment state decode")),
            None => Ok(None),
        }
    }

    async fn compare_and_set_with_events(
        &self,
        expected: Option<PaymentStatus>,
        state: PaymentState,
        events: Vec<NewEvent>,
    ) -> Result<bool, StoreError> {
        let (total, total_cur) = money_columns(state.total.as_ref());
        let (balance, balance_cur) = money_columns(state.balance.as_ref());
        let (canceled, canceled_cur) = money_columns(state.canceled.as_ref());
        let query = match expected {
            None => sqlx::query(
                "INSERT INTO hanpay_payments (provider, payment_key, order_id, status, \
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
            ),
            Some(_) => sqlx::query(
                "UPDATE hanpay_payments SET \
                 order_id = COALESCE($3, order_id), status = $4, \
                 total_amount = $5, total_currency = $6, balance_amount = $7, \
                 balance_currency = $8, canceled_amount = $9, canceled_currency = $10, \
                 updated_at = $11, changed_at = now(), next_check_at = now() \
                 WHERE provider = $1 AND payment_key = $2 AND status = $12",
            ),
        };
        let query = query
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
            .bind(state.updated_at);
        let query = match expected {
            Some(expected) => query.bind(expected.as_str()),
            None => query,
        };
        if events.is_empty() {
            let done = query
                .execute(&self.pool)
                .await
                .map_err(self.err("payment state write"))?;
            return Ok(done.rows_affected() == 1);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.err("payment state write"))?;
        let done = query
            .execute(&mut *tx)
            .await
            .map_err(self.err("payment state write"))?;
        if done.rows_affected() != 1 {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(false);
        }
        // The payment's row is locked by the write above until the commit, so the sequence
        // numbers below cannot race with another move of the same payment.
        for event in &events {
            self.insert_event(&mut tx, event).await?;
        }
        tx.commit().await.map_err(self.err("payment state write"))?;
        Ok(true)
    }

    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_ignored (provider, payment_key, dedupe_id, reported, kept, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(provider.as_str())
        .bind(payment_key)
        .bind(&event.dedupe_id)
        .bind(event.reported.as_str())
        .bind(event.kept.as_str())
        .bind(&event.reason)
        .execute(&self.pool)
        .await
        .map_err(self.err("ignored event write"))?;
        Ok(())
    }

    async fn ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Vec<IgnoredEvent>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT dedupe_id, reported, kept, reason FROM hanpay_ignored \
             WHERE provider = $1 AND payment_key = $2 ORDER BY id",
        )
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
        sqlx::query(
            "INSERT INTO hanpay_payments (provider, payment_key, order_id, updated_at) \
             VALUES ($1, $2, $3, now()) ON CONFLICT (provider, payment_key) DO NOTHING",
        )
        .bind(provider.as_str())
        .bind(payment_key)
        .bind(order_id)
        .execute(&self.pool)
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
        // The next wait: `stretch` times the age, between `hold` and `cap`; never again
        // ('infinity') past the horizon.
        let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE hanpay_payments p SET next_check_at = CASE \
               WHEN now() - p.changed_at + due.wait > $5 * interval '1 millisecond' \
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
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("stale payments"))?;
        Ok(rows
            .into_iter()
            .map(|(provider, payment_key, order_id, status)| StalePayment {
                provider: ProviderId::new(provider),
                payment_key,
                order_id,
                status: status.as_deref().map(parse_status),
            })
            .collect())
    }
}

#[async_trait]
impl PaymentSecrets for PgStore {
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_secrets (provider, payment_key, order_id, secret) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (provider, payment_key) DO UPDATE SET \
             order_id = EXCLUDED.order_id, secret = EXCLUDED.secret, saved_at = now()",
        )
        .bind(saved.provider.as_str())
        .bind(&saved.payment_key)
        .bind(&saved.order_id)
        .bind(saved.secret.expose())
        .execute(&self.pool)
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
            let found: Option<(String,)> = sqlx::query_as(
                "SELECT secret FROM hanpay_secrets WHERE provider = $1 AND payment_key = $2",
            )
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
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT secret FROM hanpay_secrets WHERE provider = $1 AND order_id = $2 \
             ORDER BY saved_at DESC LIMIT 1",
        )
        .bind(provider.as_str())
        .bind(order)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("secret read"))?;
        Ok(found.map(|(s,)| Secret::new(s)))
    }
}

/// The advisory lock's transaction.
struct PgHeld(Transaction<'static, Postgres>);

#[async_trait]
impl HeldLock for PgHeld {
    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.0
            .commit()
            .await
            .map_err(|e| StoreError::db("payment lock release", &e, None))
    }
}

#[async_trait]
impl PaymentLocks for PgStore {
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError> {
        let local = self.locks.acquire(provider, payment_key).await;
        let mut tx = self
            .lock_pool
            .begin()
            .await
            .map_err(self.err("payment lock"))?;
        sqlx::query(
            "SELECT set_config('lock_timeout', '30s', true), \
             pg_advisory_xact_lock(hashtextextended($1, 0))",
        )
        .bind(format!("hanpay:{provider}:{payment_key}"))
        .execute(&mut *tx)
        .await
        .map_err(self.err("payment lock"))?;
        Ok(local.and_then(PgHeld(tx)))
    }
}

fn entry_from(row: &PgRow) -> Result<InboxEntry, sqlx::Error> {
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
        attempts: u32::try_from(row.try_get::<i32, _>("attempts")?).unwrap_or(0),
        first_seen: row.try_get::<OffsetDateTime, _>("first_seen")?,
        last_seen: row.try_get::<OffsetDateTime, _>("last_seen")?,
    })
}

#[async_trait]
impl Inbox for PgStore {
    async fn record(&self, record: InboxRecord) -> Result<i64, StoreError> {
        let (stage, detail) = record.outcome.columns();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, order_id, trust, \
             outcome, stage, detail, attempts) \
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
        )
        .bind(record.provider.as_str())
        .bind(&record.dedupe_id)
        .bind(&record.kind)
        .bind(&record.payment_key)
        .bind(&record.order_id)
        .bind(&record.trust)
        .bind(record.outcome.label())
        .bind(stage)
        .bind(detail)
        .fetch_one(&self.pool)
        .await
        .map_err(self.err("inbox write"))?;
        Ok(id)
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hanpay_inbox \
             WHERE (NOT $1 OR outcome = 'failed') AND ($2::text IS NULL OR provider = $2) \
             AND ($3::timestamptz IS NULL OR last_seen >= $3) \
             ORDER BY last_seen DESC, id DESC LIMIT $4",
        )
        .bind(filter.failed_only)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.since)
        .bind(filter.sql_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("inbox read"))?;
        rows.iter()
            .map(entry_from)
            .collect::<Result<_, _>>()
            .map_err(self.err("inbox decode"))
    }

    async fn entry(&self, id: i64) -> Result<Option<InboxEntry>, StoreError> {
        let row = sqlx::query("SELECT * FROM hanpay_inbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("inbox read"))?;
        row.as_ref()
            .map(entry_from)
            .transpose()
            .map_err(self.err("inbox decode"))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let ms = millis(retention);
        let inbox = sqlx::query(
            "DELETE FROM hanpay_inbox WHERE outcome <> 'failed' \
             AND last_seen < now() - $1 * interval '1 millisecond'",
        )
        .bind(ms)
        .execute(&self.pool)
        .await
        .map_err(self.err("inbox prune"))?;
        let ignored = sqlx::query(
            "DELETE FROM hanpay_ignored WHERE recorded_at < now() - $1 * interval '1 millisecond'",
        )
        .bind(ms)
        .execute(&self.pool)
        .await
        .map_err(self.err("inbox prune"))?;
        Ok(inbox.rows_affected() + ignored.rows_affected())
    }
}

fn outbox_from(row: &PgRow) -> Result<OutboxEvent, sqlx::Error> {
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
            occurred_at: row.try_get("occurred_at")?,
        },
        sequence: row.try_get("sequence")?,
        attempts: u32::try_from(row.try_get::<i32, _>("attempts")?).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        state: OutboxState::parse(&state),
        last_error: row.try_get("last_error")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The row of a claim that `lease` still holds.
const HELD: &str = "id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'pending'";

fn attempt(lease: &Lease) -> i32 {
    i32::try_from(lease.attempt).unwrap_or(i32::MAX)
}

#[async_trait]
impl Outbox for PgStore {
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        // SKIP LOCKED: a row another instance is claiming right now is left to it; once that
        // claim commits, the row's lease excludes it (the condition is checked again on the
        // row's latest version).
        let rows = sqlx::query(
            "UPDATE hanpay_outbox o SET attempts = o.attempts + 1, lease_owner = $1, \
             lease_expires_at = now() + $2 * interval '1 millisecond' \
             FROM (SELECT c.position FROM hanpay_outbox c \
                   WHERE c.state = 'pending' AND c.next_attempt_at <= now() \
                   AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= now()) \
                   AND NOT EXISTS (SELECT 1 FROM hanpay_outbox e \
                       WHERE e.provider = c.provider AND e.payment_key = c.payment_key \
                       AND e.state = 'pending' AND e.sequence < c.sequence) \
                   ORDER BY c.next_attempt_at, c.position LIMIT $3 \
                   FOR UPDATE SKIP LOCKED) due \
             WHERE o.position = due.position \
             RETURNING o.*",
        )
        .bind(owner)
        .bind(millis(lease))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("outbox claim"))?;
        let claimed = rows
            .iter()
            .map(outbox_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err("outbox decode"))?;
        Ok(crate::outbox::leased(claimed, owner))
    }

    async fn mark_delivered(&self, lease: &Lease) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET state = 'delivered', lease_expires_at = NULL, \
             last_error = NULL WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(attempt(lease))
        .execute(&self.pool)
        .await
        .map_err(self.err("outbox mark delivered"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn schedule_retry(
        &self,
        lease: &Lease,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET next_attempt_at = now() + $4 * interval '1 millisecond', \
             lease_expires_at = NULL, last_error = $5 WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(attempt(lease))
        .bind(millis(delay))
        .bind(clip(error))
        .execute(&self.pool)
        .await
        .map_err(self.err("outbox retry"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET state = 'failed', lease_expires_at = NULL, \
             last_error = $4 WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(attempt(lease))
        .bind(clip(error))
        .execute(&self.pool)
        .await
        .map_err(self.err("outbox mark failed"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn list(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hanpay_outbox \
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR provider = $2) \
             AND ($3::text IS NULL OR payment_key = $3) \
             ORDER BY position DESC LIMIT $4",
        )
        .bind(filter.state.map(OutboxState::as_str))
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(&filter.payment_key)
        .bind(filter.sql_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("outbox read"))?;
        rows.iter()
            .map(outbox_from)
            .collect::<Result<_, _>>()
            .map_err(self.err("outbox decode"))
    }

    async fn event(&self, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        let row = sqlx::query("SELECT * FROM hanpay_outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.err("outbox read"))?;
        row.as_ref()
            .map(outbox_from)
            .transpose()
            .map_err(self.err("outbox decode"))
    }

    async fn redeliver(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE hanpay_outbox SET state = 'pending', attempts = 0, next_attempt_at = now(), \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $1 AND state <> 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(self.err("outbox redeliver"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn depth(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM hanpay_outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await
                .map_err(self.err("outbox depth"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM hanpay_outbox WHERE state = 'delivered' \
             AND created_at < now() - $1 * interval '1 millisecond'",
        )
        .bind(millis(retention))
        .execute(&self.pool)
        .await
        .map_err(self.err("outbox prune"))?;
        Ok(done.rows_affected())
    }
}

// ---- Idempotency keys (serve) -------------------------------------------------------------

static IDEMPOTENCY_SWEEPS: SweepCounter = SweepCounter::new();

#[async_trait]
impl crate::IdempotencyStore for PgStore {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<crate::idempotency::Begin, StoreError> {
        use crate::idempotency::{Begin, StoredResponse};
        if IDEMPOTENCY_SWEEPS.due() {
            sqlx::query(
                "DELETE FROM hanpay_idempotency WHERE ctid IN \
                 (SELECT ctid FROM hanpay_idempotency WHERE expires_at <= now() LIMIT $1)",
            )
            .bind(SWEEP_BATCH)
            .execute(&self.pool)
            .await
            .map_err(self.err("idempotency sweep"))?;
        }
        // Inserts, or takes over a lapsed row or one whose holder died (its liveness
        // connection is gone from pg_stat_activity: see `holder`); a concurrent caller waits for
        // the row lock and then sees the new row, held by a live holder, so exactly one starts.
        let holder = self.holder.id(&self.connect).await;
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
        .execute(&self.pool)
        .await
        .map_err(self.err("idempotency begin"))?;
        if started.rows_affected() == 1 {
            return Ok(Begin::Started);
        }
        let row: Option<(String, bool, Option<i32>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT fingerprint, done, status, body FROM hanpay_idempotency \
             WHERE idempotency_key = $1 AND expires_at > now()",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("idempotency begin"))?;
        Ok(match row {
            // Lapsed between the two statements: the caller retries later.
            None => Begin::InProgress,
            Some((stored, _, _, _)) if stored != fingerprint => Begin::Mismatch,
            Some((_, true, Some(status), body)) => Begin::Completed(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body: body.unwrap_or_default(),
            }),
            Some(_) => Begin::InProgress,
        })
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &crate::idempotency::StoredResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE hanpay_idempotency SET done = true, status = $3, body = $4, \
             expires_at = now() + $5 * interval '1 millisecond' \
             WHERE idempotency_key = $1 AND fingerprint = $2 AND NOT done",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(i32::from(response.status))
        .bind(&response.body)
        .bind(millis(ttl))
        .execute(&self.pool)
        .await
        .map_err(self.err("idempotency complete"))?;
        Ok(())
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_idempotency \
             WHERE idempotency_key = $1 AND fingerprint = $2 AND NOT done",
        )
        .bind(key)
        .bind(fingerprint)
        .execute(&self.pool)
        .await
        .map_err(self.err("idempotency release"))?;
        Ok(())
    }
}

impl PgStore {
    /// The versions of the embedded migrations not applied to this database (empty when it is
    /// up to date), for readiness checks.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(self.err("migration check"))?;
        Ok(migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.iter().any(|(a,)| a == v))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
