// MOCK-READY
//! [`MockProvider`]: an in-memory [`PaymentProvider`] and
//! [`WebhookVerifier`](hanpay_core::WebhookVerifier) with the state a real PG keeps, for tests
//! that need no network.
//!
//! - **Payments** have a total, a balance and their cancellations. The test plays the customer:
//!   [`MockProvider::authenticate_card`] / [`MockProvider::authenticate_easy_pay`] open a
//!   session that [`PaymentProvider::confirm`] approves (checking the amount);
//!   [`PaymentProvider::issue_virtual_account`] opens an account that
//!   [`MockProvider::deposit`] pays or [`MockProvider::expire`] / [`MockProvider::advance_clock`]
//!   expires. Each approved payment gets a per-payment secret, as Toss's do.
//! - **Cancels** run [`CancelRequest::validate_against`] first (so a refund of a deposited
//!   virtual account without the customer's own account is refused before any call), then
//!   apply: a partial cancel leaves `PartiallyCanceled`, a zero balance `Canceled`.
//! - **Idempotency**: a mutation retried with the same idempotency key returns the first
//!   result and applies nothing twice; the same key on another request is refused.
//! - **Faults** are scripted per operation (and optionally per payment):
//!   [`Fault::Retryable`], [`Fault::Timeout`] (each saying whether the effect was applied) and
//!   [`Fault::Reject`].
//! - **Calls** the mock PG received are recorded ([`MockProvider::calls`]).
//! - **Webhooks**: every status change emits a [`MockWebhook`] signed with the mock's Standard
//!   Webhooks key; [`verify`](hanpay_core::WebhookVerifier::verify) accepts them as
//!   [`Trust::Signed`](hanpay_core::Trust::Signed) and refuses unsigned or foreign ones.
//!
//! The mock is also its own [`ConformanceDriver`](crate::conformance::ConformanceDriver).
//!
//! ```
//! use hanpay_core::{
//!     CancelRequest, ConfirmRequest, ErrorKind, Money, PaymentProvider, PaymentStatus,
//! };
//! use hanpay_testkit::mock::{Fault, MockProvider, Operation};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mock = MockProvider::new();
//! let key = mock.authenticate_card("order-0001", &Money::krw(15_000)).unwrap();
//! let confirm = ConfirmRequest::new(&key, "order-0001", Money::krw(15_000));
//! let paid = mock.confirm(&confirm).await.unwrap();
//! assert_eq!(paid.status, PaymentStatus::Paid);
//!
//! // The PG cancels, then its answer is a 500: retrying with the same key cancels once.
//! mock.fail_next(Operation::Cancel, Fault::retryable_after_apply());
//! let cancel =
//!     CancelRequest::partial(&key, "고객 변심", Money::krw(5_000)).idempotency_key("c-1");
//! let err = mock.cancel(&cancel).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Retryable);
//! let canceled = mock.cancel(&cancel).await.unwrap();
//! assert_eq!(canceled.balance, Money::krw(10_000));
//! assert_eq!(canceled.cancellations.len(), 1);
//! assert_eq!(mock.webhooks().len(), 2); // paid, partially canceled
//! # });
//! ```

mod driver;
mod fault;
mod state;
mod webhook;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use hanpay_core::webhook::StandardWebhooks;
use hanpay_core::{
    validate_order_id, validate_payment_key, BillingChargeRequest, CancelRequest, Capabilities,
    Capability, ConfirmRequest, ErrorKind, Money, Payment, PaymentError, PaymentMethod,
    PaymentProvider, PgError, ProviderId, Secret, VirtualAccountRequest,
};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::broadcast;

pub use self::fault::{Call, Fault, Operation};
pub use self::webhook::{MockWebhook, MOCK_WEBHOOK_PATH};

use self::state::State;

/// The mock's default provider id.
pub const MOCK_PROVIDER_ID: &str = "mock";

/// How long an authenticated session can be confirmed, by default (Toss: 10 minutes).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(10 * 60);

/// How many undelivered webhooks a [`MockProvider::subscribe`] receiver can lag behind.
const EVENT_CAPACITY: usize = 1024;

