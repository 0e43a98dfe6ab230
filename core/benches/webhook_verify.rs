//! Webhook verification cost: Standard Webhooks (PortOne) and HMAC-in-parts (Toss) over
//! payload sizes, valid and invalid signatures, one and two secrets; plus the allowlist check.
//!
//! Run with `cargo bench -p hanpay-core --bench webhook_verify`. Target (webhooks.md §9.2):
//! a 1 KiB Standard Webhooks verify within 2 µs on SHA-NI hardware, and the failure path
//! costing the same as the success path.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hanpay_core::webhook::{hmac_sha256, HmacKeys, IpAllowlist, StandardWebhooks};
use http::HeaderMap;
use time::OffsetDateTime;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const TS: i64 = 1_714_039_200;

fn headers(sw: &StandardWebhooks, body: &[u8], valid: bool) -> HeaderMap {
    let mut sig = sw.sign("msg_bench", TS, body);
    if !valid {
        sig = sig.replace('A', "B").replace('a', "A");
    }
    let mut h = HeaderMap::new();
    h.insert("webhook-id", "msg_bench".parse().unwrap());
    h.insert("webhook-timestamp", TS.to_string().parse().unwrap());
    h.insert("webhook-signature", sig.parse().unwrap());
    h
}

fn standard_webhooks(c: &mut Criterion) {
    let now = OffsetDateTime::from_unix_timestamp(TS).unwrap();
    let one = StandardWebhooks::new([SECRET]).unwrap();
    let two = StandardWebhooks::new([OTHER_SECRET, SECRET]).unwrap();
    let mut group = c.benchmark_group("standard_webhooks_verify");
    for size in [64usize, 1024, 16 * 1024, 64 * 1024] {
        let body = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        let valid = headers(&one, &body, true);
        let invalid = headers(&one, &body, false);
        group.bench_with_input(
            BenchmarkId::new("valid_1_secret", size),
            &body,
            |b, body| b.iter(|| one.verify(black_box(&valid), black_box(body), now).is_ok()),
        );
        group.bench_with_input(
            BenchmarkId::new("invalid_1_secret", size),
            &body,
            |b, body| {
                b.iter(|| {
                    one.verify(black_box(&invalid), black_box(body), now)
                        .is_err()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("valid_2_secrets", size),
            &body,
            |b, body| b.iter(|| two.verify(black_box(&valid), black_box(body), now).is_ok()),
        );
    }
    group.finish();
}

fn hmac_parts(c: &mut Criterion) {
    // Toss: HMAC over `{body}:{transmission-time}` with several candidate signatures.
    let keys = HmacKeys::new([b"security-key-1".as_slice()]).unwrap();
    let time = b"2024-09-05T12:19:21+09:00";
    let mut group = c.benchmark_group("hmac_parts_verify");
    for size in [1024usize, 16 * 1024] {
        let body = vec![b'y'; size];
        let good = hmac_sha256(b"security-key-1", &[&body, b":", time]);
        let candidates = [[1u8; 32], [2u8; 32], good];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("3_candidates", size), &body, |b, body| {
            b.iter(|| keys.find_match(&[black_box(body), b":", time], black_box(&candidates)))
        });
    }
    group.finish();
}

fn allowlist(c: &mut Criterion) {
    let list = IpAllowlist::parse([
        "13.124.18.147",
        "13.124.108.35",
        "3.36.173.151",
        "3.38.81.32",
        "115.92.221.121",
        "115.92.221.122",
        "115.92.221.123",
    ])
    .unwrap()
    .with_trusted_proxies_parsed(["10.0.0.0/8"])
    .unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "x-forwarded-for",
        "198.51.100.1, 115.92.221.123".parse().unwrap(),
    );
    let proxy: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
    c.bench_function("allowlist_check_via_proxy", |b| {
        b.iter(|| list.check(black_box(Some(proxy)), black_box(&h)).is_ok())
    });
}

criterion_group!(benches, standard_webhooks, hmac_parts, allowlist);
criterion_main!(benches);
