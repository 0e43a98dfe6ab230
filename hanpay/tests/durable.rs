//! Durable webhook state: the inbox keeps an event whose handler kept failing, replay, restart
//! on the same database, the reconciler when every webhook is lost, several instances on one
//! PostgreSQL database, and the database going away mid-delivery. Real databases, no mocks of
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanpay::store::{InboxFilter, InboxOutcome, Stores};
use hanpay::{
    handler_fn, Bank, ConfirmRequest, HandlerError, Hanpay, Money, PaymentEvent, PaymentProvider,
    PaymentStatus, Reconciler, VirtualAccountRequest, WebhookPipeline,
};
use hanpay_core::ProviderId;
use hanpay_store::each_backend;
use hanpay_store::suite::backends::{fresh, Backend};
use hanpay_testkit::mock::{MockProvider, MockWebhook};

type Seen = Arc<Mutex<Vec<PaymentEvent>>>;

fn recording() -> (Seen, impl hanpay::WebhookHandler + 'static) {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = handler_fn(move |event: PaymentEvent| {
        let sink = Arc::clone(&sink);
        async move {
            sink.lock().unwrap().push(event);
            Ok(())
        }
    });
    (seen, handler)
}

fn hanpay_on(mock: &MockProvider, stores: Stores) -> Hanpay {
    Hanpay::builder()
        .stores(stores)
        .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(mock.clone()))
        .build()
        .unwrap()
}

async fn paid_card(hanpay: &Hanpay, mock: &MockProvider, order: &str) -> String {
    let key = mock.authenticate_card(order, &Money::krw(58_000)).unwrap();
    hanpay
        .gateway()
        .confirm(&ConfirmRequest::new(&key, order, Money::krw(58_000)))
        .await
        .unwrap();
    key
}

async fn deliver(pipeline: &WebhookPipeline, webhook: &MockWebhook) -> hanpay::WebhookOutcome {
    pipeline.process("mock", &webhook.request()).await
}

