//! [`SqliteStore`]: every store in one SQLite file, for one instance (WAL mode, created if
//! absent). Events of one payment are serialised by an in-process lock: SQLite is for a single
//! process; use PostgreSQL for several instances.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use hanpay_core::{async_trait, PaymentStatus, ProviderId, Secret};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use time::OffsetDateTime;

use crate::inbox::{InboxEntry, InboxFilter, InboxOutcome, InboxRecord};
use crate::lock::{LocalPaymentLocks, PaymentGuard};
use crate::model::{
    millis, parse_status, Claim, DedupeKey, IgnoredEvent, PaymentState, RecheckPolicy, SavedSecret,
    StalePayment, NEVER_MS,
};
use crate::outbox::{clip, ClaimedEvent, Lease, NewEvent, OutboxEvent, OutboxFilter, OutboxState};
use crate::sql::{money_columns, money_from, SweepCounter, SWEEP_BATCH};
use crate::traits::{DedupeStore, Inbox, Outbox, PaymentLocks, PaymentSecrets, PaymentStateStore};
use crate::{DatabaseUrl, OpenOptions, StoreError};

/// The migrations, embedded in the binary. Migrations of other applications in the same
/// database are tolerated (`ignore_missing`); hanpay's versions are dated to stay apart.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("migrations/sqlite");
    migrator.set_ignore_missing(true);
    migrator
}

/// Every store over one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    locks: LocalPaymentLocks,
    sweeps: std::sync::Arc<SweepCounter>,
}

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

fn err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::db(what, &e, None)
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
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection.
            .max_connections(if in_memory {
                1
            } else {
                options.max_connections.max(1)
            })
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::db(&format!("cannot open {url}"), &e, None))?;
        let store = SqliteStore {
            pool,
            locks: if in_memory {
                LocalPaymentLocks::new()
            } else {
                locks_of(url.expose())
            },
            sweeps: Default::default(),
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

    /// The connection pool (closing it makes every call fail).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn sweep(&self) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_dedupe WHERE rowid IN \
             (SELECT rowid FROM hanpay_dedupe WHERE expires_at <= ?1 LIMIT ?2)",
        )
        .bind(now_ms())
        .bind(SWEEP_BATCH)
        .execute(&self.pool)
        .await
        .map_err(err("dedupe sweep"))?;
        Ok(())
    }
}

#[async_trait]
impl DedupeStore for SqliteStore {
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError> {
        if self.sweeps.due() {
            self.sweep().await?;
        }
        let now = now_ms();
        let current: Option<(bool,)> = sqlx::query_as(
            "SELECT done FROM hanpay_dedupe \
             WHERE provider = ?1 AND dedupe_id = ?2 AND expires_at > ?3",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(err("dedupe claim"))?;
        match current {
            Some((true,)) => return Ok(Claim::Duplicate),
            Some((false,)) => return Ok(Claim::InProgress),
            None => {}
        }
        let claimed = sqlx::query(
            "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
             VALUES (?1, ?2, 0, ?3) \
             ON CONFLICT (provider, dedupe_id) DO UPDATE \
             SET done = 0, expires_at = excluded.expires_at \
             WHERE hanpay_dedupe.expires_at <= ?4",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err("dedupe claim"))?;
        Ok(if claimed.rows_affected() == 1 {
            Claim::New
        } else {
            Claim::InProgress
        })
    }

    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
             VALUES (?1, ?2, 1, ?3) \
             ON CONFLICT (provider, dedupe_id) DO UPDATE \
             SET done = 1, expires_at = excluded.expires_at",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .bind(now_ms().saturating_add(millis(ttl)))
        .execute(&self.pool)
        .await
        .map_err(err("dedupe complete"))?;
        Ok(())
    }

    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_dedupe WHERE provider = ?1 AND dedupe_id = ?2 AND done = 0",
        )
        .bind(key.provider.as_str())
        .bind(&key.dedupe_id)
        .execute(&self.pool)
        .await
        .map_err(err("dedupe release"))?;
        Ok(())
    }
}

fn state_from(row: &SqliteRow) -> Result<Option<PaymentState>, sqlx::Error> {
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
        updated_at: at_ms(row.try_get("updated_at")?),
    }))
}

fn event_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

