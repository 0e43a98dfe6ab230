// CONFORMANCE-READY
//! The conformance suite every [`PaymentProvider`] must pass, in the style of `object_store`'s
//! shared integration tests: plain async functions, each taking the provider under test and a
//! [`ConformanceDriver`] that plays the customer and the PG.
//!
//! Run everything with [`run_all`] and assert on the [`Report`]:
//!
//! ```
//! use hanpay_testkit::conformance::run_all;
//! use hanpay_testkit::mock::MockProvider;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mock = MockProvider::new();
//! // The mock is its own driver: it authenticates cards and receives deposits in memory.
//! let report = run_all(&mock, &mock).await;
//! report.assert_passed();
//! assert_eq!(report.skipped().count(), 0);
//! # });
//! ```
//!
//! A case whose provider [`Capability`] or driver feature ([`DriverCapabilities`]) is missing is
//! reported as [`CaseOutcome::Skipped`] with the reason — never as passed.
//!
//! Every case works on its own fresh order ([`ConformanceDriver::fresh_order_id`]), so cases
//! can run against a shared PG (a fake server) without interfering.

use std::fmt;

use async_trait::async_trait;
use hanpay_core::{
    Bank, CancelRequest, Capabilities, Capability, ConfirmRequest, ErrorKind, Money, Payment,
    PaymentError, PaymentProvider, PaymentStatus, RefundAccount, VirtualAccountRequest,
};

/// The amount each case pays, in won.
const AMOUNT: i64 = 15_000;
/// The part a partial cancel returns, in won.
const PART: i64 = 4_000;
/// How many times the suite sends a cancel that failed retryably (the first attempt included).
const MAX_CANCEL_ATTEMPTS: usize = 4;
/// A customer's own account (digits only) for the successful refund of a virtual account.
const OWN_ACCOUNT: &str = "1102147270";
/// A test virtual-account number (Toss sandbox style): never a valid refund account.
const TEST_VA_NUMBER: &str = "X600802567548";

/// Why a driver could not do what a case asked (the PG refused the simulated deposit, the fake
/// server was unreachable, …). A plain message: drivers talking HTTP convert their errors with
/// `DriverError::new(err)` or `?` on a `String`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverError(String);

impl DriverError {
    /// A driver error from anything printable.
    pub fn new(message: impl fmt::Display) -> DriverError {
        DriverError(message.to_string())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DriverError {}

impl From<String> for DriverError {
    fn from(message: String) -> Self {
        DriverError(message)
    }
}

impl From<&str> for DriverError {
    fn from(message: &str) -> Self {
        DriverError(message.to_owned())
    }
}

impl From<PaymentError> for DriverError {
    fn from(err: PaymentError) -> Self {
        DriverError(err.to_string())
    }
}

/// What a [`ConformanceDriver`] can simulate. Cases that need a missing feature are skipped
/// (and reported as skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverCapabilities {
    /// [`ConformanceDriver::authenticate_card`] works.
    pub card_payments: bool,
    /// [`ConformanceDriver::deposit`] works.
    pub virtual_account_deposits: bool,
    /// [`ConformanceDriver::inject_retryable_fault_on_next_cancel`] works.
    pub cancel_faults: bool,
}

impl DriverCapabilities {
    /// Every feature.
    pub const fn all() -> DriverCapabilities {
        DriverCapabilities {
            card_payments: true,
            virtual_account_deposits: true,
            cancel_faults: true,
        }
    }

    /// No feature.
    pub const fn none() -> DriverCapabilities {
        DriverCapabilities {
            card_payments: false,
            virtual_account_deposits: false,
            cancel_faults: false,
        }
    }
}

impl Default for DriverCapabilities {
    fn default() -> Self {
        DriverCapabilities::all()
    }
}

/// Plays the customer and the PG around the provider under test.
///
/// Small and HTTP-friendly on purpose: a driver for a fake PG server implements each method
/// with one request to the fake's test-control endpoints.
#[async_trait]
pub trait ConformanceDriver: Send + Sync {
    /// What this driver can simulate. Defaults to everything. (Not named `capabilities`, so
    /// that a type implementing both this and [`PaymentProvider`] stays unambiguous.)
    fn driver_capabilities(&self) -> DriverCapabilities {
        DriverCapabilities::all()
    }

    /// A new order id, unique across runs, valid for every PG (6–64 of `[A-Za-z0-9_=-]`).
    fn fresh_order_id(&self) -> String {
        format!("hanpay-conf-{}", uuid::Uuid::new_v4().simple())
    }

    /// The customer pays `amount` for `order_id` by card in the browser: returns the payment
    /// key the PG hands the merchant (Toss `paymentKey` from the successUrl, PortOne
    /// `paymentId`), waiting for the merchant's confirm.
    async fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, DriverError>;

