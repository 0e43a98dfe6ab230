//! Events out over real HTTP: the outbox worker against a loopback receiver (axum on
//! 127.0.0.1:0) that verifies every delivery with core's Standard Webhooks verifier and dedupes
//! by event id, on real databases. The receiver going down (503, then connections dropped),
//! a worker dropped mid-delivery and a new one on the same SQLite file, give-up and redeliver,
//! two workers on one PostgreSQL; and the pipeline writing the right events for webhooks from
//! the fake PortOne and for a payment observed from a PG answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hanpay::core::webhook::StandardWebhooks;
use hanpay::store::{NewEvent, OutboxFilter, OutboxState, PaymentState, Stores};
use hanpay::{Money, OutboxWorker, PaymentStatus, ProviderId, Secret};
use hanpay_store::each_backend;
use hanpay_store::suite::backends::{fresh, Backend};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Accept,
    Unavailable,
    /// Processes the event (dedupe by id), then never answers in time.
    ProcessThenHang,
}

#[derive(Default)]
struct Seen {
    /// Every verified delivery's event id, in arrival order (redeliveries included).
    deliveries: Vec<String>,
    /// The events processed, each id once, in processing order.
    processed: Vec<Value>,
    ids: HashSet<String>,
    rejected: usize,
}

struct Shared {
    verifier: StandardWebhooks,
    mode: Mutex<Mode>,
    seen: Mutex<Seen>,
    changed: Notify,
}

/// An application receiving hanpay's events.
struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = shared
        .verifier
        .verify(&headers, &body, OffsetDateTime::now_utc());
    let mode = *shared.mode.lock().unwrap();
    let status = {
        let mut seen = shared.seen.lock().unwrap();
        match verified {
            Err(_) => {
                seen.rejected += 1;
                StatusCode::UNAUTHORIZED
            }
            Ok(message) => {
                let event: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(event["id"], message.id, "webhook-id is the event id");
                seen.deliveries.push(message.id.clone());
                match mode {
                    Mode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                    Mode::Accept | Mode::ProcessThenHang => {
                        if seen.ids.insert(message.id) {
                            seen.processed.push(event);
                        }
                        StatusCode::OK
                    }
                }
            }
        }
    };
    shared.changed.notify_waiters();
    if mode == Mode::ProcessThenHang {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    status
}

impl Receiver {
    async fn start() -> Receiver {
        let shared = Arc::new(Shared {
            verifier: StandardWebhooks::new([SECRET]).unwrap(),
            mode: Mutex::new(Mode::Accept),
            seen: Mutex::default(),
            changed: Notify::new(),
        });
        let app = Router::new()
            .route("/events", post(receive))
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, shared }
    }

    fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn processed(&self) -> Vec<Value> {
        self.shared.seen.lock().unwrap().processed.clone()
    }

    fn deliveries(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().deliveries.clone()
    }

    fn rejected(&self) -> usize {
        self.shared.seen.lock().unwrap().rejected
    }

    /// Waits until `done` holds for what was seen (or panics after a long time).
    async fn wait_until(&self, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.shared.seen.lock().unwrap()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }
}

/// A TCP relay in front of the receiver that can drop every connection (the receiver's host
/// down: connections closed without an answer).
struct Relay {
    addr: SocketAddr,
    open: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (open, watch) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if !*watch.borrow() {
                    drop(inbound);
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Relay { addr, open }
    }

    fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }
}

fn provider() -> ProviderId {
    ProviderId::from_static("tosspayments")
}

fn state(pk: &str, status: PaymentStatus) -> PaymentState {
    PaymentState {
        provider: provider(),
        payment_key: pk.to_owned(),
        order_id: Some(format!("order-{pk}")),
        status,
        total: Some(Money::krw(58_000)),
        balance: Some(Money::krw(58_000)),
        canceled: Some(Money::krw(0)),
        updated_at: OffsetDateTime::now_utc(),
    }
}

