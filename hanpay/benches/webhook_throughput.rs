//! Webhook pipeline throughput through the axum router on loopback, 32 requests in flight:
//! a valid, signed delivery seen for the first time ("new") and one already processed
//! ("seen"), on memory, SQLite and PostgreSQL stores. Prints requests/s and the ratio to
//! memory. Targets for new deliveries: SQLite ≥ 0.5× memory, PostgreSQL ≥ 0.3× memory.
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

async fn measure(backend: Backend) -> (f64, f64) {
    let db = fresh(backend).await;
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
    rt.block_on(async {
        let memory = measure(Backend::Memory).await;
        let sqlite = measure(Backend::Sqlite).await;
        let postgres = measure(Backend::Postgres).await;
        println!("webhook throughput, {REQUESTS} signed deliveries, {IN_FLIGHT} in flight, axum on loopback");
        println!("{:<10} {:>12} {:>8} {:>12} {:>8}", "store", "new req/s", "ratio", "seen req/s", "ratio");
        for (name, (new, seen)) in [("memory", memory), ("sqlite", sqlite), ("postgres", postgres)] {
            println!(
                "{name:<10} {new:>12.0} {:>7.2}x {seen:>12.0} {:>7.2}x",
                new / memory.0,
                seen / memory.1
            );
        }
    });
}