    /// The customer transfers the full amount into the virtual account of `payment` (as issued
    /// by [`PaymentProvider::issue_virtual_account`]). Returns once the PG has recorded it.
    async fn deposit(&self, payment: &Payment) -> Result<(), DriverError>;

    /// The next cancel the PG receives for `payment_key` fails retryably (a 5xx, or a lost
    /// answer); its effect may or may not have been applied. A retry with the same idempotency
    /// key must not cancel twice.
    async fn inject_retryable_fault_on_next_cancel(
        &self,
        payment_key: &str,
    ) -> Result<(), DriverError>;

    /// How many cancel requests for `payment_key` reached the PG so far, if the driver can
    /// tell (a fake server counts them). `None` (the default) when unknown; the suite then
    /// checks the payment's state only.
    async fn pg_cancel_requests(&self, payment_key: &str) -> Result<Option<usize>, DriverError> {
        let _ = payment_key;
        Ok(None)
    }

    /// How many API calls (confirm, lookup, cancel, …: every merchant request, not the test
    /// controls) reached the PG so far, if the driver can tell. `None` (the default) when
    /// unknown; the round-trip case is then skipped.
    async fn pg_requests(&self) -> Result<Option<usize>, DriverError> {
        Ok(None)
    }
}

/// How a case ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// Not run: a capability it needs is missing (the reason says which).
    Skipped(String),
}

/// What every case returns: the outcome, or a message saying which check failed.
pub type CaseResult = Result<Outcome, String>;

/// One case's result in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Every check passed.
    Passed,
    /// Not run, with the reason.
    Skipped(String),
    /// A check failed, with what was expected and what happened.
    Failed(String),
}

/// One case of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// The case's name (the function's name, e.g. `"partial_cancel"`).
    pub name: &'static str,
    /// How it ended.
    pub outcome: CaseOutcome,
}

/// The result of [`run_all`]: every case, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The provider that was tested.
    pub provider: String,
    /// Each case's result.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// The cases that passed.
    pub fn passed(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Passed))
    }

    /// The cases that were skipped.
    pub fn skipped(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Skipped(_)))
    }

    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseReport> {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Failed(_)))
    }

    /// `true` when no case failed (skipped cases are not failures).
    pub fn is_success(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Panics with the whole report when a case failed. For tests.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.is_success() {
            panic!("conformance suite failed\n{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance of {}: {} passed, {} skipped, {} failed",
            self.provider,
            self.passed().count(),
            self.skipped().count(),
            self.failures().count()
        )?;
        for case in &self.cases {
            match &case.outcome {
                CaseOutcome::Passed => writeln!(f, "  ok      {}", case.name)?,
                CaseOutcome::Skipped(why) => writeln!(f, "  skipped {}: {why}", case.name)?,
                CaseOutcome::Failed(why) => writeln!(f, "  FAILED  {}: {why}", case.name)?,
            }
        }
        Ok(())
    }
}

/// The names of the cases [`run_all`] runs, in order.
pub const CASES: [&str; 13] = [
    "confirm_card_paid",
    "confirm_amount_mismatch",
    "confirm_twice",
    "partial_cancel",
    "cancel_above_balance",
    "full_cancel",
    "virtual_account_deposit",
    "refund_deposited_virtual_account_needs_own_account",
    "retryable_fault_during_cancel",
    "cancel_retried_after_its_answer_was_lost",
    "lookup_by_key",
    "lookup_by_order_id",
    "round_trips",
];

/// Runs every case against `provider` with `driver` and reports each one.
pub async fn run_all<P, D>(provider: &P, driver: &D) -> Report
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    let mut cases = Vec::with_capacity(CASES.len());
    macro_rules! run {
        ($($case:ident),* $(,)?) => {
            $(
                let outcome = match $case(provider, driver).await {
                    Ok(Outcome::Passed) => CaseOutcome::Passed,
                    Ok(Outcome::Skipped(why)) => CaseOutcome::Skipped(why),
                    Err(why) => CaseOutcome::Failed(why),
                };
                cases.push(CaseReport { name: stringify!($case), outcome });
            )*
        };
    }
    run!(
        confirm_card_paid,
        confirm_amount_mismatch,
        confirm_twice,
        partial_cancel,
        cancel_above_balance,
        full_cancel,
        virtual_account_deposit,
        refund_deposited_virtual_account_needs_own_account,
        retryable_fault_during_cancel,
        cancel_retried_after_its_answer_was_lost,
        lookup_by_key,
        lookup_by_order_id,
        round_trips,
    );
    Report {
        provider: provider.id().to_string(),
        cases,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// `Some(reason)` when a provider capability or a driver feature is missing.
fn missing(
    caps: Capabilities,
    needed: &[Capability],
    needed_driver: &[(&str, bool)],
) -> Option<String> {
    let mut absent: Vec<String> = needed
        .iter()
        .filter(|c| !caps.contains(**c))
        .map(|c| format!("provider capability {c:?}"))
        .collect();
    absent.extend(
        needed_driver
            .iter()
            .filter(|(_, has)| !has)
            .map(|(name, _)| format!("driver feature {name}")),
    );
    if absent.is_empty() {
        None
    } else {
        Some(format!("missing {}", absent.join(", ")))
    }
}

macro_rules! require {
    ($provider:expr, $driver:expr, [$($cap:ident),*], [$($feature:ident),*]) => {
        let driver_caps = $driver.driver_capabilities();
        if let Some(why) = missing(
            $provider.capabilities(),
            &[$(Capability::$cap),*],
            &[$((stringify!($feature), driver_caps.$feature)),*],
        ) {
            return Ok(Outcome::Skipped(why));
        }
    };
}

fn krw(won: i64) -> Money {
    Money::krw(won)
}

fn driver_err(step: &str) -> impl FnOnce(DriverError) -> String + '_ {
    move |e| format!("driver could not {step}: {e}")
}