/// An in-memory payment gateway: see the [module documentation](self).
///
/// Cloning is cheap and every clone shares the same state, so a test can hand one clone to the
/// code under test and keep another to drive the customer and inspect the result.
#[derive(Clone)]
pub struct MockProvider {
    inner: Arc<Inner>,
}

struct Inner {
    id: ProviderId,
    capabilities: Capabilities,
    session_ttl: Duration,
    signer: StandardWebhooks,
    webhook_secret: Secret,
    events: broadcast::Sender<MockWebhook>,
    state: Mutex<State>,
}

/// Builds a [`MockProvider`].
///
/// ```
/// use hanpay_core::{Capability, PaymentProvider};
/// use hanpay_testkit::mock::MockProvider;
/// let mock = MockProvider::builder()
///     .id("mock-without-va")
///     .without(Capability::VirtualAccounts)
///     .seed(7)
///     .build();
/// assert!(!mock.capabilities().contains(Capability::VirtualAccounts));
/// ```
#[derive(Debug, Clone)]
pub struct MockProviderBuilder {
    id: ProviderId,
    capabilities: Capabilities,
    session_ttl: Duration,
    webhook_key: Option<[u8; 32]>,
    start: Option<OffsetDateTime>,
    seed: Option<u64>,
}

impl Default for MockProviderBuilder {
    fn default() -> Self {
        MockProviderBuilder {
            id: ProviderId::from_static(MOCK_PROVIDER_ID),
            capabilities: Capabilities::all(),
            session_ttl: DEFAULT_SESSION_TTL,
            webhook_key: None,
            start: None,
            seed: None,
        }
    }
}

impl MockProviderBuilder {
    /// The provider id (default `"mock"`).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = ProviderId::new(id);
        self
    }

    /// The declared capabilities (default: all). An operation outside them returns
    /// [`ErrorKind::Unsupported`].
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Removes one capability.
    pub fn without(mut self, capability: Capability) -> Self {
        self.capabilities = self.capabilities.without(capability);
        self
    }

    /// How long an authenticated session can be confirmed (default 10 minutes).
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// The 32-byte HMAC key webhooks are signed with (default: random).
    pub fn webhook_key(mut self, key: [u8; 32]) -> Self {
        self.webhook_key = Some(key);
        self
    }

    /// The mock clock's starting time (default: now, in KST).
    pub fn clock(mut self, start: OffsetDateTime) -> Self {
        self.start = Some(start);
        self
    }

    /// Seeds the generator of keys, account numbers and secrets (default: random).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the mock.
    pub fn build(self) -> MockProvider {
        let seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x6d6f_636b);
        let key = self.webhook_key.unwrap_or_else(|| {
            let mut key = [0u8; 32];
            rng.fill(&mut key);
            key
        });
        let webhook_secret = Secret::new(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ));
        let signer = StandardWebhooks::from_raw_keys([key]);
        let kst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
        let start = self
            .start
            .unwrap_or_else(|| OffsetDateTime::now_utc().to_offset(kst));
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let Ok(signer) = signer else {
            unreachable!("a 32-byte HMAC key is never empty")
        };
        MockProvider {
            inner: Arc::new(Inner {
                id: self.id.clone(),
                capabilities: self.capabilities,
                session_ttl: self.session_ttl,
                signer,
                webhook_secret,
                events,
                state: Mutex::new(State::new(self.id, start, seed)),
            }),
        }
    }
}

impl Default for MockProvider {
    fn default() -> Self {
        MockProvider::new()
    }
}

impl fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("MockProvider")
            .field("id", &self.inner.id)
            .field("capabilities", &self.inner.capabilities)
            .field("now", &st.now)
            .field("payments", &st.payment_count())
            .field("pending_faults", &st.faults.len())
            .field("calls", &st.calls.len())
            .field("webhooks", &st.webhooks.len())
            .field("webhook_secret", &self.inner.webhook_secret)
            .finish()
    }
}

fn fingerprint<T: fmt::Debug>(request: &T) -> String {
    format!("{request:?}")
}

impl MockProvider {
    /// A mock with every capability, id `"mock"`, a random webhook key and the clock at now.
    pub fn new() -> MockProvider {
        MockProviderBuilder::default().build()
    }

