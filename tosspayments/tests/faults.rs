//! `TossPayments` against `FakeToss` over real HTTP: retries, idempotency, timeouts, wire format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{
    CancelRequest, ConfirmRequest, ErrorKind, Money, PaymentProvider, PaymentStatus, RetryPolicy,
};
use hanpay_tosspayments::{Timeouts, TossPayments};
use hanpay_tosspayments_fake::{FakeToss, Fault, SessionMethod};
use reset_proxy::{Forward, ResetProxy};

mod reset_proxy;

fn client(fake: &FakeToss) -> TossPayments {
    TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(fake.base_url())
        .retry_policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(20)))
        .build()
        .unwrap()
}

async fn paid(fake: &FakeToss, toss: &TossPayments, order: &str, amount: i64) -> String {
    let key = fake
        .create_session(order, amount, SessionMethod::Card)
        .unwrap();
    let p = toss
        .confirm(&ConfirmRequest::new(key.clone(), order, Money::krw(amount)))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    key
}

fn cancel_posts(fake: &FakeToss, key: &str) -> Vec<hanpay_tosspayments_fake::RecordedRequest> {
    let path = format!("/v1/payments/{key}/cancel");
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

#[tokio::test]
async fn transient_500_then_success_cancels_once_with_the_same_key() {
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    let key = paid(&fake, &toss, "order-fault-500", 20_000).await;
    fake.fail_next(Fault::new(500, "FAILED_INTERNAL_SYSTEM_PROCESSING").on_path("/cancel"));
    let p = toss
        .cancel(&CancelRequest::partial(
            &key,
            "고객 변심",
            Money::krw(5_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(p.cancellations.len(), 1);
    assert_eq!(p.balance, Money::krw(15_000));
    let posts = cancel_posts(&fake, &key);
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].status, 500);
    assert_eq!(posts[1].status, 200);
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    // The amount went out as a JSON integer.
    assert!(
        posts[1].body.contains(r#""cancelAmount":5000"#),
        "{}",
        posts[1].body
    );
    let after = toss.payment(&key).await.unwrap();
    assert_eq!(after.cancellations.len(), 1);
}

#[tokio::test]
async fn replayed_error_is_queried_before_a_new_key() {
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    let key = paid(&fake, &toss, "order-fault-replay", 20_000).await;
    // Toss binds the error to the key and replays it: the same key can never succeed.
    fake.fail_next(
        Fault::new(500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
            .on_path("/cancel")
            .replayed(),
    );
    let p = toss
        .cancel(&CancelRequest::full(&key, "고객 변심").idempotency_key("cancel-replay-1"))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(p.cancellations.len(), 1);
    let posts = cancel_posts(&fake, &key);
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert_eq!(posts[0].idempotency_key.as_deref(), Some("cancel-replay-1"));
    assert_eq!(posts[1].idempotency_key.as_deref(), Some("cancel-replay-1"));
    assert!(posts[1].replayed);
    assert_ne!(posts[2].idempotency_key.as_deref(), Some("cancel-replay-1"));
    // Between the replay and the new key, the payment was looked up.
    let all = fake.requests();
    let replay_at = all.iter().position(|r| r.replayed).unwrap();
    let new_key_at = all
        .iter()
        .rposition(|r| r.path.ends_with("/cancel"))
        .unwrap();
    assert!(all[replay_at..new_key_at]
        .iter()
        .any(|r| r.method == "GET" && r.path == format!("/v1/payments/{key}")));
    assert_eq!(toss.payment(&key).await.unwrap().cancellations.len(), 1);
}

/// A client with a short money-call timeout, fast deterministic backoff, and 3 attempts.
fn impatient_client(base_url: String) -> TossPayments {
    TossPayments::builder(FakeToss::SECRET_KEY)
        .base_url(base_url)
        .timeouts(Timeouts::default().payment(Duration::from_millis(300)))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10))
                .with_jitter(false),
        )
        .build()
        .unwrap()
}

fn confirm_posts(fake: &FakeToss) -> Vec<hanpay_tosspayments_fake::RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payments/confirm")
        .collect()
}