fn provider_err(step: &str) -> impl FnOnce(PaymentError) -> String + '_ {
    move |e| format!("{step} failed: {e} (kind {})", e.kind())
}

fn expect_kind(
    result: Result<Payment, PaymentError>,
    kind: ErrorKind,
    step: &str,
) -> Result<PaymentError, String> {
    match result {
        Ok(p) => Err(format!(
            "{step}: expected a {kind} error, got Ok with status {} and balance {}",
            p.status, p.balance
        )),
        Err(e) if e.kind() == kind => Ok(e),
        Err(e) => Err(format!(
            "{step}: expected a {kind} error, got {} ({e})",
            e.kind()
        )),
    }
}

/// Authenticates a card payment for a fresh order and confirms it. Returns the paid payment.
async fn pay_by_card<P, D>(provider: &P, driver: &D, amount: &Money) -> Result<Payment, String>
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    let order_id = driver.fresh_order_id();
    let key = driver
        .authenticate_card(&order_id, amount)
        .await
        .map_err(driver_err("authenticate a card payment"))?;
    let paid = provider
        .confirm(&ConfirmRequest::new(
            key.clone(),
            order_id.clone(),
            amount.clone(),
        ))
        .await
        .map_err(provider_err("confirm"))?;
    ensure!(
        paid.status == PaymentStatus::Paid,
        "confirm returned status {} (raw {:?}), expected PAID",
        paid.status,
        paid.raw_status
    );
    ensure!(
        paid.payment_key == key,
        "confirm returned payment key {:?}, expected {key:?}",
        paid.payment_key
    );
    ensure!(
        paid.order_id == order_id,
        "confirm returned order id {:?}, expected {order_id:?}",
        paid.order_id
    );
    Ok(paid)
}

/// Checks total, balance, canceled amount and the number of cancellations.
fn check_amounts(
    p: &Payment,
    step: &str,
    total: i64,
    balance: i64,
    cancellations: usize,
) -> Result<(), String> {
    ensure!(
        p.total == krw(total),
        "{step}: total is {}, expected {}",
        p.total,
        krw(total)
    );
    ensure!(
        p.balance == krw(balance),
        "{step}: balance is {}, expected {}",
        p.balance,
        krw(balance)
    );
    let canceled = total - balance;
    ensure!(
        p.canceled == krw(canceled),
        "{step}: canceled amount is {}, expected {}",
        p.canceled,
        krw(canceled)
    );
    ensure!(
        p.cancellations.len() == cancellations,
        "{step}: {} cancellation(s) recorded, expected {cancellations}",
        p.cancellations.len()
    );
    let sum: i64 = p.cancellations.iter().map(|c| c.amount.minor_units()).sum();
    ensure!(
        sum == canceled,
        "{step}: the cancellations add up to {sum}, expected {canceled}"
    );
    Ok(())
}

/// Looks the payment up by key when the provider can; `None` otherwise.
async fn lookup<P>(provider: &P, key: &str, step: &str) -> Result<Option<Payment>, String>
where
    P: PaymentProvider + ?Sized,
{
    if !provider.capabilities().contains(Capability::LookupByKey) {
        return Ok(None);
    }
    provider
        .payment(key)
        .await
        .map(Some)
        .map_err(provider_err(step))
}

/// Looks the payment up (when the provider can look up by key) and checks its status and its
/// `(total, balance, cancellations)`.
async fn check_lookup<P>(
    provider: &P,
    key: &str,
    step: &str,
    status: PaymentStatus,
    (total, balance, cancellations): (i64, i64, usize),
) -> Result<(), String>
where
    P: PaymentProvider + ?Sized,
{
    if let Some(p) = lookup(provider, key, step).await? {
        ensure!(
            p.status == status,
            "{step}: the payment is {}, expected {status}",
            p.status
        );
        check_amounts(&p, step, total, balance, cancellations)?;
    }
    Ok(())
}

