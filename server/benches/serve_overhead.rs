//! What `hanpay serve` costs on top of calling the PG (here the testkit's fakes on loopback)
//! directly, measured side by side in one run against the real binary (`hanpay-server`, this
//! crate's entry point: the same [`hanpay_server::run`] as `hanpay serve`):
//!
//! - `serve_lookup_sequential`: `GET /v1/payments/tosspayments/{key}` through a running
//!   `hanpay serve` vs the same lookup straight at the fake Toss (`GET {toss}/v1/payments/{key}`
//!   with its Basic auth), one at a time (criterion's median is the p50), both read with a
//!   default `reqwest::Client` and parsed into a `serde_json::Value`;
//! - `serve_lookup_32_in_flight`: the same with 32 requests in flight (criterion's throughput
//!   is requests/s);
//! - `webhook_to_event`: a PortOne payment paid at FakePortOne, whose signed webhook goes to
//!   `hanpay serve` (verify → dedupe → reconcile → apply → outbox), until the application's
//!   receiver (in process) has the payment's `payment.paid` event, vs the same fake delivering
//!   its webhook straight to an in-process receiver. Each payment is made at a random point of
//!   the outbox worker's poll cycle (see [`Flow::once`]).
//!
//! Run with `cargo bench -p hanpay-server --bench serve_overhead` and compare the two lines of each
//! group: the ratios are what matters. Each part also prints a `paired:` line, measured with the
//! two sides interleaved, steadier on a shared machine. Under `cargo test --benches` every
//! routine runs once and the paired lines take a few rounds only.
// Floats here are timing statistics, never money.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hanpay::core::webhook::StandardWebhooks;
use hanpay::portone::fake::{FakePortOne, PayMethod};
use hanpay::tosspayments::fake::{FakeToss, SessionMethod};
use hanpay_fake::sandbox::RunningFake;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const IN_FLIGHT: u64 = 32;
/// The outbox worker's default `poll_interval`, which `hanpay serve` keeps: an event written
/// by a webhook waits for the next round (the REST API wakes the worker; the webhook route
/// does not).
const POLL: Duration = Duration::from_secs(1);
const API_KEY: &str = "bench-api-key-0123456789abcdef";
/// Signs the application's events (`HANPAY_EVENTS_SECRET`).
const EVENTS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Signs FakePortOne's webhooks (`PORTONE_WEBHOOK_SECRET`).
const PORTONE_SECRET: &str = "whsec_c2VydmUtb3ZlcmhlYWQtcG9ydG9uZS1zZWNyZXQ=";

/// Whether criterion measures (`cargo bench`) rather than runs each routine once (`cargo test`).
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// One way to look the payment up: a default `reqwest::Client`, the URL, the auth header.
struct Lookup {
    http: reqwest::Client,
    url: String,
    auth: HeaderValue,
}

impl Lookup {
    async fn get(&self) -> Value {
        let resp = self
            .http
            .get(&self.url)
            .header(http::header::AUTHORIZATION, self.auth.clone())
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "{}: {}",
            self.url,
            resp.status()
        );
        let bytes = resp.bytes().await.unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    }
}

/// A message as it arrived: when, its headers and its body.
type Arrival = (Instant, HeaderMap, Bytes);

/// Where payments' arrivals are awaited: the waiter of a payment id gets the instant its
/// message arrived.
#[derive(Clone, Default)]
struct Arrivals {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Arrival>>>>,
}