/// `payments` payments each moved None → Paid → PartiallyCanceled → Canceled, one event per
/// move written with it. Returns each payment's event ids in order.
async fn lifecycles(stores: &Stores, payments: usize) -> BTreeMap<String, Vec<String>> {
    use PaymentStatus::*;
    let moves = [
        (None, Paid, "payment.paid"),
        (Some(Paid), PartiallyCanceled, "payment.partially_canceled"),
        (Some(PartiallyCanceled), Canceled, "payment.canceled"),
    ];
    let mut ids = BTreeMap::new();
    for n in 0..payments {
        let pk = format!("pay-{n}-{}", hanpay::event::new_event_id());
        let mut mine = Vec::new();
        for (old, new, kind) in moves {
            let event = NewEvent {
                id: hanpay::event::new_event_id(),
                event_type: kind.to_owned(),
                provider: provider(),
                payment_key: pk.clone(),
                order_id: Some(format!("order-{pk}")),
                old_status: old,
                new_status: new,
                amount: Some(Money::krw(58_000)),
                balance: Some(Money::krw(if new == Canceled { 0 } else { 50_000 })),
                occurred_at: OffsetDateTime::now_utc(),
            };
            mine.push(event.id.clone());
            assert!(stores
                .states
                .compare_and_set_with_events(old, state(&pk, new), vec![event])
                .await
                .unwrap());
        }
        ids.insert(pk, mine);
    }
    ids
}

