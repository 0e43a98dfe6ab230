#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hanpay_core::{
    Bank, BillingChargeRequest, CancelRequest, Capability, ConfirmRequest, ErrorKind, Money,
    PaymentProvider, PaymentStatus, PgError, RefundAccount, Trust, VirtualAccountRequest,
    WebhookError, WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use http::HeaderMap;

use super::{Fault, MockProvider, Operation};

fn krw(won: i64) -> Money {
    Money::krw(won)
}

async fn paid(mock: &MockProvider, order_id: &str, amount: i64) -> String {
    let key = mock.authenticate_card(order_id, &krw(amount)).unwrap();
    let p = mock
        .confirm(&ConfirmRequest::new(&key, order_id, krw(amount)))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    key
}

async fn waiting_va(mock: &MockProvider, order_id: &str) -> String {
    let request = VirtualAccountRequest::new(krw(30_000), order_id, "책", "홍길동", Bank::Shinhan)
        .valid_hours(2);
    mock.issue_virtual_account(&request)
        .await
        .unwrap()
        .payment_key
}

#[tokio::test]
async fn confirm_checks_the_amount_and_charges_nothing_on_mismatch() {
    let mock = MockProvider::new();
    let key = mock.authenticate_card("order-0001", &krw(15_000)).unwrap();
    assert_eq!(mock.inspect(&key).unwrap().status, PaymentStatus::Pending);

    let err = mock
        .confirm(&ConfirmRequest::new(&key, "order-0001", krw(1_000)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AmountMismatch);
    assert_eq!(err.pg().unwrap().code, "AMOUNT_MISMATCH");
    assert_eq!(err.provider().unwrap().as_str(), "mock");
    let after = mock.inspect(&key).unwrap();
    assert_eq!(after.status, PaymentStatus::Pending);
    assert!(after.approved_at.is_none() && after.secret.is_none());
    assert!(mock.webhooks().is_empty());

    let p = mock
        .confirm(&ConfirmRequest::new(&key, "order-0001", krw(15_000)))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.balance, krw(15_000));
    assert!(p.secret.is_some(), "a per-payment secret like Toss's");
    assert!(p.approved_at.is_some());
    assert_eq!(p.raw.value()["status"], "PAID");
    match &p.method {
        Some(hanpay_core::PaymentMethod::Card(card)) => assert!(card.approval_number.is_some()),
        other => panic!("expected a card, got {other:?}"),
    }
}

#[tokio::test]
async fn second_confirm_is_already_processed_unless_the_same_key() {
    let mock = MockProvider::new();
    let key = mock.authenticate_card("order-0002", &krw(9_900)).unwrap();
    let request = ConfirmRequest::new(&key, "order-0002", krw(9_900)).idempotency_key("conf-1");
    let first = mock.confirm(&request).await.unwrap();
    // Same idempotency key: the same answer, nothing done twice.
    let again = mock.confirm(&request).await.unwrap();
    assert_eq!(again.payment_key, first.payment_key);
    assert_eq!(again.approved_at, first.approved_at);
    // Without it: refused.
    let err = mock
        .confirm(&ConfirmRequest::new(&key, "order-0002", krw(9_900)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyProcessed);
    assert_eq!(mock.webhooks().len(), 1, "one Paid webhook");
    let calls = mock.calls_of(Operation::Confirm);
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].idempotency_key.as_deref(), Some("conf-1"));
    assert_eq!(calls[1].idempotency_key.as_deref(), Some("conf-1"));
    assert!(calls[2]
        .idempotency_key
        .as_deref()
        .unwrap()
        .starts_with("mock_idem_"));
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_request_is_refused() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0003", 10_000).await;
    let first = CancelRequest::partial(&key, "r", krw(1_000)).idempotency_key("k");
    mock.cancel(&first).await.unwrap();
    let other = CancelRequest::partial(&key, "r", krw(2_000)).idempotency_key("k");
    let err = mock.cancel(&other).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.pg().unwrap().code, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(mock.inspect(&key).unwrap().balance, krw(9_000));
}