    /// A builder.
    pub fn builder() -> MockProviderBuilder {
        MockProviderBuilder::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    // --- the customer and the PG -------------------------------------------------------------

    /// The customer authenticates a card payment of `amount` for `order_id` in the browser.
    /// Returns the payment key the PG hands to the merchant's success URL; the payment is
    /// `Pending` until confirmed, and expires after the session TTL.
    pub fn authenticate_card(
        &self,
        order_id: &str,
        amount: &Money,
    ) -> Result<String, PaymentError> {
        let method = PaymentMethod::Card(state::card_details());
        self.authenticate(order_id, amount, method)
    }

    /// The customer authenticates an easy-pay payment (`"토스페이"`, `"카카오페이"`, …).
    pub fn authenticate_easy_pay(
        &self,
        order_id: &str,
        amount: &Money,
        wallet: &str,
    ) -> Result<String, PaymentError> {
        let method = PaymentMethod::EasyPay {
            provider: wallet.to_owned(),
        };
        self.authenticate(order_id, amount, method)
    }

    fn authenticate(
        &self,
        order_id: &str,
        amount: &Money,
        method: PaymentMethod,
    ) -> Result<String, PaymentError> {
        let mut st = self.lock();
        st.authenticate(order_id, amount, method, self.inner.session_ttl)
            .map_err(|e| e.with_provider(self.inner.id.clone()))
    }

    /// The customer deposits the full amount into a virtual account: `WaitingForDeposit` →
    /// `Paid`, with a `DepositReceived` webhook. An expired account refuses it.
    pub fn deposit(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.drive(|st| st.deposit(payment_key))
    }

    /// Expires a payment now: an unconfirmed session, or a virtual account awaiting its
    /// deposit (marked `expired`).
    pub fn expire(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.drive(|st| st.expire(payment_key))
    }

    /// Moves the mock clock forward and expires every session and virtual account whose
    /// deadline has passed. Returns the payments that expired.
    pub fn advance_clock(&self, by: Duration) -> Vec<Payment> {
        let mut st = self.lock();
        let expired = st.advance(by);
        self.flush_webhooks(&mut st);
        expired
    }

    /// The mock clock.
    pub fn now(&self) -> OffsetDateTime {
        self.lock().now
    }

    /// Registers a billing key for `customer_key`, to charge with
    /// [`PaymentProvider::charge_billing_key`].
    pub fn register_billing_key(&self, customer_key: &str) -> Secret {
        self.lock().register_billing_key(customer_key)
    }

    fn drive(
        &self,
        action: impl FnOnce(&mut State) -> Result<Payment, PaymentError>,
    ) -> Result<Payment, PaymentError> {
        let mut st = self.lock();
        let result = action(&mut st);
        self.flush_webhooks(&mut st);
        result.map_err(|e| e.with_provider(self.inner.id.clone()))
    }

    // --- faults ------------------------------------------------------------------------------

    /// The next call of `operation` fails with `fault`. Faults queue up in order.
    pub fn fail_next(&self, operation: Operation, fault: Fault) {
        self.push_fault(Some(operation), None, fault);
    }

    /// The next call of `operation` on `payment_key` fails with `fault`.
    pub fn fail_next_for(&self, operation: Operation, payment_key: &str, fault: Fault) {
        self.push_fault(Some(operation), Some(payment_key.to_owned()), fault);
    }

    /// The next call of any operation fails with `fault`.
    pub fn fail_next_call(&self, fault: Fault) {
        self.push_fault(None, None, fault);
    }

    fn push_fault(&self, operation: Option<Operation>, payment_key: Option<String>, fault: Fault) {
        self.lock().faults.push_back(fault::FaultRule {
            operation,
            payment_key,
            fault,
        });
    }

    /// How many scripted faults have not been hit yet.
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Drops every scripted fault not hit yet.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    // --- inspection --------------------------------------------------------------------------

    /// Every call the mock PG received, oldest first. Calls refused by validation before any
    /// call (a malformed request, a refund without the customer's account, a cancel above the
    /// balance) are not here.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one operation.
    pub fn calls_of(&self, operation: Operation) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.operation == operation)
            .cloned()
            .collect()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// A payment as stored, without recording a call or hitting a fault.
    pub fn inspect(&self, payment_key: &str) -> Option<Payment> {
        self.lock().get(payment_key).ok()
    }

