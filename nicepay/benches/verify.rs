//! What NICEPAY's two hot paths cost against their floor, measured side by side in one run:
//!
//! - `nicepay_webhook_verify`: `NicePayWebhookVerifier::verify` of signed notifications (a card
//!   payment, a virtual account issued, a partial cancel) vs the floor of any verifier: one JSON pass over the body (serde_json into `IgnoredAny`)
//!   plus the one SHA-256 the signature needs (`tid ‖ amount ‖ ediDate ‖ key`).
//! - `nicepay_payment_answer`: what the client makes of a `"0000"` Payment answer: the result
//!   header parsed and then the Payment parsed again (`two_pass`, the old client), and
//!   `payment_from_answer` (the client now) vs `payment_from_bytes` alone
//!   (`one_parse`: one parse into the wire type plus the mapping, the floor).
//!
//! Run with `cargo bench -p hanpay-nicepay --bench verify -- --warm-up-time 1
//! --measurement-time 3`. On a shared machine the load changes between two criterion
//! benchmarks, so each group also prints a `paired:` line, measured with the sides interleaved
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

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hanpay_core::{WebhookRequest, WebhookVerifier};
use hanpay_nicepay::{mapping, webhook_signature, wire, NicePayWebhookVerifier};
use http::HeaderMap;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

const KEY: &str = "9eb85607103646da9f9c02b128f2e5ee";
const TID: &str = "UT0000113m01012111051714341073";
const EDI: &str = "2021-11-05T17:14:35.150+0900";

/// The notifications NICEPAY sends (the Payment object, signed): a card payment (about 1 KiB,
/// `vbank` and `cancels` null), a virtual account issued (`vbank{}`), and a card's second
/// partial cancel (`cancels[]` of two).
fn notifications() -> Vec<(&'static str, Bytes)> {
    let signature = webhook_signature(TID, 1004, EDI, KEY);
    let card = format!(
        r#"{{"resultCode":"0000","resultMsg":"정상 처리되었습니다.","tid":"{TID}","cancelledTid":null,"orderId":"c74a5960-830b-4cd8-82a9-fa1ce739a18f","ediDate":"{EDI}","signature":"{signature}","status":"paid","paidAt":"2021-11-05T17:14:35.000+0900","failedAt":"0","cancelledAt":"0","payMethod":"card","amount":1004,"balanceAmt":1004,"goodsName":"나이스페이-상품","mallReserved":null,"useEscrow":false,"currency":"KRW","channel":"pc","approveNo":"000000","buyerName":null,"buyerTel":null,"buyerEmail":null,"receiptUrl":"https://npg.nicepay.co.kr/issue/IssueLoader.do?type=0&innerWin=Y&TID={TID}","mallUserId":null,"issuedCashReceipt":false,"coupon":null,"card":{{"cardCode":"04","cardName":"삼성","cardNum":"123412******1234","cardQuota":0,"isInterestFree":false,"cardType":"credit","canPartCancel":true,"acquCardCode":"04","acquCardName":"삼성"}},"vbank":null,"cancels":null,"cashReceipts":null}}"#
    );
    let vbank = format!(
        r#"{{"resultCode":"0000","resultMsg":"정상 처리되었습니다.","tid":"{TID}","cancelledTid":null,"orderId":"order-vbank-0001","ediDate":"{EDI}","signature":"{signature}","status":"ready","paidAt":"0","failedAt":"0","cancelledAt":"0","payMethod":"vbank","amount":1004,"balanceAmt":1004,"goodsName":"책","currency":"KRW","channel":"pc","approveNo":null,"card":null,"vbank":{{"vbankCode":"088","vbankName":"신한","vbankNumber":"56490000000001","vbankExpDate":"2021-11-06T23:59:59.000+0900","vbankHolder":"홍길동"}},"cancels":null,"cashReceipts":null}}"#
    );
    let cancel = format!(
        r#"{{"resultCode":"0000","resultMsg":"정상 처리되었습니다.","tid":"{TID}","cancelledTid":"UT0000113m01012111051720000002","orderId":"c74a5960-830b-4cd8-82a9-fa1ce739a18f","ediDate":"{EDI}","signature":"{signature}","status":"partialCancelled","paidAt":"2021-11-05T17:14:35.000+0900","failedAt":"0","cancelledAt":"2021-11-05T18:10:00.000+0900","payMethod":"card","amount":1004,"balanceAmt":304,"goodsName":"나이스페이-상품","currency":"KRW","channel":"pc","approveNo":"000000","card":{{"cardCode":"04","cardName":"삼성","cardNum":"123412******1234","cardQuota":"03","isInterestFree":false,"cardType":"credit","canPartCancel":"true","acquCardCode":"04","acquCardName":"삼성"}},"vbank":null,"cancels":[{{"tid":"UT0000113m01012111051720000001","amount":500,"cancelledAt":"2021-11-05T18:00:00.000+0900","reason":"고객 변심","receiptUrl":"https://npg.nicepay.co.kr/issue/IssueLoader.do?TID=UT0000113m01012111051720000001","couponAmt":0}},{{"tid":"UT0000113m01012111051720000002","amount":200,"cancelledAt":"2021-11-05T18:10:00.000+0900","reason":"부분 취소","receiptUrl":"https://npg.nicepay.co.kr/issue/IssueLoader.do?TID=UT0000113m01012111051720000002","couponAmt":0}}],"cashReceipts":null}}"#
    );
    vec![
        ("card", Bytes::from(card)),
        ("vbank", Bytes::from(vbank)),
        ("cancel", Bytes::from(cancel)),
    ]
}

