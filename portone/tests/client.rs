//! `PortOne` against `FakePortOne` over real HTTP: auth, idempotency, retries, timeouts,
//! errors, manual confirm, async cancels, virtual accounts, billing keys, pre-registration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{
    Bank, BillingChargeRequest, CancelRequest, CancellationStatus, Capability, ConfirmRequest,
    ErrorKind, Money, PaymentProvider, PaymentStatus, RetryPolicy, VirtualAccountRequest,
};
use hanpay_portone::errors::PortOneApiError;
use hanpay_portone::{PortOne, PortOneBuilder, Timeouts};
use hanpay_portone_fake::{FakePortOne, Fault, Operation, PayMethod};

fn builder(fake: &FakePortOne) -> PortOneBuilder {
    PortOne::builder(fake.api_secret())
        .base_url(fake.base_url())
        .store_id(fake.store_id())
        .channel_key(fake.channel_key())
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_millis(300),
        })
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10))
                .with_jitter(false),
        )
}

async fn setup() -> (FakePortOne, PortOne) {
    let fake = FakePortOne::builder().start().await.unwrap();
    let portone = builder(&fake).build().unwrap();
    (fake, portone)
}

fn cancel_requests(fake: &FakePortOne, id: &str) -> Vec<hanpay_portone_fake::RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.operation == Operation::Cancel && r.payment_id == id)
        .collect()
}

#[tokio::test]
async fn lookups_send_the_portone_scheme_and_store_id() {
    let (fake, portone) = setup().await;
    fake.pay(
        "order-lookup-1",
        10_000,
        "KRW",
        "셔츠",
        PayMethod::EasyPay("KAKAOPAY".into()),
    )
    .unwrap();
    let p = portone.payment("order-lookup-1").await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.total, Money::krw(10_000));
    assert_eq!(p.payment_key, "order-lookup-1");
    assert!(matches!(
        p.method,
        Some(hanpay_core::PaymentMethod::EasyPay { ref provider }) if provider == "KAKAOPAY"
    ));
    assert_eq!(p.raw.value()["storeId"], fake.store_id());
    let r = &fake.requests()[0];
    assert_eq!(r.authorization_scheme.as_deref(), Some("PortOne"));
    assert_eq!(r.idempotency_key, None, "GETs carry no idempotency key");

    let err = portone.payment("order-missing-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.pg().unwrap().code, "PAYMENT_NOT_FOUND");
    assert_eq!(err.pg().unwrap().http_status, Some(404));
}

