//! `NicePay` against `FakeNicePay` over real HTTP: faults (500 before and after processing,
//! lost answers, transient result codes) proving exactly one cancellation and the approve
//! resolution; virtual-account refunds; billing; auth; errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{
    Bank, BillingChargeRequest, CancelRequest, ConfirmRequest, ErrorKind, Money, Payment,
    PaymentProvider, PaymentStatus, RefundAccount, RetryPolicy, Secret,
};
use hanpay_nicepay::{encrypt_enc_data, BillingCard, EncMode, NicePay, Timeouts};
use hanpay_nicepay_fake::{FakeNicePay, Fault, WindowMethod};

/// The client's read timeout in these tests; a held-back answer is longer.
const READ: Duration = Duration::from_millis(300);
const HELD: Duration = Duration::from_millis(1_000);

fn client(fake: &FakeNicePay) -> NicePay {
    NicePay::builder(FakeNicePay::CLIENT_ID, FakeNicePay::SECRET_KEY)
        .base_url(fake.base_url())
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            read: READ,
        })
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_jitter(false),
        )
        .build()
        .unwrap()
}

async fn paid(fake: &FakeNicePay, nice: &NicePay, order_id: &str, amount: i64) -> Payment {
    let auth = fake
        .authenticate(order_id, amount, WindowMethod::Card)
        .unwrap();
    nice.confirm(&ConfirmRequest::new(auth.tid, order_id, Money::krw(amount)))
        .await
        .unwrap()
}

fn cancel_bodies(fake: &FakeNicePay, tid: &str) -> Vec<serde_json::Value> {
    let path = format!("/v1/payments/{tid}/cancel");
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

fn fake_cancels(fake: &FakeNicePay, tid: &str) -> usize {
    fake.payment_json(tid).unwrap()["cancels"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn partial_cancel_after_a_500_before_processing_cancels_once() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-f500-0001", 15_000).await;
    fake.fail_next(Fault::ServerError, Some("/cancel"), 1);
    let after = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "일부",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(after.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(after.balance, Money::krw(11_000));
    assert_eq!(after.cancellations.len(), 1);
    assert_eq!(fake_cancels(&fake, &p.payment_key), 1);
    // Looked up, then re-sent with the same cancel orderId.
    let bodies = cancel_bodies(&fake, &p.payment_key);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["cancelAmt"], 4000);
}

#[tokio::test]
async fn partial_cancel_after_a_500_after_processing_is_not_re_sent() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-f500-0002", 15_000).await;
    fake.fail_next(Fault::ServerErrorAfterProcessing, Some("/cancel"), 1);
    let after = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "일부",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(after.balance, Money::krw(11_000));
    assert_eq!(after.cancellations.len(), 1);
    assert_eq!(
        fake.cancel_requests(&p.payment_key),
        1,
        "the lookup showed it happened"
    );
    assert_eq!(fake_cancels(&fake, &p.payment_key), 1);
}

#[tokio::test]
async fn partial_cancel_with_a_lost_answer_is_not_re_sent() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-lost-0001", 15_000).await;
    fake.fail_next(Fault::DelayResponse(HELD), Some("/cancel"), 1);
    let after = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "일부",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(after.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(after.cancellations.len(), 1);
    assert_eq!(fake.cancel_requests(&p.payment_key), 1);
    assert_eq!(fake_cancels(&fake, &p.payment_key), 1);
}

#[tokio::test]
async fn partial_cancel_with_a_transient_result_code_looks_before_re_sending() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-2000-0001", 15_000).await;
    fake.fail_next(
        Fault::ResultCode {
            code: "2000".into(),
            message: "DB오류".into(),
        },
        Some("/cancel"),
        1,
    );
    let after = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "일부",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(after.cancellations.len(), 1);
    assert_eq!(fake.cancel_requests(&p.payment_key), 2);
    assert_eq!(fake_cancels(&fake, &p.payment_key), 1);
}

