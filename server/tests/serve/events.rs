//! Events out through `hanpay serve`: what the API and the webhooks change reaches the
//! application once, in order per payment, signed with Standard Webhooks; a receiver that is
//! down gets everything later; a given-up event is re-sent by `POST /v1/events/{id}/redeliver`;
//! a restarted server loses nothing; two servers on one PostgreSQL deliver each event once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use hanpay::core::webhook::StandardWebhooks;
use hanpay::outbox::OutboxWorkerBuilder;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::Harness;

/// The Standard Webhooks secret the tests' application verifies with.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The application's event endpoint: keeps every delivery; answers 503 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    changed: Arc<Notify>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/events",
            post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let status = if state.down.load(Ordering::SeqCst) {
                        state.refused.fetch_add(1, Ordering::SeqCst);
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        state.seen.lock().unwrap().push((headers, body));
                        StatusCode::NO_CONTENT
                    };
                    state.changed.notify_waiters();
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    /// Waits (bounded) until `done` holds for what was received.
    async fn wait(&self, what: &str, done: impl Fn(&[(HeaderMap, Bytes)], usize) -> bool) {
        let wait = async {
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if done(
                    &self.seen.lock().unwrap(),
                    self.refused.load(Ordering::SeqCst),
                ) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// Every delivery verified with the application's secret, as `(webhook-id, event)`.
    fn verified(&self) -> Vec<(String, Value)> {
        let verifier = StandardWebhooks::new([SECRET]).unwrap();
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(headers, body)| {
                let message = verifier
                    .verify(headers, body, time::OffsetDateTime::now_utc())
                    .expect("every event verifies with the application's secret");
                let event: Value = serde_json::from_slice(body).unwrap();
                assert_eq!(event["id"].as_str(), Some(message.id.as_str()));
                (message.id, event)
            })
            .collect()
    }

    /// The distinct events of `payment_key`, in the order first received.
    fn types_for(&self, payment_key: &str) -> Vec<String> {
        let mut seen_ids = Vec::new();
        let mut types = Vec::new();
        for (id, event) in self.verified() {
            if event["payment_key"] == payment_key && !seen_ids.contains(&id) {
                seen_ids.push(id);
                types.push(event["type"].as_str().unwrap().to_owned());
            }
        }
        types
    }
}

fn fast(worker: OutboxWorkerBuilder) -> OutboxWorkerBuilder {
    worker
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .poll_interval(Duration::from_millis(20))
}

fn gives_up_at_once(worker: OutboxWorkerBuilder) -> OutboxWorkerBuilder {
    fast(worker).max_attempts(1)
}

