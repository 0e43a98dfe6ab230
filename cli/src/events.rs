//! `hanpay db migrate`, `hanpay events list|replay|outbox|redeliver`, `hanpay reconcile`: the
//! durable webhook state named by `HANPAY_DATABASE_URL`.

use std::process::Stdio;
use std::time::Duration;

use hanpay::store::{
    DatabaseUrl, InboxEntry, InboxFilter, OpenOptions, OutboxEvent, OutboxFilter, OutboxState,
    Stores,
};
use hanpay::{handler_fn, HandlerError, Hanpay, PaymentEvent, Reconciler, WebhookPipeline};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

fn database_url() -> Result<DatabaseUrl, String> {
    let text = std::env::var(hanpay::config::env::HANPAY_DATABASE_URL).map_err(|_| {
        "HANPAY_DATABASE_URL is not set (sqlite://hanpay.db or postgres://…)".to_owned()
    })?;
    text.parse()
        .map_err(|e| format!("{}: {e}", hanpay::config::DATABASE_URL_SETTING))
}

async fn stores() -> Result<Stores, String> {
    let url = database_url()?;
    Stores::open(&url, &OpenOptions::default())
        .await
        .map_err(|e| format!("{}: {e}", hanpay::config::DATABASE_URL_SETTING))
}

/// `hanpay db migrate`.
pub async fn migrate() -> Result<String, String> {
    let url = database_url()?;
    let backend = Stores::migrate(&url)
        .await
        .map_err(|e| format!("{}: {e}", hanpay::config::DATABASE_URL_SETTING))?;
    Ok(format!("migrated {url} ({backend})\n"))
}

/// `--since`: RFC 3339, or an age such as `30m`, `24h`, `7d`.
pub fn parse_since(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: expected RFC 3339 or an age like 30m, 24h, 7d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3_600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    let age = time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
    OffsetDateTime::now_utc()
        .checked_sub(age)
        .ok_or_else(|| format!("{text:?} is too long ago"))
}

fn line(e: &InboxEntry) -> String {
    let seen = e.last_seen.format(&Rfc3339).unwrap_or_default();
    format!(
        "{:>6}  {seen}  {:<12}  {:<24}  {:<28}  {:<20}  {:>3}  {}\n",
        e.id,
        e.provider,
        e.kind,
        e.payment_key.as_deref().unwrap_or("-"),
        e.order_id.as_deref().unwrap_or("-"),
        e.attempts,
        e.outcome
    )
}

/// `hanpay events list`.
pub async fn list(filter: InboxFilter) -> Result<String, String> {
    let stores = stores().await?;
    let entries = stores
        .inbox
        .list(&filter)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = format!(
        "{:>6}  {:<25}  {:<12}  {:<24}  {:<28}  {:<20}  {:>3}  OUTCOME\n",
        "ID", "LAST SEEN", "PROVIDER", "KIND", "PAYMENT", "ORDER", "TRY"
    );
    for e in &entries {
        out.push_str(&line(e));
    }
    out.push_str(&format!("{} event(s)\n", entries.len()));
    Ok(out)
}

/// What runs for each move a replay or the reconciler applies: `--exec CMD` gets the event as
/// JSON on its standard input (a non-zero exit is a handler failure); `--no-handler` only
/// prints it.
pub enum Handler {
    /// Run this shell command per event.
    Exec(String),
    /// Print only (the application's own handler does not run).
    PrintOnly,
}

fn pipeline(hanpay: Hanpay, handler: Handler) -> WebhookPipeline {
    let command = match handler {
        Handler::Exec(cmd) => Some(cmd),
        Handler::PrintOnly => None,
    };
    WebhookPipeline::builder(
        hanpay,
        handler_fn(move |event: PaymentEvent| {
            let command = command.clone();
            async move {
                let json = serde_json::to_string(&event)?;
                println!("{json}");
                let Some(command) = command else {
                    return Ok(());
                };
                let mut child = tokio::process::Command::new("sh")
                    .args(["-c", &command])
                    .stdin(Stdio::piped())
                    .spawn()?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(json.as_bytes()).await?;
                }
                let status = child.wait().await?;
                if status.success() {
                    Ok(())
                } else {
                    Err::<(), HandlerError>(format!("handler command exited with {status}").into())
                }
            }
        }),
    )
    .build()
}

