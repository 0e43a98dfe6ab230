//! What `TossWebhookVerifier::verify` costs against its floor, measured side by side in one
//! run: a signed `payout.changed` body (it carries an `eventId`) of 1 KiB and 64 KiB vs the
//! bare HMAC-SHA256 of `{body}:{time}` the signature needs (the key state precomputed, as the
//! verifier holds it), and vs that HMAC plus one JSON pass (serde_json into `IgnoredAny`), the
//! floor of any verifier that reads the body. `sha256` is one more pass over the body (what a
//! body digest costs).
//!
//! Run with `cargo bench -p hanpay-tosspayments --bench verify -- --warm-up-time 1
//! --measurement-time 3`. On a shared machine the load changes between two criterion
//! benchmarks, so each size also prints a `paired:` line, measured with the sides interleaved
//! batch by batch (the median batch of each), whose ratios are steadier.
// Floats here are timing statistics, never money.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hanpay_core::webhook::{body_digest, hmac_sha256, HmacKeys};
use hanpay_core::{WebhookRequest, WebhookVerifier};
use hanpay_tosspayments::TossWebhookVerifier;
use http::{HeaderMap, HeaderValue};
use serde::de::IgnoredAny;

const KEY_HEX: &str = "7a1c4b9d2e3f40516273849506a7b8c9dae0f1021324354657687a8b9cadbecf";
const TIME: &str = "2024-08-08T10:00:01+09:00";

/// A signed `payout.changed` body of `size` bytes (the padding is in `metadata`, which hanpay
/// does not read), with its headers.
fn signed_payout(size: usize) -> (Vec<u8>, HeaderMap) {
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
    let key = hex::decode(KEY_HEX).unwrap();
    let sig = hmac_sha256(&key, &[body.as_bytes(), b":", TIME.as_bytes()]);
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
        HeaderValue::from_static(TIME),
    );
    headers.insert(
        "tosspayments-webhook-transmission-id",
        HeaderValue::from_static("wh_bench_0001"),
    );
    (body.into_bytes(), headers)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_nanos() as f64 / b.as_nanos().max(1) as f64
}

/// Runs the sides interleaved in short batches (short, so that preemption on a shared machine
/// rarely lands in one) and returns the median batch of each, per call.
fn paired(rounds: usize, batch: u32, sides: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let n = sides.len();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let side = (round + k) % n;
            let started = Instant::now();
            for _ in 0..batch {
                (sides[side])();
            }
            samples[side].push(started.elapsed() / batch);
        }
    }
    samples.into_iter().map(median).collect()
}

fn toss_webhook_verify(c: &mut Criterion) {
    let verifier = TossWebhookVerifier::builder()
        .security_key(KEY_HEX)
        .without_allowlist()
        .timestamp_tolerance(
            Duration::from_secs(u32::MAX.into()),
            Duration::from_secs(300),
        )
        .build()
        .unwrap();
    let keys = HmacKeys::new([hex::decode(KEY_HEX).unwrap()]).unwrap();
    let mut group = c.benchmark_group("toss_webhook_verify");
    for size in [1024usize, 64 * 1024] {
        let (body, headers) = signed_payout(size);
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
            b.iter(|| keys.sign(0, &[black_box(body), b":", TIME.as_bytes()]))
        });

        let (rounds, batch) = if size > 4096 { (1500, 1) } else { (4000, 8) };
        let times = paired(
            rounds,
            batch,
            &mut [
                &mut || drop(black_box(verifier.verify(black_box(&request)).unwrap())),
                &mut || {
                    black_box(keys.sign(0, &[black_box(&body), b":", TIME.as_bytes()]));
                },
                &mut || {
                    black_box(serde_json::from_slice::<IgnoredAny>(black_box(&body)).unwrap());
                },
                &mut || drop(black_box(body_digest(black_box(&body)))),
            ],
        );
        let [verify, hmac, json, sha] = [times[0], times[1], times[2], times[3]];
        println!(
            "paired: toss_webhook_verify/{size}: verify {verify:.2?} vs bare HMAC {hmac:.2?} = {:.2}x, \
             vs HMAC + one JSON pass ({json:.2?}) = {:.2}x; one body SHA-256 {sha:.2?}",
            ratio(verify, hmac),
            ratio(verify, hmac + json),
        );
    }
    group.finish();
}

criterion_group!(benches, toss_webhook_verify);
criterion_main!(benches);