#[tokio::test]
async fn cancel_held_past_the_timeout_is_retried_with_the_same_key_and_cancels_once() {
    let fake = FakeToss::start().await.unwrap();
    let toss = impatient_client(fake.base_url());
    let key = paid(&fake, &toss, "order-fault-slow", 30_000).await;
    // The cancel happens at once; only its answer is late, far past the client's timeout.
    fake.delay_next(Duration::from_secs(30), 1, Some("/cancel"));
    let p = toss
        .cancel(&CancelRequest::full(&key, "고객 변심"))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(p.cancellations.len(), 1);
    let posts = cancel_posts(&fake, &key);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    assert!(posts[1].replayed, "the retry got the first cancel's answer");
    assert_eq!(toss.payment(&key).await.unwrap().cancellations.len(), 1);
}

#[tokio::test]
async fn confirm_held_past_the_timeout_is_retried_and_confirms_once() {
    let fake = FakeToss::start().await.unwrap();
    let toss = impatient_client(fake.base_url());
    let key = fake
        .create_session("order-slow-confirm", 9_900, SessionMethod::Card)
        .unwrap();
    fake.delay_next(Duration::from_secs(30), 1, Some("/confirm"));
    let p = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-slow-confirm",
            Money::krw(9_900),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    let posts = confirm_posts(&fake);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    assert!(posts[1].replayed);
}

