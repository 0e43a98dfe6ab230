//! [`Holder`]: who holds a started idempotency key on PostgreSQL, so that a key whose holder
//! died is released at once instead of after its lease.
//!
//! Each [`PgStore`](crate::postgres::PgStore) keeps one connection of its own open for as long
//! as it lives (outside its pools) and writes that connection's server process — its pid and
//! start time, as `pg_stat_activity` shows them — into every key it starts. A process killed
//! with `kill -9` closes its sockets; the server notices at once and its backend exits, so the
//! holder disappears from `pg_stat_activity`, and the next `begin` of the same key (from any
//! instance) takes it over in the same statement. A pid alone could be reused by a later
//! backend; with its start time it cannot.
//!
//! The connection is checked every [`CHECK_EVERY`]; when it is found closed (the server
//! restarted) it is opened again and the new holder is used from then on.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// How often the liveness connection is pinged.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The server process of this store's liveness connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderId {
    /// `pg_backend_pid()`.
    pub pid: i32,
    /// Its `pg_stat_activity.backend_start`.
    pub started: OffsetDateTime,
}

/// This store's liveness connection, opened on first use.
#[derive(Debug, Default)]
pub struct Holder {
    current: Arc<RwLock<Option<HolderId>>>,
    started: OnceCell<()>,
}

async fn open(options: &PgConnectOptions) -> Result<(PgConnection, HolderId), sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    let (pid, started): (i32, OffsetDateTime) = sqlx::query_as(
        "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await?;
    Ok((conn, HolderId { pid, started }))
}

impl Holder {
    /// The current holder id, opening the liveness connection (and its keeper task) on first
    /// use. `None` while the server cannot be reached: keys are then held by their lease only.
    pub async fn id(&self, options: &PgConnectOptions) -> Option<HolderId> {
        self.started
            .get_or_init(|| async {
                let first = open(options).await.ok();
                let conn = match first {
                    Some((conn, id)) => {
                        if let Ok(mut slot) = self.current.write() {
                            *slot = Some(id);
                        }
                        Some(conn)
                    }
                    None => None,
                };
                tokio::spawn(keep(conn, options.clone(), Arc::downgrade(&self.current)));
            })
            .await;
        self.current.read().ok().and_then(|slot| *slot)
    }
}

/// Keeps the liveness connection open while the store lives: pings it, opens it again when
/// the server dropped it, and closes it when the store is gone.
async fn keep(
    mut conn: Option<PgConnection>,
    options: PgConnectOptions,
    current: std::sync::Weak<RwLock<Option<HolderId>>>,
) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let Some(slot) = current.upgrade() else {
            if let Some(conn) = conn.take() {
                let _ = conn.close().await;
            }
            return;
        };
        let alive = match conn.as_mut() {
            Some(c) => c.ping().await.is_ok(),
            None => false,
        };
        if alive {
            continue;
        }
        let reopened = open(&options).await.ok();
        let id = reopened.as_ref().map(|(_, id)| *id);
        if let Ok(mut slot) = slot.write() {
            *slot = id;
        }
        conn = reopened.map(|(c, _)| c);
    }
}