    /// Every webhook emitted so far, oldest first.
    pub fn webhooks(&self) -> Vec<MockWebhook> {
        self.lock().webhooks.clone()
    }

    /// The webhooks emitted so far, forgetting them.
    pub fn take_webhooks(&self) -> Vec<MockWebhook> {
        std::mem::take(&mut self.lock().webhooks)
    }

    /// A receiver of every webhook emitted from now on (to forward them to a server under
    /// test, or to wait for one without sleeping).
    pub fn subscribe(&self) -> broadcast::Receiver<MockWebhook> {
        self.inner.events.subscribe()
    }

    /// The webhook signing secret in Standard Webhooks form (`whsec_` + base64), to configure
    /// another verifier with.
    pub fn webhook_secret(&self) -> Secret {
        self.inner.webhook_secret.clone()
    }

    fn flush_webhooks(&self, st: &mut State) {
        for (previous, payment) in st.drain_changes() {
            st.webhook_sequence += 1;
            let kind = webhook::kind_for(previous, payment.status);
            let hook = webhook::build(
                &self.inner.signer,
                st.webhook_sequence,
                kind,
                &payment,
                st.now,
            );
            st.webhooks.push(hook.clone());
            // No subscriber is fine: the list above keeps every webhook.
            let _ = self.inner.events.send(hook);
        }
    }

    // --- the provider side -------------------------------------------------------------------

    fn tag(&self, err: PaymentError, operation: Operation, key: Option<&str>) -> PaymentError {
        let err = err
            .with_provider(self.inner.id.clone())
            .with_operation(operation.as_str());
        match key {
            Some(key) => err.with_idempotency_key(key),
            None => err,
        }
    }

    fn require(&self, capability: Capability, operation: Operation) -> Result<(), PaymentError> {
        if self.inner.capabilities.contains(capability) {
            Ok(())
        } else {
            Err(PaymentError::unsupported(
                &self.inner.id,
                operation.as_str(),
            ))
        }
    }

    fn fault_error(fault: Fault) -> PaymentError {
        match fault {
            Fault::Retryable { .. } => PaymentError::new(
                ErrorKind::Retryable,
                "the PG failed transiently; retry with the same idempotency key",
            )
            .with_pg(PgError::new(
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
                Some(500),
            )),
            Fault::Timeout { .. } => PaymentError::new(
                ErrorKind::OutcomeUnknown,
                "the PG did not answer in time; look the payment up before doing anything else",
            ),
            Fault::Reject { kind, pg } => PaymentError::new(kind, pg.message.clone()).with_pg(pg),
        }
    }

    /// Runs one call through the mock PG: idempotency cache, the provider's pre-call checks,
    /// the call record, a scripted fault, the effect, the webhooks.
    fn execute(
        &self,
        operation: Operation,
        call: Call,
        fingerprint: Option<String>,
        precheck: impl FnOnce(&State) -> Result<(), PaymentError>,
        apply: impl FnOnce(&mut State) -> Result<Payment, PaymentError>,
    ) -> Result<Payment, PaymentError> {
        let mut st = self.lock();
        let idempotency_key = call.idempotency_key.clone();
        let key = idempotency_key.as_deref();
        if let (Some(k), Some(fp)) = (key, fingerprint.as_deref()) {
            match st.cached(k, operation, fp) {
                Ok(Some(hit)) => {
                    st.record(call);
                    return Ok(hit);
                }
                Ok(None) => {}
                Err(e) => {
                    st.record(call);
                    return Err(self.tag(e, operation, key));
                }
            }
        }
        precheck(&st).map_err(|e| self.tag(e, operation, key))?;
        let payment_key = call.payment_key.clone();
        st.record(call);
        let result = match st.take_fault(operation, payment_key.as_deref()) {
            None => apply(&mut st),
            Some(fault) => {
                if fault.applies() {
                    if let (Ok(done), Some(k), Some(fp)) = (apply(&mut st), key, &fingerprint) {
                        st.remember(k.to_owned(), operation, fp.clone(), &done);
                    }
                }
                if let (Fault::Reject { kind, pg }, Operation::Confirm, Some(pk)) =
                    (&fault, operation, payment_key.as_deref())
                {
                    if *kind == ErrorKind::Rejected {
                        st.decline(pk, pg);
                    }
                }
                Err(Self::fault_error(fault))
            }
        };
        if let (Ok(done), Some(k), Some(fp)) = (&result, key, fingerprint) {
            st.remember(k.to_owned(), operation, fp, done);
        }
        self.flush_webhooks(&mut st);
        result.map_err(|e| self.tag(e, operation, key))
    }