#[tokio::test]
async fn retryable_fault_before_apply_changes_nothing_and_carries_the_key() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0004", 10_000).await;
    mock.fail_next(Operation::Cancel, Fault::retryable());
    let request = CancelRequest::partial(&key, "r", krw(3_000));
    let err = mock.cancel(&request).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.pg().unwrap().http_status, Some(500));
    assert_eq!(err.operation(), Some("cancel"));
    let generated = err.idempotency_key().unwrap().to_owned();
    assert_eq!(mock.inspect(&key).unwrap().balance, krw(10_000));

    let retried = mock
        .cancel(&request.clone().idempotency_key(generated.clone()))
        .await
        .unwrap();
    assert_eq!(retried.balance, krw(7_000));
    assert_eq!(retried.cancellations.len(), 1);
    let calls = mock.calls_of(Operation::Cancel);
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1].idempotency_key.as_deref(),
        Some(generated.as_str())
    );
}

#[tokio::test]
async fn timeout_after_apply_is_outcome_unknown_and_the_retry_returns_the_same_result() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0005", 10_000).await;
    mock.fail_next(Operation::Cancel, Fault::timeout(true));
    let request = CancelRequest::partial(&key, "r", krw(4_000)).idempotency_key("cancel-5");
    let err = mock.cancel(&request).await.unwrap_err();
    assert!(err.is_outcome_unknown());
    assert_eq!(err.idempotency_key(), Some("cancel-5"));
    // The caller reconciles: it did happen.
    let looked_up = mock.payment(&key).await.unwrap();
    assert_eq!(looked_up.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(looked_up.balance, krw(6_000));

    let retried = mock.cancel(&request).await.unwrap();
    assert_eq!(retried.balance, krw(6_000));
    assert_eq!(retried.cancellations.len(), 1);
    assert_eq!(
        retried.cancellations[0].transaction_key,
        looked_up.cancellations[0].transaction_key
    );
    assert_eq!(mock.inspect(&key).unwrap().cancellations.len(), 1);
}

#[tokio::test]
async fn timeout_before_apply_changes_nothing() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0006", 10_000).await;
    mock.fail_next(Operation::Cancel, Fault::timeout(false));
    let err = mock
        .cancel(&CancelRequest::full(&key, "r"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown());
    let p = mock.payment(&key).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    assert!(p.cancellations.is_empty());
}

#[tokio::test]
async fn a_rejected_confirm_fails_the_payment_with_the_pg_code() {
    let mock = MockProvider::new();
    let key = mock.authenticate_card("order-0007", &krw(50_000)).unwrap();
    mock.fail_next(
        Operation::Confirm,
        Fault::reject(PgError::new(
            "REJECT_CARD_COMPANY",
            "카드사에서 거절했습니다.",
            Some(403),
        )),
    );
    let err = mock
        .confirm(&ConfirmRequest::new(&key, "order-0007", krw(50_000)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(err.pg().unwrap().code, "REJECT_CARD_COMPANY");
    let p = mock.inspect(&key).unwrap();
    assert_eq!(p.status, PaymentStatus::Failed);
    assert_eq!(p.failure.unwrap().code, "REJECT_CARD_COMPANY");
    let hooks = mock.webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].kind, WebhookEventKind::Failed);
}

#[tokio::test]
async fn faults_hit_only_the_calls_they_target() {
    let mock = MockProvider::new();
    let a = paid(&mock, "order-0008", 1_000).await;
    let b = paid(&mock, "order-0009", 1_000).await;
    mock.fail_next_for(Operation::Lookup, &b, Fault::retryable());
    mock.fail_next(
        Operation::LookupByOrderId,
        Fault::reject_as(
            ErrorKind::Unauthorized,
            PgError::new("UNAUTHORIZED_KEY", "bad key", Some(401)),
        ),
    );
    assert_eq!(mock.pending_faults(), 2);
    assert!(mock.payment(&a).await.is_ok(), "another payment is not hit");
    assert!(
        mock.cancel(&CancelRequest::full(&b, "r")).await.is_ok(),
        "another operation is not hit"
    );
    assert!(mock.payment(&b).await.unwrap_err().is_retryable());
    assert_eq!(
        mock.payment_by_order_id("order-0008")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthorized
    );
    assert_eq!(mock.pending_faults(), 0);
    assert!(mock.payment(&b).await.is_ok(), "a fault fires once");

    mock.fail_next_call(Fault::retryable());
    assert!(mock
        .payment_by_order_id("order-0009")
        .await
        .unwrap_err()
        .is_retryable());
    mock.fail_next_call(Fault::retryable());
    mock.clear_faults();
    assert!(mock.payment(&a).await.is_ok());
}

