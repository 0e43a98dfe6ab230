//! What hanpay costs on top of the HTTP call and the JSON parse it cannot avoid, measured side
//! by side in one run against the testkit's fakes on loopback:
//!
//! - `lookup_sequential/<pg>`: one `payment()` lookup at a time (criterion's median is the p50),
//!   hanpay's client vs a hand-written `reqwest` GET of the same URL with the same auth header
//!   plus `serde_json::from_slice::<serde_json::Value>` of the body;
//! - `lookup_32_in_flight/<pg>`: the same with 32 requests in flight (criterion's throughput is
//!   requests/s);
//! - `toss_webhook_verify`: `TossWebhookVerifier::verify` of a signed `payout.changed` body of
//!   1 KiB and 64 KiB vs the bare HMAC-SHA256 over the same bytes.
//!
//! Run with `cargo bench -p hanpay-testkit --bench client_overhead` and compare the two lines
//! of each group: the ratios are what matters. On a shared machine the load changes between
//! two criterion benchmarks, so each group also prints a `paired:` line, measured with the two
//! sides interleaved (call by call, or batch by batch), whose ratios are steadier.
// Floats here are timing statistics, never money.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic
)]

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hanpay::portone::fake::{FakePortOne, PayMethod};
use hanpay::tosspayments::fake::{FakeToss, SessionMethod};
use hanpay_core::webhook::{hmac_sha256, HmacKeys};
use hanpay_core::{ConfirmRequest, Money, PaymentProvider, WebhookRequest, WebhookVerifier};
use hanpay_portone::PortOne;
use hanpay_tosspayments::{TossPayments, TossWebhookVerifier};
use http::{HeaderMap, HeaderValue};
use tokio::runtime::Runtime;

const IN_FLIGHT: u64 = 32;

/// One PG's lookup, both ways.
struct Pg {
    name: &'static str,
    hanpay: Arc<dyn PaymentProvider>,
    payment_key: String,
    baseline: Arc<Baseline>,
}

/// The hand-written client: a default `reqwest::Client`, the URL, the auth header.
struct Baseline {
    http: reqwest::Client,
    url: String,
    auth: HeaderValue,
}

impl Baseline {
    async fn get(&self) -> serde_json::Value {
        let resp = self
            .http
            .get(&self.url)
            .header(http::header::AUTHORIZATION, self.auth.clone())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let bytes = resp.bytes().await.unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    }
}

async fn toss() -> (FakeToss, Pg) {
    let fake = FakeToss::start().await.unwrap();
    let key = fake
        .create_session("bench-order-0001", 15_000, SessionMethod::Card)
        .unwrap();
    let client = TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    client
        .confirm(&ConfirmRequest::new(
            &key,
            "bench-order-0001",
            Money::krw(15_000),
        ))
        .await
        .unwrap();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
    let baseline = Baseline {
        http: reqwest::Client::new(),
        url: format!("{}/v1/payments/{key}", fake.base_url()),
        auth: HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
    };
    let pg = Pg {
        name: "tosspayments",
        hanpay: Arc::new(client),
        payment_key: key,
        baseline: Arc::new(baseline),
    };
    (fake, pg)
}