#[async_trait]
impl PaymentStateStore for SqliteStore {
    async fn get(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Option<PaymentState>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM hanpay_payments WHERE provider = ?1 AND payment_key = ?2")
                .bind(provider.as_str())
                .bind(payment_key)
                .fetch_optional(&self.pool)
                .await
                .map_err(err("payment state read"))?;
        match row {
            Some(row) => state_from(&row).map_err(err("payment state decode")),
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
        let sql = match expected {
            None => {
                "INSERT INTO hanpay_payments (provider, payment_key, order_id, status, \
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
                 WHERE hanpay_payments.status IS NULL"
            }
            Some(_) => {
                "UPDATE hanpay_payments SET \
                 order_id = COALESCE(?3, order_id), status = ?4, \
                 total_amount = ?5, total_currency = ?6, balance_amount = ?7, \
                 balance_currency = ?8, canceled_amount = ?9, canceled_currency = ?10, \
                 updated_at = ?11, changed_at = ?12, next_check_at = ?12 \
                 WHERE provider = ?1 AND payment_key = ?2 AND status = ?13"
            }
        };
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
            .bind(event_ms(state.updated_at))
            .bind(now_ms())
            .bind(expected.map(PaymentStatus::as_str));
        if events.is_empty() {
            let done = query
                .execute(&self.pool)
                .await
                .map_err(err("payment state write"))?;
            return Ok(done.rows_affected() == 1);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(err("payment state write"))?;
        let done = query
            .execute(&mut *tx)
            .await
            .map_err(err("payment state write"))?;
        if done.rows_affected() != 1 {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(false);
        }
        for event in &events {
            insert_event(&mut tx, event).await?;
        }
        tx.commit().await.map_err(err("payment state write"))?;
        Ok(true)
    }

    async fn record_ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
        event: IgnoredEvent,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_ignored \
             (provider, payment_key, dedupe_id, reported, kept, reason, recorded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(provider.as_str())
        .bind(payment_key)
        .bind(&event.dedupe_id)
        .bind(event.reported.as_str())
        .bind(event.kept.as_str())
        .bind(&event.reason)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(err("ignored event write"))?;
        Ok(())
    }

    async fn ignored(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<Vec<IgnoredEvent>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT dedupe_id, reported, kept, reason FROM hanpay_ignored \
             WHERE provider = ?1 AND payment_key = ?2 ORDER BY id",
        )
        .bind(provider.as_str())
        .bind(payment_key)
        .fetch_all(&self.pool)
        .await
        .map_err(err("ignored events read"))?;
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
        let now = now_ms();
        sqlx::query(
            "INSERT INTO hanpay_payments \
             (provider, payment_key, order_id, updated_at, changed_at, next_check_at) \
             VALUES (?1, ?2, ?3, ?4, ?4, ?4) ON CONFLICT (provider, payment_key) DO NOTHING",
        )
        .bind(provider.as_str())
        .bind(payment_key)
        .bind(order_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(err("payment track"))?;
        Ok(())
    }

    async fn claim_stale(
        &self,
        provider: &ProviderId,
        policy: &RecheckPolicy,
        hold: Duration,
        limit: usize,
    ) -> Result<Vec<StalePayment>, StoreError> {
        let now = now_ms();
        // The next wait: `stretch` times the age, between `hold` and `cap`; never again past
        // the horizon.
        let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE hanpay_payments SET next_check_at = CASE \
               WHEN ?1 - changed_at + MAX(?2, MIN((?1 - changed_at) * ?3, ?4)) > ?5 THEN ?6 \
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
        .fetch_all(&self.pool)
        .await
        .map_err(err("stale payments"))?;
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
impl PaymentSecrets for SqliteStore {
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hanpay_secrets (provider, payment_key, order_id, secret, saved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (provider, payment_key) DO UPDATE SET \
             order_id = excluded.order_id, secret = excluded.secret, saved_at = excluded.saved_at",
        )
        .bind(saved.provider.as_str())
        .bind(&saved.payment_key)
        .bind(&saved.order_id)
        .bind(saved.secret.expose())
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(err("secret write"))?;
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
                "SELECT secret FROM hanpay_secrets WHERE provider = ?1 AND payment_key = ?2",
            )
            .bind(provider.as_str())
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(err("secret read"))?;
            if let Some((secret,)) = found {
                return Ok(Some(Secret::new(secret)));
            }
        }
        let Some(order) = order_id else {
            return Ok(None);
        };
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT secret FROM hanpay_secrets WHERE provider = ?1 AND order_id = ?2 \
             ORDER BY saved_at DESC LIMIT 1",
        )
        .bind(provider.as_str())
        .bind(order)
        .fetch_optional(&self.pool)
        .await
        .map_err(err("secret read"))?;
        Ok(found.map(|(s,)| Secret::new(s)))
    }
}