#[tokio::test]
async fn outcome_unknown_only_when_every_attempt_goes_unanswered() {
    let fake = FakeToss::start().await.unwrap();
    let toss = impatient_client(fake.base_url());
    let key = paid(&fake, &toss, "order-fault-dead", 30_000).await;
    fake.delay_next(Duration::from_secs(30), 3, Some("/cancel"));
    let err = toss
        .cancel(&CancelRequest::full(&key, "고객 변심"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.idempotency_key().is_some());
    let posts = cancel_posts(&fake, &key);
    assert_eq!(posts.len(), 3, "bounded: {posts:?}");
    assert!(posts
        .iter()
        .all(|r| r.idempotency_key == posts[0].idempotency_key));
    // The first attempt took effect; the retries only replayed it: never a second cancel.
    let truth = toss.payment(&key).await.unwrap();
    assert_eq!(truth.status, PaymentStatus::Canceled);
    assert_eq!(truth.cancellations.len(), 1);

    // Confirm too.
    let key = fake
        .create_session("order-dead-confirm", 9_900, SessionMethod::Card)
        .unwrap();
    fake.delay_next(Duration::from_secs(30), 3, Some("/confirm"));
    let err = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-dead-confirm",
            Money::krw(9_900),
        ))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    let by_order = toss
        .payment_by_order_id("order-dead-confirm")
        .await
        .unwrap();
    assert_eq!(by_order.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn a_gateway_error_after_a_lost_answer_is_still_outcome_unknown() {
    let fake = FakeToss::start().await.unwrap();
    let toss = impatient_client(fake.base_url());
    let key = paid(&fake, &toss, "order-fault-mixed", 30_000).await;
    // The first attempt's answer (a gateway error) is held past the timeout, so the client
    // cannot know whether Toss processed it; the retries meet gateway errors before Toss's
    // idempotency layer, which say nothing about the first.
    fake.delay_next(Duration::from_secs(30), 1, Some("/cancel"));
    // (Two different answers: the same one twice would read as Toss replaying a bound error.)
    fake.fail_next(
        Fault::new(502, "")
            .message("bad gateway")
            .on_path("/cancel")
            .times(2),
    );
    fake.fail_next(
        Fault::new(502, "")
            .message("upstream reset")
            .on_path("/cancel"),
    );
    let err = toss
        .cancel(&CancelRequest::full(&key, "고객 변심"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(cancel_posts(&fake, &key).len(), 3);
    assert!(toss.payment(&key).await.unwrap().cancellations.is_empty());
}

#[tokio::test]
async fn connection_reset_after_processing_is_retried_and_cancels_once() {
    let fake = FakeToss::start().await.unwrap();
    let proxy = ResetProxy::start(fake.addr()).await;
    let toss = impatient_client(proxy.base_url());
    let key = paid(&fake, &toss, "order-reset-after", 20_000).await;
    proxy.reset_next("/cancel", 1, Forward::Yes);
    let p = toss
        .cancel(&CancelRequest::partial(
            &key,
            "고객 변심",
            Money::krw(5_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(p.cancellations.len(), 1);
    let posts = cancel_posts(&fake, &key);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    assert!(posts[1].replayed);
    assert_eq!(proxy.resets(), 1);
    assert_eq!(
        toss.payment(&key).await.unwrap().balance,
        Money::krw(15_000)
    );
}

#[tokio::test]
async fn connection_reset_before_processing_is_retried_and_confirms_once() {
    let fake = FakeToss::start().await.unwrap();
    let proxy = ResetProxy::start(fake.addr()).await;
    let toss = impatient_client(proxy.base_url());
    let key = fake
        .create_session("order-reset-before", 9_900, SessionMethod::Card)
        .unwrap();
    proxy.reset_next("/confirm", 2, Forward::No);
    let p = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-reset-before",
            Money::krw(9_900),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(proxy.resets(), 2);
    // Only the third attempt reached Toss.
    let posts = confirm_posts(&fake);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(!posts[0].replayed);
}

#[tokio::test]
async fn resets_and_held_answers_never_surface_when_a_retry_gets_through() {
    let fake = FakeToss::start().await.unwrap();
    let proxy = ResetProxy::start(fake.addr()).await;
    let toss = impatient_client(proxy.base_url());
    let mut unknown = 0;
    for i in 0..12 {
        let order = format!("order-soak-{i:02}");
        let key = fake
            .create_session(&order, 10_000, SessionMethod::Card)
            .unwrap();
        // Each operation's first one or two attempts fail, in turn: reset before Toss saw it,
        // reset after it was processed, answer held past the timeout.
        let faults = 1 + u32::from(i % 2 == 1);
        for (path, n) in [("/confirm", i), ("/cancel", i + 1)] {
            match n % 3 {
                0 => proxy.reset_next(path, faults, Forward::No),
                1 => proxy.reset_next(path, faults, Forward::Yes),
                _ => fake.delay_next(Duration::from_secs(30), faults, Some(path)),
            }
        }
        match toss
            .confirm(&ConfirmRequest::new(&key, &order, Money::krw(10_000)))
            .await
        {
            Ok(p) => assert_eq!(p.status, PaymentStatus::Paid),
            Err(e) if e.is_outcome_unknown() => unknown += 1,
            Err(e) => panic!("{order}: {e}"),
        }
        match toss.cancel(&CancelRequest::full(&key, "고객 변심")).await {
            Ok(p) => assert_eq!(p.cancellations.len(), 1),
            Err(e) if e.is_outcome_unknown() => unknown += 1,
            Err(e) => panic!("{order}: {e}"),
        }
        assert_eq!(toss.payment(&key).await.unwrap().cancellations.len(), 1);
    }
    assert_eq!(unknown, 0);
}

#[tokio::test]
async fn korean_error_message_survives_a_wrong_charset_header() {
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    fake.set_content_type(Some("application/json;charset=ISO-8859-1"));
    let err = toss.payment("tfake-no-such-payment").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let pg = err.pg().unwrap();
    assert_eq!(pg.code, "NOT_FOUND_PAYMENT");
    assert_eq!(pg.message, "존재하지 않는 결제 정보 입니다.");
    assert_eq!(pg.http_status, Some(404));
}

#[tokio::test]
async fn consecutive_cancels_back_off_at_least_a_second() {
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    let key = paid(&fake, &toss, "order-consecutive", 10_000).await;
    toss.cancel(&CancelRequest::partial(&key, "1", Money::krw(1_000)))
        .await
        .unwrap();
    let p = toss
        .cancel(&CancelRequest::partial(&key, "2", Money::krw(1_000)))
        .await
        .unwrap();
    assert_eq!(p.cancellations.len(), 2);
    assert_eq!(p.balance, Money::krw(8_000));
    let posts = cancel_posts(&fake, &key);
    let codes: Vec<_> = posts.iter().map(|r| r.code.clone()).collect();
    assert!(
        codes.contains(&Some("FORBIDDEN_CONSECUTIVE_REQUEST".into())),
        "{codes:?}"
    );
}

#[tokio::test]
async fn expired_session_and_amount_mismatch() {
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    let key = fake
        .create_session("order-expire-1", 5_000, SessionMethod::Card)
        .unwrap();
    let err = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-expire-1",
            Money::krw(4_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    fake.expire_session(&key).unwrap();
    let err = toss
        .confirm(&ConfirmRequest::new(
            &key,
            "order-expire-1",
            Money::krw(5_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    assert_eq!(err.pg().unwrap().code, "NOT_FOUND_PAYMENT_SESSION");
    let p = toss.payment(&key).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Expired);
    assert_eq!(p.failure.unwrap().code, "EXPIRED_PAYMENT");
    // Nothing was ever confirmed.
    assert!(fake
        .requests()
        .iter()
        .all(|r| !(r.path.ends_with("/confirm") && r.status == 200)));
}

#[tokio::test]
async fn fake_checks_basic_auth_and_replays_idempotent_posts() {
    let fake = FakeToss::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/payments/confirm", fake.base_url());
    use base64::Engine as _;
    let no_colon = base64::engine::general_purpose::STANDARD.encode(FakeToss::SECRET_KEY);
    let r = http
        .post(&url)
        .header("Authorization", format!("Basic {no_colon}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "INCORRECT_BASIC_AUTH_FORMAT");
    let client_key = base64::engine::general_purpose::STANDARD.encode("test_ck_abc:");
    let r = http
        .post(&url)
        .header("Authorization", format!("Basic {client_key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let good =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
    let key = fake
        .create_session("order-idem-01", 1_000, SessionMethod::Card)
        .unwrap();
    let send = || {
        http.post(&url)
            .header("Authorization", format!("Basic {good}"))
            .header("Idempotency-Key", "idem-1")
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"paymentKey":"{key}","orderId":"order-idem-01","amount":1000}}"#
            ))
            .send()
    };
    let first = send().await.unwrap().bytes().await.unwrap();
    let second = send().await.unwrap().bytes().await.unwrap();
    assert_eq!(first, second, "replays are byte-identical");
    let reqs = fake.requests();
    assert!(reqs.last().unwrap().replayed);
    // A fractional KRW amount is refused.
    let key2 = fake
        .create_session("order-frac-01", 1_000, SessionMethod::Card)
        .unwrap();
    let r = http
        .post(&url)
        .header("Authorization", format!("Basic {good}"))
        .body(format!(
            r#"{{"paymentKey":"{key2}","orderId":"order-frac-01","amount":1000.5}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_REQUEST");
}

/// Amounts past what a JSON number carries exactly (2^53 − 1, Toss documenting no limit of its
/// own) are refused as invalid before any call: no confirm, virtual account, charge or cancel
/// (nor the cancel's lookup) reaches the PG.
#[tokio::test]
async fn over_limit_amounts_are_refused_before_any_request() {
    use hanpay_core::{Bank, BillingChargeRequest, Secret, VirtualAccountRequest};
    let fake = FakeToss::start().await.unwrap();
    let toss = client(&fake);
    let over = Money::krw(hanpay_tosspayments::mapping::MAX_AMOUNT + 1);
    assert_eq!(hanpay_tosspayments::mapping::MAX_AMOUNT, (1i64 << 53) - 1);
    let errors = [
        toss.confirm(&ConfirmRequest::new(
            "tfake-over",
            "order-over-1",
            over.clone(),
        ))
        .await
        .unwrap_err(),
        toss.issue_virtual_account(&VirtualAccountRequest::new(
            over.clone(),
            "order-over-2",
            "큰 주문",
            "김토스",
            Bank::Kookmin,
        ))
        .await
        .unwrap_err(),
        toss.charge_billing_key(&BillingChargeRequest::new(
            Secret::new("billing-key-over"),
            "customer-over",
            over.clone(),
            "order-over-3",
            "구독",
        ))
        .await
        .unwrap_err(),
        toss.cancel(&CancelRequest::partial("tfake-over", "환불", over.clone()))
            .await
            .unwrap_err(),
        toss.cancel(
            &CancelRequest::full("tfake-over", "환불").tax_free_amount(Money::krw(i64::MAX)),
        )
        .await
        .unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    // The limit itself still goes out (and Toss answers for it).
    let at = Money::krw(hanpay_tosspayments::mapping::MAX_AMOUNT);
    let e = toss
        .confirm(&ConfirmRequest::new("tfake-at", "order-at-limit", at))
        .await
        .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert!(!fake.requests().is_empty());
}
