//! Several instances on one PostgreSQL database: two axum routers on two loopback ports, each
//! with its own pools, receive the same deliveries at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "axum", feature = "postgres"))]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hanpay::store::Stores;
use hanpay::{
    handler_fn, ConfirmRequest, Hanpay, Money, PaymentEvent, PaymentProvider, PaymentStatus,
    WebhookPipeline,
};
use hanpay_store::suite::backends::{fresh, Backend};
use hanpay_testkit::mock::{MockProvider, MockWebhook, MOCK_WEBHOOK_PATH};

type Seen = Arc<Mutex<Vec<PaymentEvent>>>;

/// One instance: its own stores (pools) on the shared database, its own router and port.
async fn instance(mock: &MockProvider, stores: Stores, seen: Seen) -> (Hanpay, String) {
    let hanpay = Hanpay::builder()
        .stores(stores)
        .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(mock.clone()))
        .build()
        .unwrap();
    let pipeline = WebhookPipeline::builder(
        hanpay.clone(),
        handler_fn(move |event: PaymentEvent| {
            let seen = seen.clone();
            async move {
                // Give the other instance every chance to interleave.
                tokio::task::yield_now().await;
                seen.lock().unwrap().push(event);
                Ok(())
            }
        }),
    )
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
    (hanpay, format!("http://{addr}{MOCK_WEBHOOK_PATH}"))
}

async fn send(client: &reqwest::Client, url: &str, webhook: &MockWebhook) -> serde_json::Value {
    let mut req = client.post(url).body(webhook.body.clone());
    for (name, value) in &webhook.headers {
        req = req.header(name, value);
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let mut body: serde_json::Value = response.json().await.unwrap();
    body["http_status"] = status.into();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_process_each_delivery_once_and_never_regress() {
    let db = fresh(Backend::Postgres).await;
    let mock = MockProvider::new();
    let seen: Seen = Arc::default();
    let (hanpay, url_a) = instance(&mock, db.stores.clone(), seen.clone()).await;
    let (_, url_b) = instance(&mock, db.reopen().await, seen.clone()).await;
    let client = reqwest::Client::new();

    // The same delivery to both instances at once, 200 times (200 payments).
    let mut webhooks = Vec::new();
    for i in 0..200 {
        let order = format!("order-multi-{i}");
        let key = mock.authenticate_card(&order, &Money::krw(10_000)).unwrap();
        hanpay
            .gateway()
            .confirm(&ConfirmRequest::new(&key, &order, Money::krw(10_000)))
            .await
            .unwrap();
        webhooks.extend(mock.take_webhooks());
    }
    assert_eq!(webhooks.len(), 200);
    let rounds = webhooks.iter().map(|w| {
        let (client, url_a, url_b) = (&client, &url_a, &url_b);
        async move {
            let (a, b) = tokio::join!(send(client, url_a, w), send(client, url_b, w));
            (a, b)
        }
    });
    let answers = futures_util::future::join_all(rounds).await;
    for (a, b) in &answers {
        // One processes; the other sees a duplicate, or the same event in flight (503: the
        // PG redelivers later, and then it is a duplicate).
        let mut results = [a["result"].as_str().unwrap(), b["result"].as_str().unwrap()];
        results.sort_unstable();
        assert!(
            results == ["duplicate", "processed"] || results == ["failed", "processed"],
            "{a} {b}"
        );
    }
    let per_event = {
        let seen = seen.lock().unwrap();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for e in seen.iter() {
            *counts.entry(e.dedupe_id.clone()).or_default() += 1;
        }
        counts
    };
    assert_eq!(per_event.len(), 200);
    assert!(per_event.values().all(|&n| n == 1), "{per_event:?}");
    // The instance that found the event in flight did not mark it failed in the inbox.
    let failed = db
        .stores
        .inbox
        .list(&hanpay::store::InboxFilter {
            failed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let recorded = db
        .stores
        .inbox
        .list(&hanpay::store::InboxFilter::default())
        .await
        .unwrap();
    assert_eq!(recorded.len(), 200);
    assert!(recorded
        .iter()
        .all(|e| e.outcome == hanpay::store::InboxOutcome::Applied));

    // Interleaved events for one payment: paid, partially canceled, canceled, each sent to
    // both instances at once.
    seen.lock().unwrap().clear();
    let order = "order-multi-interleaved";
    let key = mock.authenticate_card(order, &Money::krw(58_000)).unwrap();
    let gateway = hanpay.gateway();
    gateway
        .confirm(&ConfirmRequest::new(&key, order, Money::krw(58_000)))
        .await
        .unwrap();
    gateway
        .cancel(&hanpay::CancelRequest::partial(
            &key,
            "사이즈 교환",
            Money::krw(8_000),
        ))
        .await
        .unwrap();
    gateway
        .cancel(&hanpay::CancelRequest::full(&key, "고객 변심"))
        .await
        .unwrap();
    let lifecycle = mock.take_webhooks();
    assert_eq!(lifecycle.len(), 3);
    let sends = lifecycle
        .iter()
        .flat_map(|w| [send(&client, &url_a, w), send(&client, &url_b, w)]);
    for answer in futures_util::future::join_all(sends).await {
        assert!(
            answer["http_status"] == 200 || answer["http_status"] == 503,
            "{answer}"
        );
    }
    let state = db
        .stores
        .states
        .get(&hanpay_core::ProviderId::from_static("mock"), &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.status, PaymentStatus::Canceled);
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    for e in seen.iter() {
        assert!(
            e.old_status
                .map_or(true, |old| old.can_move_to(e.new_status)),
            "a regression reached the handler: {:?} -> {}",
            e.old_status,
            e.new_status
        );
    }
    let mut moves: Vec<_> = seen.iter().map(|e| (e.old_status, e.new_status)).collect();
    let before = moves.len();
    moves.dedup();
    assert_eq!(
        moves.len(),
        before,
        "a move reached the handler twice: {moves:?}"
    );
}