#[async_trait]
impl PaymentLocks for SqliteStore {
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError> {
        Ok(self.locks.acquire(provider, payment_key).await)
    }
}

fn entry_from(row: &SqliteRow) -> Result<InboxEntry, sqlx::Error> {
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
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        first_seen: at_ms(row.try_get("first_seen")?),
        last_seen: at_ms(row.try_get("last_seen")?),
    })
}

#[async_trait]
impl Inbox for SqliteStore {
    async fn record(&self, record: InboxRecord) -> Result<i64, StoreError> {
        let (stage, detail) = record.outcome.columns();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, order_id, trust, \
             outcome, stage, detail, attempts, first_seen, last_seen) \
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
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(err("inbox write"))?;
        Ok(id)
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hanpay_inbox \
             WHERE (?1 = 0 OR outcome = 'failed') AND (?2 IS NULL OR provider = ?2) \
             AND (?3 IS NULL OR last_seen >= ?3) \
             ORDER BY last_seen DESC, id DESC LIMIT ?4",
        )
        .bind(filter.failed_only)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.since.map(event_ms))
        .bind(filter.sql_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(err("inbox read"))?;
        rows.iter()
            .map(entry_from)
            .collect::<Result<_, _>>()
            .map_err(err("inbox decode"))
    }

    async fn entry(&self, id: i64) -> Result<Option<InboxEntry>, StoreError> {
        let row = sqlx::query("SELECT * FROM hanpay_inbox WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err("inbox read"))?;
        row.as_ref()
            .map(entry_from)
            .transpose()
            .map_err(err("inbox decode"))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = now_ms().saturating_sub(millis(retention));
        let inbox =
            sqlx::query("DELETE FROM hanpay_inbox WHERE outcome <> 'failed' AND last_seen < ?1")
                .bind(cutoff)
                .execute(&self.pool)
                .await
                .map_err(err("inbox prune"))?;
        let ignored = sqlx::query("DELETE FROM hanpay_ignored WHERE recorded_at < ?1")
            .bind(cutoff)
            .execute(&self.pool)
            .await
            .map_err(err("inbox prune"))?;
        Ok(inbox.rows_affected() + ignored.rows_affected())
    }
}

async fn insert_event(
    tx: &mut Transaction<'static, Sqlite>,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let currency = event
        .amount
        .as_ref()
        .or(event.balance.as_ref())
        .map(|m| m.currency().code().to_owned());
    let now = now_ms();
    sqlx::query(
        "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, order_id, \
         old_status, new_status, amount, balance, currency, occurred_at, sequence, \
         next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM hanpay_outbox \
          WHERE provider = ?3 AND payment_key = ?4), ?12, ?12)",
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
    .bind(event_ms(event.occurred_at))
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(err("outbox write"))?;
    Ok(())
}

fn outbox_from(row: &SqliteRow) -> Result<OutboxEvent, sqlx::Error> {
    let currency: Option<String> = row.try_get("currency")?;
    let old_status: Option<String> = row.try_get("old_status")?;
    let state: String = row.try_get("state")?;
    let lease_expires_at: Option<i64> = row.try_get("lease_expires_at")?;
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
            occurred_at: at_ms(row.try_get("occurred_at")?),
        },
        sequence: row.try_get("sequence")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: at_ms(row.try_get("next_attempt_at")?),
        state: OutboxState::parse(&state),
        last_error: row.try_get("last_error")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: lease_expires_at.map(at_ms),
        created_at: at_ms(row.try_get("created_at")?),
    })
}