/// `hanpay events replay ID|--all-failed`.
pub async fn replay(id: Option<i64>, handler: Handler) -> Result<String, String> {
    let hanpay = Hanpay::open_env().await.map_err(|e| e.to_string())?;
    let pipeline = pipeline(hanpay, handler);
    let outcomes = match id {
        Some(id) => vec![(id, pipeline.replay(id).await.map_err(|e| e.to_string())?)],
        None => pipeline.replay_failed().await.map_err(|e| e.to_string())?,
    };
    let mut out = String::new();
    let mut failed = 0;
    for (id, outcome) in &outcomes {
        if outcome.http_status() >= 500 {
            failed += 1;
        }
        out.push_str(&format!(
            "event {id}: {} {}\n",
            outcome.label(),
            outcome.body()
        ));
    }
    out.push_str(&format!(
        "{} replayed, {failed} still failing\n",
        outcomes.len()
    ));
    if failed > 0 {
        return Err(out);
    }
    Ok(out)
}

/// `hanpay reconcile [--once]`.
pub async fn reconcile(
    once: bool,
    unchanged_for: Duration,
    handler: Handler,
) -> Result<String, String> {
    let hanpay = Hanpay::open_env().await.map_err(|e| e.to_string())?;
    let reconciler = Reconciler::new(pipeline(hanpay, handler)).unchanged_for(unchanged_for);
    if once {
        let report = reconciler.run_once().await.map_err(|e| e.to_string())?;
        return Ok(format!(
            "checked {}, moved {}, unchanged {}, failed {}\n",
            report.checked, report.moved, report.unchanged, report.failed
        ));
    }
    reconciler.run().await;
    Ok(String::new())
}

fn outbox_line(e: &OutboxEvent) -> String {
    let created = e.created_at.format(&Rfc3339).unwrap_or_default();
    let status = match e.event.old_status {
        Some(old) => format!("{old}->{}", e.event.new_status),
        None => format!("->{}", e.event.new_status),
    };
    let state = match (e.state, &e.last_error) {
        (OutboxState::Delivered, _) | (_, None) => e.state.to_string(),
        (state, Some(error)) => format!("{state}: {error}"),
    };
    format!(
        "{:<36}  {created}  {:<26}  {:<12}  {:<24}  {:<4}  {:<32}  {:>3}  {state}\n",
        e.event.id,
        e.event.event_type,
        e.event.provider,
        e.event.payment_key,
        e.sequence,
        status,
        e.attempts,
    )
}

/// `hanpay events outbox [--failed|--pending]`.
pub async fn outbox(failed: bool, pending: bool, limit: usize) -> Result<String, String> {
    let stores = stores().await?;
    let state = match (failed, pending) {
        (true, _) => Some(OutboxState::Failed),
        (false, true) => Some(OutboxState::Pending),
        (false, false) => None,
    };
    let events = stores
        .outbox
        .list(&OutboxFilter {
            state,
            limit,
            ..OutboxFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut out = format!(
        "{:<36}  {:<25}  {:<26}  {:<12}  {:<24}  {:<4}  {:<32}  {:>3}  STATE\n",
        "ID", "CREATED", "TYPE", "PROVIDER", "PAYMENT", "SEQ", "STATUS", "TRY"
    );
    for e in &events {
        out.push_str(&outbox_line(e));
    }
    let depth = stores.outbox.depth().await.map_err(|e| e.to_string())?;
    out.push_str(&format!(
        "{} event(s), {depth} pending in all\n",
        events.len()
    ));
    Ok(out)
}

/// `hanpay events redeliver EVENT_ID`.
pub async fn redeliver(id: &str) -> Result<String, String> {
    let stores = stores().await?;
    if stores
        .outbox
        .redeliver(id)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(format!(
            "{id}: pending again; the delivering worker (hanpay serve) sends it at its next round\n"
        ));
    }
    match stores.outbox.event(id).await.map_err(|e| e.to_string())? {
        Some(_) => Err(format!("{id} is already pending delivery\n")),
        None => Err(format!("no event {id} in the outbox\n")),
    }
}
