//! The store conformance suite against every compiled backend, with the same test code:
//! memory, SQLite (a temporary file, two pools standing for a restart or a second handle) and
//! PostgreSQL (a fresh database on the test server, two pools standing for two instances).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hanpay_store::Stores;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use hanpay_store::{DatabaseUrl, OpenOptions};
use hanpay_testkit::store_suite::run_all;

#[tokio::test]
async fn memory_passes_the_store_suite() {
    let stores = Stores::memory();
    let report = run_all(&stores, &stores).await;
    println!("{report}");
    report.assert_passed();
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_passes_the_store_suite() {
    let dir = std::env::temp_dir().join(format!("hanpay-suite-{}", uuid_like()));
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

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_passes_the_store_suite() {
    let url: DatabaseUrl = hanpay_testkit::postgres::shared()
        .fresh_database()
        .await
        .parse()
        .unwrap();
    let a = Stores::open(&url, &OpenOptions::default()).await.unwrap();
    let b = Stores::open(&url, &OpenOptions::default()).await.unwrap();
    let report = run_all(&a, &b).await;
    println!("{report}");
    report.assert_passed();
}

#[cfg(feature = "postgres")]
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

#[cfg(feature = "sqlite")]
fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), fastrand_u64())
}

#[cfg(feature = "sqlite")]
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}
