//! `hanpay events outbox` and `hanpay events redeliver` against SQLite and PostgreSQL: a
//! given-up event is listed with its error, sent again by id, and then pending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use hanpay::store::{NewEvent, OutboxState, PaymentState};
use hanpay::{Money, PaymentStatus, ProviderId};
use hanpay_store::suite::backends::{fresh, Backend};
use time::OffsetDateTime;

const BIN: &str = env!("CARGO_BIN_EXE_hanpay");

async fn list_and_redeliver(backend: Backend) {
    let db = fresh(backend).await;
    let stores = &db.stores;
    let provider = ProviderId::from_static("tosspayments");
    let event = NewEvent {
        id: hanpay::event::new_event_id(),
        event_type: "payment.paid".into(),
        provider: provider.clone(),
        payment_key: "pay-cli-outbox".into(),
        order_id: Some("order-cli-outbox".into()),
        old_status: None,
        new_status: PaymentStatus::Paid,
        amount: Some(Money::krw(58_000)),
        balance: Some(Money::krw(58_000)),
        occurred_at: OffsetDateTime::now_utc(),
    };
    let state = PaymentState {
        provider,
        payment_key: "pay-cli-outbox".into(),
        order_id: Some("order-cli-outbox".into()),
        status: PaymentStatus::Paid,
        total: Some(Money::krw(58_000)),
        balance: Some(Money::krw(58_000)),
        canceled: Some(Money::krw(0)),
        updated_at: OffsetDateTime::now_utc(),
    };
    assert!(stores
        .states
        .compare_and_set_with_events(None, state, vec![event.clone()])
        .await
        .unwrap());
    let claimed = stores
        .outbox
        .claim("cli-test", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(stores
        .outbox
        .mark_failed(&claimed[0].lease, "HTTP 503 (gave up after 30 attempts)")
        .await
        .unwrap());

    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("HANPAY_DATABASE_URL", db.url.expose())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = cli(&["events", "outbox", "--failed"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&event.id)
            && out.contains("payment.paid")
            && out.contains("failed: HTTP 503 (gave up after 30 attempts)"),
        "{out}"
    );
    assert!(out.contains("1 event(s), 0 pending in all"), "{out}");

    let (ok, out, err) = cli(&["events", "redeliver", &event.id]);
    assert!(ok, "{err}");
    assert!(out.contains("pending again"), "{out}");
    let stored = stores.outbox.event(&event.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (OutboxState::Pending, 0));

    let (ok, _, err) = cli(&["events", "redeliver", &event.id]);
    assert!(!ok && err.contains("already pending"), "{err}");
    let (ok, _, err) = cli(&["events", "redeliver", "evt_missing"]);
    assert!(!ok && err.contains("no event evt_missing"), "{err}");
    let (ok, out, err) = cli(&["events", "outbox", "--pending"]);
    assert!(ok && out.contains(&event.id), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_outbox_and_redeliver_on_sqlite() {
    list_and_redeliver(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_outbox_and_redeliver_on_postgres() {
    list_and_redeliver(Backend::Postgres).await;
}