#[tokio::test]
async fn cancel_that_stays_unknown_then_a_caller_retry_cancels_once() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-5xx-00001", 15_000).await;
    fake.fail_next(Fault::ServerError, Some("/cancel"), 5);
    let request = CancelRequest::partial(p.payment_key.clone(), "일부", Money::krw(4_000))
        .idempotency_key("refund-order-5xx-00001");
    let err = nice.cancel(&request).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::OutcomeUnknown | ErrorKind::Retryable),
        "{err}"
    );
    assert_eq!(
        fake.cancel_requests(&p.payment_key),
        3,
        "three sends, each after a lookup"
    );
    assert_eq!(fake_cancels(&fake, &p.payment_key), 0);
    // The caller retries with the same key: the same cancel orderId, one cancellation.
    let mut outcome = nice.cancel(&request).await;
    while matches!(&outcome, Err(e) if e.kind() == ErrorKind::OutcomeUnknown || e.kind() == ErrorKind::Retryable)
    {
        outcome = nice.cancel(&request).await;
    }
    let after = outcome.unwrap();
    assert_eq!(after.cancellations.len(), 1);
    assert_eq!(fake_cancels(&fake, &p.payment_key), 1);
    let bodies = cancel_bodies(&fake, &p.payment_key);
    assert!(bodies
        .iter()
        .all(|b| b["orderId"] == "refund-order-5xx-00001"));
}

#[tokio::test]
async fn lost_answer_and_failing_lookups_then_a_caller_retry_gets_the_canceled_payment() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-dup-00001", 15_000).await;
    let tid = p.payment_key.clone();
    let request = CancelRequest::partial(tid.clone(), "일부", Money::krw(4_000))
        .idempotency_key("refund-order-dup-00001");
    // The cancel happens but its answer is lost, and the lookups after it fail.
    fake.fail_next_method("POST", Fault::DelayResponse(HELD), Some("/cancel"), 1);
    let fut = nice.cancel(&request);
    tokio::pin!(fut);
    let first = loop {
        tokio::select! {
            out = fut.as_mut() => break out,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                // Once the cancel POST reached NICEPAY, every lookup fails.
                if fake.cancel_requests(&tid) == 1 {
                    fake.fail_next_method("GET", Fault::ServerError, None, 100);
                    break fut.as_mut().await;
                }
            }
        }
    };
    assert_eq!(first.unwrap_err().kind(), ErrorKind::OutcomeUnknown);
    assert_eq!(fake.cancel_requests(&tid), 1);
    assert_eq!(fake_cancels(&fake, &tid), 1);
    // The caller retries with the same key: NICEPAY refuses the reused partial-cancel orderId
    // (it replays nothing), and the lookup shows this request's cancellation: the retry gets
    // the canceled payment, as the first answer would have been. Nothing is refunded twice.
    fake.clear_faults();
    let again = nice.cancel(&request).await.unwrap();
    assert_eq!(again.status, hanpay_core::PaymentStatus::PartiallyCanceled);
    assert_eq!(again.balance, Money::krw(11_000));
    assert_eq!(again.cancellations.len(), 1);
    assert_eq!(
        fake.cancel_requests(&tid),
        2,
        "the retry was sent once, then looked up"
    );
    assert_eq!(fake_cancels(&fake, &tid), 1);
    assert!(cancel_bodies(&fake, &tid)
        .iter()
        .all(|b| b["orderId"] == "refund-order-dup-00001"));
}

#[tokio::test]
async fn approve_with_a_lost_answer_is_resolved_by_a_lookup() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let auth = fake
        .authenticate("order-appr-0001", 15_000, WindowMethod::Card)
        .unwrap();
    fake.fail_next_method("POST", Fault::DelayResponse(HELD), None, 1);
    let p = nice
        .confirm(&ConfirmRequest::new(
            auth.tid.clone(),
            "order-appr-0001",
            Money::krw(15_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.total, Money::krw(15_000));
    let approves = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == format!("/v1/payments/{}", auth.tid))
        .count();
    assert_eq!(approves, 1, "never re-sent");
}

#[tokio::test]
async fn approve_with_a_500_before_processing_charges_nothing_then_once() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let auth = fake
        .authenticate("order-appr-0002", 15_000, WindowMethod::Card)
        .unwrap();
    fake.fail_next_method("POST", Fault::ServerError, None, 1);
    let request = ConfirmRequest::new(auth.tid.clone(), "order-appr-0002", Money::krw(15_000));
    let err = nice.confirm(&request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable, "{err}");
    assert!(err.message().contains("nothing was charged"));
    assert_eq!(fake.status(&auth.tid), None);
    let p = nice.confirm(&request).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    // A third approve of the same tid is refused: NICEPAY approves a tid once.
    let third = nice.confirm(&request).await.unwrap_err();
    assert_eq!(third.kind(), ErrorKind::AlreadyProcessed);
}