/// Issues a virtual account for a fresh order and has the driver deposit into it.
async fn deposited_virtual_account<P, D>(provider: &P, driver: &D) -> Result<Payment, String>
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    let issued = issue_virtual_account(provider, driver).await?;
    driver
        .deposit(&issued)
        .await
        .map_err(driver_err("deposit into the virtual account"))?;
    let paid = provider
        .payment(&issued.payment_key)
        .await
        .map_err(provider_err("lookup after the deposit"))?;
    ensure!(
        paid.status == PaymentStatus::Paid,
        "after the deposit the payment is {} (raw {:?}), expected PAID",
        paid.status,
        paid.raw_status
    );
    Ok(paid)
}

async fn issue_virtual_account<P, D>(provider: &P, driver: &D) -> Result<Payment, String>
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    let order_id = driver.fresh_order_id();
    let request = VirtualAccountRequest::new(
        krw(AMOUNT),
        order_id.clone(),
        "hanpay conformance",
        "홍길동",
        Bank::Shinhan,
    )
    .valid_hours(24);
    let issued = provider
        .issue_virtual_account(&request)
        .await
        .map_err(provider_err("issue_virtual_account"))?;
    ensure!(
        issued.status == PaymentStatus::WaitingForDeposit,
        "a newly issued virtual account is {} (raw {:?}), expected WAITING_FOR_DEPOSIT",
        issued.status,
        issued.raw_status
    );
    ensure!(
        issued.order_id == order_id,
        "issued for order {:?}, expected {order_id:?}",
        issued.order_id
    );
    ensure!(
        issued.total == krw(AMOUNT),
        "issued for {}, expected {}",
        issued.total,
        krw(AMOUNT)
    );
    let Some(va) = issued.virtual_account() else {
        return Err(format!(
            "the issued payment has no virtual account details (method {:?})",
            issued.method
        ));
    };
    ensure!(
        !va.account_number.is_empty(),
        "the issued virtual account has no account number"
    );
    Ok(issued)
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A card payment the customer authenticated is confirmed: `Paid`, total and balance equal to
/// the amount, nothing canceled, the same payment key and order id.
pub async fn confirm_card_paid<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(provider, driver, [Confirm], [card_payments]);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    check_amounts(&paid, "confirm", AMOUNT, AMOUNT, 0)?;
    ensure!(
        &paid.provider == provider.id(),
        "the payment names provider {}, expected {}",
        paid.provider,
        provider.id()
    );
    Ok(Outcome::Passed)
}

/// Confirming with another amount than the customer authenticated fails with
/// `AmountMismatch`, and nothing is charged: a lookup shows the payment not paid (or not
/// found).
pub async fn confirm_amount_mismatch<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(provider, driver, [Confirm], [card_payments]);
    let order_id = driver.fresh_order_id();
    let key = driver
        .authenticate_card(&order_id, &krw(AMOUNT))
        .await
        .map_err(driver_err("authenticate a card payment"))?;
    let result = provider
        .confirm(&ConfirmRequest::new(
            key.clone(),
            order_id,
            krw(AMOUNT - 1_000),
        ))
        .await;
    expect_kind(
        result,
        ErrorKind::AmountMismatch,
        "confirm with another amount",
    )?;
    if provider.capabilities().contains(Capability::LookupByKey) {
        match provider.payment(&key).await {
            Ok(p) => ensure!(
                !p.status.is_paid(),
                "after a refused confirm the payment is {} (charged), expected not paid",
                p.status
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(format!("lookup after the refused confirm failed: {e}")),
        }
    }
    Ok(Outcome::Passed)
}

/// A second confirm of a paid payment is refused as `AlreadyProcessed`, or returns the same
/// payment; either way the customer is charged once.
pub async fn confirm_twice<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(provider, driver, [Confirm], [card_payments]);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let again = ConfirmRequest::new(paid.payment_key.clone(), paid.order_id.clone(), krw(AMOUNT));
    match provider.confirm(&again).await {
        Err(e) if e.kind() == ErrorKind::AlreadyProcessed => {}
        Ok(p) => {
            ensure!(
                p.payment_key == paid.payment_key && p.status == PaymentStatus::Paid,
                "the second confirm returned {:?} with status {}, expected the same paid payment",
                p.payment_key,
                p.status
            );
            check_amounts(&p, "second confirm", AMOUNT, AMOUNT, 0)?;
        }
        Err(e) => {
            return Err(format!(
                "the second confirm failed with {} ({e}), expected already_processed or the same payment",
                e.kind()
            ))
        }
    }
    check_lookup(
        provider,
        &paid.payment_key,
        "lookup after two confirms",
        PaymentStatus::Paid,
        (AMOUNT, AMOUNT, 0),
    )
    .await?;
    Ok(Outcome::Passed)
}

