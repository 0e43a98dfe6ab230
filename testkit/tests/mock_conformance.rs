//! The conformance suite against `MockProvider`, and checks that the suite itself catches a
//! misbehaving provider and reports what it could not run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use hanpay_core::{
    CancelRequest, Capabilities, Capability, ConfirmRequest, Payment, PaymentError,
    PaymentProvider, ProviderId, VirtualAccountRequest,
};
use hanpay_testkit::conformance::{
    self, run_all, CaseOutcome, ConformanceDriver, DriverCapabilities, DriverError, Outcome, CASES,
};
use hanpay_testkit::mock::MockProvider;

fn outcome<'r>(report: &'r conformance::Report, name: &str) -> &'r CaseOutcome {
    &report
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .outcome
}

#[tokio::test]
async fn mock_provider_passes_every_case() {
    let mock = MockProvider::new();
    let report = run_all(&mock, &mock).await;
    report.assert_passed();
    assert_eq!(report.passed().count(), CASES.len(), "{report}");
    assert_eq!(report.skipped().count(), 0, "{report}");
    assert_eq!(
        report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
        CASES.to_vec()
    );
    assert_eq!(report.provider, "mock");
}

#[tokio::test]
async fn runs_through_trait_objects() {
    let mock = MockProvider::new();
    let provider: &dyn PaymentProvider = &mock;
    let driver: &dyn ConformanceDriver = &mock;
    let report = run_all(provider, driver).await;
    assert!(report.is_success(), "{report}");
}

#[tokio::test]
async fn cases_can_run_one_by_one() {
    let mock = MockProvider::new();
    assert_eq!(
        conformance::partial_cancel(&mock, &mock).await,
        Ok(Outcome::Passed)
    );
    assert_eq!(
        conformance::retryable_fault_during_cancel(&mock, &mock).await,
        Ok(Outcome::Passed)
    );
}

#[tokio::test]
async fn missing_capabilities_are_reported_as_skipped() {
    let mock = MockProvider::builder()
        .without(Capability::VirtualAccounts)
        .without(Capability::LookupByOrderId)
        .build();
    let report = run_all(&mock, &mock).await;
    assert!(report.is_success(), "{report}");
    let skipped: Vec<_> = report.skipped().map(|c| c.name).collect();
    assert_eq!(
        skipped,
        [
            "virtual_account_deposit",
            "refund_deposited_virtual_account_needs_own_account",
            "lookup_by_order_id"
        ]
    );
    match outcome(&report, "virtual_account_deposit") {
        CaseOutcome::Skipped(why) => assert!(why.contains("VirtualAccounts"), "{why}"),
        other => panic!("{other:?}"),
    }
    let text = report.to_string();
    assert!(text.contains("skipped lookup_by_order_id"), "{text}");
    assert!(text.contains("10 passed, 3 skipped, 0 failed"), "{text}");
}

/// A driver that can do nothing: every case is skipped, none passes.
struct Helpless;

#[async_trait]
impl ConformanceDriver for Helpless {
    fn driver_capabilities(&self) -> DriverCapabilities {
        DriverCapabilities::none()
    }
    async fn authenticate_card(
        &self,
        _: &str,
        _: &hanpay_core::Money,
    ) -> Result<String, DriverError> {
        Err("cannot".into())
    }
    async fn deposit(&self, _: &Payment) -> Result<(), DriverError> {
        Err("cannot".into())
    }
    async fn inject_retryable_fault_on_next_cancel(&self, _: &str) -> Result<(), DriverError> {
        Err("cannot".into())
    }
}

#[tokio::test]
async fn a_driver_without_features_skips_rather_than_passes() {
    let mock = MockProvider::new();
    let report = run_all(&mock, &Helpless).await;
    assert_eq!(report.passed().count(), 0, "{report}");
    assert_eq!(report.skipped().count(), CASES.len(), "{report}");
    assert!(report.is_success());
}

/// A provider with classic bugs, to prove the suite notices them.
struct Buggy {
    mock: MockProvider,
    id: ProviderId,
}

#[async_trait]
impl PaymentProvider for Buggy {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    fn capabilities(&self) -> Capabilities {
        self.mock.capabilities()
    }
    /// Bug: trusts the PG's amount instead of the merchant's.
    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        let mut fixed = request.clone();
        if let Some(p) = self.mock.inspect(&request.payment_key) {
            fixed.amount = p.total;
        }
        self.mock.confirm(&fixed).await
    }
    async fn payment(&self, key: &str) -> Result<Payment, PaymentError> {
        self.mock.payment(key).await
    }
    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        self.mock.payment_by_order_id(order_id).await
    }
    /// Bug: a fresh idempotency key on every attempt, and no refund-account check.
    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        let mut sloppy = request.clone();
        sloppy.idempotency_key = None;
        self.mock.cancel(&sloppy).await
    }
    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        self.mock.issue_virtual_account(request).await
    }
}

#[tokio::test]
async fn the_suite_catches_a_buggy_provider() {
    let mock = MockProvider::builder().id("buggy").build();
    let buggy = Buggy {
        mock: mock.clone(),
        id: ProviderId::new("buggy"),
    };
    let report = run_all(&buggy, &mock).await;
    assert!(!report.is_success());
    let failed: Vec<_> = report.failures().map(|c| c.name).collect();
    assert_eq!(
        failed,
        [
            "confirm_amount_mismatch",
            "retryable_fault_during_cancel",
            // A fresh key on the retry: the PG cancels again.
            "cancel_retried_after_its_answer_was_lost"
        ],
        "{report}"
    );
    match outcome(&report, "retryable_fault_during_cancel") {
        CaseOutcome::Failed(why) => assert!(why.contains("idempotency key"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(report
        .to_string()
        .contains("FAILED  confirm_amount_mismatch"));
    let panicked = std::panic::catch_unwind(|| report.assert_passed());
    assert!(panicked.is_err());
}

/// Bug: a fresh idempotency key on each attempt, and errors that hide which key was used — only
/// the payment's state can tell that the retry canceled twice (4,000원 off twice).
struct DoubleCancel {
    mock: MockProvider,
}

#[async_trait]
impl PaymentProvider for DoubleCancel {
    fn id(&self) -> &ProviderId {
        PaymentProvider::id(&self.mock)
    }
    fn capabilities(&self) -> Capabilities {
        self.mock.capabilities()
    }
    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        self.mock.confirm(request).await
    }
    async fn payment(&self, key: &str) -> Result<Payment, PaymentError> {
        self.mock.payment(key).await
    }
    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        let mut sloppy = request.clone();
        sloppy.idempotency_key = None;
        self.mock
            .cancel(&sloppy)
            .await
            .map_err(|e| PaymentError::new(e.kind(), e.message()))
    }
}

#[tokio::test]
async fn the_suite_counts_cancellations_after_a_retry() {
    let mock = MockProvider::new();
    let provider = DoubleCancel { mock: mock.clone() };
    let result = conformance::retryable_fault_during_cancel(&provider, &mock).await;
    let why = result.unwrap_err();
    assert!(
        why.contains("balance is 7,000원, expected 11,000원"),
        "{why}"
    );
}
