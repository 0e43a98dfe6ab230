//! Events out: the outbox worker delivering 2,000 pending events (one per payment) to a
//! receiver on loopback, with the worker's defaults (`run`: two rounds side by side, each a
//! claim of 128 delivered 32 at a time), on memory, SQLite and PostgreSQL, side by
//! side with the floor: `reqwest` POSTing the same bodies, 32 in flight, to the same receiver.
//! Prints events/s and each one's ratio to the floor (goal ≥ 0.5×).
//!
//! `cargo bench -p hanpay --all-features --bench events_out`
// Rates, not money: floats are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::float_arithmetic,
    missing_docs
)]

use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use hanpay::outbox::{event_body, OutboxWorker};
use hanpay::store::{NewEvent, PaymentState};
use hanpay::{Money, PaymentStatus, ProviderId, Secret};
use hanpay_store::suite::backends::{fresh, Backend};
use time::OffsetDateTime;

const EVENTS: usize = 2_000;
const IN_FLIGHT: usize = 32;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver answering 204 to every POST; its URL.
async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/events")
}

fn event(i: usize) -> (PaymentState, NewEvent) {
    let provider = ProviderId::from_static("bench");
    let payment_key = format!("pay-{i:06}");
    let state = PaymentState {
        provider: provider.clone(),
        payment_key: payment_key.clone(),
        order_id: Some(format!("order-{i:06}")),
        status: PaymentStatus::Paid,
        total: Some(Money::krw(10_000)),
        balance: Some(Money::krw(10_000)),
        canceled: Some(Money::krw(0)),
        updated_at: OffsetDateTime::now_utc(),
    };
    let event = NewEvent {
        id: format!("evt-{i:06}"),
        event_type: "payment.paid".into(),
        provider,
        payment_key,
        order_id: state.order_id.clone(),
        old_status: None,
        new_status: PaymentStatus::Paid,
        amount: Some(Money::krw(10_000)),
        balance: Some(Money::krw(10_000)),
        occurred_at: OffsetDateTime::now_utc(),
    };
    (state, event)
}

/// The worker's rate: events/s until the outbox is empty.
async fn worker_rate(backend: Backend, url: &str) -> f64 {
    let db = fresh(backend).await;
    for i in 0..EVENTS {
        let (state, event) = event(i);
        let set = db
            .stores
            .states
            .compare_and_set_with_events(None, state, vec![event])
            .await
            .unwrap();
        assert!(set);
    }
    let delivered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = Arc::new(tokio::sync::Notify::new());
    let (count, all) = (delivered.clone(), done.clone());
    let worker = OutboxWorker::builder(db.stores.outbox.clone(), url, Secret::new(SECRET))
        .concurrency(IN_FLIGHT)
        .on_report(move |report| {
            assert_eq!(report.delivered, report.claimed, "{report:?}");
            let before = count.fetch_add(report.delivered, std::sync::atomic::Ordering::SeqCst);
            if before + report.delivered >= EVENTS {
                all.notify_one();
            }
        })
        .build()
        .unwrap();
    let started = Instant::now();
    worker.run(done.notified()).await;
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

/// The store's part alone: claims of 128 and their records, no HTTP (events/s), and how the
/// time splits between the two.
async fn store_rate(backend: Backend) -> (f64, f64) {
    let db = fresh(backend).await;
    for i in 0..EVENTS {
        let (state, event) = event(i);
        db.stores
            .states
            .compare_and_set_with_events(None, state, vec![event])
            .await
            .unwrap();
    }
    let outbox = &db.stores.outbox;
    let (mut claiming, mut marking) = (0.0, 0.0);
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let claimed = outbox
            .claim("bench", std::time::Duration::from_secs(60), 128)
            .await
            .unwrap();
        claiming += t.elapsed().as_secs_f64();
        if claimed.is_empty() {
            break;
        }
        let leases: Vec<_> = claimed.iter().map(|c| c.lease.clone()).collect();
        let t = Instant::now();
        outbox.mark_all_delivered(&leases).await.unwrap();
        marking += t.elapsed().as_secs_f64();
    }
    let total = started.elapsed().as_secs_f64();
    (EVENTS as f64 / total, claiming / (claiming + marking))
}

/// The floor: the same bodies POSTed with a bare `reqwest::Client`, 32 in flight.
async fn floor_rate(url: &str) -> f64 {
    let client = reqwest::Client::new();
    let bodies: Vec<Vec<u8>> = (0..EVENTS).map(|i| event_body(&event(i).1)).collect();
    let started = Instant::now();
    let done: Vec<u16> = stream::iter(bodies)
        .map(|body| {
            let client = &client;
            async move {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    assert!(done.iter().all(|s| *s == 204));
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = Arc::new(receiver().await);
        // Warm both paths once, then measure floor and worker in turn.
        floor_rate(&url).await;
        println!("events out, {EVENTS} events, {IN_FLIGHT} in flight, receiver on loopback");
        println!(
            "{:<10} {:>12} {:>12} {:>8}",
            "store", "events/s", "floor/s", "ratio"
        );
        for (name, backend) in [
            ("memory", Backend::Memory),
            ("sqlite", Backend::Sqlite),
            ("postgres", Backend::Postgres),
        ] {
            let floor = floor_rate(&url).await;
            let rate = worker_rate(backend, &url).await;
            let (store, claim_share) = store_rate(backend).await;
            println!(
                "{name:<10} {rate:>12.0} {floor:>12.0} {:>7.2}x   (store alone {store:.0}/s, {:.0}% of it claiming)",
                rate / floor,
                claim_share * 100.0
            );
        }
    });
}