/// A partial cancel leaves `PartiallyCanceled` with the balance reduced by exactly the amount
/// and one cancellation recorded.
pub async fn partial_cancel<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, Cancel, PartialCancel],
        [card_payments]
    );
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let request = CancelRequest::partial(paid.payment_key.clone(), "고객 변심 (일부)", krw(PART));
    let canceled = provider
        .cancel(&request)
        .await
        .map_err(provider_err("partial cancel"))?;
    ensure!(
        canceled.status == PaymentStatus::PartiallyCanceled,
        "after a partial cancel the payment is {} (raw {:?}), expected PARTIALLY_CANCELED",
        canceled.status,
        canceled.raw_status
    );
    check_amounts(&canceled, "partial cancel", AMOUNT, AMOUNT - PART, 1)?;
    check_lookup(
        provider,
        &paid.payment_key,
        "lookup after the partial cancel",
        PaymentStatus::PartiallyCanceled,
        (AMOUNT, AMOUNT - PART, 1),
    )
    .await?;
    Ok(Outcome::Passed)
}

/// A cancel above the balance is refused as `NotCancelable` and changes nothing.
pub async fn cancel_above_balance<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, Cancel, PartialCancel, LookupByKey],
        [card_payments]
    );
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let request = CancelRequest::partial(paid.payment_key.clone(), "too much", krw(AMOUNT + 1));
    expect_kind(
        provider.cancel(&request).await,
        ErrorKind::NotCancelable,
        "cancel above the balance",
    )?;
    let after = provider
        .payment(&paid.payment_key)
        .await
        .map_err(provider_err("lookup after the refused cancel"))?;
    ensure!(
        after.status == PaymentStatus::Paid,
        "after a refused cancel the payment is {}, expected PAID (unchanged)",
        after.status
    );
    check_amounts(&after, "lookup after the refused cancel", AMOUNT, AMOUNT, 0)?;
    Ok(Outcome::Passed)
}

/// A full cancel leaves `Canceled` with a zero balance and one cancellation of the whole
/// amount.
pub async fn full_cancel<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(provider, driver, [Confirm, Cancel], [card_payments]);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let canceled = provider
        .cancel(&CancelRequest::full(paid.payment_key.clone(), "고객 변심"))
        .await
        .map_err(provider_err("full cancel"))?;
    ensure!(
        canceled.status == PaymentStatus::Canceled,
        "after a full cancel the payment is {} (raw {:?}), expected CANCELED",
        canceled.status,
        canceled.raw_status
    );
    check_amounts(&canceled, "full cancel", AMOUNT, 0, 1)?;
    check_lookup(
        provider,
        &paid.payment_key,
        "lookup after the full cancel",
        PaymentStatus::Canceled,
        (AMOUNT, 0, 1),
    )
    .await?;
    Ok(Outcome::Passed)
}

/// A virtual account is issued (`WaitingForDeposit`, with an account number), the customer
/// deposits, and the payment is `Paid`.
pub async fn virtual_account_deposit<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [VirtualAccounts, LookupByKey],
        [virtual_account_deposits]
    );
    let issued = issue_virtual_account(provider, driver).await?;
    let waiting = provider
        .payment(&issued.payment_key)
        .await
        .map_err(provider_err("lookup of the issued virtual account"))?;
    ensure!(
        waiting.status == PaymentStatus::WaitingForDeposit,
        "lookup before the deposit shows {}, expected WAITING_FOR_DEPOSIT",
        waiting.status
    );
    driver
        .deposit(&issued)
        .await
        .map_err(driver_err("deposit into the virtual account"))?;
    let paid = provider
        .payment(&issued.payment_key)
        .await
        .map_err(provider_err("lookup after the deposit"))?;
    ensure!(
        paid.status == PaymentStatus::Paid,
        "after the deposit the payment is {} (raw {:?}), expected PAID",
        paid.status,
        paid.raw_status
    );
    check_amounts(&paid, "lookup after the deposit", AMOUNT, AMOUNT, 0)?;
    ensure!(
        paid.virtual_account().is_some(),
        "after the deposit the payment lost its virtual account details"
    );
    Ok(Outcome::Passed)
}

