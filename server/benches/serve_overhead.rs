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
//! - `paired: requests` (a table, no criterion group): lookups over a pool of [`POOL`] paid
//!   payments (`GET /v1/payments/tosspayments/{key}` vs `GET {toss}/v1/payments/{key}`), the
//!   same lookup of one payment (which serve serialises on the payment's lock), and confirms
//!   (`POST /v1/payments/confirm` with an `Idempotency-Key` vs `POST {toss}/v1/payments/confirm`
//!   with the same header; each of a fresh session made before the window), at 8 and 64 in
//!   flight: requests/s, p50 under that load, their ratios, and the CPU time per request of the
//!   serve process and of the bench's own (client and fake), read from `/proc` (Linux).
//!
//! Run with `cargo bench -p hanpay-server --bench serve_overhead` and compare the two lines of each
//! group: the ratios are what matters. Each part also prints a `paired:` line, measured with the
//! two sides interleaved, steadier on a shared machine. Under `cargo test --benches` every
//! routine runs once and the paired lines take a few rounds only. With `SERVE_OVERHEAD=table`
//! only the table runs (`SERVE_OVERHEAD=table cargo bench -p hanpay-server --bench
//! serve_overhead`); `SERVE_OVERHEAD_ROWS=confirm` keeps the rows whose label (`GET      8`, `GET one 64`,
//! `confirm 64`, …) contains the text,
//! and `SERVE_OVERHEAD_WINDOWS=N` measures N windows per side (5 by default), e.g. to profile
//! the server for longer. `RUST_LOG` is passed on to the server (`RUST_LOG=off`: without its
//! JSON logs); `SERVE_OVERHEAD_SERVER=PATH` runs that `hanpay-server` binary instead of this build's
//! (e.g. a copy built from another commit).
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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// Whether only the `paired: requests` table runs (`SERVE_OVERHEAD=table`).
fn table_only() -> bool {
    std::env::var("SERVE_OVERHEAD").is_ok_and(|v| v == "table")
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
    toss: FakeToss,
    child: tokio::process::Child,
    /// The payments of the table's lookups (paid, confirmed through serve).
    pool: Vec<String>,
    base: String,
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
    // The server's log filter, when given (`RUST_LOG=off`: what the JSON logs cost).
    if let Ok(filter) = std::env::var("RUST_LOG") {
        env.insert("RUST_LOG".to_owned(), filter);
    }
    // Another build of the server, to compare two commits in turns on a busy machine.
    let server = std::env::var("SERVE_OVERHEAD_SERVER")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hanpay-server").to_owned());
    let mut child = tokio::process::Command::new(server)
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

    // The table's lookups: more paid payments, each confirmed through serve.
    let mut pool = vec![key.clone()];
    for n in 2..=POOL {
        let order = format!("bench-order-{n:04}");
        let key = toss
            .create_session(&order, 15_000, SessionMethod::Card)
            .unwrap();
        let confirmed = http
            .post(format!("{base}/v1/payments/confirm"))
            .bearer_auth(API_KEY)
            .json(&serde_json::json!({ "payment_key": key, "order_id": order, "amount": 15000 }))
            .send()
            .await
            .unwrap();
        assert!(confirmed.status().is_success(), "{}", confirmed.status());
        pool.push(key);
    }

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
        toss,
        child,
        pool,
        base,
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
    paired_requests(&rt, &s);
    if table_only() {
        rt.block_on(async {
            s.child.start_kill().unwrap();
            let _ = s.child.wait().await;
        });
        let _ = std::fs::remove_dir_all(&s.dir);
        return;
    }
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

/// The in-flight counts of the table.
const TABLE_IN_FLIGHT: [usize; 2] = [8, 64];
/// The payments the table's lookups cycle through: serve looks a payment up under its lock, so
/// 64 lookups of one payment at once measure that lock (the `one payment` row), not serve.
const POOL: usize = 64;
/// The confirms' amount, in won.
const AMOUNT: i64 = 15_000;

/// One side of a row of the table: how to make one call.
enum Side {
    /// Lookups cycling through `urls`.
    Get {
        http: reqwest::Client,
        urls: Vec<String>,
        auth: HeaderValue,
        next: AtomicUsize,
    },
    /// Confirms, each of a session made before the window (`serve`: hanpay's body, else
    /// Toss's).
    Confirm {
        http: reqwest::Client,
        url: String,
        auth: HeaderValue,
        serve: bool,
        sessions: Mutex<Vec<(String, String)>>,
    },
}

impl Side {
    async fn call(&self) {
        let resp = match self {
            Side::Get {
                http,
                urls,
                auth,
                next,
            } => {
                let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                http.get(url)
                    .header(http::header::AUTHORIZATION, auth.clone())
                    .send()
                    .await
                    .unwrap()
            }
            Side::Confirm {
                http,
                url,
                auth,
                serve,
                sessions,
            } => {
                let (key, order) = sessions.lock().unwrap().pop().expect("a session per call");
                let body = if *serve {
                    serde_json::json!({ "payment_key": key, "order_id": order, "amount": AMOUNT })
                } else {
                    serde_json::json!({ "paymentKey": key, "orderId": order, "amount": AMOUNT })
                };
                http.post(url)
                    .header(http::header::AUTHORIZATION, auth.clone())
                    .header("idempotency-key", format!("bench-{order}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        assert!(status.is_success(), "{status}: {bytes:?}");
        black_box(serde_json::from_slice::<Value>(&bytes).unwrap());
    }

    /// Makes the `n` sessions a window of confirms uses (untimed).
    fn prepare(&self, toss: &FakeToss, n: usize, orders: &AtomicU64) {
        if let Side::Confirm { sessions, .. } = self {
            let mut sessions = sessions.lock().unwrap();
            sessions.clear();
            for _ in 0..n {
                let order = format!("bench-c-{:08}", orders.fetch_add(1, Ordering::Relaxed));
                let key = toss
                    .create_session(&order, AMOUNT, SessionMethod::Card)
                    .unwrap();
                sessions.push((key, order));
            }
        }
    }
}

/// `n` calls of `side`, `in_flight` at a time: the wall time and each call's latency.
async fn window(side: &Arc<Side>, in_flight: usize, n: usize) -> (Duration, Vec<Duration>) {
    let left = Arc::new(AtomicUsize::new(n));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let left = left.clone();
            let side = side.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while left
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let at = Instant::now();
                    side.call().await;
                    latencies.push(at.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    (started.elapsed(), latencies)
}

/// The CPU time process `pid` (`None`: this one) has used: the sum over its threads of
/// `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU); `None` where there is no such
/// file.
fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let dir = pid.map_or_else(
        || "/proc/self/task".to_owned(),
        |p| format!("/proc/{p}/task"),
    );
    let mut nanos = 0u64;
    for task in std::fs::read_dir(dir).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

/// What one side of a row measured.
#[derive(Default)]
struct Tally {
    calls: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    /// CPU time of the serve process and of this one.
    cpu_serve: Duration,
    cpu_bench: Duration,
}

impl Tally {
    fn rps(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64()
    }

    fn per_call(&self, cpu: Duration) -> Duration {
        cpu / u32::try_from(self.calls.max(1)).unwrap()
    }
}

/// Runs one window of `side` into `tally`.
fn measure(
    rt: &Runtime,
    s: &Setup,
    side: &Arc<Side>,
    in_flight: usize,
    n: usize,
    tally: &mut Tally,
    orders: &AtomicU64,
) {
    side.prepare(&s.toss, n, orders);
    let pid = s.child.id();
    let (serve0, bench0) = (cpu_time(pid), cpu_time(None));
    let (wall, latencies) = rt.block_on(window(side, in_flight, n));
    let (serve1, bench1) = (cpu_time(pid), cpu_time(None));
    tally.calls += n;
    tally.wall += wall;
    tally.latencies.extend(latencies);
    if let (Some(a), Some(b)) = (serve0, serve1) {
        tally.cpu_serve += b.saturating_sub(a);
    }
    if let (Some(a), Some(b)) = (bench0, bench1) {
        tally.cpu_bench += b.saturating_sub(a);
    }
}

/// The side-by-side table: each row alternates windows of serve and of the fake direct.
fn paired_requests(rt: &Runtime, s: &Setup) {
    let windows = std::env::var("SERVE_OVERHEAD_WINDOWS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(5);
    let (windows, per_flight) = if measuring() { (windows, 20) } else { (1, 1) };
    let only = std::env::var("SERVE_OVERHEAD_ROWS").unwrap_or_default();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
    let bearer = HeaderValue::from_str(&format!("Bearer {API_KEY}")).unwrap();
    let basic = HeaderValue::from_str(&format!("Basic {basic}")).unwrap();
    let get = |urls: Vec<String>, auth: &HeaderValue| {
        Arc::new(Side::Get {
            http: reqwest::Client::new(),
            urls,
            auth: auth.clone(),
            next: AtomicUsize::new(0),
        })
    };
    let confirm = |url: String, auth: &HeaderValue, serve: bool| {
        Arc::new(Side::Confirm {
            http: reqwest::Client::new(),
            url,
            auth: auth.clone(),
            serve,
            sessions: Mutex::new(Vec::new()),
        })
    };
    let serve_urls = |keys: &[String]| {
        keys.iter()
            .map(|k| format!("{}/v1/payments/tosspayments/{k}", s.base))
            .collect::<Vec<_>>()
    };
    let direct_urls = |keys: &[String]| {
        keys.iter()
            .map(|k| format!("{}/v1/payments/{k}", s.toss.base_url()))
            .collect::<Vec<_>>()
    };
    let one = &s.pool[..1];
    let rows: Vec<(&str, usize, Arc<Side>, Arc<Side>)> = TABLE_IN_FLIGHT
        .iter()
        .map(|&f| {
            (
                "GET    ",
                f,
                get(serve_urls(&s.pool), &bearer),
                get(direct_urls(&s.pool), &basic),
            )
        })
        .chain(std::iter::once((
            "GET one",
            64,
            get(serve_urls(one), &bearer),
            get(direct_urls(one), &basic),
        )))
        .chain(TABLE_IN_FLIGHT.iter().map(|&f| {
            (
                "confirm",
                f,
                confirm(format!("{}/v1/payments/confirm", s.base), &bearer, true),
                confirm(
                    format!("{}/v1/payments/confirm", s.toss.base_url()),
                    &basic,
                    false,
                ),
            )
        }))
        .collect();
    let orders = AtomicU64::new(0);
    println!(
        "paired: requests (SQLite, events on; {windows} alternating windows of {per_flight} × in-flight calls per side; \
         CPU per request: serve process + bench process (client and fake))"
    );
    for (what, in_flight, serve, direct) in rows {
        if !format!("{what} {in_flight:>2}").contains(only.as_str()) {
            continue;
        }
        let n = in_flight * per_flight;
        // A window of each, unmeasured: connections, caches.
        measure(rt, s, &serve, in_flight, n, &mut Tally::default(), &orders);
        measure(rt, s, &direct, in_flight, n, &mut Tally::default(), &orders);
        let (mut via, mut straight) = (Tally::default(), Tally::default());
        for w in 0..windows {
            for side in [w % 2, 1 - w % 2] {
                if side == 0 {
                    measure(rt, s, &serve, in_flight, n, &mut via, &orders);
                } else {
                    measure(rt, s, &direct, in_flight, n, &mut straight, &orders);
                }
            }
        }
        let (p50_via, p50_straight) = (
            median(std::mem::take(&mut via.latencies)),
            median(std::mem::take(&mut straight.latencies)),
        );
        let goal = if what.starts_with("confirm") {
            "≥ 0.4x"
        } else {
            "≥ 0.5x"
        };
        println!(
            "paired: {what} {in_flight:>2} in flight: serve {:>6.0} req/s p50 {p50_via:>8.1?} | direct {:>6.0} req/s p50 {p50_straight:>8.1?} \
             | {:.2}x req/s ({goal}), {:.2}x p50 | CPU/req serve {:.0?} + {:.0?} vs direct {:.0?}",
            via.rps(),
            straight.rps(),
            via.rps() / straight.rps(),
            ratio(p50_via, p50_straight),
            via.per_call(via.cpu_serve),
            via.per_call(via.cpu_bench),
            straight.per_call(straight.cpu_bench),
        );
    }
}

criterion_group!(benches, serve_overhead);
criterion_main!(benches);