#[tokio::test]
async fn cancels_follow_the_balance() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0010", 10_000).await;
    let err = mock
        .cancel(&CancelRequest::partial(&key, "r", krw(10_001)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    assert!(
        mock.calls_of(Operation::Cancel).is_empty(),
        "refused before any call"
    );

    let p = mock
        .cancel(&CancelRequest::partial(&key, "r", krw(2_500)).tax_free_amount(krw(500)))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(
        (p.balance.clone(), p.canceled.clone()),
        (krw(7_500), krw(2_500))
    );
    assert_eq!(p.cancellations[0].tax_free_amount, Some(krw(500)));
    let p = mock.cancel(&CancelRequest::full(&key, "r")).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert!(p.is_fully_refunded());
    assert_eq!(p.cancellations.len(), 2);
    assert_eq!(p.cancellations[1].amount, krw(7_500));
    let err = mock
        .cancel(&CancelRequest::full(&key, "r"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);

    // An unconfirmed session cannot be canceled.
    let pending = mock.authenticate_card("order-0011", &krw(1_000)).unwrap();
    let err = mock
        .cancel(&CancelRequest::full(&pending, "r"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    let err = mock
        .cancel(&CancelRequest::full("nope", "r"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn deposited_virtual_accounts_refund_only_to_the_customers_own_account() {
    let mock = MockProvider::new();
    let key = waiting_va(&mock, "order-0012").await;
    let issued = mock.inspect(&key).unwrap();
    assert_eq!(issued.status, PaymentStatus::WaitingForDeposit);
    assert!(issued.secret.is_some());
    let va = issued.virtual_account().unwrap().clone();
    assert!(va.account_number.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(va.bank, Some(Bank::Shinhan));
    assert_eq!(
        va.due_date,
        Some(mock.now() + Duration::from_secs(2 * 3600))
    );

    mock.deposit(&key).unwrap();
    let err = mock
        .cancel(&CancelRequest::full(&key, "r"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.to_string().contains("customer's own"));
    let same = RefundAccount::new(Bank::Shinhan, va.account_number.clone(), "홍길동").unwrap();
    let err = mock
        .cancel(&CancelRequest::full(&key, "r").refund_to(same))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(
        mock.calls_of(Operation::Cancel).is_empty(),
        "refused before any call"
    );
    assert_eq!(mock.inspect(&key).unwrap().status, PaymentStatus::Paid);

    let own = RefundAccount::new(Bank::KakaoBank, "3333012345678", "홍길동").unwrap();
    let p = mock
        .cancel(&CancelRequest::full(&key, "r").refund_to(own))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(
        p.virtual_account().unwrap().refund_status.as_deref(),
        Some("COMPLETED")
    );
}

#[tokio::test]
async fn a_waiting_virtual_account_cancels_only_in_full() {
    let mock = MockProvider::new();
    let key = waiting_va(&mock, "order-0013").await;
    let err = mock
        .cancel(&CancelRequest::partial(&key, "r", krw(1_000)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCancelable);
    let p = mock.cancel(&CancelRequest::full(&key, "r")).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(
        mock.deposit(&key).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
}

#[tokio::test]
async fn virtual_accounts_and_sessions_expire_on_the_mock_clock() {
    let mock = MockProvider::builder()
        .session_ttl(Duration::from_secs(600))
        .build();
    let va = waiting_va(&mock, "order-0014").await;
    let session = mock.authenticate_card("order-0015", &krw(1_000)).unwrap();
    let confirmed = paid(&mock, "order-0016", 1_000).await;

    let expired = mock.advance_clock(Duration::from_secs(601));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].payment_key, session);
    let err = mock
        .confirm(&ConfirmRequest::new(&session, "order-0015", krw(1_000)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);

    assert!(mock.advance_clock(Duration::from_secs(3600)).is_empty());
    let expired = mock.advance_clock(Duration::from_secs(3600));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].status, PaymentStatus::Expired);
    assert!(expired[0].virtual_account().unwrap().expired);
    assert_eq!(mock.deposit(&va).unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(
        mock.inspect(&confirmed).unwrap().status,
        PaymentStatus::Paid
    );

    // Explicit expiry, and what cannot expire.
    let other = waiting_va(&mock, "order-0017").await;
    assert_eq!(mock.expire(&other).unwrap().status, PaymentStatus::Expired);
    assert_eq!(
        mock.expire(&confirmed).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let kinds: Vec<_> = mock
        .webhooks()
        .into_iter()
        .filter(|w| w.status == PaymentStatus::Expired)
        .map(|w| w.payment_key)
        .collect();
    assert_eq!(kinds, vec![session, va, other]);
}

#[tokio::test]
async fn every_status_change_emits_a_signed_webhook() {
    let mock = MockProvider::new();
    let mut rx = mock.subscribe();
    let key = waiting_va(&mock, "order-0018").await;
    mock.deposit(&key).unwrap();
    let own = RefundAccount::new(Bank::Woori, "1002123456789", "홍길동").unwrap();
    mock.cancel(&CancelRequest::partial(&key, "r", krw(10_000)).refund_to(own.clone()))
        .await
        .unwrap();
    mock.cancel(&CancelRequest::full(&key, "r").refund_to(own))
        .await
        .unwrap();

    let expected = [
        (
            WebhookEventKind::VirtualAccountIssued,
            PaymentStatus::WaitingForDeposit,
        ),
        (WebhookEventKind::DepositReceived, PaymentStatus::Paid),
        (
            WebhookEventKind::PartiallyCanceled,
            PaymentStatus::PartiallyCanceled,
        ),
        (WebhookEventKind::Canceled, PaymentStatus::Canceled),
    ];
    let hooks = mock.webhooks();
    assert_eq!(hooks.len(), expected.len());
    let mut ids = std::collections::HashSet::new();
    for ((kind, status), hook) in expected.iter().zip(&hooks) {
        // The subscriber saw the same, in order, without waiting.
        let received = rx.try_recv().unwrap();
        assert_eq!(received.id, hook.id);

        let event = mock.verify(&hook.request()).unwrap();
        assert_eq!(&event.kind, kind);
        assert_eq!(event.status_hint, Some(*status));
        assert_eq!(event.trust, Trust::Signed);
        assert!(!event.trust.requires_reconciliation());
        assert_eq!(event.payment_key.as_deref(), Some(key.as_str()));
        assert_eq!(event.order_id.as_deref(), Some("order-0018"));
        assert_eq!(event.dedupe_id, hook.id);
        assert_eq!(event.provider.as_str(), "mock");
        assert!(event.occurred_at.is_some());
        assert!(ids.insert(hook.id.clone()));
    }
    // Over HTTP, too.
    let http = hooks[0].to_http_request();
    let request =
        WebhookRequest::from_http(&http, None).received_at(hooks[0].request().received_at);
    assert!(mock.verify(&request).is_ok());
    assert_eq!(mock.take_webhooks().len(), 4);
    assert!(mock.webhooks().is_empty());
}

#[tokio::test]
async fn unsigned_tampered_and_foreign_webhooks_are_refused() {
    let mock = MockProvider::new();
    paid(&mock, "order-0019", 1_000).await;
    let hook = mock.webhooks().remove(0);

    let none = HeaderMap::new();
    let unsigned = WebhookRequest::new(&none, hook.body.clone());
    assert!(matches!(
        mock.verify(&unsigned),
        Err(WebhookError::MissingHeader(_))
    ));

    let mut tampered = hook.body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    let request =
        WebhookRequest::new(&hook.headers, tampered).received_at(hook.request().received_at);
    assert!(matches!(
        mock.verify(&request),
        Err(WebhookError::NoMatchingSignature { .. })
    ));

    let stranger = MockProvider::builder().webhook_key([7; 32]).build();
    assert!(matches!(
        stranger.verify(&hook.request()),
        Err(WebhookError::NoMatchingSignature { .. })
    ));

    let stale = hook
        .request()
        .received_at(hook.request().received_at + Duration::from_secs(3600));
    assert!(matches!(
        mock.verify(&stale),
        Err(WebhookError::TimestampTooOld { .. })
    ));

    // Signed, but not JSON: a malformed payload, not a panic.
    let twin = MockProvider::builder().webhook_key([9; 32]).build();
    let signer =
        hanpay_core::webhook::StandardWebhooks::new([twin.webhook_secret().expose()]).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", "msg_x".parse().unwrap());
    headers.insert(
        "webhook-timestamp",
        hook.timestamp.to_string().parse().unwrap(),
    );
    headers.insert(
        "webhook-signature",
        signer
            .sign("msg_x", hook.timestamp, b"not json")
            .parse()
            .unwrap(),
    );
    let request =
        WebhookRequest::new(&headers, &b"not json"[..]).received_at(hook.request().received_at);
    assert!(matches!(
        twin.verify(&request),
        Err(WebhookError::MalformedPayload(_))
    ));
}

#[tokio::test]
async fn debug_never_shows_secrets() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0020", 1_000).await;
    let payment = mock.inspect(&key).unwrap();
    let payment_secret = payment.secret.clone().unwrap();
    let webhook_secret = mock.webhook_secret();
    assert!(webhook_secret.expose().starts_with("whsec_"));
    let billing_key = mock.register_billing_key("customer-1");

    let shown = format!(
        "{mock:?} {payment:?} {:?} {:?} {billing_key:?}",
        mock.webhooks(),
        mock.calls()
    );
    assert!(!shown.contains(payment_secret.expose()));
    assert!(!shown.contains(webhook_secret.expose()));
    assert!(!shown.contains(&webhook_secret.expose()["whsec_".len()..]));
    assert!(!shown.contains(billing_key.expose()));
    assert!(shown.contains("MockProvider"));
}

#[tokio::test]
async fn billing_keys_charge_their_own_customer() {
    let mock = MockProvider::new();
    let billing_key = mock.register_billing_key("customer-1");
    let p = mock
        .charge_billing_key(&BillingChargeRequest::new(
            billing_key.clone(),
            "customer-1",
            krw(9_900),
            "order-0021",
            "구독",
        ))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Paid);
    let err = mock
        .charge_billing_key(&BillingChargeRequest::new(
            billing_key,
            "customer-2",
            krw(9_900),
            "order-0022",
            "구독",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let err = mock
        .charge_billing_key(&BillingChargeRequest::new(
            "mock_bk_unknown",
            "customer-1",
            krw(9_900),
            "order-0023",
            "구독",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn missing_capabilities_are_unsupported() {
    let mock = MockProvider::builder()
        .without(Capability::PartialCancel)
        .without(Capability::BillingKeys)
        .build();
    let key = paid(&mock, "order-0024", 1_000).await;
    let err = mock
        .cancel(&CancelRequest::partial(&key, "r", krw(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(mock.cancel(&CancelRequest::full(&key, "r")).await.is_ok());
    let err = mock
        .charge_billing_key(&BillingChargeRequest::new(
            "bk",
            "customer-1",
            krw(1),
            "order-0025",
            "n",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn lookups_and_order_ids() {
    let mock = MockProvider::new();
    let key = paid(&mock, "order-0026", 1_000).await;
    assert_eq!(
        mock.payment_by_order_id("order-0026")
            .await
            .unwrap()
            .payment_key,
        key
    );
    assert_eq!(
        mock.payment_by_order_id("order-9999")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        mock.payment("nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        mock.payment("a/b").await.unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        mock.authenticate_card("order-0026", &krw(1))
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyProcessed
    );
    assert_eq!(
        mock.authenticate_card("bad id!", &krw(1))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest
    );
    let ops: Vec<_> = mock.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(
        ops,
        [
            Operation::Confirm,
            Operation::LookupByOrderId,
            Operation::LookupByOrderId,
            Operation::Lookup
        ]
    );
    mock.clear_calls();
    assert!(mock.calls().is_empty());
}

#[tokio::test]
async fn easy_pay_and_clones_share_state() {
    let mock = MockProvider::builder().seed(42).build();
    let handle = mock.clone();
    let key = mock
        .authenticate_easy_pay("order-0027", &krw(5_000), "토스페이")
        .unwrap();
    let p = handle
        .confirm(&ConfirmRequest::new(&key, "order-0027", krw(5_000)))
        .await
        .unwrap();
    assert!(matches!(
        p.method,
        Some(hanpay_core::PaymentMethod::EasyPay { ref provider }) if provider == "토스페이"
    ));
    assert_eq!(mock.inspect(&key).unwrap().status, PaymentStatus::Paid);
}