/// Refunding a deposited virtual account needs the customer's own account: with none, with
/// the test virtual-account number (`X600802567548`, refused by [`RefundAccount::new`]) or with
/// the virtual account's own number, the refund is refused as `InvalidRequest` before any call
/// and nothing changes; with the customer's own account it goes through.
pub async fn refund_deposited_virtual_account_needs_own_account<P, D>(
    provider: &P,
    driver: &D,
) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [VirtualAccounts, LookupByKey, Cancel],
        [virtual_account_deposits]
    );
    ensure!(
        RefundAccount::new(Bank::Daegu, TEST_VA_NUMBER, "Pankaj").is_err(),
        "RefundAccount::new accepted {TEST_VA_NUMBER:?}, which is not digits only"
    );
    let paid = deposited_virtual_account(provider, driver).await?;
    let key = paid.payment_key.clone();
    let calls_before = driver
        .pg_cancel_requests(&key)
        .await
        .map_err(driver_err("count cancel requests"))?;

    let none = CancelRequest::full(key.clone(), "환불");
    expect_kind(
        provider.cancel(&none).await,
        ErrorKind::InvalidRequest,
        "refund of a deposited virtual account without a refund account",
    )?;

    let va_number = paid
        .virtual_account()
        .map(|va| va.account_number.clone())
        .unwrap_or_default();
    let va_bank = paid
        .virtual_account()
        .and_then(|va| va.bank.clone())
        .unwrap_or(Bank::Shinhan);
    // A virtual-account number that is not all digits cannot even be built into a refund
    // account; one that is must be refused by the provider.
    if let Ok(same) = RefundAccount::new(va_bank, va_number.clone(), "홍길동") {
        let into_va = CancelRequest::full(key.clone(), "환불").refund_to(same);
        expect_kind(
            provider.cancel(&into_va).await,
            ErrorKind::InvalidRequest,
            "refund into the virtual account the customer paid into",
        )?;
    }

    let calls_after = driver
        .pg_cancel_requests(&key)
        .await
        .map_err(driver_err("count cancel requests"))?;
    if let (Some(before), Some(after)) = (calls_before, calls_after) {
        ensure!(
            before == after,
            "the refused refunds reached the PG ({} cancel request(s)); they must be refused before any call",
            after.saturating_sub(before)
        );
    }
    let unchanged = provider
        .payment(&key)
        .await
        .map_err(provider_err("lookup after the refused refunds"))?;
    ensure!(
        unchanged.status == PaymentStatus::Paid,
        "after the refused refunds the payment is {}, expected PAID (unchanged)",
        unchanged.status
    );
    check_amounts(
        &unchanged,
        "lookup after the refused refunds",
        AMOUNT,
        AMOUNT,
        0,
    )?;

    let own = RefundAccount::new(Bank::Shinhan, OWN_ACCOUNT, "홍길동")
        .map_err(|e| format!("the customer's own account was refused: {e}"))?;
    let refunded = provider
        .cancel(&CancelRequest::full(key.clone(), "환불").refund_to(own))
        .await
        .map_err(provider_err("refund to the customer's own account"))?;
    ensure!(
        refunded.status == PaymentStatus::Canceled,
        "after the refund to the customer's own account the payment is {}, expected CANCELED",
        refunded.status
    );
    check_amounts(
        &refunded,
        "refund to the customer's own account",
        AMOUNT,
        0,
        1,
    )?;
    Ok(Outcome::Passed)
}

/// A cancel that fails retryably (the PG answered 5xx or the answer was lost, whether or not
/// it took effect) is retried with the same idempotency key — by the provider internally or
/// by the suite after a `Retryable`/`OutcomeUnknown` error — and exactly one cancellation is
/// recorded.
pub async fn retryable_fault_during_cancel<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, Cancel, LookupByKey],
        [card_payments, cancel_faults]
    );
    let partial = provider.capabilities().contains(Capability::PartialCancel);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let key = paid.payment_key.clone();
    let (amount, balance, status) = if partial {
        (PART, AMOUNT - PART, PaymentStatus::PartiallyCanceled)
    } else {
        (AMOUNT, 0, PaymentStatus::Canceled)
    };
    let idempotency_key = format!("cancel-{}", paid.order_id);
    let mut request = if partial {
        CancelRequest::partial(key.clone(), "고객 변심", krw(amount))
    } else {
        CancelRequest::full(key.clone(), "고객 변심")
    };
    request = request.idempotency_key(idempotency_key.clone());

    let calls_before = driver
        .pg_cancel_requests(&key)
        .await
        .map_err(driver_err("count cancel requests"))?;
    driver
        .inject_retryable_fault_on_next_cancel(&key)
        .await
        .map_err(driver_err("inject a fault"))?;

    let mut attempt = 0;
    let mut saw_already_processed = false;
    loop {
        attempt += 1;
        match provider.cancel(&request).await {
            Ok(p) => {
                ensure!(p.status == status, "the cancel returned status {}, expected {status}", p.status);
                check_amounts(&p, "the cancel that succeeded", AMOUNT, balance, 1)?;
                break;
            }
            Err(e) if (e.is_retryable() || e.is_outcome_unknown()) && attempt < MAX_CANCEL_ATTEMPTS => {
                if let Some(used) = e.idempotency_key() {
                    ensure!(
                        used == idempotency_key,
                        "the failed cancel reports idempotency key {used:?}, not the one given ({idempotency_key:?})"
                    );
                }
            }
            // The first attempt took effect and the retry was refused as a duplicate: allowed,
            // the state check below decides.
            Err(e) if attempt > 1 && e.kind() == ErrorKind::AlreadyProcessed => {
                saw_already_processed = true;
                break;
            }
            Err(e) => {
                return Err(format!(
                    "cancel attempt {attempt} failed with {} ({e}); expected success, retryable or outcome_unknown",
                    e.kind()
                ))
            }
        }
    }

    let after = provider
        .payment(&key)
        .await
        .map_err(provider_err("lookup after the retried cancel"))?;
    ensure!(
        after.status == status,
        "after the retried cancel the payment is {}, expected {status}{}",
        after.status,
        if saw_already_processed {
            " (the retry was answered already_processed)"
        } else {
            ""
        }
    );
    check_amounts(
        &after,
        "lookup after the retried cancel",
        AMOUNT,
        balance,
        1,
    )?;

    let calls_after = driver
        .pg_cancel_requests(&key)
        .await
        .map_err(driver_err("count cancel requests"))?;
    if let (Some(before), Some(after)) = (calls_before, calls_after) {
        ensure!(
            after.saturating_sub(before) >= 2,
            "the PG saw {} cancel request(s): the injected fault was never hit or never retried",
            after.saturating_sub(before)
        );
    }
    Ok(Outcome::Passed)
}

