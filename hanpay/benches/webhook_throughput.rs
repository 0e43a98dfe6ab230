//! Webhook pipeline throughput through the axum router on loopback, 32 requests in flight:
//! a valid, signed delivery seen for the first time ("new") and one already processed
//! ("seen"), on memory, SQLite and PostgreSQL stores. Prints requests/s and the ratio to
//! memory. Targets for new deliveries: SQLite ≥ 0.5× memory, PostgreSQL ≥ 0.3× memory.
//!
//! `HANPAY_BENCH_ROWS=0,100000,1000000` measures again with that many rows already in the
//! inbox, outbox (delivered), payments and dedupe tables of the SQL stores (default `0`): the
//! figures must stay flat as the tables grow.
//!
//! `cargo bench -p hanpay --all-features --bench webhook_throughput`
// Rates, not money: floats are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::float_arithmetic,
    missing_docs
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use hanpay::{
    handler_fn, ConfirmRequest, Hanpay, Money, PaymentEvent, PaymentProvider, WebhookPipeline,
};
use hanpay_store::suite::backends::{fresh, Backend};
use hanpay_testkit::mock::{MockProvider, MockWebhook, MOCK_WEBHOOK_PATH};

const IN_FLIGHT: usize = 32;
const REQUESTS: usize = 2_000;

async fn serve(hanpay: Hanpay) -> String {
    let pipeline =
        WebhookPipeline::builder(hanpay, handler_fn(|_event: PaymentEvent| async { Ok(()) }))
            .build();
    let app: axum::Router = hanpay::axum::webhook_router(pipeline);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}{MOCK_WEBHOOK_PATH}")
}

/// Sends every webhook, 32 at a time; returns requests per second.
async fn blast(
    client: &reqwest::Client,
    url: &str,
    webhooks: &[&MockWebhook],
    expect: &str,
) -> f64 {
    let started = Instant::now();
    let results: Vec<String> = stream::iter(webhooks)
        .map(|w| async move {
            let mut req = client.post(url).body(w.body.clone());
            for (name, value) in &w.headers {
                req = req.header(name, value);
            }
            let body: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            body["result"].as_str().unwrap_or_default().to_owned()
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        results.iter().all(|r| r == expect),
        "expected {expect}: {:?}",
        &results[..3]
    );
    webhooks.len() as f64 / elapsed
}

/// Puts `rows` rows into the inbox, the outbox (delivered), the payments and the dedupe table.
async fn prefill(url: &hanpay_store::DatabaseUrl, backend: Backend, rows: u64) {
    if rows == 0 {
        return;
    }
    let rows = i64::try_from(rows).unwrap();
    match backend {
        Backend::Memory => {}
        Backend::Sqlite => {
            let options = hanpay_store::OpenOptions::default();
            let store = hanpay_store::sqlite::SqliteStore::open(url, &options)
                .await
                .unwrap();
            let n = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)";
            for sql in [
                "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, trust, \
                 outcome, attempts, first_seen, last_seen) SELECT 'old', 'old-' || i, \
                 'payment_status_changed', 'old-' || i, 'signed', 'applied', 1, \
                 CAST(strftime('%s', 'now') AS INTEGER) * 1000, \
                 CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM n",
                "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, new_status, \
                 occurred_at, sequence, state, next_attempt_at, created_at) SELECT 'old-' || i, \
                 'payment.paid', 'old', 'old-' || i, 'PAID', 0, 1, 'delivered', 0, \
                 CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM n",
                "INSERT INTO hanpay_payments (provider, payment_key, status, updated_at, \
                 changed_at, next_check_at) SELECT 'old', 'old-' || i, 'CANCELED', 0, 0, 0 FROM n",
                "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
                 SELECT 'old', 'old-' || i, 1, \
                 CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 86400000 FROM n",
            ] {
                sqlx::query(&format!("{n} {sql}"))
                    .bind(rows)
                    .execute(store.pool())
                    .await
                    .unwrap();
            }
            sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
            store.pool().close().await;
        }
        Backend::Postgres => {
            let options = hanpay_store::OpenOptions::default();
            let store = hanpay_store::postgres::PgStore::connect(url, &options)
                .await
                .unwrap();
            for sql in [
                "INSERT INTO hanpay_inbox (provider, dedupe_id, kind, payment_key, trust, \
                 outcome, attempts) SELECT 'old', 'old-' || i, 'payment_status_changed', \
                 'old-' || i, 'signed', 'applied', 1 FROM generate_series(1, $1) i",
                "INSERT INTO hanpay_outbox (id, event_type, provider, payment_key, new_status, \
                 occurred_at, sequence, state) SELECT 'old-' || i, 'payment.paid', 'old', \
                 'old-' || i, 'PAID', now(), 1, 'delivered' FROM generate_series(1, $1) i",
                "INSERT INTO hanpay_payments (provider, payment_key, status, updated_at) \
                 SELECT 'old', 'old-' || i, 'CANCELED', now() FROM generate_series(1, $1) i",
                "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
                 SELECT 'old', 'old-' || i, true, now() + interval '1 day' \
                 FROM generate_series(1, $1) i",
            ] {
                sqlx::query(sql)
                    .bind(rows)
                    .execute(store.pool())
                    .await
                    .unwrap();
            }
            sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
            store.close().await;
        }
    }
}

async fn measure(backend: Backend, rows: u64) -> (f64, f64) {
    let db = fresh(backend).await;
    prefill(&db.url, backend, rows).await;
    let mock = MockProvider::new();
    let hanpay = Hanpay::builder()
        .stores(db.stores.clone())
        .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(mock.clone()))
        .build()
        .unwrap();
    for i in 0..REQUESTS {
        let order = format!("order-bench-{i}");
        let key = mock.authenticate_card(&order, &Money::krw(10_000)).unwrap();
        hanpay
            .gateway()
            .confirm(&ConfirmRequest::new(&key, &order, Money::krw(10_000)))
            .await
            .unwrap();
    }
    let webhooks = mock.take_webhooks();
    let url = serve(hanpay).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let all: Vec<&MockWebhook> = webhooks.iter().collect();
    let new = blast(&client, &url, &all, "processed").await;
    let seen = blast(&client, &url, &all, "duplicate").await;
    (new, seen)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sizes: Vec<u64> = std::env::var("HANPAY_BENCH_ROWS")
        .unwrap_or_else(|_| "0".into())
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    rt.block_on(async {
        let memory = measure(Backend::Memory, 0).await;
        println!("webhook throughput, {REQUESTS} signed deliveries, {IN_FLIGHT} in flight, axum on loopback");
        println!(
            "{:<10} {:>10} {:>12} {:>8} {:>12} {:>8}",
            "store", "rows", "new req/s", "ratio", "seen req/s", "ratio"
        );
        let line = |name: &str, rows: u64, (new, seen): (f64, f64)| {
            println!(
                "{name:<10} {rows:>10} {new:>12.0} {:>7.2}x {seen:>12.0} {:>7.2}x",
                new / memory.0,
                seen / memory.1
            );
        };
        line("memory", 0, memory);
        for rows in sizes {
            line("sqlite", rows, measure(Backend::Sqlite, rows).await);
            line("postgres", rows, measure(Backend::Postgres, rows).await);
        }
    });
}
