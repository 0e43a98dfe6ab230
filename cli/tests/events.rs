//! `hanpay events list` and `hanpay events replay` against SQLite and PostgreSQL: an event
//! whose handler failed is listed, replayed through the CLI's `--exec` handler from the PG's
//! current state (the fake Toss), and then no longer listed as failed. Multi-threaded: the
//! fake Toss keeps serving while the test waits for the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use hanpay::store::{InboxOutcome, InboxRecord};
use hanpay::tosspayments::fake::{FakeToss, SessionMethod};
use hanpay::{ConfirmRequest, Hanpay, HanpayConfig, Money, PaymentProvider};
use hanpay_store::suite::backends::{fresh, Backend};

const BIN: &str = env!("CARGO_BIN_EXE_hanpay");

async fn list_and_replay(backend: Backend) {
    let db = fresh(backend).await;
    let toss = FakeToss::start().await.unwrap();
    let env = [
        ("HANPAY_PROVIDER", "tosspayments".to_owned()),
        ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
        ("TOSS_API_BASE_URL", toss.base_url()),
        ("HANPAY_DATABASE_URL", db.url.expose().to_owned()),
    ];
    let config = HanpayConfig::from_env_with(|name| {
        env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let hanpay = Hanpay::open(&config).await.unwrap();
    let key = toss
        .create_session("order-cli-1", 58_000, SessionMethod::Card)
        .unwrap();
    hanpay
        .gateway()
        .confirm(&ConfirmRequest::new(
            &key,
            "order-cli-1",
            Money::krw(58_000),
        ))
        .await
        .unwrap();
    // The application's handler failed on every delivery of this event.
    let id = hanpay
        .stores()
        .inbox
        .record(InboxRecord {
            provider: hanpay::ProviderId::from_static("tosspayments"),
            dedupe_id: "transmission-cli-1".into(),
            kind: "payment_status_changed".into(),
            payment_key: Some(key.clone()),
            order_id: Some("order-cli-1".into()),
            trust: "source_address".into(),
            outcome: InboxOutcome::Failed {
                stage: "handler".into(),
                error: "order database unavailable".into(),
            },
        })
        .await
        .unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = cli(&["events", "list", "--failed", "--since", "1h"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&key) && out.contains("order database unavailable"),
        "{out}"
    );
    assert!(out.contains("1 event(s)"), "{out}");

    let seen = std::env::temp_dir().join(format!(
        "hanpay-cli-seen-{}-{id}-{}",
        std::process::id(),
        backend.name()
    ));
    let exec = format!("cat > {}", seen.display());
    let (ok, out, err) = cli(&["events", "replay", &id.to_string(), "--exec", &exec]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("processed"), "{out}");
    let handled = std::fs::read_to_string(&seen).unwrap();
    let _ = std::fs::remove_file(&seen);
    let event: serde_json::Value = serde_json::from_str(&handled).unwrap();
    assert_eq!(event["new_status"], "PAID", "{event}");
    assert_eq!(event["payment_key"], key.as_str());

    let (ok, out, _) = cli(&["events", "list", "--failed"]);
    assert!(ok);
    assert!(out.contains("0 event(s)"), "{out}");
    let (ok, out, _) = cli(&["events", "list", "--provider", "tosspayments"]);
    assert!(ok);
    assert!(out.contains("applied"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_list_and_replay_on_sqlite() {
    list_and_replay(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_list_and_replay_on_postgres() {
    list_and_replay(Backend::Postgres).await;
}