/// The PG applied a cancel, but its caller never saw the answer (the instance that sent it
/// died): the caller's retry with the same idempotency key gets the original answer — the
/// canceled payment — not a refusal, and nothing is canceled twice. A PG that replays answers
/// per key replays it; one that does not is recognised from the lookup. Partial (when the
/// provider can) and full.
pub async fn cancel_retried_after_its_answer_was_lost<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, Cancel, LookupByKey],
        [card_payments]
    );
    let partial = provider.capabilities().contains(Capability::PartialCancel);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let key = paid.payment_key.clone();
    let mut requests = Vec::new();
    if partial {
        requests.push((
            CancelRequest::partial(key.clone(), "부분 환불", krw(PART))
                .idempotency_key(format!("part-{}", paid.order_id)),
            PaymentStatus::PartiallyCanceled,
            AMOUNT - PART,
            1,
        ));
    }
    requests.push((
        CancelRequest::full(key.clone(), "고객 변심")
            .idempotency_key(format!("full-{}", paid.order_id)),
        PaymentStatus::Canceled,
        0,
        requests.len() + 1,
    ));
    for (request, status, balance, cancellations) in requests {
        let first = provider
            .cancel(&request)
            .await
            .map_err(provider_err("the first cancel"))?;
        ensure!(
            first.status == status,
            "the first cancel left {}, expected {status}",
            first.status
        );
        // The answer was lost: the caller sends the same request again.
        let retried = provider
            .cancel(&request)
            .await
            .map_err(|e| format!("the retry with the same idempotency key was refused with {} ({e}); expected the original answer", e.kind()))?;
        ensure!(
            retried.status == status,
            "the retry answered {}, expected {status}",
            retried.status
        );
        check_amounts(
            &retried,
            "the retried cancel's answer",
            AMOUNT,
            balance,
            cancellations,
        )?;
        let after = provider
            .payment(&key)
            .await
            .map_err(provider_err("lookup after the retry"))?;
        check_amounts(
            &after,
            "lookup after the retry",
            AMOUNT,
            balance,
            cancellations,
        )?;
    }
    // A new request (another key) on the canceled payment is still refused.
    let another = CancelRequest::full(key.clone(), "고객 변심")
        .idempotency_key(format!("again-{}", paid.order_id));
    match provider.cancel(&another).await {
        Err(e) if matches!(e.kind(), ErrorKind::NotCancelable | ErrorKind::AlreadyProcessed) => {}
        Ok(p) if p.cancellations.len() <= usize::from(partial) + 1 => {}
        Ok(p) => return Err(format!("a new cancel of a canceled payment canceled again: {} cancellations", p.cancellations.len())),
        Err(e) => return Err(format!("a new cancel of a canceled payment failed with {} ({e}); expected not_cancelable or already_processed", e.kind())),
    }
    Ok(Outcome::Passed)
}

/// A payment is found by its key, with the same order id, status and amounts; an unknown key
/// is `NotFound`.
pub async fn lookup_by_key<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(provider, driver, [Confirm, LookupByKey], [card_payments]);
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let found = provider
        .payment(&paid.payment_key)
        .await
        .map_err(provider_err("lookup by key"))?;
    ensure!(
        found.payment_key == paid.payment_key,
        "lookup by key returned key {:?}",
        found.payment_key
    );
    ensure!(
        found.order_id == paid.order_id,
        "lookup by key returned order {:?}, expected {:?}",
        found.order_id,
        paid.order_id
    );
    ensure!(
        found.status == PaymentStatus::Paid,
        "lookup by key shows {}, expected PAID",
        found.status
    );
    check_amounts(&found, "lookup by key", AMOUNT, AMOUNT, 0)?;
    let unknown = format!("unknown-{}", driver.fresh_order_id());
    expect_kind(
        provider.payment(&unknown).await,
        ErrorKind::NotFound,
        "lookup of an unknown key",
    )?;
    Ok(Outcome::Passed)
}