impl Arrivals {
    fn expect(&self, id: &str) -> oneshot::Receiver<Arrival> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id.to_owned(), tx);
        rx
    }

    /// An in-process receiver at `http://127.0.0.1:<port>/in` answering 204; `id_of` picks
    /// the awaited payment id out of a body (or `None` for a message nobody awaits).
    async fn serve(&self, id_of: fn(&Value) -> Option<String>) -> String {
        let state = self.clone();
        let app = axum::Router::new().route(
            "/in",
            post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let at = Instant::now();
                    let id = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .as_ref()
                        .and_then(id_of);
                    if let Some(id) = id {
                        if let Some(tx) = state.waiting.lock().unwrap().remove(&id) {
                            let _ = tx.send((at, headers, body));
                        }
                    }
                    http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/in", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

/// hanpay's event for a payment becoming paid.
fn paid_event(event: &Value) -> Option<String> {
    (event["type"] == "payment.paid").then(|| event["payment_key"].as_str().map(str::to_owned))?
}

/// PortOne's webhook for a payment becoming paid.
fn paid_webhook(hook: &Value) -> Option<String> {
    (hook["type"] == "Transaction.Paid")
        .then(|| hook["data"]["paymentId"].as_str().map(str::to_owned))?
}

/// A webhook-in → event-out path: pay at `fake`, wait at `arrivals`.
struct Flow {
    fake: FakePortOne,
    arrivals: Arrivals,
    prefix: &'static str,
    next: AtomicU64,
    /// Whether an outbox worker's poll is on the way (the pause of [`Flow::once`]).
    polled: bool,
}

impl Flow {
    /// After a pause drawn uniformly from 0 to 1.1 × [`POLL`] (when `polled`), pays a fresh payment and returns
    /// the time until its message arrived. The pause puts the payment at a random point of the
    /// outbox worker's cycle, as a real webhook is: back to back, every payment would land just
    /// after a round and wait a whole interval.
    async fn once(&self) -> (Duration, HeaderMap, Bytes) {
        if self.polled {
            let span = POLL.as_micros() * 11 / 10;
            let pause = uuid::Uuid::new_v4().as_u128() % span;
            tokio::time::sleep(Duration::from_micros(u64::try_from(pause).unwrap())).await;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench-{}-{n:08}", self.prefix);
        let arrived = self.arrivals.expect(&id);
        let started = Instant::now();
        self.fake
            .pay(&id, 15_000, "KRW", "벤치 주문", PayMethod::Card)
            .unwrap();
        let (at, headers, body) = tokio::time::timeout(Duration::from_secs(30), arrived)
            .await
            .unwrap_or_else(|_| panic!("{id}: nothing arrived in 30 s"))
            .unwrap();
        (at.duration_since(started), headers, body)
    }
}

/// Everything the bench runs against.
struct Setup {
    _toss: FakeToss,
    child: tokio::process::Child,
    dir: PathBuf,
    serve: Arc<Lookup>,
    direct: Arc<Lookup>,
    through_serve: Flow,
    straight: Flow,
}

/// The fakes, the receivers and a `hanpay-server` child (`hanpay serve`) on 127.0.0.1:0 over a temporary SQLite
/// file, with one Toss payment confirmed through it.
async fn setup() -> Setup {
    let toss = FakeToss::start().await.unwrap();
    let portone = FakePortOne::builder()
        .webhook_secret(PORTONE_SECRET)
        .start()
        .await
        .unwrap();
    let events = Arrivals::default();
    let events_url = events.serve(paid_event).await;

    let dir = std::env::temp_dir().join(format!("hanpay-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut env: HashMap<String, String> = RunningFake::env(&toss)
        .into_iter()
        .chain(RunningFake::env(&portone))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (k, v) in [
        ("HANPAY_PROVIDER", "tosspayments".to_owned()),
        (
            "HANPAY_DATABASE_URL",
            format!("sqlite://{}", dir.join("hanpay.db").display()),
        ),
        ("HANPAY_API_KEYS", API_KEY.to_owned()),
        ("HANPAY_EVENTS_URL", events_url),
        ("HANPAY_EVENTS_SECRET", EVENTS_SECRET.to_owned()),
        ("PORTONE_WEBHOOK_SECRET", PORTONE_SECRET.to_owned()),
        (
            "PORTONE_WEBHOOK_ALLOWLIST",
            "127.0.0.1/32,::1/128".to_owned(),
        ),
    ] {
        env.insert(k.to_owned(), v);
    }
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hanpay-server"))
        .args(["--listen", "127.0.0.1:0"])
        .env_clear()
        .envs(&env)
        // The JSON logs are written, as in production, and dropped.
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("hanpay serve listening on http://") {
                return addr.trim().to_owned();
            }
            eprintln!("hanpay serve: {line}");
        }
        panic!("hanpay serve exited before listening");
    })
    .await
    .expect("hanpay serve did not start in 60 s");
    // Keep the pipe drained so that the child never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    let base = format!("http://{addr}");
    portone.add_webhook_url(format!("{base}/webhooks/portone"));

    // A paid Toss payment, confirmed through serve.
    let http = reqwest::Client::new();
    let key = toss
        .create_session("bench-order-0001", 15_000, SessionMethod::Card)
        .unwrap();
    let confirmed = http
        .post(format!("{base}/v1/payments/confirm"))
        .bearer_auth(API_KEY)
        .json(&serde_json::json!({
            "payment_key": key, "order_id": "bench-order-0001", "amount": 15000
        }))
        .send()
        .await
        .unwrap();
    assert!(confirmed.status().is_success(), "{}", confirmed.status());

    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
    let serve = Lookup {
        http: reqwest::Client::new(),
        url: format!("{base}/v1/payments/tosspayments/{key}"),
        auth: HeaderValue::from_str(&format!("Bearer {API_KEY}")).unwrap(),
    };
    let direct = Lookup {
        http: reqwest::Client::new(),
        url: format!("{}/v1/payments/{key}", toss.base_url()),
        auth: HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    };

    // The baseline: a second fake PortOne whose webhooks go straight to a receiver.
    let hooks = Arrivals::default();
    let hooks_url = hooks.serve(paid_webhook).await;
    let straight_fake = FakePortOne::builder()
        .webhook_secret(PORTONE_SECRET)
        .webhook_url(hooks_url)
        .start()
        .await
        .unwrap();
    Setup {
        _toss: toss,
        child,
        dir,
        serve: Arc::new(serve),
        direct: Arc::new(direct),
        through_serve: Flow {
            fake: portone,
            arrivals: events,
            prefix: "serve",
            next: AtomicU64::new(0),
            polled: true,
        },
        straight: Flow {
            fake: straight_fake,
            arrivals: hooks,
            prefix: "direct",
            next: AtomicU64::new(0),
            polled: false,
        },
    }
}

/// Runs `iters` calls of `call`, `IN_FLIGHT` at a time, and returns the wall time.
async fn in_flight<F, Fut>(iters: u64, call: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let left = Arc::new(AtomicU64::new(iters));
    let started = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let left = left.clone();
            let call = call.clone();
            tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok()
                {
                    call().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    started.elapsed()
}

fn many(lookup: &Arc<Lookup>, iters: u64) -> impl Future<Output = Duration> {
    let lookup = lookup.clone();
    in_flight(iters, move || {
        let lookup = lookup.clone();
        async move {
            black_box(lookup.get().await);
        }
    })
}

fn serve_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut s = rt.block_on(setup());

    // Both sides must answer the same payment before anything is timed.
    let (via, direct) = rt.block_on(async { (s.serve.get().await, s.direct.get().await) });
    assert_eq!(via["status"], "PAID", "{via}");
    assert_eq!(direct["status"], "DONE", "{direct}");
    lookup_sequential(c, &rt, &s);
    lookup_concurrent(c, &rt, &s);
    paired_lookups(&rt, &s);

    // The event is hanpay's, signed for the application; the webhook is PortOne's.
    let (_, headers, body) = rt.block_on(s.through_serve.once());
    StandardWebhooks::new([EVENTS_SECRET])
        .unwrap()
        .verify(&headers, &body, time::OffsetDateTime::now_utc())
        .expect("the event verifies with the application's secret");
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["provider"], "portone", "{event}");
    assert_eq!(event["amount"], 15000, "{event}");
    rt.block_on(s.straight.once());
    webhook_to_event(c, &rt, &s);
    paired_webhooks(&rt, &s);

    rt.block_on(async {
        s.child.start_kill().unwrap();
        let _ = s.child.wait().await;
    });
    let _ = std::fs::remove_dir_all(&s.dir);
}

fn lookup_sequential(c: &mut Criterion, rt: &Runtime, s: &Setup) {
    let mut group = c.benchmark_group("serve_lookup_sequential");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, lookup) in [("serve", &s.serve), ("fake_direct", &s.direct)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        black_box(lookup.get().await);
                    }
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn lookup_concurrent(c: &mut Criterion, rt: &Runtime, s: &Setup) {
    let mut group = c.benchmark_group("serve_lookup_32_in_flight");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for (name, lookup) in [("serve", &s.serve), ("fake_direct", &s.direct)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| rt.block_on(many(lookup, iters)))
        });
    }
    group.finish();
}

