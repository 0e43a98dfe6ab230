//! A duplicate delivery's dedupe claim with 0, 10 k, 100 k and 1 M deliveries remembered, on
//! each backend. The cost must stay flat as the store fills (target: at 1 M no more than 2×
//! the cost at 0): memory expires through an index, SQL through the `expires_at` index and a
//! bounded, amortised sweep — never a scan per call.
//!
//! Also `InMemoryIdempotency::begin` of a new key with 0 and 1 M answered keys kept (it swept
//! the whole map every 256th call; now expiry goes through the same kind of index).
//!
//! PostgreSQL comes from `HANPAY_TEST_DATABASE_URL` or a throwaway server
//! (`hanpay_store::suite::pg_server`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hanpay_core::ProviderId;
use hanpay_store::{Claim, DatabaseUrl, DedupeKey, OpenOptions, Stores};

const SIZES: [u64; 4] = [0, 10_000, 100_000, 1_000_000];
const DAY: Duration = Duration::from_secs(86_400);

fn key(i: u64) -> DedupeKey {
    DedupeKey {
        provider: ProviderId::from_static("bench"),
        dedupe_id: format!("evt-{i:010}"),
    }
}

/// Remembers `n` processed deliveries (ids 1..=n) besides the probe (id 0).
async fn fill(backend: &str, url: &DatabaseUrl, stores: &Stores, n: u64) {
    stores.dedupe.complete(&key(0), DAY).await.unwrap();
    if n == 0 {
        return;
    }
    match backend {
        "memory" => {
            for i in 1..=n {
                stores.dedupe.complete(&key(i), DAY).await.unwrap();
            }
        }
        "sqlite" => {
            let store = hanpay_store::sqlite::SqliteStore::open(url, &OpenOptions::default())
                .await
                .unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
                 INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
                 SELECT 'bench', printf('evt-%010d', i), 1, \
                 CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 86400000 FROM n",
            )
            .bind(i64::try_from(n).unwrap())
            .execute(store.pool())
            .await
            .unwrap();
        }
        _ => {
            let store = hanpay_store::postgres::PgStore::connect(url, &OpenOptions::default())
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO hanpay_dedupe (provider, dedupe_id, done, expires_at) \
                 SELECT 'bench', 'evt-' || lpad(i::text, 10, '0'), true, now() + interval '1 day' \
                 FROM generate_series(1, $1) AS i",
            )
            .bind(i64::try_from(n).unwrap())
            .execute(store.pool())
            .await
            .unwrap();
            sqlx::query("ANALYZE hanpay_dedupe")
                .execute(store.pool())
                .await
                .unwrap();
        }
    }
}

async fn open(backend: &str, dir: &std::path::Path, n: u64) -> (DatabaseUrl, Stores) {
    let url: DatabaseUrl = match backend {
        "memory" => DatabaseUrl::memory(),
        "sqlite" => format!("sqlite://{}", dir.join(format!("dedupe-{n}.db")).display())
            .parse()
            .unwrap(),
        _ => hanpay_store::suite::pg_server::shared()
            .fresh_database()
            .await
            .parse()
            .unwrap(),
    };
    let stores = Stores::open(&url, &OpenOptions::default()).await.unwrap();
    (url, stores)
}

fn dedupe_claim(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("hanpay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut group = c.benchmark_group("duplicate_claim");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for backend in ["memory", "sqlite", "postgres"] {
        for n in SIZES {
            let (url, stores) = rt.block_on(open(backend, &dir, n));
            rt.block_on(fill(backend, &url, &stores, n));
            group.bench_with_input(BenchmarkId::new(backend, n), &n, |b, _| {
                b.to_async(&rt).iter(|| async {
                    let claim = stores
                        .dedupe
                        .claim(&key(0), Duration::from_secs(60))
                        .await
                        .unwrap();
                    assert_eq!(claim, Claim::Duplicate);
                });
            });
            rt.block_on(stores.close());
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn idempotency_begin(c: &mut Criterion) {
    use hanpay_store::{Begin, IdempotencyStore, InMemoryIdempotency, StoredResponse};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("idempotency_begin");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for n in [0_u64, 1_000_000] {
        let store = InMemoryIdempotency::new();
        let answer = StoredResponse {
            status: 200,
            body: b"{}".to_vec(),
        };
        rt.block_on(async {
            for i in 0..n {
                let key = format!("answered-{i}");
                store.begin(&key, "fp", DAY).await.unwrap();
                store.complete(&key, "fp", &answer, DAY).await.unwrap();
            }
        });
        let mut next = 0_u64;
        group.bench_with_input(BenchmarkId::new("memory", n), &n, |b, _| {
            b.to_async(&rt).iter(|| {
                next += 1;
                let key = format!("new-{next}");
                let store = &store;
                async move {
                    let begun = store.begin(&key, "fp", DAY).await.unwrap();
                    assert_eq!(begun, Begin::Started);
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, dedupe_claim, idempotency_begin);
criterion_main!(benches);