/// A `"0000"` answer of a partial cancel: card, one `cancels[]` entry.
fn answer() -> Bytes {
    Bytes::from_static(include_bytes!("../tests/fixtures/partial_cancel.json"))
}

/// The floor of a verifier: one JSON pass over the body and the signature's one SHA-256.
fn floor(body: &[u8]) {
    let text = std::str::from_utf8(body).unwrap();
    black_box(serde_json::from_str::<IgnoredAny>(text).unwrap());
    let mut h = Sha256::new();
    h.update(TID.as_bytes());
    h.update(b"1004");
    h.update(EDI.as_bytes());
    h.update(KEY.as_bytes());
    black_box(h.finalize());
}

/// The old client: the whole body read as the result header, then parsed again as a Payment.
fn two_pass(body: &Bytes) -> hanpay_core::Payment {
    let text = String::from_utf8_lossy(body);
    let header: wire::ResultHeader = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(header.result_code.as_deref(), Some(mapping::SUCCESS));
    mapping::payment_from_bytes(body.clone()).unwrap()
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
fn paired(sides: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    const ROUNDS: usize = 4000;
    const BATCH: u32 = 8;
    let n = sides.len();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); n];
    for round in 0..ROUNDS {
        for k in 0..n {
            let side = (round + k) % n;
            let started = Instant::now();
            for _ in 0..BATCH {
                (sides[side])();
            }
            samples[side].push(started.elapsed() / BATCH);
        }
    }
    samples.into_iter().map(median).collect()
}

fn webhook_verify(c: &mut Criterion) {
    let verifier = NicePayWebhookVerifier::builder(KEY)
        .without_allowlist()
        .build()
        .unwrap();
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("nicepay_webhook_verify");
    for (name, body) in notifications() {
        let request = WebhookRequest::new(&headers, body.clone());
        let event = verifier.verify(&request).unwrap();
        assert_eq!(event.payment_key.as_deref(), Some(TID));
        group.bench_with_input(BenchmarkId::new("verify", name), &request, |b, req| {
            b.iter(|| verifier.verify(black_box(req)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("floor", name), &body, |b, body| {
            b.iter(|| floor(black_box(body)))
        });
        let times = paired(&mut [
            &mut || drop(black_box(verifier.verify(black_box(&request)).unwrap())),
            &mut || floor(black_box(&body)),
        ]);
        println!(
            "paired: nicepay_webhook_verify/{name} ({}B): verify {:.2?} vs floor (one JSON pass + one SHA-256) {:.2?} = {:.2}x",
            body.len(),
            times[0],
            times[1],
            ratio(times[0], times[1]),
        );
    }
    group.finish();
}

fn payment_answer(c: &mut Criterion) {
    let body = answer();
    let one = mapping::payment_from_bytes(body.clone()).unwrap();
    assert_eq!(two_pass(&body).payment_key, one.payment_key);
    let read =
        |body: &Bytes| hanpay_nicepay::payment_from_answer("cancel", 200, body.clone()).unwrap();
    assert_eq!(read(&body).payment_key, one.payment_key);

    let mut group = c.benchmark_group("nicepay_payment_answer");
    group.bench_function("two_pass", |b| b.iter(|| two_pass(black_box(&body))));
    group.bench_function("payment_from_answer", |b| b.iter(|| read(black_box(&body))));
    group.bench_function("one_parse", |b| {
        b.iter(|| mapping::payment_from_bytes(black_box(body.clone())).unwrap())
    });
    group.finish();

    let times = paired(&mut [
        &mut || drop(black_box(two_pass(black_box(&body)))),
        &mut || drop(black_box(read(black_box(&body)))),
        &mut || {
            drop(black_box(
                mapping::payment_from_bytes(black_box(body.clone())).unwrap(),
            ))
        },
    ]);
    println!(
        "paired: nicepay_payment_answer/{}B: two_pass {:.2?}, payment_from_answer {:.2?} vs one_parse {:.2?} = {:.2}x, {:.2}x",
        body.len(),
        times[0],
        times[1],
        times[2],
        ratio(times[0], times[2]),
        ratio(times[1], times[2]),
    );
}

criterion_group!(benches, webhook_verify, payment_answer);
criterion_main!(benches);