/// The row of a claim that `lease` still holds.
const HELD: &str = "id = ?1 AND lease_owner = ?2 AND attempts = ?3 AND state = 'pending'";

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(
            "UPDATE hanpay_outbox SET attempts = attempts + 1, lease_owner = ?1, \
             lease_expires_at = ?2 WHERE position IN \
             (SELECT o.position FROM hanpay_outbox o \
              WHERE o.state = 'pending' AND o.next_attempt_at <= ?3 \
              AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= ?3) \
              AND NOT EXISTS (SELECT 1 FROM hanpay_outbox e \
                  WHERE e.provider = o.provider AND e.payment_key = o.payment_key \
                  AND e.state = 'pending' AND e.sequence < o.sequence) \
              ORDER BY o.next_attempt_at, o.position LIMIT ?4) \
             RETURNING *",
        )
        .bind(owner)
        .bind(now.saturating_add(millis(lease)))
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(err("outbox claim"))?;
        let claimed = rows
            .iter()
            .map(outbox_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(err("outbox decode"))?;
        Ok(crate::outbox::leased(claimed, owner))
    }

    async fn mark_delivered(&self, lease: &Lease) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET state = 'delivered', lease_expires_at = NULL, \
             last_error = NULL WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(i64::from(lease.attempt))
        .execute(&self.pool)
        .await
        .map_err(err("outbox mark delivered"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn schedule_retry(
        &self,
        lease: &Lease,
        delay: Duration,
        error: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET next_attempt_at = ?4, lease_expires_at = NULL, \
             last_error = ?5 WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(i64::from(lease.attempt))
        .bind(now_ms().saturating_add(millis(delay)))
        .bind(clip(error))
        .execute(&self.pool)
        .await
        .map_err(err("outbox retry"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE hanpay_outbox SET state = 'failed', lease_expires_at = NULL, \
             last_error = ?4 WHERE {HELD}"
        ))
        .bind(&lease.event_id)
        .bind(&lease.owner)
        .bind(i64::from(lease.attempt))
        .bind(clip(error))
        .execute(&self.pool)
        .await
        .map_err(err("outbox mark failed"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn list(&self, filter: &OutboxFilter) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM hanpay_outbox \
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR provider = ?2) \
             AND (?3 IS NULL OR payment_key = ?3) \
             ORDER BY position DESC LIMIT ?4",
        )
        .bind(filter.state.map(OutboxState::as_str))
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(&filter.payment_key)
        .bind(filter.sql_limit())
        .fetch_all(&self.pool)
        .await
        .map_err(err("outbox read"))?;
        rows.iter()
            .map(outbox_from)
            .collect::<Result<_, _>>()
            .map_err(err("outbox decode"))
    }

    async fn event(&self, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        let row = sqlx::query("SELECT * FROM hanpay_outbox WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err("outbox read"))?;
        row.as_ref()
            .map(outbox_from)
            .transpose()
            .map_err(err("outbox decode"))
    }

    async fn redeliver(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE hanpay_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = ?1 AND state <> 'pending'",
        )
        .bind(id)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(err("outbox redeliver"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn depth(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM hanpay_outbox WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await
                .map_err(err("outbox depth"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn prune(&self, retention: Duration) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM hanpay_outbox WHERE state = 'delivered' AND created_at < ?1")
                .bind(now_ms().saturating_sub(millis(retention)))
                .execute(&self.pool)
                .await
                .map_err(err("outbox prune"))?;
        Ok(done.rows_affected())
    }
}

// ---- Idempotency keys (serve) -------------------------------------------------------------

static IDEMPOTENCY_SWEEPS: SweepCounter = SweepCounter::new();

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
impl crate::IdempotencyStore for SqliteStore {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<crate::idempotency::Begin, StoreError> {
        use crate::idempotency::{Begin, StoredResponse};
        let now = now_ms();
        if IDEMPOTENCY_SWEEPS.due() {
            sqlx::query(
                "DELETE FROM hanpay_idempotency WHERE rowid IN \
                 (SELECT rowid FROM hanpay_idempotency WHERE expires_at <= ?1 LIMIT ?2)",
            )
            .bind(now)
            .bind(SWEEP_BATCH)
            .execute(&self.pool)
            .await
            .map_err(err("idempotency sweep"))?;
        }
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
        .execute(&self.pool)
        .await
        .map_err(err("idempotency begin"))?;
        if started.rows_affected() == 1 {
            return Ok(Begin::Started);
        }
        let row: Option<(String, bool, Option<i64>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT fingerprint, done, status, body FROM hanpay_idempotency \
             WHERE idempotency_key = ?1 AND expires_at > ?2",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(err("idempotency begin"))?;
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
            "UPDATE hanpay_idempotency SET done = 1, status = ?3, body = ?4, expires_at = ?5 \
             WHERE idempotency_key = ?1 AND fingerprint = ?2 AND done = 0",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(now_ms().saturating_add(millis(ttl)))
        .execute(&self.pool)
        .await
        .map_err(err("idempotency complete"))?;
        Ok(())
    }

    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM hanpay_idempotency \
             WHERE idempotency_key = ?1 AND fingerprint = ?2 AND done = 0",
        )
        .bind(key)
        .bind(fingerprint)
        .execute(&self.pool)
        .await
        .map_err(err("idempotency release"))?;
        Ok(())
    }
}

impl SqliteStore {
    /// The versions of the embedded migrations not applied to this database (empty when it is
    /// up to date), for readiness checks.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(err("migration check"))?;
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