    fn idempotency_key(&self, given: Option<&String>) -> String {
        match given {
            Some(key) => key.clone(),
            None => self.lock().generated_idempotency_key(),
        }
    }
}

#[async_trait]
impl PaymentProvider for MockProvider {
    fn id(&self) -> &ProviderId {
        &self.inner.id
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }

    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        let op = Operation::Confirm;
        self.require(Capability::Confirm, op)?;
        request.validate().map_err(|e| self.tag(e, op, None))?;
        let key = self.idempotency_key(request.idempotency_key.as_ref());
        let mut plain = request.clone();
        plain.idempotency_key = None;
        let call = Call {
            operation: op,
            payment_key: Some(request.payment_key.clone()),
            order_id: Some(request.order_id.clone()),
            idempotency_key: Some(key),
        };
        self.execute(
            op,
            call,
            Some(fingerprint(&plain)),
            |_| Ok(()),
            |st| st.confirm(request),
        )
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        let op = Operation::Lookup;
        self.require(Capability::LookupByKey, op)?;
        validate_payment_key(payment_key).map_err(|e| self.tag(e, op, None))?;
        let call = Call {
            operation: op,
            payment_key: Some(payment_key.to_owned()),
            order_id: None,
            idempotency_key: None,
        };
        self.execute(op, call, None, |_| Ok(()), |st| st.get(payment_key))
    }

    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        let op = Operation::LookupByOrderId;
        self.require(Capability::LookupByOrderId, op)?;
        validate_order_id(order_id).map_err(|e| self.tag(e, op, None))?;
        let call = Call {
            operation: op,
            payment_key: None,
            order_id: Some(order_id.to_owned()),
            idempotency_key: None,
        };
        self.execute(op, call, None, |_| Ok(()), |st| st.get_by_order(order_id))
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        let op = Operation::Cancel;
        self.require(Capability::Cancel, op)?;
        if request.amount.is_some() {
            self.require(Capability::PartialCancel, op)?;
        }
        request.validate().map_err(|e| self.tag(e, op, None))?;
        let key = self.idempotency_key(request.idempotency_key.as_ref());
        let mut plain = request.clone();
        plain.idempotency_key = None;
        let call = Call {
            operation: op,
            payment_key: Some(request.payment_key.clone()),
            order_id: None,
            idempotency_key: Some(key),
        };
        self.execute(
            op,
            call,
            Some(fingerprint(&plain)),
            |st| st.precheck_cancel(request),
            |st| st.cancel(request),
        )
    }

    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        let op = Operation::IssueVirtualAccount;
        self.require(Capability::VirtualAccounts, op)?;
        request.validate().map_err(|e| self.tag(e, op, None))?;
        let key = self.idempotency_key(request.idempotency_key.as_ref());
        let mut plain = request.clone();
        plain.idempotency_key = None;
        let call = Call {
            operation: op,
            payment_key: None,
            order_id: Some(request.order_id.clone()),
            idempotency_key: Some(key),
        };
        self.execute(
            op,
            call,
            Some(fingerprint(&plain)),
            |_| Ok(()),
            |st| st.issue_virtual_account(request),
        )
    }

    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        let op = Operation::ChargeBillingKey;
        self.require(Capability::BillingKeys, op)?;
        request.validate().map_err(|e| self.tag(e, op, None))?;
        let key = self.idempotency_key(request.idempotency_key.as_ref());
        let mut plain = request.clone();
        plain.idempotency_key = None;
        let call = Call {
            operation: op,
            payment_key: None,
            order_id: Some(request.order_id.clone()),
            idempotency_key: Some(key),
        };
        // The billing key is part of the request but never of the fingerprint text: Secret's
        // Debug is redacted, so two keys charged under one idempotency key compare by the rest.
        self.execute(
            op,
            call,
            Some(fingerprint(&plain)),
            |_| Ok(()),
            |st| st.charge(request),
        )
    }
}

#[cfg(test)]
mod tests;