/// A payment is found by the merchant's order id, with the same key, status and amounts; an
/// unknown order id is `NotFound`.
pub async fn lookup_by_order_id<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, LookupByOrderId],
        [card_payments]
    );
    let paid = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let found = provider
        .payment_by_order_id(&paid.order_id)
        .await
        .map_err(provider_err("lookup by order id"))?;
    ensure!(
        found.payment_key == paid.payment_key,
        "lookup by order id returned key {:?}, expected {:?}",
        found.payment_key,
        paid.payment_key
    );
    ensure!(
        found.order_id == paid.order_id,
        "lookup by order id returned order {:?}",
        found.order_id
    );
    ensure!(
        found.status == PaymentStatus::Paid,
        "lookup by order id shows {}, expected PAID",
        found.status
    );
    check_amounts(&found, "lookup by order id", AMOUNT, AMOUNT, 0)?;
    let unknown = driver.fresh_order_id();
    expect_kind(
        provider.payment_by_order_id(&unknown).await,
        ErrorKind::NotFound,
        "lookup of an unknown order id",
    )?;
    Ok(Outcome::Passed)
}

/// Counts the PG calls an operation makes: the driver's count after minus before.
async fn calls_of<D, T, F>(driver: &D, operation: F) -> Result<(T, usize), String>
where
    D: ConformanceDriver + ?Sized,
    F: std::future::Future<Output = Result<T, String>>,
{
    let count = || async {
        driver
            .pg_requests()
            .await
            .map_err(driver_err("count the PG calls"))?
            .ok_or_else(|| "the driver stopped counting".to_owned())
    };
    let before = count().await?;
    let value = operation.await?;
    let after = count().await?;
    Ok((value, after.saturating_sub(before)))
}

/// Each operation makes as few PG calls as its job needs: a confirm one (the PG checks the
/// amount itself), a lookup one, a cancel at most two (one lookup to validate the balance,
/// status and refund account, then the cancel, whose answer is the result).
pub async fn round_trips<P, D>(provider: &P, driver: &D) -> CaseResult
where
    P: PaymentProvider + ?Sized,
    D: ConformanceDriver + ?Sized,
{
    require!(
        provider,
        driver,
        [Confirm, Cancel, PartialCancel],
        [card_payments]
    );
    if driver
        .pg_requests()
        .await
        .map_err(driver_err("count the PG calls"))?
        .is_none()
    {
        return Ok(Outcome::Skipped(
            "the driver cannot count the calls that reach the PG".into(),
        ));
    }
    let order_id = driver.fresh_order_id();
    let key = driver
        .authenticate_card(&order_id, &krw(AMOUNT))
        .await
        .map_err(driver_err("authenticate a card payment"))?;
    let confirm = ConfirmRequest::new(key.clone(), order_id, krw(AMOUNT));
    let (_, calls) = calls_of(driver, async {
        provider
            .confirm(&confirm)
            .await
            .map_err(provider_err("confirm"))
    })
    .await?;
    ensure!(calls == 1, "a confirm made {calls} PG calls, expected 1");
    let (_, calls) = calls_of(driver, async {
        provider.payment(&key).await.map_err(provider_err("lookup"))
    })
    .await?;
    ensure!(calls == 1, "a lookup made {calls} PG calls, expected 1");
    let partial = CancelRequest::partial(key.clone(), "고객 변심 (일부)", krw(PART));
    let (canceled, calls) = calls_of(driver, async {
        provider
            .cancel(&partial)
            .await
            .map_err(provider_err("partial cancel"))
    })
    .await?;
    ensure!(
        calls <= 2,
        "a partial cancel made {calls} PG calls, expected at most 2"
    );
    check_amounts(&canceled, "partial cancel", AMOUNT, AMOUNT - PART, 1)?;
    // A full cancel of another payment (a PG may refuse a second cancel of one payment in
    // quick succession, and the retry would be counted).
    let other = pay_by_card(provider, driver, &krw(AMOUNT)).await?;
    let full = CancelRequest::full(other.payment_key.clone(), "고객 변심");
    let (canceled, calls) = calls_of(driver, async {
        provider.cancel(&full).await.map_err(provider_err("cancel"))
    })
    .await?;
    ensure!(
        calls <= 2,
        "a cancel made {calls} PG calls, expected at most 2"
    );
    ensure!(
        canceled.status == PaymentStatus::Canceled,
        "after a full cancel the payment is {} (raw {:?}), expected CANCELED",
        canceled.status,
        canceled.raw_status
    );
    check_amounts(&canceled, "cancel", AMOUNT, 0, 1)?;
    Ok(Outcome::Passed)
}