#[tokio::test]
async fn approve_unknown_with_failing_lookups_is_net_cancelled() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let auth = fake
        .authenticate("order-appr-0003", 15_000, WindowMethod::Card)
        .unwrap();
    fake.fail_next_method("POST", Fault::DelayResponse(HELD), Some(&auth.tid), 1);
    fake.fail_next_method("GET", Fault::ServerError, None, 100);
    let err = nice
        .confirm(&ConfirmRequest::new(
            auth.tid.clone(),
            "order-appr-0003",
            Money::krw(15_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    assert!(err.to_string().contains("망취소"), "{err}");
    assert_eq!(fake.status(&auth.tid).as_deref(), Some("cancelled"));
    let net = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/payments/netcancel")
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(net.len(), 1);
    assert_eq!(net[0]["orderId"], "order-appr-0003");
}

#[tokio::test]
async fn approve_unknown_without_net_cancel_says_unknown() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = NicePay::builder(FakeNicePay::CLIENT_ID, FakeNicePay::SECRET_KEY)
        .base_url(fake.base_url())
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            read: READ,
        })
        .retry_policy(RetryPolicy::none())
        .net_cancel_on_unknown(false)
        .build()
        .unwrap();
    let auth = fake
        .authenticate("order-appr-0004", 15_000, WindowMethod::Card)
        .unwrap();
    fake.fail_next_method("POST", Fault::DelayResponse(HELD), None, 1);
    fake.fail_next_method("GET", Fault::ServerError, None, 10);
    let err = nice
        .confirm(&ConfirmRequest::new(
            auth.tid.clone(),
            "order-appr-0004",
            Money::krw(15_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown);
    assert_eq!(fake.status(&auth.tid).as_deref(), Some("paid"));
    // The merchant decides later, within the hour.
    let undone = nice.net_cancel("order-appr-0004").await.unwrap();
    assert_eq!(undone.status, PaymentStatus::Canceled);
}

#[tokio::test]
async fn net_cancel_after_its_window_is_refused() {
    let fake = FakeNicePay::builder()
        .net_cancel_window(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let nice = client(&fake);
    paid(&fake, &nice, "order-late-0001", 1_000).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let err = nice.net_cancel("order-late-0001").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    assert_eq!(err.pg().unwrap().code, "2020");
}

#[tokio::test]
async fn amount_mismatch_keeps_the_code_and_korean_message() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let auth = fake
        .authenticate("order-amt-00001", 15_000, WindowMethod::Card)
        .unwrap();
    let err = nice
        .confirm(&ConfirmRequest::new(
            auth.tid.clone(),
            "order-amt-00001",
            Money::krw(14_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    let pg = err.pg().unwrap();
    assert_eq!(pg.code, "A123");
    assert!(pg.message.contains("거래금액 불일치"));
    assert_eq!(pg.http_status, Some(200));
    // The approve body carries the order's amount as a JSON integer.
    let body = &fake.requests()[0].body;
    assert_eq!(body, r#"{"amount":14000}"#);
}

#[tokio::test]
async fn auth_sends_both_parts_and_a_wrong_key_is_unauthorized() {
    let fake = FakeNicePay::start().await.unwrap();
    let wrong = NicePay::builder(FakeNicePay::CLIENT_ID, "00000000000000000000000000000000")
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let err = wrong
        .payment("UT0000113m01012111051714341073")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.pg().unwrap().http_status, Some(401));
    assert!(!err.to_string().contains("0000000000000000"));
    let nice = client(&fake);
    let unknown = nice
        .payment("UT0000113m01012111051714341073")
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert!(fake.requests().last().unwrap().authenticated);
}

#[tokio::test]
async fn lookups_by_tid_and_order_id() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-look-0001", 2_000).await;
    let by_order = nice.payment_by_order_id("order-look-0001").await.unwrap();
    assert_eq!(by_order.payment_key, p.payment_key);
    let query = fake.requests().last().unwrap().query.clone().unwrap();
    assert!(
        query.starts_with("orderDate=") && query.len() == 18,
        "{query}"
    );
    assert_eq!(
        nice.payment_by_order_id("order-none-0001")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let old = time::Date::from_calendar_date(2021, time::Month::November, 5).unwrap();
    assert_eq!(
        nice.payment_by_order_id_on("order-look-0001", old)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn full_and_partial_cancels_with_cancelled_tids() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let p = paid(&fake, &nice, "order-canc-0001", 15_000).await;
    let first = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "일부",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(
        first.cancellations[0].transaction_key.as_deref(),
        first.raw.value()["cancelledTid"].as_str()
    );
    assert_ne!(
        first.raw.value()["cancelledTid"].as_str(),
        Some(p.payment_key.as_str())
    );
    let rest = nice
        .cancel(&CancelRequest::full(p.payment_key.clone(), "나머지"))
        .await
        .unwrap();
    assert_eq!(rest.status, PaymentStatus::Canceled);
    assert_eq!(rest.balance, Money::krw(0));
    assert_eq!(rest.cancellations.len(), 2);
    let bodies = cancel_bodies(&fake, &p.payment_key);
    assert_ne!(
        bodies[0]["orderId"], bodies[1]["orderId"],
        "each cancel has its own orderId"
    );
    assert!(
        bodies[1].get("cancelAmt").is_none(),
        "a full cancel sends no cancelAmt"
    );
    // Nothing left: refused before any call.
    let err = nice
        .cancel(&CancelRequest::full(p.payment_key.clone(), "또"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    assert_eq!(fake.cancel_requests(&p.payment_key), 2);
}

#[tokio::test]
async fn deposited_vbank_refund_needs_the_customers_own_account() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let auth = fake
        .authenticate("order-vbnk-0001", 15_000, WindowMethod::Vbank)
        .unwrap();
    let issued = nice
        .confirm(&ConfirmRequest::new(
            auth.tid.clone(),
            "order-vbnk-0001",
            Money::krw(15_000),
        ))
        .await
        .unwrap();
    assert_eq!(issued.status, PaymentStatus::WaitingForDeposit);
    let va = issued.virtual_account().unwrap().clone();
    assert_eq!(va.bank, Some(Bank::Shinhan));
    // Before the deposit: full cancel only.
    let err = nice
        .cancel(&CancelRequest::partial(
            auth.tid.clone(),
            "일부",
            Money::krw(1_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    assert_eq!(err.pg().unwrap().code, "2028");

    fake.deposit(&auth.tid).unwrap();
    let deposited = nice.payment(&auth.tid).await.unwrap();
    assert_eq!(deposited.status, PaymentStatus::Paid);
    assert!(deposited.is_deposited_virtual_account());
    let sent_before = fake.cancel_requests(&auth.tid);
    let none = nice
        .cancel(&CancelRequest::full(auth.tid.clone(), "환불"))
        .await
        .unwrap_err();
    assert_eq!(none.kind(), ErrorKind::InvalidRequest);
    let into_va = RefundAccount::new(Bank::Shinhan, va.account_number.clone(), "홍길동").unwrap();
    let same = nice
        .cancel(&CancelRequest::full(auth.tid.clone(), "환불").refund_to(into_va))
        .await
        .unwrap_err();
    assert_eq!(same.kind(), ErrorKind::InvalidRequest);
    let long_holder =
        RefundAccount::new(Bank::Kookmin, "1102147270", "가나다라마바사아자차카").unwrap();
    assert_eq!(
        nice.cancel(&CancelRequest::full(auth.tid.clone(), "환불").refund_to(long_holder))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        fake.cancel_requests(&auth.tid),
        sent_before,
        "refused before any call"
    );

    let own = RefundAccount::new(Bank::Kookmin, "1102147270", "홍길동").unwrap();
    let refunded = nice
        .cancel(&CancelRequest::full(auth.tid.clone(), "환불").refund_to(own))
        .await
        .unwrap();
    assert_eq!(refunded.status, PaymentStatus::Canceled);
    let body = cancel_bodies(&fake, &auth.tid).pop().unwrap();
    assert_eq!(body["refundAccount"], "1102147270");
    assert_eq!(body["refundBankCode"], "004");
    assert_eq!(body["refundHolder"], "홍길동");
}

#[tokio::test]
async fn billing_register_charge_and_expire() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let enc = Secret::new("6ecfe97e521bc67c0000000000000000545592d0000000000000000000000000");
    assert_eq!(
        nice.register_billing_key(
            &Secret::new("not hex"),
            EncMode::A2Aes256Cbc,
            "order-bill-0000"
        )
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::InvalidRequest
    );
    assert!(fake.requests().is_empty(), "refused before any call");
    let key = nice
        .register_billing_key(&enc, EncMode::A2Aes256Cbc, "order-bill-0001")
        .await
        .unwrap();
    let regist: serde_json::Value = serde_json::from_str(&fake.requests()[0].body).unwrap();
    assert_eq!(regist["encMode"], "A2");
    assert!(!format!("{key:?}").contains(key.bid.expose()));
    let charge = BillingChargeRequest::new(
        key.bid.clone(),
        "customer-1",
        Money::krw(9_900),
        "order-bill-0002",
        "구독",
    );
    let p = nice.charge_billing_key(&charge).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.total, Money::krw(9_900));
    let body: serde_json::Value =
        serde_json::from_str(&fake.requests().last().unwrap().body).unwrap();
    assert_eq!(body["cardQuota"], "0");
    assert_eq!(body["useShopInterest"], false);
    // The same orderId is charged once.
    assert_eq!(
        nice.charge_billing_key(&charge).await.unwrap_err().kind(),
        ErrorKind::AlreadyProcessed
    );
    // A lost answer is settled by looking the order up.
    let lost = BillingChargeRequest::new(
        key.bid.clone(),
        "customer-1",
        Money::krw(9_900),
        "order-bill-0003",
        "구독",
    );
    fake.fail_next_method("POST", Fault::DelayResponse(HELD), Some("/payments"), 1);
    let settled = nice.charge_billing_key(&lost).await.unwrap();
    assert_eq!(settled.order_id, "order-bill-0003");
    nice.expire_billing_key(&key.bid, "order-bill-0004")
        .await
        .unwrap();
    let after = BillingChargeRequest::new(
        key.bid.clone(),
        "customer-1",
        Money::krw(9_900),
        "order-bill-0005",
        "구독",
    );
    let err = nice.charge_billing_key(&after).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.pg().unwrap().code, "U115");
}

#[tokio::test]
async fn billing_key_from_card_data_is_encrypted_with_the_secret_key() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let card = BillingCard::new("1234567890123456", "25", "12", "800101", "12").unwrap();
    for (mode, order_id, enc_mode) in [
        (EncMode::A2Aes256Cbc, "order-bkey-0001", Some("A2")),
        (EncMode::Aes128Ecb, "order-bkey-0002", None),
    ] {
        let key = nice.issue_billing_key(&card, mode, order_id).await.unwrap();
        assert!(!key.bid.expose().is_empty());
        let body: serde_json::Value =
            serde_json::from_str(&fake.requests().last().unwrap().body).unwrap();
        let expected = encrypt_enc_data(
            "cardNo=1234567890123456&expYear=25&expMonth=12&idNo=800101&cardPw=12",
            FakeNicePay::SECRET_KEY,
            mode,
        )
        .unwrap();
        assert_eq!(body["encData"], expected.expose());
        assert_eq!(body["encMode"].as_str(), enc_mode);
        assert!(!body.to_string().contains("1234567890123456"));
    }
}

#[tokio::test]
async fn korean_messages_are_utf8_whatever_the_charset_header_says() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    fake.set_content_type(Some("application/json;charset=EUC-KR"));
    let p = paid(&fake, &nice, "order-char-0001", 15_000).await;
    assert_eq!(p.order_name.as_deref(), Some("나이스페이-상품"));
    let canceled = nice
        .cancel(&CancelRequest::partial(
            p.payment_key.clone(),
            "고객 변심",
            Money::krw(4_000),
        ))
        .await
        .unwrap();
    assert_eq!(
        canceled.cancellations[0].reason.as_deref(),
        Some("고객 변심")
    );
    let auth = fake
        .authenticate("order-char-0002", 1_000, WindowMethod::Card)
        .unwrap();
    let mismatch = nice
        .confirm(&ConfirmRequest::new(
            auth.tid,
            "order-char-0002",
            Money::krw(999),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        mismatch.pg().unwrap().message,
        "거래금액 불일치(인증된 금액과 승인요청 금액 불일치)"
    );
}

/// NICEPAY takes at most 12 digits: a 13-digit approve, charge or cancel is refused as invalid
/// before any call (a cancel used to look the payment up first).
#[tokio::test]
async fn thirteen_digit_amounts_are_refused_before_any_request() {
    let fake = FakeNicePay::start().await.unwrap();
    let nice = client(&fake);
    let over = Money::krw(hanpay_nicepay::MAX_AMOUNT + 1);
    assert_eq!(hanpay_nicepay::MAX_AMOUNT, 999_999_999_999);
    let tid = "UT0000113m01012111051714341073";
    let errors = [
        nice.confirm(&ConfirmRequest::new(tid, "order-over-1", over.clone()))
            .await
            .unwrap_err(),
        nice.charge_billing_key(&BillingChargeRequest::new(
            Secret::new("BIKYnictest00m1104191651325596"),
            "customer-over",
            over.clone(),
            "order-over-2",
            "구독",
        ))
        .await
        .unwrap_err(),
        nice.cancel(&CancelRequest::partial(tid, "환불", over.clone()))
            .await
            .unwrap_err(),
        nice.cancel(&CancelRequest::full(tid, "환불").tax_free_amount(Money::krw(i64::MAX)))
            .await
            .unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}
