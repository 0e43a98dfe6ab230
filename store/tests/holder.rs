//! A request whose instance is killed (`kill -9`) mid-way must not hold its `Idempotency-Key`
//! for the whole lease: the retry takes the key over as soon as the holder is gone. The same
//! for a payment's lock on PostgreSQL: another instance takes it over at once.
//!
//! The holder is a real child process (this test binary, run again with
//! `HANPAY_HOLDER_CHILD` set): it opens the store, starts a key with a two-minute lease, says
//! so, and waits to be killed with SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hanpay_core::ProviderId;
use hanpay_store::{Begin, DatabaseUrl, OpenOptions, Stores};

const LEASE: Duration = Duration::from_secs(120);
const CHILD: &str = "HANPAY_HOLDER_CHILD";

/// In the child: start the key, tell the parent, and wait to be killed.
#[tokio::test]
async fn holder_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return; // Only a child's entry point.
    };
    let (url, key) = spec.split_once(' ').unwrap();
    let stores = Stores::open(&url.parse().unwrap(), &OpenOptions::default())
        .await
        .unwrap();
    let _guard = match key.strip_prefix("lock:") {
        Some(payment_key) => Some(
            stores
                .locks
                .lock(&ProviderId::from_static("mock"), payment_key)
                .await
                .unwrap(),
        ),
        None => {
            let begun = stores.idempotency.begin(key, "fp", LEASE).await.unwrap();
            assert_eq!(begun, Begin::Started);
            None
        }
    };
    println!("HOLDING");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// Starts the child holding `key` on `url`; returns it once it holds the key.
fn spawn_holder(url: &str, key: &str) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "holder_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{url} {key}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let holding = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("HOLDING"));
    assert!(holding, "the child never held the key");
    child
}

/// Kills the holder, then begins the key again until it starts; returns the wait.
async fn retry_wait_after_kill(url: &DatabaseUrl, expect_held_while_alive: bool) -> Duration {
    let key = format!("key-{}", std::process::id());
    let mut child = spawn_holder(url.expose(), &key);
    let stores = Stores::open(url, &OpenOptions::default()).await.unwrap();
    if expect_held_while_alive {
        let running = stores.idempotency.begin(&key, "fp", LEASE).await.unwrap();
        assert_eq!(running, Begin::InProgress, "a live holder's key was taken");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    loop {
        match stores.idempotency.begin(&key, "fp", LEASE).await.unwrap() {
            Begin::Started => break,
            Begin::InProgress if killed.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!(
                "after the holder died: {other:?} for {:?}",
                killed.elapsed()
            ),
        }
    }
    killed.elapsed()
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_a_killed_holder_releases_its_key_at_once() {
    let url: DatabaseUrl = hanpay_store::suite::pg_server::shared()
        .fresh_database()
        .await
        .parse()
        .unwrap();
    // Migrate once before the child starts.
    drop(Stores::open(&url, &OpenOptions::default()).await.unwrap());
    let wait = retry_wait_after_kill(&url, true).await;
    println!("postgres: the retry started {wait:?} after the kill (lease {LEASE:?})");
    assert!(wait < Duration::from_secs(2), "{wait:?}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_a_killed_holder_releases_its_key_at_once() {
    let dir = std::env::temp_dir().join(format!("hanpay-holder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url: DatabaseUrl = format!("sqlite://{}", dir.join("hanpay.db").display())
        .parse()
        .unwrap();
    drop(Stores::open(&url, &OpenOptions::default()).await.unwrap());
    // One process serves a SQLite file: a key another process started is not waited for.
    let wait = retry_wait_after_kill(&url, false).await;
    println!("sqlite: the retry started {wait:?} after the kill (lease {LEASE:?})");
    assert!(wait < Duration::from_secs(2), "{wait:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_a_killed_instance_s_payment_lock_is_taken_over_at_once() {
    let url: DatabaseUrl = hanpay_store::suite::pg_server::shared()
        .fresh_database()
        .await
        .parse()
        .unwrap();
    drop(Stores::open(&url, &OpenOptions::default()).await.unwrap());
    let payment_key = format!("pay-{}", std::process::id());
    let mut child = spawn_holder(url.expose(), &format!("lock:{payment_key}"));
    let stores = Stores::open(&url, &OpenOptions::default()).await.unwrap();
    let mock = ProviderId::from_static("mock");
    // Held by the live child: not taken.
    let held = tokio::time::timeout(
        Duration::from_millis(300),
        stores.locks.lock(&mock, &payment_key),
    )
    .await;
    assert!(held.is_err(), "a live instance's payment lock was taken");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    let guard = stores.locks.lock(&mock, &payment_key).await.unwrap();
    let wait = killed.elapsed();
    println!("postgres: the payment lock was taken {wait:?} after the kill");
    assert!(wait < Duration::from_secs(2), "{wait:?}");
    guard.release().await.unwrap();
    // Released: at once again.
    let again = tokio::time::timeout(
        Duration::from_secs(2),
        stores.locks.lock(&mock, &payment_key),
    )
    .await;
    assert!(again.is_ok(), "a released lock stayed held");
}