#[tokio::test]
async fn a_wrong_secret_or_store_is_refused() {
    let fake = FakePortOne::builder().start().await.unwrap();
    fake.pay("order-auth-1", 1_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    let wrong = PortOne::builder("not-the-secret")
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let err = wrong.payment("order-auth-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!err.to_string().contains("not-the-secret"));
    let other_store = builder(&fake)
        .store_id("store-someone-else")
        .build()
        .unwrap();
    let err = other_store.payment("order-auth-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.pg().unwrap().code, "FORBIDDEN");
}

#[tokio::test]
async fn payment_ids_are_escaped_in_the_path() {
    let (fake, portone) = setup().await;
    fake.pay("order=with=equals", 1_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    let p = portone
        .payment_by_order_id("order=with=equals")
        .await
        .unwrap();
    assert_eq!(p.order_id, "order=with=equals");
}

#[tokio::test]
async fn a_503_is_retried_with_the_same_quoted_idempotency_key() {
    let (fake, portone) = setup().await;
    fake.pay("order-retry-1", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.inject(
        Some(Operation::Cancel),
        1,
        Fault::Error {
            error_type: "SERVICE_UNAVAILABLE".into(),
            http_status: Some(503),
        },
    );
    let p = portone
        .cancel(&CancelRequest::partial(
            "order-retry-1",
            "고객 요청",
            Money::krw(3_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(p.balance, Money::krw(7_000));
    let sent = cancel_requests(&fake, "order-retry-1");
    assert_eq!(sent.len(), 2);
    let key = sent[0].idempotency_key.clone().unwrap();
    assert!(
        key.starts_with('"') && key.ends_with('"'),
        "quoted per RFC 8941: {key}"
    );
    assert_eq!(sent[1].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(sent[0].body["amount"], 3000);
    assert_eq!(sent[0].body["reason"], "고객 요청");
    assert_eq!(fake.cancellation_count("order-retry-1"), 1);
}

#[tokio::test]
async fn an_outstanding_request_is_asked_again_until_replayed() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let portone = builder(&fake)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(30)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_millis(100))
                .with_jitter(false),
        )
        .build()
        .unwrap();
    fake.pay("order-outstanding-1", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.inject(
        Some(Operation::Cancel),
        1,
        Fault::DelayBeforeProcessing(Duration::from_millis(800)),
    );
    let p = portone
        .cancel(&CancelRequest::full("order-outstanding-1", "고객 요청"))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(fake.cancellation_count("order-outstanding-1"), 1);
    assert!(cancel_requests(&fake, "order-outstanding-1").len() >= 3);
    assert!(fake.replays() >= 1);
}

#[tokio::test]
async fn retries_running_out_while_outstanding_is_outcome_unknown() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let portone = builder(&fake)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_jitter(false),
        )
        .build()
        .unwrap();
    fake.pay("order-outstanding-2", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.inject(
        Some(Operation::Cancel),
        1,
        Fault::DelayBeforeProcessing(Duration::from_millis(1_500)),
    );
    let request = CancelRequest::partial("order-outstanding-2", "고객 요청", Money::krw(2_000))
        .idempotency_key("cancel-order-outstanding-2");
    let err = portone.cancel(&request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.is_outcome_unknown());
    assert_eq!(err.idempotency_key(), Some("cancel-order-outstanding-2"));
}

#[tokio::test]
async fn a_timeout_is_outcome_unknown_and_the_same_key_reconciles() {
    let fake = FakePortOne::builder().start().await.unwrap();
    let portone = builder(&fake)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    fake.pay("order-timeout-1", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.inject(
        Some(Operation::Cancel),
        1,
        Fault::DelayResponse(Duration::from_secs(2)),
    );
    let request = CancelRequest::partial("order-timeout-1", "고객 요청", Money::krw(4_000))
        .idempotency_key("cancel-order-timeout-1");
    let err = portone.cancel(&request).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(err.idempotency_key(), Some("cancel-order-timeout-1"));
    // The cancel did happen; sending it again with the same key replays, not cancels twice.
    let p = portone.cancel(&request).await.unwrap();
    assert_eq!(p.balance, Money::krw(6_000));
    assert_eq!(p.cancellations.len(), 1);
    assert_eq!(fake.cancellation_count("order-timeout-1"), 1);
    assert_eq!(fake.replays(), 1);
}

#[tokio::test]
async fn a_gets_connection_failure_is_retryable() {
    let portone = PortOne::builder("secret")
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = portone.payment("order-nowhere-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable, "{err}");
}

#[tokio::test]
async fn pg_provider_errors_keep_the_pg_code() {
    let (fake, portone) = setup().await;
    let token = fake
        .authenticate("order-pg-1", 5_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.inject(
        Some(Operation::Confirm),
        1,
        Fault::PgProvider {
            pg_code: "CARD_LIMIT".into(),
            pg_message: "한도초과".into(),
        },
    );
    let err = portone
        .confirm(
            &ConfirmRequest::new("order-pg-1", "order-pg-1", Money::krw(5_000))
                .payment_token(token),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    let pg = err.pg().unwrap();
    assert_eq!(pg.code, "PG_PROVIDER");
    assert_eq!(pg.http_status, Some(502));
    assert_eq!(pg.upstream_code.as_deref(), Some("CARD_LIMIT"));
    assert_eq!(pg.upstream_message.as_deref(), Some("한도초과"));
    let api = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<PortOneApiError>())
        .unwrap();
    assert_eq!(api.pg_code.as_deref(), Some("CARD_LIMIT"));
}

#[tokio::test]
async fn manual_confirm_sends_the_token_and_verification_fields() {
    let (fake, portone) = setup().await;
    let token = fake
        .authenticate("order-manual-1", 15_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    let wrong = ConfirmRequest::new("order-manual-1", "order-manual-1", Money::krw(14_000))
        .payment_token(token.clone());
    let err = portone.confirm(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    assert_eq!(
        portone.payment("order-manual-1").await.unwrap().status,
        PaymentStatus::Ready,
        "nothing charged"
    );
    let right = ConfirmRequest::new("order-manual-1", "order-manual-1", Money::krw(15_000))
        .payment_token(token);
    let p = portone.confirm(&right).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    let sent: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.operation == Operation::Confirm)
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].body["totalAmount"], 15_000);
    assert_eq!(sent[1].body["currency"], "KRW");
    assert!(sent[1].body["paymentToken"].is_string());
    assert!(sent[1].idempotency_key.is_some());
}

#[tokio::test]
async fn a_browser_payment_with_another_amount_is_refunded_or_kept_by_choice() {
    let (fake, portone) = setup().await;
    fake.pay("order-tamper-1", 100, "KRW", "n", PayMethod::Card)
        .unwrap();
    let err = portone
        .confirm(&ConfirmRequest::new(
            "order-tamper-1",
            "order-tamper-1",
            Money::krw(15_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    assert!(err.message().contains("cancelled in full"), "{err}");
    assert_eq!(
        portone.payment("order-tamper-1").await.unwrap().status,
        PaymentStatus::Canceled
    );

    let keep = builder(&fake)
        .cancel_on_amount_mismatch(false)
        .build()
        .unwrap();
    fake.pay("order-tamper-2", 100, "KRW", "n", PayMethod::Card)
        .unwrap();
    let err = keep
        .confirm(&ConfirmRequest::new(
            "order-tamper-2",
            "order-tamper-2",
            Money::krw(15_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    assert_eq!(
        keep.payment("order-tamper-2").await.unwrap().status,
        PaymentStatus::Paid
    );
    assert_eq!(cancel_requests(&fake, "order-tamper-2").len(), 0);
}

#[tokio::test]
async fn confirm_of_a_failed_payment_is_rejected_with_the_pg_code() {
    let (fake, portone) = setup().await;
    fake.authenticate("order-fail-1", 1_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    fake.fail_payment("order-fail-1", "한도 초과", "CARD_LIMIT")
        .unwrap();
    let err = portone
        .confirm(&ConfirmRequest::new(
            "order-fail-1",
            "order-fail-1",
            Money::krw(1_000),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.message().contains("CARD_LIMIT"), "{err}");
}

#[tokio::test]
async fn an_asynchronous_cancel_is_reported_as_pending() {
    let (fake, portone) = setup().await;
    fake.set_async_cancel(true);
    fake.pay("order-async-1", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    let p = portone
        .cancel(&CancelRequest::partial(
            "order-async-1",
            "고객 요청",
            Money::krw(3_000),
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.cancellations.len(), 1);
    assert_eq!(p.cancellations[0].status, CancellationStatus::Pending);
    fake.complete_pending_cancellations("order-async-1")
        .unwrap();
    let after = portone.payment("order-async-1").await.unwrap();
    assert_eq!(after.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(after.cancellations[0].status, CancellationStatus::Done);
    assert_eq!(after.balance, Money::krw(7_000));
}

#[tokio::test]
async fn expected_balance_is_sent_as_current_cancellable_amount() {
    let (fake, portone) = setup().await;
    fake.pay("order-balance-1", 10_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    portone
        .cancel(
            &CancelRequest::partial("order-balance-1", "고객 요청", Money::krw(1_000))
                .expected_balance(Money::krw(10_000)),
        )
        .await
        .unwrap();
    assert_eq!(
        cancel_requests(&fake, "order-balance-1")[0].body["currentCancellableAmount"],
        10_000
    );
    // The balance is now 9,000: a caller still believing 10,000 is refused before any call.
    let err = portone
        .cancel(
            &CancelRequest::partial("order-balance-1", "고객 요청", Money::krw(1_000))
                .expected_balance(Money::krw(10_000)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    assert_eq!(cancel_requests(&fake, "order-balance-1").len(), 1);
}

#[tokio::test]
async fn virtual_accounts_are_issued_through_instant() {
    let (fake, portone) = setup().await;
    let request = VirtualAccountRequest::new(
        Money::krw(15_000),
        "order-va-api-1",
        "책 세 권",
        "홍길동",
        Bank::Kookmin,
    )
    .valid_hours(48);
    let p = portone.issue_virtual_account(&request).await.unwrap();
    assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
    let va = p.virtual_account().unwrap();
    assert_eq!(va.bank, Some(Bank::Kookmin));
    assert!(!va.account_number.is_empty());
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.operation == Operation::InstantPayment)
        .unwrap();
    assert_eq!(sent.body["method"]["virtualAccount"]["bank"], "KOOKMIN");
    assert_eq!(
        sent.body["method"]["virtualAccount"]["expiry"]["validHours"],
        48
    );
    assert_eq!(sent.body["channelKey"], fake.channel_key());

    let without_channel = PortOne::builder(fake.api_secret())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    assert!(!without_channel
        .capabilities()
        .contains(Capability::VirtualAccounts));
    let err = without_channel
        .issue_virtual_account(&request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn billing_keys_are_charged() {
    let (fake, portone) = setup().await;
    fake.register_billing_key("billing-key-0001");
    let p = portone
        .charge_billing_key(&BillingChargeRequest::new(
            "billing-key-0001",
            "customer-1",
            Money::krw(9_900),
            "order-billing-1",
            "정기결제",
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.total, Money::krw(9_900));
    let err = portone
        .charge_billing_key(&BillingChargeRequest::new(
            "billing-key-unknown",
            "customer-1",
            Money::krw(9_900),
            "order-billing-2",
            "정기결제",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.pg().unwrap().code, "BILLING_KEY_NOT_FOUND");
}

#[tokio::test]
async fn pre_registration_blocks_a_tampered_browser_amount() {
    let (fake, portone) = setup().await;
    portone
        .pre_register("order-pre-1", &Money::krw(30_000))
        .await
        .unwrap();
    let err = fake
        .pay("order-pre-1", 300, "KRW", "n", PayMethod::Card)
        .unwrap_err();
    assert_eq!(err.error_type, "INFORMATION_MISMATCH");
    fake.pay("order-pre-1", 30_000, "KRW", "n", PayMethod::Card)
        .unwrap();
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.operation == Operation::PreRegister)
        .unwrap();
    assert_eq!(sent.body["totalAmount"], 30_000);
    assert_eq!(sent.body["currency"], "KRW");
    let err = portone
        .pre_register("order-pre-1", &Money::krw(30_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyProcessed);
}