async fn portone() -> (FakePortOne, Pg) {
    let fake = FakePortOne::builder().start().await.unwrap();
    let id = "bench-payment-0001";
    fake.pay(id, 15_000, "KRW", "벤치 주문", PayMethod::Card)
        .unwrap();
    let client = PortOne::builder(fake.api_secret())
        .store_id(fake.store_id())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let baseline = Baseline {
        http: reqwest::Client::new(),
        url: format!(
            "{}/payments/{id}?storeId={}",
            fake.base_url(),
            fake.store_id()
        ),
        auth: HeaderValue::from_str(&format!("PortOne {}", fake.api_secret())).unwrap(),
    };
    let pg = Pg {
        name: "portone",
        hanpay: Arc::new(client),
        payment_key: id.to_owned(),
        baseline: Arc::new(baseline),
    };
    (fake, pg)
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

fn lookups(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (fake_toss, toss) = rt.block_on(toss());
    let (fake_portone, portone) = rt.block_on(portone());
    for pg in [&toss, &portone] {
        // Both sides must succeed before anything is timed.
        let p = rt.block_on(pg.hanpay.payment(&pg.payment_key)).unwrap();
        let v = rt.block_on(pg.baseline.get());
        assert!(p.status.is_paid(), "{}: {p:?}", pg.name);
        assert!(v.is_object());
        sequential(c, &rt, pg);
        concurrent(c, &rt, pg);
        paired_lookups(&rt, pg);
    }
    drop((fake_toss, fake_portone));
}

fn sequential(c: &mut Criterion, rt: &Runtime, pg: &Pg) {
    let mut group = c.benchmark_group(format!("lookup_sequential/{}", pg.name));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("hanpay", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(pg.hanpay.payment(&pg.payment_key).await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("reqwest_value", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(pg.baseline.get().await);
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

fn concurrent(c: &mut Criterion, rt: &Runtime, pg: &Pg) {
    let mut group = c.benchmark_group(format!("lookup_32_in_flight/{}", pg.name));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    group.bench_function("hanpay", |b| {
        b.iter_custom(|iters| {
            let client = pg.hanpay.clone();
            let key = pg.payment_key.clone();
            rt.block_on(in_flight(iters, move || {
                let client = client.clone();
                let key = key.clone();
                async move {
                    black_box(client.payment(&key).await.unwrap());
                }
            }))
        })
    });
    group.bench_function("reqwest_value", |b| {
        b.iter_custom(|iters| {
            let baseline = pg.baseline.clone();
            rt.block_on(in_flight(iters, move || {
                let baseline = baseline.clone();
                async move {
                    black_box(baseline.get().await);
                }
            }))
        })
    });
    group.finish();
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_nanos() as f64 / b.as_nanos().max(1) as f64
}

/// Both clients interleaved call by call (p50 of each), then in alternating windows of 32 in
/// flight (requests/s of each).
fn paired_lookups(rt: &Runtime, pg: &Pg) {
    const CALLS: usize = 600;
    const WINDOWS: u64 = 12;
    const PER_WINDOW: u64 = 320;
    let (hanpay, baseline) = rt.block_on(async {
        let mut hanpay = Vec::with_capacity(CALLS);
        let mut baseline = Vec::with_capacity(CALLS);
        for i in 0..CALLS {
            for side in [i % 2, 1 - i % 2] {
                let started = Instant::now();
                if side == 0 {
                    black_box(pg.hanpay.payment(&pg.payment_key).await.unwrap());
                    hanpay.push(started.elapsed());
                } else {
                    black_box(pg.baseline.get().await);
                    baseline.push(started.elapsed());
                }
            }
        }
        (median(hanpay), median(baseline))
    });
    let (mut t_hanpay, mut t_baseline) = (Duration::ZERO, Duration::ZERO);
    for w in 0..WINDOWS {
        for side in [w % 2, 1 - w % 2] {
            if side == 0 {
                let client = pg.hanpay.clone();
                let key = pg.payment_key.clone();
                t_hanpay += rt.block_on(in_flight(PER_WINDOW, move || {
                    let client = client.clone();
                    let key = key.clone();
                    async move {
                        black_box(client.payment(&key).await.unwrap());
                    }
                }));
            } else {
                let baseline = pg.baseline.clone();
                t_baseline += rt.block_on(in_flight(PER_WINDOW, move || {
                    let baseline = baseline.clone();
                    async move {
                        black_box(baseline.get().await);
                    }
                }));
            }
        }
    }
    let n = (WINDOWS * PER_WINDOW) as f64;
    let (rps_hanpay, rps_baseline) = (n / t_hanpay.as_secs_f64(), n / t_baseline.as_secs_f64());
    println!(
        "paired: lookup/{}: p50 hanpay {hanpay:.1?} vs reqwest+Value {baseline:.1?} = {:.2}x; \
         32 in flight {rps_hanpay:.0} vs {rps_baseline:.0} requests/s = {:.2}x",
        pg.name,
        ratio(hanpay, baseline),
        rps_hanpay / rps_baseline,
    );
}

/// A signed `payout.changed` body of about `size` bytes (the padding is in `metadata`, which
/// hanpay does not read), with its headers.
fn signed_payout(size: usize, key_hex: &str, time: &str) -> (Vec<u8>, HeaderMap) {
    let head = r#"{"eventType":"payout.changed","createdAt":"2024-08-08T10:00:00+09:00","version":"2022-11-16","eventId":"evt_payout_0001","entityType":"payout","entityBody":{"id":"FPA_12345","refPayoutId":"my-payout-1","destination":"seller-1","scheduleType":"SCHEDULED","payoutDate":"2024-08-08","amount":{"currency":"KRW","value":5000.0},"transactionDescription":"8월대금지급","requestedAt":"2024-08-07T22:00:00+09:00","status":"COMPLETED","error":null,"metadata":{"#;
    let mut body = head.to_owned();
    let mut i = 0;
    while body.len() + 40 < size {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("\"key{i:04}\":\"value-{i:04}-정산메모\""));
        i += 1;
    }
    body.push_str("}}}");
    while body.len() < size {
        body.insert(body.len() - 3, ' ');
    }
    let key = hex::decode(key_hex).unwrap();
    let sig = hmac_sha256(&key, &[body.as_bytes(), b":", time.as_bytes()]);
    let mut headers = HeaderMap::new();
    headers.insert(
        "tosspayments-webhook-signature",
        HeaderValue::from_str(&format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(sig)
        ))
        .unwrap(),
    );
    headers.insert(
        "tosspayments-webhook-transmission-time",
        HeaderValue::from_str(time).unwrap(),
    );
    headers.insert(
        "tosspayments-webhook-transmission-id",
        HeaderValue::from_static("wh_bench_0001"),
    );
    (body.into_bytes(), headers)
}

fn toss_webhook_verify(c: &mut Criterion) {
    let key_hex = "7a1c4b9d2e3f40516273849506a7b8c9dae0f1021324354657687a8b9cadbecf";
    let time = "2024-08-08T10:00:01+09:00";
    let verifier = TossWebhookVerifier::builder()
        .security_key(key_hex)
        .without_allowlist()
        .timestamp_tolerance(
            Duration::from_secs(u32::MAX.into()),
            Duration::from_secs(300),
        )
        .build()
        .unwrap();
    // The floor: one HMAC with the key state precomputed, as the verifier holds it.
    let keys = HmacKeys::new([hex::decode(key_hex).unwrap()]).unwrap();
    let mut group = c.benchmark_group("toss_webhook_verify");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(3));
    for size in [1024usize, 64 * 1024] {
        let (body, headers) = signed_payout(size, key_hex, time);
        assert_eq!(body.len(), size);
        let body = bytes::Bytes::from(body);
        let request = WebhookRequest::new(&headers, body.clone());
        let event = verifier.verify(&request).unwrap();
        assert_eq!(event.trust, hanpay_core::Trust::Signed);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("verify", size), &request, |b, req| {
            b.iter(|| verifier.verify(black_box(req)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("bare_hmac", size), &body, |b, body| {
            b.iter(|| keys.sign(0, &[black_box(body), b":", time.as_bytes()]))
        });
        // Interleaved short batches (short, so that preemption on a shared machine rarely
        // lands in one): the median batch of each side. `one JSON pass` is the floor of any
        // decoding: serde_json validating the same bytes into `IgnoredAny`.
        let batch: u32 = if size > 4096 { 1 } else { 8 };
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for round in 0..3000usize {
            for k in 0..3 {
                let side = (round + k) % 3;
                let started = Instant::now();
                for _ in 0..batch {
                    match side {
                        0 => drop(black_box(verifier.verify(black_box(&request)).unwrap())),
                        1 => drop(black_box(
                            keys.sign(0, &[black_box(&body), b":", time.as_bytes()]),
                        )),
                        _ => drop(black_box(
                            serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body))
                                .unwrap(),
                        )),
                    }
                }
                samples[side].push(started.elapsed() / batch);
            }
        }
        let [verify, hmac, json] = samples.map(median);
        println!(
            "paired: toss_webhook_verify/{size}: verify {verify:.2?} vs bare HMAC {hmac:.2?} = {:.2}x \
             (one JSON pass alone {json:.2?}: HMAC + JSON = {:.2}x)",
            ratio(verify, hmac),
            ratio(hmac + json, hmac),
        );
    }
    group.finish();
}

criterion_group!(benches, lookups, toss_webhook_verify);
criterion_main!(benches);