/// The handler fails on every delivery of Toss's whole span (the first attempt and 7
/// resends): the event is still in the inbox, listed as failed with 8 attempts; a replay
/// after the fix runs the handler once, and a late redelivery is a duplicate.
async fn a_handler_failing_past_the_redelivery_span_leaves_the_event_for_replay(b: Backend) {
    let db = fresh(b).await;
    let mock = MockProvider::new();
    let hanpay = hanpay_on(&mock, db.stores.clone());
    let broken = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (broken.clone(), calls.clone());
    let pipeline = WebhookPipeline::builder(
        hanpay.clone(),
        handler_fn(move |_event: PaymentEvent| {
            let (flag, count) = (flag.clone(), count.clone());
            async move {
                if flag.load(Ordering::SeqCst) {
                    return Err::<(), HandlerError>("order database unavailable".into());
                }
                count.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }),
    )
    .build();
    let key = paid_card(&hanpay, &mock, "order-inbox-1").await;
    let webhook = mock.take_webhooks().remove(0);
    for _ in 0..8 {
        assert_eq!(deliver(&pipeline, &webhook).await.http_status(), 500);
    }
    let failed = pipeline
        .events(&InboxFilter {
            failed_only: true,
            ..InboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let entry = &failed[0];
    assert_eq!(entry.attempts, 8);
    assert_eq!(entry.dedupe_id, webhook.id);
    assert_eq!(entry.payment_key.as_deref(), Some(key.as_str()));
    assert_eq!(entry.trust, "signed");
    assert!(
        matches!(&entry.outcome, InboxOutcome::Failed { stage, error } if stage == "handler" && error.contains("order database unavailable")),
        "{:?}",
        entry.outcome
    );

    broken.store(false, Ordering::SeqCst);
    let replayed = pipeline.replay_failed().await.unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        replayed[0].1.label(),
        "processed",
        "{:?}",
        replayed[0].1.body()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(pipeline
        .events(&InboxFilter {
            failed_only: true,
            ..InboxFilter::default()
        })
        .await
        .unwrap()
        .is_empty());
    assert_eq!(deliver(&pipeline, &webhook).await.label(), "duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let entry = inbox_entry(&pipeline, entry.id).await;
    assert_eq!(entry.outcome, InboxOutcome::Applied);
}

async fn inbox_entry(pipeline: &WebhookPipeline, id: i64) -> hanpay::store::InboxEntry {
    pipeline
        .events(&InboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap()
}

/// A pipeline dropped and rebuilt on the same database: the redelivery is a duplicate and
/// the saved per-payment secret still verifies a Toss `DEPOSIT_CALLBACK`.
#[cfg(feature = "tosspayments")]
async fn a_restarted_pipeline_remembers_deliveries_and_secrets(b: Backend) {
    use hanpay::tosspayments::TossWebhookVerifier;
    let db = fresh(b).await;
    let mock = MockProvider::builder().id("tosspayments").build();
    let build = |stores: Stores| {
        let verifier = TossWebhookVerifier::builder()
            .without_allowlist()
            .build()
            .unwrap();
        Hanpay::builder()
            .stores(stores)
            .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(verifier))
            .build()
            .unwrap()
    };
    let hanpay = build(db.stores.clone());
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let va = hanpay
        .gateway()
        .issue_virtual_account(&VirtualAccountRequest::new(
            Money::krw(39_000),
            "order-restart-1",
            "티셔츠",
            "김토스",
            Bank::Shinhan,
        ))
        .await
        .unwrap();
    let secret = va.secret.clone().unwrap();
    mock.deposit(&va.payment_key).unwrap();
    let body = |secret: &str| {
        serde_json::json!({
            "createdAt": "2024-09-03T19:40:22.000000",
            "secret": secret,
            "status": "DONE",
            "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986",
            "orderId": "order-restart-1",
        })
        .to_string()
    };
    let headers = http::HeaderMap::new();
    let genuine = body(secret.expose());
    let first = pipeline
        .process(
            "tosspayments",
            &hanpay::WebhookRequest::new(&headers, genuine.clone()),
        )
        .await;
    assert_eq!(first.label(), "processed", "{:?}", first.body());
    assert_eq!(seen.lock().unwrap().len(), 1);
    drop(pipeline);
    drop(hanpay);

    // The restart: new stores on the same database, a new facade and pipeline.
    let hanpay = build(db.reopen().await);
    let (seen_after, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let again = pipeline
        .process(
            "tosspayments",
            &hanpay::WebhookRequest::new(&headers, genuine),
        )
        .await;
    // (For memory, `reopen` hands back the same stores: nothing survives a real restart.)
    assert_eq!(again.label(), "duplicate", "{:?}", again.body());
    assert!(seen_after.lock().unwrap().is_empty());
    let saved = hanpay
        .secrets()
        .find(&va.provider, None, Some("order-restart-1"))
        .await
        .unwrap()
        .expect("the secret survived the restart");
    assert!(saved.ct_eq(secret.expose()));
    let forged = pipeline
        .process(
            "tosspayments",
            &hanpay::WebhookRequest::new(&headers, body("ps_forged")),
        )
        .await;
    assert_eq!(forged.http_status(), 401, "{:?}", forged.body());
}

/// Every webhook of a virtual-account lifecycle is dropped on the floor; the reconciler
/// converges each move with one handler call, never a regression.
async fn the_reconciler_converges_when_every_webhook_is_lost(b: Backend) {
    let db = fresh(b).await;
    let mock = MockProvider::new();
    let hanpay = hanpay_on(&mock, db.stores.clone());
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let reconciler = Reconciler::new(pipeline.clone())
        .unchanged_for(Duration::ZERO)
        .interval(Duration::from_millis(1))
        .per_pg_per_second(1_000);
    let va = hanpay
        .gateway()
        .issue_virtual_account(&VirtualAccountRequest::new(
            Money::krw(39_000),
            "order-reconcile-1",
            "티셔츠",
            "김토스",
            Bank::Shinhan,
        ))
        .await
        .unwrap();
    let card = paid_card(&hanpay, &mock, "order-reconcile-2").await;
    mock.take_webhooks(); // lost

    let report = reconciler.run_once().await.unwrap();
    assert_eq!(report.moved, 2, "{report:?}");
    let state = |key: String| {
        let states = db.stores.states.clone();
        async move {
            states
                .get(&ProviderId::from_static("mock"), &key)
                .await
                .unwrap()
                .map(|s| s.status)
        }
    };
    assert_eq!(
        state(va.payment_key.clone()).await,
        Some(PaymentStatus::WaitingForDeposit)
    );
    assert_eq!(state(card.clone()).await, Some(PaymentStatus::Paid));

    mock.deposit(&va.payment_key).unwrap();
    mock.take_webhooks(); // lost again
                          // The hold (the interval) must pass before the payment is handed out again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = reconciler.run_once().await.unwrap();
    assert_eq!(report.moved, 1, "{report:?}");
    assert_eq!(
        state(va.payment_key.clone()).await,
        Some(PaymentStatus::Paid)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = reconciler.run_once().await.unwrap();
    assert_eq!(
        (report.moved, report.failed),
        (0, 0),
        "paid payments are re-fetched, and nothing moves: {report:?}"
    );

    let seen = seen.lock().unwrap();
    let moves: Vec<(String, Option<PaymentStatus>, PaymentStatus)> = seen
        .iter()
        .map(|e| (e.payment_key.clone(), e.old_status, e.new_status))
        .collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    assert!(moves.contains(&(
        va.payment_key.clone(),
        None,
        PaymentStatus::WaitingForDeposit
    )));
    assert!(moves.contains(&(
        va.payment_key.clone(),
        Some(PaymentStatus::WaitingForDeposit),
        PaymentStatus::Paid
    )));
    assert!(moves.contains(&(card, None, PaymentStatus::Paid)));
}

/// Paid is not final: a payment refunded at the PG (its console, a late cancel) whose webhook
/// never arrives — the PG never redelivers — is canceled by the reconciler's next pass, and a
/// lookup through the pipeline applies what the PG says at once.
async fn a_paid_payment_refunded_without_a_webhook_converges(b: Backend) {
    let db = fresh(b).await;
    let mock = MockProvider::new();
    let hanpay = hanpay_on(&mock, db.stores.clone());
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let reconciler = Reconciler::new(pipeline.clone())
        .unchanged_for(Duration::ZERO)
        .interval(Duration::from_millis(1))
        .per_pg_per_second(1_000);
    let first = paid_card(&hanpay, &mock, "order-refunded-1").await;
    let second = paid_card(&hanpay, &mock, "order-refunded-2").await;
    for webhook in mock.take_webhooks() {
        assert_eq!(deliver(&pipeline, &webhook).await.http_status(), 200);
    }
    for key in [&first, &second] {
        hanpay
            .gateway()
            .cancel(&hanpay::CancelRequest::full(key.as_str(), "콘솔에서 환불"))
            .await
            .unwrap();
    }
    mock.take_webhooks(); // lost, and never sent again
    let state = |key: String| {
        let states = db.stores.states.clone();
        async move {
            states
                .get(&ProviderId::from_static("mock"), &key)
                .await
                .unwrap()
                .map(|s| s.status)
        }
    };
    assert_eq!(state(first.clone()).await, Some(PaymentStatus::Paid));

    // A lookup through the pipeline applies the PG's answer.
    let looked_up = pipeline.payment("mock", &second).await.unwrap();
    assert_eq!(looked_up.payment.status, PaymentStatus::Canceled);
    let moved = looked_up.moved.expect("the lookup applied the refund");
    assert_eq!(
        (moved.old_status, moved.new_status),
        (Some(PaymentStatus::Paid), PaymentStatus::Canceled)
    );
    assert_eq!(state(second.clone()).await, Some(PaymentStatus::Canceled));
    // Looking again finds nothing new, and records nothing.
    assert!(pipeline
        .payment("mock", &second)
        .await
        .unwrap()
        .moved
        .is_none());

    // The reconciler re-checks the paid one and applies the refund, once.
    let report = reconciler.run_once().await.unwrap();
    assert_eq!(report.moved, 1, "{report:?}");
    assert_eq!(state(first.clone()).await, Some(PaymentStatus::Canceled));
    let cancels: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.new_status == PaymentStatus::Canceled)
        .map(|e| (e.payment_key.clone(), e.actions.clone()))
        .collect();
    assert_eq!(cancels.len(), 2, "{cancels:?}");
    assert!(cancels
        .iter()
        .all(|(_, actions)| actions == &[hanpay::OrderAction::CancelOrder]));
    // Canceled is final: never fetched again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = reconciler.run_once().await.unwrap();
    assert_eq!(report.checked, 0, "{report:?}");
}

each_backend!(
    a_handler_failing_past_the_redelivery_span_leaves_the_event_for_replay,
    the_reconciler_converges_when_every_webhook_is_lost,
    a_paid_payment_refunded_without_a_webhook_converges,
);
#[cfg(feature = "tosspayments")]
each_backend!(a_restarted_pipeline_remembers_deliveries_and_secrets);

/// SQLite's pool closed mid-delivery (in the handler): 5xx, nothing committed; a pipeline
/// on the reopened file processes the redelivery once.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_going_away_mid_delivery_is_5xx_then_processed_once() {
    let db = fresh(Backend::Sqlite).await;
    let mock = MockProvider::new();
    let hanpay = hanpay_on(&mock, db.stores.clone());
    let stores = db.stores.clone();
    let pipeline = WebhookPipeline::builder(
        hanpay.clone(),
        handler_fn(move |_event: PaymentEvent| {
            let stores = stores.clone();
            async move {
                stores.close().await;
                Ok::<(), HandlerError>(())
            }
        }),
    )
    .in_flight_lease(Duration::from_millis(500))
    .build();
    let key = paid_card(&hanpay, &mock, "order-fault-1").await;
    let webhook = mock.take_webhooks().remove(0);
    let outcome = deliver(&pipeline, &webhook).await;
    assert!(outcome.http_status() >= 500, "{:?}", outcome.body());

    let reopened = db.reopen().await;
    let state = reopened
        .states
        .get(&ProviderId::from_static("mock"), &key)
        .await
        .unwrap();
    assert!(
        state.is_none(),
        "a failed delivery was committed: {state:?}"
    );
    let hanpay = hanpay_on(&mock, reopened);
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay, handler)
        .in_flight_lease(Duration::from_millis(500))
        .build();
    let outcome = redeliver_until_not_in_flight(&pipeline, &webhook).await;
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
    assert_eq!(deliver(&pipeline, &webhook).await.label(), "duplicate");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Redelivers (as the PG would, later) while the claim of a failed attempt is still leased.
async fn redeliver_until_not_in_flight(
    pipeline: &WebhookPipeline,
    webhook: &MockWebhook,
) -> hanpay::WebhookOutcome {
    for _ in 0..100 {
        let outcome = deliver(pipeline, webhook).await;
        let in_flight = matches!(
            &outcome,
            hanpay::WebhookOutcome::Failed { stage, .. } if *stage == hanpay::pipeline::FailedStage::InProgress
        );
        if !in_flight {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery stayed in flight");
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use hanpay::store::DedupeKey;
    use hanpay_store::suite::pg_server::PgServer;

    /// PostgreSQL stopped mid-delivery (in the handler): 5xx, nothing marked processed; after
    /// the server is back, the redelivery is processed once.
    #[tokio::test]
    async fn postgres_stopping_mid_delivery_is_5xx_then_processed_once() {
        let server = Arc::new(PgServer::start().unwrap());
        let url: hanpay::DatabaseUrl = server.fresh_database().await.parse().unwrap();
        let stores = Stores::open(&url, &hanpay::store::OpenOptions::default())
            .await
            .unwrap();
        let mock = MockProvider::new();
        let hanpay = hanpay_on(&mock, stores.clone());
        let stopped = Arc::new(AtomicBool::new(false));
        let (srv, flag) = (server.clone(), stopped.clone());
        let calls_after = Arc::new(AtomicUsize::new(0));
        let after = calls_after.clone();
        let pipeline = WebhookPipeline::builder(
            hanpay.clone(),
            handler_fn(move |_event: PaymentEvent| {
                let (srv, flag, after) = (srv.clone(), flag.clone(), after.clone());
                async move {
                    if !flag.swap(true, Ordering::SeqCst) {
                        tokio::task::spawn_blocking(move || srv.stop().unwrap())
                            .await
                            .unwrap();
                    } else {
                        after.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok::<(), HandlerError>(())
                }
            }),
        )
        .in_flight_lease(Duration::from_millis(500))
        .build();
        let key = paid_card(&hanpay, &mock, "order-pg-fault-1").await;
        let webhook = mock.take_webhooks().remove(0);
        let outcome = deliver(&pipeline, &webhook).await;
        assert!(outcome.http_status() >= 500, "{:?}", outcome.body());

        let s = server.clone();
        tokio::task::spawn_blocking(move || s.restart().unwrap())
            .await
            .unwrap();
        let state = stores
            .states
            .get(&ProviderId::from_static("mock"), &key)
            .await
            .unwrap();
        assert!(
            state.is_none(),
            "a failed delivery was committed: {state:?}"
        );
        let outcome = redeliver_until_not_in_flight(&pipeline, &webhook).await;
        assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
        assert_eq!(deliver(&pipeline, &webhook).await.label(), "duplicate");
        assert_eq!(calls_after.load(Ordering::SeqCst), 1);
    }

    /// Two instances share one database; a claim left by one that died mid-delivery (as an
    /// instance that claims deliveries does) does not hold the event back: the stores of one
    /// backend claim nothing — the payment's lock serialises deliveries, a crashed holder's
    /// lock is taken over at once — so the redelivery is processed at once, exactly once.
    #[tokio::test]
    async fn a_crashed_instances_claim_does_not_hold_the_event_back() {
        let db = fresh(Backend::Postgres).await;
        let mock = MockProvider::new();
        let hanpay_a = hanpay_on(&mock, db.stores.clone());
        let hanpay_b = hanpay_on(&mock, db.reopen().await);
        paid_card(&hanpay_a, &mock, "order-crash-1").await;
        let webhook = mock.take_webhooks().remove(0);
        // Instance A claimed the delivery with a 1 s lease, then died.
        let key = DedupeKey {
            provider: ProviderId::from_static("mock"),
            dedupe_id: webhook.id.clone(),
        };
        db.stores
            .dedupe
            .claim(&key, Duration::from_secs(1))
            .await
            .unwrap();
        let (seen, handler) = recording();
        let b = WebhookPipeline::builder(hanpay_b, handler).build();
        let first = deliver(&b, &webhook).await;
        assert_eq!(first.label(), "processed", "{:?}", first.body());
        assert_eq!(deliver(&b, &webhook).await.label(), "duplicate");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