/// Every event processed once, and each payment's in order.
fn assert_all_once_in_order(receiver: &Receiver, ids: &BTreeMap<String, Vec<String>>) {
    let processed = receiver.processed();
    let mut per_payment: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in &processed {
        per_payment
            .entry(event["payment_key"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        &per_payment, ids,
        "each payment's events, once each, in order"
    );
    assert_eq!(receiver.rejected(), 0, "a delivery failed verification");
}

fn worker(stores: &Stores, url: &str) -> hanpay::OutboxWorkerBuilder {
    OutboxWorker::builder(Arc::clone(&stores.outbox), url, Secret::new(SECRET))
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
        .timeout(Duration::from_secs(5))
        .batch(8)
}

/// Rounds until nothing is pending.
async fn drain(worker: &OutboxWorker) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let report = worker.run_once().await.unwrap();
        if worker.depth().await.unwrap() == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox did not drain"
        );
        if report.claimed == 0 {
            // Waiting for a retry's (millisecond) backoff or a lease to lapse.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn every_event_arrives_once_in_order_and_verified(b: Backend) {
    let db = fresh(b).await;
    let receiver = Receiver::start().await;
    let ids = lifecycles(&db.stores, 5).await;
    let counted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&counted);
    let worker = worker(&db.stores, &receiver.url())
        .on_report(move |r| {
            count.fetch_add(r.delivered, std::sync::atomic::Ordering::SeqCst);
        })
        .build()
        .unwrap();
    assert_eq!(worker.depth().await.unwrap(), 15);
    let first = worker.run_once().await.unwrap();
    assert_eq!(
        (first.claimed, first.delivered),
        (5, 5),
        "one event per payment per round"
    );
    drain(&worker).await;
    assert_all_once_in_order(&receiver, &ids);
    assert_eq!(receiver.deliveries().len(), 15, "nothing was sent twice");
    assert_eq!(
        counted.load(std::sync::atomic::Ordering::SeqCst),
        15,
        "reported"
    );
    let body = &receiver.processed()[0];
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = [
        "id",
        "type",
        "provider",
        "payment_key",
        "order_id",
        "old_status",
        "new_status",
        "amount",
        "balance",
        "currency",
        "occurred_at",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(body["type"], "payment.paid");
    assert_eq!(body["amount"], 58_000);
    assert_eq!(body["currency"], "KRW");
    let delivered = db
        .stores
        .outbox
        .list(&OutboxFilter {
            state: Some(OutboxState::Delivered),
            ..OutboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(delivered.len(), 15);
}

async fn a_receiver_down_for_a_while_gets_everything_once_in_order(b: Backend) {
    let db = fresh(b).await;
    let receiver = Receiver::start().await;
    let relay = Relay::start(receiver.addr).await;
    let ids = lifecycles(&db.stores, 4).await;
    let worker = worker(&db.stores, &relay.url()).build().unwrap();

    receiver.set(Mode::Unavailable);
    let round = worker.run_once().await.unwrap();
    assert_eq!((round.claimed, round.retried), (4, 4), "{round:?}");
    relay.set_open(false);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut refused = 0;
    while refused < 4 {
        // The retries come due after a few milliseconds.
        let round = worker.run_once().await.unwrap();
        refused += round.retried;
        assert_eq!(round.delivered, 0);
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let waiting = db
        .stores
        .outbox
        .list(&OutboxFilter {
            state: Some(OutboxState::Pending),
            ..OutboxFilter::default()
        })
        .await
        .unwrap();
    assert!(
        waiting
            .iter()
            .filter(|e| e.attempts >= 2)
            .all(|e| e.last_error.as_deref().is_some_and(|t| !t.contains("503"))),
        "a dropped connection is recorded as such: {waiting:?}"
    );
    assert!(receiver.processed().is_empty());

    receiver.set(Mode::Accept);
    relay.set_open(true);
    drain(&worker).await;
    assert_all_once_in_order(&receiver, &ids);
}

async fn give_up_keeps_the_event_failed_until_redelivered(b: Backend) {
    let db = fresh(b).await;
    let receiver = Receiver::start().await;
    let ids = lifecycles(&db.stores, 1).await;
    let (pk, mine) = ids.iter().next().unwrap();
    let worker = worker(&db.stores, &receiver.url())
        .max_attempts(3)
        .build()
        .unwrap();
    receiver.set(Mode::Unavailable);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut failed = 0;
    while failed < 3 {
        let round = worker.run_once().await.unwrap();
        failed += round.failed;
        assert!(tokio::time::Instant::now() < deadline, "never gave up");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Each given-up event was tried 3 times; a give-up does not block the next one.
    assert_eq!(receiver.deliveries().len(), 9);
    assert_eq!(worker.depth().await.unwrap(), 0);
    let listed = db
        .stores
        .outbox
        .list(&OutboxFilter {
            state: Some(OutboxState::Failed),
            payment_key: Some(pk.clone()),
            ..OutboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    for event in &listed {
        assert_eq!(event.attempts, 3);
        let error = event.last_error.as_deref().unwrap();
        assert!(
            error.contains("HTTP 503") && error.contains("gave up after 3 attempts"),
            "{error}"
        );
    }

    receiver.set(Mode::Accept);
    assert!(worker.redeliver(&mine[0]).await.unwrap());
    assert!(
        !worker.redeliver(&mine[0]).await.unwrap(),
        "already pending"
    );
    assert!(!worker.redeliver("evt_nope").await.unwrap());
    drain(&worker).await;
    let processed = receiver.processed();
    assert_eq!(processed.len(), 1);
    assert_eq!(
        processed[0]["id"],
        mine[0].as_str(),
        "the same id as before"
    );
    let event = db.stores.outbox.event(&mine[0]).await.unwrap().unwrap();
    assert_eq!(event.state, OutboxState::Delivered);
}

each_backend!(
    every_event_arrives_once_in_order_and_verified,
    a_receiver_down_for_a_while_gets_everything_once_in_order,
    give_up_keeps_the_event_failed_until_redelivered,
);

/// The worker is dropped while its deliveries are in flight (the receiver processed them, the
/// answers never came back); a new worker on the same SQLite file takes the lapsed leases over
/// and delivers them again with the same ids: nothing lost, nothing processed twice by a
/// receiver that dedupes by id.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_worker_dropped_mid_delivery_is_taken_over_without_loss_or_duplicates() {
    let db = fresh(Backend::Sqlite).await;
    let receiver = Receiver::start().await;
    let ids = lifecycles(&db.stores, 3).await;
    receiver.set(Mode::ProcessThenHang);
    let first = OutboxWorker::builder(
        Arc::clone(&db.stores.outbox),
        receiver.url(),
        Secret::new(SECRET),
    )
    .timeout(Duration::from_secs(1))
    .lease(Duration::from_secs(2))
    .owner("crashing")
    .build()
    .unwrap();
    let task = tokio::spawn(async move { first.run_once().await });
    receiver
        .wait_until("the first deliveries", |s| s.deliveries.len() == 3)
        .await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    db.stores.close().await;

    // A new process on the same file.
    receiver.set(Mode::Accept);
    let stores = db.reopen().await;
    let held = stores
        .outbox
        .list(&OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.lease_owner.as_deref() == Some("crashing"))
        .count();
    assert_eq!(held, 3, "the dropped worker's claims are still leased");
    let second = worker(&stores, &receiver.url())
        .owner("restarted")
        .build()
        .unwrap();
    drain(&second).await;
    assert_all_once_in_order(&receiver, &ids);
    let deliveries = receiver.deliveries();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for id in &deliveries {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    for events in ids.values() {
        assert_eq!(per_id[events[0].as_str()], 2, "redelivered once, same id");
        assert_eq!(per_id[events[1].as_str()], 1);
    }
}

/// Two workers (two instances) on one PostgreSQL database, running at once: each event is
/// delivered exactly once, in order per payment.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn two_workers_on_one_postgres_deliver_each_event_once() {
    let db = fresh(Backend::Postgres).await;
    let other = db.reopen().await;
    let receiver = Receiver::start().await;
    let ids = lifecycles(&db.stores, 12).await;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for (name, stores) in [("instance-a", &db.stores), ("instance-b", &other)] {
        let w = worker(stores, &receiver.url())
            .owner(name)
            .batch(3)
            .poll_interval(Duration::from_millis(5))
            .build()
            .unwrap();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            w.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        }));
    }
    receiver
        .wait_until("all 36 events", |s| s.processed.len() == 36)
        .await;
    stop.send_replace(true);
    for task in tasks {
        task.await.unwrap();
    }
    assert_all_once_in_order(&receiver, &ids);
    assert_eq!(
        receiver.deliveries().len(),
        36,
        "an event was delivered twice"
    );
    assert_eq!(db.stores.outbox.depth().await.unwrap(), 0);
}

/// `run` stops on shutdown between rounds; nothing is left leased.
#[tokio::test]
async fn run_stops_cleanly_on_shutdown() {
    let stores = Stores::memory();
    let receiver = Receiver::start().await;
    let ids = lifecycles(&stores, 2).await;
    let worker = worker(&stores, &receiver.url())
        .poll_interval(Duration::from_secs(3_600))
        .retention(Duration::ZERO)
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = worker.clone();
    let task = tokio::spawn(async move {
        running
            .run(async move {
                let _ = stopped.await;
            })
            .await
    });
    // Rounds run as long as there is work; then the worker waits, woken by `wake`.
    for n in [2, 4] {
        receiver
            .wait_until("a round", |s| s.processed.len() == n)
            .await;
        worker.wake();
    }
    receiver
        .wait_until("every event", |s| s.processed.len() == 6)
        .await;
    stop.send(()).unwrap();
    task.await.unwrap();
    assert_all_once_in_order(&receiver, &ids);
    let events = stores.outbox.list(&OutboxFilter::default()).await.unwrap();
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e.state == OutboxState::Delivered));
    assert_eq!(stores.outbox.depth().await.unwrap(), 0);
}

/// Webhooks from the fake PortOne through the pipeline with the outbox on: one event row per
/// applied step, typed by the step, in order; a pipeline without the outbox writes none; and a
/// payment observed from the PG's answer (confirm/cancel) goes through the same path.
#[cfg(feature = "portone")]
mod through_the_pipeline {
    use super::*;
    use hanpay::portone::fake::{FakePortOne, PayMethod};
    use hanpay::{
        handler_fn, CancelRequest, HanpayConfig, PaymentEvent, PaymentProvider, WebhookPipeline,
    };
    use hanpay_testkit::inbox::WebhookInbox;

    const PORTONE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    struct Setup {
        inbox: WebhookInbox,
        portone: FakePortOne,
        hanpay: hanpay::Hanpay,
        taken: usize,
    }

    impl Setup {
        async fn start(url: &hanpay::store::DatabaseUrl) -> Setup {
            let inbox = WebhookInbox::start().await.unwrap();
            let portone = FakePortOne::builder()
                .webhook_url(inbox.url("portone"))
                .webhook_secret(PORTONE_SECRET)
                .start()
                .await
                .unwrap();
            let env: BTreeMap<&str, String> = [
                ("HANPAY_PROVIDER", "portone".to_owned()),
                ("PORTONE_API_SECRET", portone.api_secret().to_owned()),
                ("PORTONE_STORE_ID", portone.store_id().to_owned()),
                ("PORTONE_CHANNEL_KEY", portone.channel_key().to_owned()),
                ("PORTONE_API_BASE_URL", portone.base_url()),
                ("PORTONE_WEBHOOK_SECRET", PORTONE_SECRET.to_owned()),
                ("PORTONE_WEBHOOK_ALLOWLIST", "127.0.0.1/32".to_owned()),
                ("HANPAY_DATABASE_URL", url.expose().to_owned()),
            ]
            .into_iter()
            .collect();
            let config = HanpayConfig::from_env_with(|name| env.get(name).cloned()).unwrap();
            let hanpay = hanpay::Hanpay::open(&config).await.unwrap();
            Setup {
                inbox,
                portone,
                hanpay,
                taken: 0,
            }
        }

        fn pipeline(&self, outbox: bool) -> WebhookPipeline {
            WebhookPipeline::builder(
                self.hanpay.clone(),
                handler_fn(|_event: PaymentEvent| async { Ok(()) }),
            )
            .outbox(outbox)
            .build()
        }

        /// Delivers the fake's new webhooks, in the order it sent them.
        async fn deliver_new(&mut self, pipeline: &WebhookPipeline) -> Vec<String> {
            let sent: Vec<String> = self
                .portone
                .webhooks_sent()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let mut received = self.inbox.wait_for(sent.len(), WAIT).await;
            assert_eq!(received.len(), sent.len());
            let mut new = received.split_off(self.taken);
            self.taken = sent.len();
            new.sort_by_key(|d| {
                let id = d.headers["webhook-id"].to_str().unwrap().to_owned();
                sent.iter().position(|s| *s == id)
            });
            let mut labels = Vec::new();
            for delivery in &new {
                let outcome = pipeline.process("portone", &delivery.request()).await;
                assert_eq!(outcome.http_status(), 200, "{:?}", outcome.body());
                labels.push(outcome.label().to_owned());
            }
            labels
        }
    }

    async fn events_of(
        stores: &Stores,
        pk: &str,
    ) -> Vec<(String, Option<PaymentStatus>, PaymentStatus, i64)> {
        let mut events = stores
            .outbox
            .list(&OutboxFilter {
                payment_key: Some(pk.to_owned()),
                ..OutboxFilter::default()
            })
            .await
            .unwrap();
        events.sort_by_key(|e| e.sequence);
        events
            .into_iter()
            .map(|e| {
                (
                    e.event.event_type,
                    e.event.old_status,
                    e.event.new_status,
                    e.sequence,
                )
            })
            .collect()
    }

    async fn portone_webhooks_become_one_event_per_step(b: Backend) {
        use PaymentStatus::*;
        let db = fresh(b).await;
        let mut setup = Setup::start(&db.url).await;
        let stores = setup.hanpay.stores().clone();
        let pipeline = setup.pipeline(true);

        setup
            .portone
            .pay("order-outbox-card", 30_000, "KRW", "셔츠", PayMethod::Card)
            .unwrap();
        setup.deliver_new(&pipeline).await;
        setup
            .hanpay
            .gateway()
            .cancel(&CancelRequest::partial(
                "order-outbox-card",
                "고객 요청",
                Money::krw(8_000),
            ))
            .await
            .unwrap();
        setup.deliver_new(&pipeline).await;
        let card = events_of(&stores, "order-outbox-card").await;
        let want = [
            ("payment.status_changed", None, Ready, 1),
            ("payment.paid", Some(Ready), Paid, 2),
            (
                "payment.partially_canceled",
                Some(Paid),
                PartiallyCanceled,
                3,
            ),
        ];
        let want: Vec<_> = want
            .into_iter()
            .map(|(t, o, n, s)| (t.to_owned(), o, n, s))
            .collect();
        assert_eq!(card, want);

        setup
            .portone
            .issue_virtual_account("order-outbox-va", 45_000, "KRW", "가방", "SHINHAN")
            .unwrap();
        setup.deliver_new(&pipeline).await;
        setup.portone.deposit("order-outbox-va").unwrap();
        setup.deliver_new(&pipeline).await;
        let va = events_of(&stores, "order-outbox-va").await;
        let types: Vec<&str> = va.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            types,
            ["virtual_account.issued", "virtual_account.deposited"],
            "{va:?}"
        );
        let amounts = stores
            .outbox
            .list(&OutboxFilter {
                payment_key: Some("order-outbox-va".into()),
                ..OutboxFilter::default()
            })
            .await
            .unwrap();
        // A reconciled step carries the PG's amounts; a signed hint applied without a lookup
        // (the issue) carries none rather than a guess.
        for e in &amounts {
            match e.event.event_type.as_str() {
                "virtual_account.deposited" => {
                    assert_eq!(e.event.amount, Some(Money::krw(45_000)), "{e:?}");
                    assert_eq!(e.event.balance, Some(Money::krw(45_000)), "{e:?}");
                }
                _ => assert!(
                    e.event.amount.is_none() || e.event.amount == Some(Money::krw(45_000)),
                    "{e:?}"
                ),
            }
        }

        // Without the outbox, an applied change writes no event.
        let quiet = setup.pipeline(false);
        setup
            .portone
            .pay("order-outbox-quiet", 10_000, "KRW", "양말", PayMethod::Card)
            .unwrap();
        let labels = setup.deliver_new(&quiet).await;
        assert!(labels.iter().any(|l| l == "processed"), "{labels:?}");
        assert!(events_of(&stores, "order-outbox-quiet").await.is_empty());
    }

    async fn an_observed_pg_answer_writes_its_events_once(b: Backend) {
        use PaymentStatus::*;
        let db = fresh(b).await;
        let setup = Setup::start(&db.url).await;
        let stores = setup.hanpay.stores().clone();
        let pipeline = setup.pipeline(true);
        setup
            .portone
            .pay("order-observed", 20_000, "KRW", "모자", PayMethod::Card)
            .unwrap();
        let gateway = setup.hanpay.gateway();
        let paid = gateway.payment("order-observed").await.unwrap();
        let event = pipeline.observe(&paid).await.unwrap().expect("applied");
        assert_eq!((event.old_status, event.new_status), (None, Paid));
        assert!(
            pipeline.observe(&paid).await.unwrap().is_none(),
            "already applied"
        );
        let canceled = gateway
            .cancel(&CancelRequest::full("order-observed", "고객 변심"))
            .await
            .unwrap();
        let event = pipeline.observe(&canceled).await.unwrap().expect("applied");
        assert_eq!((event.old_status, event.new_status), (Some(Paid), Canceled));
        let events = events_of(&stores, "order-observed").await;
        let types: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(types, ["payment.paid", "payment.canceled"]);

        // The webhooks about the same changes arrive later: nothing new.
        let mut setup = setup;
        setup.deliver_new(&pipeline).await;
        assert_eq!(events_of(&stores, "order-observed").await.len(), 2);

        let unknown = hanpay::Payment {
            provider: ProviderId::from_static("nowhere"),
            ..paid
        };
        assert!(matches!(
            pipeline.observe(&unknown).await,
            Err(hanpay::ObserveError::UnknownProvider(_))
        ));
    }

    /// A handler that fails: the PG gets a 5xx, nothing is moved and no event is written; the
    /// redelivery moves the state and writes the events once.
    async fn a_failed_handler_writes_no_event(b: Backend) {
        let db = fresh(b).await;
        let setup = Setup::start(&db.url).await;
        let stores = setup.hanpay.stores().clone();
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = Arc::clone(&failing);
        let pipeline = WebhookPipeline::builder(
            setup.hanpay.clone(),
            handler_fn(move |_event: PaymentEvent| {
                let flag = Arc::clone(&flag);
                async move {
                    if flag.load(std::sync::atomic::Ordering::SeqCst) {
                        return Err::<(), hanpay::HandlerError>("order database down".into());
                    }
                    Ok(())
                }
            }),
        )
        .outbox(true)
        .build();
        setup
            .portone
            .pay("order-outbox-fail", 12_000, "KRW", "컵", PayMethod::Card)
            .unwrap();
        let sent: Vec<String> = setup
            .portone
            .webhooks_sent()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut received = setup.inbox.wait_for(sent.len(), WAIT).await;
        received.sort_by_key(|d| {
            let id = d.headers["webhook-id"].to_str().unwrap().to_owned();
            sent.iter().position(|s| *s == id)
        });
        for delivery in &received {
            let outcome = pipeline.process("portone", &delivery.request()).await;
            assert_eq!(outcome.http_status(), 500, "{:?}", outcome.body());
        }
        assert!(events_of(&stores, "order-outbox-fail").await.is_empty());
        assert_eq!(stores.outbox.depth().await.unwrap(), 0);

        failing.store(false, std::sync::atomic::Ordering::SeqCst);
        for delivery in &received {
            let outcome = pipeline.process("portone", &delivery.request()).await;
            assert_eq!(outcome.http_status(), 200, "{:?}", outcome.body());
        }
        let events = events_of(&stores, "order-outbox-fail").await;
        assert_eq!(
            events.last().map(|e| (e.0.as_str(), e.2)),
            Some(("payment.paid", PaymentStatus::Paid)),
            "{events:?}"
        );
        let ids: HashSet<i64> = events.iter().map(|e| e.3).collect();
        assert_eq!(ids.len(), events.len(), "one row per step: {events:?}");
    }

    each_backend!(
        a_failed_handler_writes_no_event,
        portone_webhooks_become_one_event_per_step,
        an_observed_pg_answer_writes_its_events_once,
    );
}