fn events_env(url: &str) -> [(&'static str, String); 2] {
    [
        ("HANPAY_EVENTS_URL", url.to_owned()),
        ("HANPAY_EVENTS_SECRET", SECRET.to_owned()),
    ]
}

#[tokio::test]
async fn confirm_and_cancels_reach_the_application_once_in_order_and_signed() {
    let (receiver, url) = Receiver::start().await;
    let h = Harness::start_with(&events_env(&url), fast).await;
    let key = h.paid().await;
    let (status, body) = h
        .post(
            &format!("/v1/payments/tosspayments/{key}/cancel"),
            &json!({"reason": "부분 환불", "amount": 8000}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h
        .post(
            &format!("/v1/payments/tosspayments/{key}/cancel"),
            &json!({"reason": "전액 취소"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    receiver
        .wait("three events", |seen, _| seen.len() >= 3)
        .await;
    assert_eq!(
        receiver.types_for(&key),
        [
            "payment.paid",
            "payment.partially_canceled",
            "payment.canceled"
        ]
    );
    let events = receiver.verified();
    let paid = &events[0].1;
    assert_eq!(paid["provider"], "tosspayments");
    assert_eq!(paid["new_status"], "PAID");
    assert_eq!(paid["amount"], 58000);
    assert_eq!(paid["currency"], "KRW");
    let partial = &events[1].1;
    assert_eq!(partial["old_status"], "PAID");
    assert_eq!(partial["balance"], 50000);

    // What an application in another language verifies: kept for CI's check with the official
    // `standardwebhooks` Python package (compat/serve.sh).
    let (headers, body) = receiver.seen.lock().unwrap()[0].clone();
    let artifact: HashMap<&str, String> = [
        ("secret", SECRET.to_owned()),
        ("webhook-id", header(&headers, "webhook-id")),
        ("webhook-timestamp", header(&headers, "webhook-timestamp")),
        ("webhook-signature", header(&headers, "webhook-signature")),
        ("body", String::from_utf8(body.to_vec()).unwrap()),
    ]
    .into_iter()
    .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/serve-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("event.json"),
        serde_json::to_string_pretty(&artifact).unwrap(),
    )
    .unwrap();

    // The event is kept, and the API shows it.
    let id = &events[0].0;
    let (status, view) = h.get(&format!("/v1/events/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "delivered");
    assert_eq!(view["event"]["type"], "payment.paid");
    let (status, _) = h.get("/v1/events/evt_nope").await;
    assert_eq!(status, 404);

    // The metrics count the deliveries.
    let metrics = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hanpay_events_delivery_attempts_total"),
        "{metrics}"
    );
    assert!(metrics.contains("hanpay_events_outbox_depth"), "{metrics}");
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_every_event_later_once_and_in_order() {
    let (receiver, url) = Receiver::start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let h = Harness::start_with(&events_env(&url), fast).await;
    let key = h.paid().await;
    let (status, _) = h
        .post(
            &format!("/v1/payments/tosspayments/{key}/cancel"),
            &json!({"reason": "취소"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Refused several times, then back.
    receiver
        .wait("refused deliveries", |_, refused| refused >= 3)
        .await;
    receiver.down.store(false, Ordering::SeqCst);
    receiver.wait("two events", |seen, _| seen.len() >= 2).await;
    assert_eq!(
        receiver.types_for(&key),
        ["payment.paid", "payment.canceled"]
    );
    // Once each: no id twice (the worker never re-sends a delivered event).
    let ids: Vec<String> = receiver.verified().into_iter().map(|(id, _)| id).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");
}

#[tokio::test]
async fn a_given_up_event_is_redelivered_with_its_id() {
    let (receiver, url) = Receiver::start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let h = Harness::start_with(&events_env(&url), gives_up_at_once).await;
    let key = h.paid().await;
    receiver
        .wait("one refusal", |_, refused| refused >= 1)
        .await;
    let outbox = h.server().hanpay().stores().outbox.clone();
    let failed = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = outbox
                .list(&hanpay::store::OutboxFilter::default())
                .await
                .unwrap();
            if let Some(row) = rows
                .iter()
                .find(|r| r.event.payment_key == key && r.state.as_str() == "failed")
            {
                break row.event.id.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never given up: {rows:?}"
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (status, view) = h.get(&format!("/v1/events/{failed}")).await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "failed");
    assert!(
        view["last_error"].as_str().unwrap().contains("503"),
        "{view}"
    );

    receiver.down.store(false, Ordering::SeqCst);
    let (status, view) = h
        .post(&format!("/v1/events/{failed}/redeliver"), &json!({}), None)
        .await;
    assert_eq!(status, 202, "{view}");
    receiver
        .wait("the redelivery", |seen, _| !seen.is_empty())
        .await;
    assert_eq!(receiver.verified()[0].0, failed);
    let (status, _) = h
        .post("/v1/events/evt_nope/redeliver", &json!({}), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_restarted_server_delivers_what_the_stopped_one_left() {
    let (receiver, url) = Receiver::start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let mut h = Harness::start_with(&events_env(&url), fast).await;
    let key = h.paid().await;
    receiver
        .wait("one refusal", |_, refused| refused >= 1)
        .await;
    h.server.take().unwrap().shutdown().await.unwrap();

    receiver.down.store(false, Ordering::SeqCst);
    let mut env = super::env_for(&h.toss, h._portone.as_ref(), &h.dir);
    for (k, v) in events_env(&url) {
        env.insert(k.to_owned(), v);
    }
    let config = hanpay_server::config::ServeConfig::load(None, |n| env.get(n).cloned()).unwrap();
    let server = hanpay_server::Server::start_tuned(config, "127.0.0.1:0".parse().unwrap(), fast)
        .await
        .unwrap();
    receiver.wait("the event", |seen, _| !seen.is_empty()).await;
    assert_eq!(receiver.types_for(&key), ["payment.paid"]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_servers_on_one_postgresql_deliver_each_event_once() {
    let (receiver, url) = Receiver::start().await;
    let database = hanpay_store::suite::pg_server::shared()
        .fresh_database()
        .await;
    let toss = hanpay::tosspayments::fake::FakeToss::start().await.unwrap();
    let portone = hanpay::sandbox::fake("portone")
        .unwrap()
        .start()
        .await
        .unwrap();
    let dir = super::temp_dir();
    let mut env = super::env_for(&toss, portone.as_ref(), &dir);
    env.insert("HANPAY_DATABASE_URL".into(), database);
    for (k, v) in events_env(&url) {
        env.insert(k.to_owned(), v);
    }
    let start = || async {
        let config =
            hanpay_server::config::ServeConfig::load(None, |n| env.get(n).cloned()).unwrap();
        hanpay_server::Server::start_tuned(config, "127.0.0.1:0".parse().unwrap(), fast)
            .await
            .unwrap()
    };
    let servers = [start().await, start().await];
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for i in 0..8 {
        let order = format!(
            "order-pg-{i}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let key = toss
            .create_session(
                &order,
                10_000,
                hanpay::tosspayments::fake::SessionMethod::Card,
            )
            .unwrap();
        let answer = http
            .post(format!(
                "http://{}/v1/payments/confirm",
                servers[i % 2].addr()
            ))
            .bearer_auth(super::KEY)
            .json(&json!({"payment_key": key, "order_id": order, "amount": 10000}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        keys.push(key);
    }
    receiver
        .wait("eight events", |seen, _| seen.len() >= 8)
        .await;
    let events = receiver.verified();
    let ids: std::collections::HashSet<&String> = events.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), events.len(), "an event was delivered twice");
    for key in &keys {
        assert_eq!(receiver.types_for(key), ["payment.paid"]);
    }
    for server in servers {
        server.shutdown().await.unwrap();
    }
    // Nothing more arrives once both stopped: each event was delivered once, by one of them.
    assert_eq!(receiver.seen.lock().unwrap().len(), 8);
    let _ = std::fs::remove_dir_all(&dir);
}

fn polls_hourly(worker: OutboxWorkerBuilder) -> OutboxWorkerBuilder {
    worker.poll_interval(Duration::from_secs(3600))
}

/// A webhook the pipeline took wakes the worker: its event goes out at once, not at the next
/// poll (here an hour away). Failed before the webhook route woke the worker (the bench saw
/// every webhook's event wait for the 1 s poll).
#[tokio::test]
async fn a_webhook_s_event_goes_out_at_once() {
    use hanpay::portone::fake::{FakePortOne, PayMethod};
    const PO_SECRET: &str = "whsec_aGFucGF5LXNlcnZlLXRlc3QtcG9ydG9uZSE=";
    let (receiver, url) = Receiver::start().await;
    // PortOne's redelivery sped up: what is checked is the outbox worker's wake once the
    // pipeline took the webhook, not PortOne's resend (up to a minute) of a first delivery that
    // got no 2xx on a loaded machine. The test timed out once in a full CI run; the cause was
    // not established (it did not reproduce in 15 reruns under load).
    let portone = FakePortOne::builder()
        .webhook_secret(PO_SECRET)
        .time_scale(hanpay_fake::delivery::TimeScale::speedup(600))
        .start()
        .await
        .unwrap();
    let mut extra: Vec<(&str, String)> = events_env(&url).to_vec();
    extra.extend(hanpay_fake::sandbox::RunningFake::env(&portone));
    extra.push(("PORTONE_WEBHOOK_SECRET", PO_SECRET.to_owned()));
    extra.push(("PORTONE_WEBHOOK_ALLOWLIST", "127.0.0.1,::1".to_owned()));
    let h = Harness::start_with(&extra, polls_hourly).await;
    portone.add_webhook_url(format!("{}/webhooks/portone", h.base));
    portone
        .pay(
            "payment-wake-0001",
            15_000,
            "KRW",
            "티셔츠",
            PayMethod::Card,
        )
        .unwrap();
    // PortOne announces the payment's steps (it may send Transaction.Ready first): wait for
    // the paid one.
    let paid = |seen: &[(HeaderMap, Bytes)]| {
        seen.iter().any(|(_, body)| {
            serde_json::from_slice::<Value>(body).is_ok_and(|e| e["type"] == "payment.paid")
        })
    };
    receiver
        .wait("the webhook's payment.paid", |seen, _| paid(seen))
        .await;
    let types = receiver.types_for("payment-wake-0001");
    assert_eq!(
        types.last().map(String::as_str),
        Some("payment.paid"),
        "{types:?}"
    );
}
