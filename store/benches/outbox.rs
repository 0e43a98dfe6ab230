//! What the outbox costs, on each backend, side by side:
//!
//! - `move/{backend}/bare` vs `move/{backend}/with_event`: a status move (compare-and-set from
//!   no state) without events, and the same move writing one outbox event in its transaction
//!   (target: at most 3× the bare move on SQL, where a transaction is added).
//! - `deliver/{backend}/{delivered}`: claiming one due event and marking it delivered, with 0
//!   and 10 000 delivered events kept (target: flat — at 10 k no more than 2× the cost at 0;
//!   the claim goes through the pending-only index, never a scan of delivered rows).
//!
//! PostgreSQL comes from `HANPAY_TEST_DATABASE_URL` or a throwaway server
//! (`hanpay_store::suite::pg_server`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hanpay_core::{Money, PaymentStatus, ProviderId};
use hanpay_store::{DatabaseUrl, NewEvent, OpenOptions, PaymentState, Stores};
use time::OffsetDateTime;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn fresh_key() -> String {
    format!("pay-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn state(pk: &str) -> PaymentState {
    PaymentState {
        provider: ProviderId::from_static("bench"),
        payment_key: pk.to_owned(),
        order_id: Some(format!("order-{pk}")),
        status: PaymentStatus::Paid,
        total: Some(Money::krw(58_000)),
        balance: Some(Money::krw(58_000)),
        canceled: Some(Money::krw(0)),
        updated_at: OffsetDateTime::now_utc(),
    }
}

fn event(pk: &str) -> NewEvent {
    NewEvent {
        id: format!("evt_{pk}"),
        event_type: "payment.paid".into(),
        provider: ProviderId::from_static("bench"),
        payment_key: pk.to_owned(),
        order_id: Some(format!("order-{pk}")),
        old_status: None,
        new_status: PaymentStatus::Paid,
        amount: Some(Money::krw(58_000)),
        balance: Some(Money::krw(58_000)),
        occurred_at: OffsetDateTime::now_utc(),
    }
}

async fn open(backend: &str, dir: &std::path::Path, name: &str) -> Stores {
    let url: DatabaseUrl = match backend {
        "memory" => DatabaseUrl::memory(),
        "sqlite" => format!("sqlite://{}", dir.join(format!("{name}.db")).display())
            .parse()
            .unwrap(),
        _ => hanpay_store::suite::pg_server::shared()
            .fresh_database()
            .await
            .parse()
            .unwrap(),
    };
    Stores::open(&url, &OpenOptions::default()).await.unwrap()
}

async fn moved(stores: &Stores, events: bool) {
    let pk = fresh_key();
    let written = if events { vec![event(&pk)] } else { Vec::new() };
    assert!(stores
        .states
        .compare_and_set_with_events(None, state(&pk), written)
        .await
        .unwrap());
}

async fn deliver_one(stores: &Stores) {
    let claimed = stores
        .outbox
        .claim("bench", Duration::from_secs(60), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(stores
        .outbox
        .mark_delivered(&claimed[0].lease)
        .await
        .unwrap());
}

fn outbox(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("hanpay-outbox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let mut group = c.benchmark_group("move");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    for backend in ["memory", "sqlite", "postgres"] {
        let stores = rt.block_on(open(backend, &dir, "move"));
        for (name, events) in [("bare", false), ("with_event", true)] {
            group.bench_function(BenchmarkId::new(backend, name), |b| {
                b.to_async(&rt).iter(|| moved(&stores, events));
            });
        }
        rt.block_on(stores.close());
    }
    group.finish();

    let mut group = c.benchmark_group("deliver");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    for backend in ["memory", "sqlite", "postgres"] {
        for kept in [0_u64, 10_000] {
            let stores = rt.block_on(open(backend, &dir, &format!("deliver-{kept}")));
            rt.block_on(async {
                for _ in 0..kept {
                    moved(&stores, true).await;
                }
                while stores.outbox.depth().await.unwrap() > 0 {
                    let claimed = stores
                        .outbox
                        .claim("fill", Duration::from_secs(60), 1_000)
                        .await
                        .unwrap();
                    for c in claimed {
                        stores.outbox.mark_delivered(&c.lease).await.unwrap();
                    }
                }
            });
            group.bench_with_input(BenchmarkId::new(backend, kept), &kept, |b, _| {
                b.to_async(&rt).iter_custom(|iters| {
                    let stores = stores.clone();
                    async move {
                        // The events to deliver are written first, untimed.
                        for _ in 0..iters {
                            moved(&stores, true).await;
                        }
                        let start = Instant::now();
                        for _ in 0..iters {
                            deliver_one(&stores).await;
                        }
                        start.elapsed()
                    }
                });
            });
            rt.block_on(stores.close());
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, outbox);
criterion_main!(benches);