fn webhook_to_event(c: &mut Criterion, rt: &Runtime, s: &Setup) {
    let mut group = c.benchmark_group("webhook_to_event");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (name, flow) in [
        ("through_serve", &s.through_serve),
        ("fake_direct", &s.straight),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += black_box(flow.once().await).0;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_nanos() as f64 / b.as_nanos().max(1) as f64
}

/// Both lookups interleaved call by call (p50 of each), then in alternating windows of 32 in
/// flight (requests/s of each).
fn paired_lookups(rt: &Runtime, s: &Setup) {
    let (calls, windows) = if measuring() { (600, 12) } else { (4, 2) };
    const PER_WINDOW: u64 = 320;
    let (serve, direct) = rt.block_on(async {
        let mut serve = Vec::with_capacity(calls);
        let mut direct = Vec::with_capacity(calls);
        for i in 0..calls {
            for side in [i % 2, 1 - i % 2] {
                let started = Instant::now();
                if side == 0 {
                    black_box(s.serve.get().await);
                    serve.push(started.elapsed());
                } else {
                    black_box(s.direct.get().await);
                    direct.push(started.elapsed());
                }
            }
        }
        (median(serve), median(direct))
    });
    let (mut t_serve, mut t_direct) = (Duration::ZERO, Duration::ZERO);
    for w in 0..windows {
        for side in [w % 2, 1 - w % 2] {
            if side == 0 {
                t_serve += rt.block_on(many(&s.serve, PER_WINDOW));
            } else {
                t_direct += rt.block_on(many(&s.direct, PER_WINDOW));
            }
        }
    }
    let n = (windows * PER_WINDOW) as f64;
    let (rps_serve, rps_direct) = (n / t_serve.as_secs_f64(), n / t_direct.as_secs_f64());
    println!(
        "paired: lookup: p50 through serve {serve:.1?} vs fake direct {direct:.1?} = {:.2}x; \
         32 in flight {rps_serve:.0} vs {rps_direct:.0} requests/s = {:.2}x",
        ratio(serve, direct),
        rps_serve / rps_direct,
    );
}

/// Both webhook paths interleaved payment by payment: p50 and fastest of each.
fn paired_webhooks(rt: &Runtime, s: &Setup) {
    let rounds = if measuring() { 30 } else { 2 };
    let (mut serve, mut direct) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for i in 0..rounds {
            for side in [i % 2, 1 - i % 2] {
                if side == 0 {
                    serve.push(s.through_serve.once().await.0);
                } else {
                    direct.push(s.straight.once().await.0);
                }
            }
        }
    });
    let (min_serve, min_direct) = (serve.iter().min().copied(), direct.iter().min().copied());
    let (min_serve, min_direct) = (
        min_serve.unwrap_or_default(),
        min_direct.unwrap_or_default(),
    );
    let (serve, direct) = (median(serve), median(direct));
    println!(
        "paired: webhook_to_event: p50 pay → event through serve {serve:.1?} vs pay → webhook \
         direct {direct:.1?} = {:.1}x (fastest {min_serve:.1?} vs {min_direct:.1?} = {:.1}x)",
        ratio(serve, direct),
        ratio(min_serve, min_direct),
    );
}

criterion_group!(benches, serve_overhead);
criterion_main!(benches);
