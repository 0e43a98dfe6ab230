//! The mock PG's in-memory state and the payment transitions it allows.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hanpay_core::{
    BillingChargeRequest, CancelRequest, Cancellation, CancellationStatus, CardDetails,
    ConfirmRequest, ErrorKind, Failure, Money, Payment, PaymentError, PaymentMethod, PaymentStatus,
    PgError, ProviderId, RawJson, Secret, VirtualAccountDetails, VirtualAccountRequest,
};
use time::OffsetDateTime;

use super::fault::{Call, Fault, FaultRule, Operation};
use super::webhook::MockWebhook;

/// A PG-side refusal with the PG's code, message and HTTP status.
pub(super) fn pg_error(kind: ErrorKind, code: &str, message: &str, status: u16) -> PaymentError {
    PaymentError::new(kind, message).with_pg(PgError::new(code, message, Some(status)))
}

fn not_found(what: &str) -> PaymentError {
    pg_error(
        ErrorKind::NotFound,
        "NOT_FOUND_PAYMENT",
        &format!("no {what} with this id"),
        404,
    )
}

struct Entry {
    payment: Payment,
    /// Until when an authenticated session can be confirmed.
    session_deadline: Option<OffsetDateTime>,
}

struct Cached {
    operation: Operation,
    fingerprint: String,
    result: Payment,
}

pub(super) struct State {
    provider: ProviderId,
    pub now: OffsetDateTime,
    payments: HashMap<String, Entry>,
    by_order: HashMap<String, String>,
    /// billing key → customer key
    billing_keys: HashMap<String, String>,
    pub faults: VecDeque<FaultRule>,
    pub calls: Vec<Call>,
    idempotency: HashMap<String, Cached>,
    pub webhooks: Vec<MockWebhook>,
    pub webhook_sequence: u64,
    sequence: u64,
    rng: fastrand::Rng,
    /// Status changes not yet turned into webhooks: (previous status, payment key).
    changes: Vec<(PaymentStatus, String)>,
}

impl State {
    pub fn new(provider: ProviderId, now: OffsetDateTime, seed: u64) -> State {
        State {
            provider,
            now,
            payments: HashMap::new(),
            by_order: HashMap::new(),
            billing_keys: HashMap::new(),
            faults: VecDeque::new(),
            calls: Vec::new(),
            idempotency: HashMap::new(),
            webhooks: Vec::new(),
            webhook_sequence: 0,
            sequence: 0,
            rng: fastrand::Rng::with_seed(seed),
            changes: Vec::new(),
        }
    }

    pub fn payment_count(&self) -> usize {
        self.payments.len()
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.sequence += 1;
        let tail: String = (0..8).map(|_| self.rng.alphanumeric()).collect();
        format!("{prefix}{:06}{tail}", self.sequence)
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| self.rng.digit(10)).collect()
    }

    /// A fresh idempotency key for a request that came without one.
    pub fn generated_idempotency_key(&mut self) -> String {
        self.next_id("mock_idem_")
    }

    /// The payment as callers see it, with a `raw` JSON like a PG's.
    fn snapshot(payment: &Payment) -> Payment {
        let mut out = payment.clone();
        out.raw = RawJson::from_value(&serde_json::json!({
            "paymentKey": payment.payment_key,
            "orderId": payment.order_id,
            "status": payment.raw_status,
            "totalAmount": payment.total.minor_units(),
            "balanceAmount": payment.balance.minor_units(),
            "currency": payment.currency().code(),
            "cancels": payment.cancellations.len(),
        }));
        out
    }

    /// Moves a stored payment to `next`, refusing moves the PGs never make.
    fn move_to(&mut self, key: &str, next: PaymentStatus) -> Result<(), PaymentError> {
        let entry = self
            .payments
            .get_mut(key)
            .ok_or_else(|| not_found("payment"))?;
        let previous = entry.payment.status;
        if !previous.can_move_to(next) {
            return Err(pg_error(
                ErrorKind::InvalidRequest,
                "INVALID_STATUS",
                &format!("a {previous} payment cannot become {next}"),
                400,
            ));
        }
        entry.payment.status = next;
        entry.payment.raw_status = next.as_str().to_owned();
        self.changes.push((previous, key.to_owned()));
        Ok(())
    }

    /// The status changes since the last call, with the payment as it is now.
    pub fn drain_changes(&mut self) -> Vec<(PaymentStatus, Payment)> {
        let changes = std::mem::take(&mut self.changes);
        changes
            .into_iter()
            .filter_map(|(previous, key)| {
                self.payments
                    .get(&key)
                    .map(|e| (previous, Self::snapshot(&e.payment)))
            })
            .collect()
    }

    pub fn get(&self, key: &str) -> Result<Payment, PaymentError> {
        self.payments
            .get(key)
            .map(|e| Self::snapshot(&e.payment))
            .ok_or_else(|| not_found("payment"))
    }

    pub fn get_by_order(&self, order_id: &str) -> Result<Payment, PaymentError> {
        self.by_order
            .get(order_id)
            .and_then(|key| self.payments.get(key))
            .map(|e| Self::snapshot(&e.payment))
            .ok_or_else(|| not_found("payment for this order"))
    }

    pub fn record(&mut self, call: Call) {
        self.calls.push(call);
    }

    /// Removes and returns the first scripted fault matching the call.
    pub fn take_fault(&mut self, operation: Operation, payment_key: Option<&str>) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|rule| rule.matches(operation, payment_key))?;
        self.faults.remove(index).map(|rule| rule.fault)
    }

    /// The stored result of an earlier call with this idempotency key, if it was the same
    /// request; an error if the key was used for another request.
    pub fn cached(
        &self,
        key: &str,
        operation: Operation,
        fingerprint: &str,
    ) -> Result<Option<Payment>, PaymentError> {
        match self.idempotency.get(key) {
            None => Ok(None),
            Some(c) if c.operation == operation && c.fingerprint == fingerprint => {
                Ok(Some(c.result.clone()))
            }
            Some(_) => Err(pg_error(
                ErrorKind::InvalidRequest,
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key was used for a different request",
                422,
            )),
        }
    }

    pub fn remember(
        &mut self,
        key: String,
        operation: Operation,
        fingerprint: String,
        result: &Payment,
    ) {
        self.idempotency.insert(
            key,
            Cached {
                operation,
                fingerprint,
                result: result.clone(),
            },
        );
    }

    fn blank_payment(&mut self, order_id: &str, amount: &Money, method: PaymentMethod) -> Payment {
        let payment_key = self.next_id("mock_pk_");
        let receipt = format!("https://mock.invalid/receipts/{payment_key}");
        Payment {
            provider: self.provider.clone(),
            payment_key,
            order_id: order_id.to_owned(),
            order_name: None,
            status: PaymentStatus::Ready,
            raw_status: PaymentStatus::Ready.as_str().to_owned(),
            method: Some(method),
            total: amount.clone(),
            balance: amount.clone(),
            canceled: Money::zero(amount.currency().clone()),
            cancellations: Vec::new(),
            requested_at: Some(self.now),
            approved_at: None,
            failure: None,
            receipt_url: Some(receipt),
            secret: None,
            raw: RawJson::default(),
        }
    }

    fn check_new_order(&self, order_id: &str) -> Result<(), PaymentError> {
        if self.by_order.contains_key(order_id) {
            return Err(pg_error(
                ErrorKind::AlreadyProcessed,
                "DUPLICATED_ORDER_ID",
                "a payment already exists for this order id",
                400,
            ));
        }
        Ok(())
    }

    fn insert(&mut self, payment: Payment, session_deadline: Option<OffsetDateTime>) -> String {
        let key = payment.payment_key.clone();
        self.by_order.insert(payment.order_id.clone(), key.clone());
        self.payments.insert(
            key.clone(),
            Entry {
                payment,
                session_deadline,
            },
        );
        key
    }

    /// The customer authenticates in the browser: a `Pending` payment awaiting confirm.
    pub fn authenticate(
        &mut self,
        order_id: &str,
        amount: &Money,
        method: PaymentMethod,
        ttl: Duration,
    ) -> Result<String, PaymentError> {
        hanpay_core::validate_order_id(order_id)?;
        if !amount.is_positive() {
            return Err(PaymentError::invalid(format!(
                "amount must be above zero, got {amount}"
            )));
        }
        self.check_new_order(order_id)?;
        let payment = self.blank_payment(order_id, amount, method);
        let deadline = self.now + ttl;
        let key = self.insert(payment, Some(deadline));
        self.move_to(&key, PaymentStatus::Pending)?;
        // Creation is not a status change anyone is notified of.
        self.changes.pop();
        Ok(key)
    }

    fn new_secret(&mut self) -> Secret {
        let body: String = (0..24).map(|_| self.rng.alphanumeric()).collect();
        Secret::new(format!("ps_{body}"))
    }

    fn approve(&mut self, key: &str) -> Result<(), PaymentError> {
        self.move_to(key, PaymentStatus::Paid)?;
        let approval = self.digits(8);
        let secret = self.new_secret();
        let now = self.now;
        let entry = self
            .payments
            .get_mut(key)
            .ok_or_else(|| not_found("payment"))?;
        entry.payment.approved_at = Some(now);
        entry.session_deadline = None;
        if entry.payment.secret.is_none() {
            entry.payment.secret = Some(secret);
        }
        if let Some(PaymentMethod::Card(card)) = &mut entry.payment.method {
            card.approval_number = Some(approval);
        }
        Ok(())
    }

    pub fn confirm(&mut self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        let entry = self
            .payments
            .get(&request.payment_key)
            .ok_or_else(|| not_found("payment session"))?;
        let p = &entry.payment;
        if p.order_id != request.order_id {
            return Err(pg_error(
                ErrorKind::InvalidRequest,
                "NOT_MATCHES_ORDER_ID",
                "the order id does not match the payment session",
                400,
            ));
        }
        match p.status {
            PaymentStatus::Pending | PaymentStatus::Ready => {}
            PaymentStatus::Paid | PaymentStatus::PartiallyCanceled | PaymentStatus::Canceled => {
                return Err(pg_error(
                    ErrorKind::AlreadyProcessed,
                    "ALREADY_PROCESSED_PAYMENT",
                    "the payment was already confirmed",
                    400,
                ))
            }
            PaymentStatus::Expired => {
                return Err(pg_error(
                    ErrorKind::Expired,
                    "EXPIRED_PAYMENT_SESSION",
                    "the payment session expired",
                    400,
                ))
            }
            other => {
                return Err(pg_error(
                    ErrorKind::InvalidRequest,
                    "INVALID_STATUS",
                    &format!("a {other} payment cannot be confirmed"),
                    400,
                ))
            }
        }
        if p.total != request.amount {
            return Err(pg_error(
                ErrorKind::AmountMismatch,
                "AMOUNT_MISMATCH",
                &format!(
                    "the confirm amount {} differs from the authenticated amount {}",
                    request.amount, p.total
                ),
                400,
            ));
        }
        self.approve(&request.payment_key)?;
        self.get(&request.payment_key)
    }

    /// A declined card: the payment fails with the PG's code and message.
    pub fn decline(&mut self, key: &str, pg: &PgError) {
        if let Some(entry) = self.payments.get(key) {
            if entry.payment.status.can_move_to(PaymentStatus::Failed)
                && self.move_to(key, PaymentStatus::Failed).is_ok()
            {
                if let Some(entry) = self.payments.get_mut(key) {
                    entry.payment.failure = Some(Failure {
                        code: pg.code.clone(),
                        message: pg.message.clone(),
                    });
                    entry.session_deadline = None;
                }
            }
        }
    }

    /// The checks a provider makes on the payment it just looked up, before sending a cancel.
    pub fn precheck_cancel(&self, request: &CancelRequest) -> Result<(), PaymentError> {
        match self.payments.get(&request.payment_key) {
            Some(entry) => request.validate_against(&entry.payment),
            None => Ok(()),
        }
    }

    pub fn cancel(&mut self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        let key = request.payment_key.as_str();
        let entry = self.payments.get(key).ok_or_else(|| not_found("payment"))?;
        let p = &entry.payment;
        // The PG checks again what the provider checked.
        request.validate_against(p)?;
        let amount = request.amount.clone().unwrap_or_else(|| p.balance.clone());
        let waiting = p.status == PaymentStatus::WaitingForDeposit;
        match p.status {
            PaymentStatus::Paid | PaymentStatus::PartiallyCanceled => {}
            PaymentStatus::WaitingForDeposit if amount == p.balance => {}
            PaymentStatus::WaitingForDeposit => {
                return Err(pg_error(
                    ErrorKind::NotCancelable,
                    "NOT_CANCELABLE_AMOUNT",
                    "a virtual account awaiting its deposit can only be canceled in full",
                    403,
                ))
            }
            other => {
                return Err(pg_error(
                    ErrorKind::NotCancelable,
                    "NOT_CANCELABLE_PAYMENT",
                    &format!("a {other} payment cannot be canceled"),
                    403,
                ))
            }
        }
        let balance = p.balance.checked_sub(&amount)?;
        let canceled = p.canceled.checked_add(&amount)?;
        let refund = p.is_deposited_virtual_account();
        let next = if balance.is_zero() {
            PaymentStatus::Canceled
        } else {
            PaymentStatus::PartiallyCanceled
        };
        let transaction_key = self.next_id("mock_tx_");
        let now = self.now;
        self.move_to(key, next)?;
        let entry = self
            .payments
            .get_mut(key)
            .ok_or_else(|| not_found("payment"))?;
        let p = &mut entry.payment;
        p.balance = balance;
        p.canceled = canceled;
        p.cancellations.push(Cancellation {
            amount,
            tax_free_amount: request.tax_free_amount.clone(),
            reason: Some(request.reason.clone()),
            canceled_at: Some(now),
            transaction_key: Some(transaction_key),
            status: CancellationStatus::Done,
        });
        if let Some(PaymentMethod::VirtualAccount(va)) = &mut p.method {
            if refund {
                va.refund_status = Some("COMPLETED".to_owned());
            } else if waiting {
                va.refund_status = Some("NONE".to_owned());
            }
        }
        self.get(key)
    }

    pub fn issue_virtual_account(
        &mut self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        self.check_new_order(&request.order_id)?;
        let account_number = format!("{}{}", 56_211, self.digits(9));
        let due_date = self.now + request.validity_from(self.now);
        let method = PaymentMethod::VirtualAccount(VirtualAccountDetails {
            bank: Some(request.bank.clone()),
            account_number,
            customer_name: Some(request.customer_name.clone()),
            due_date: Some(due_date),
            expired: false,
            refund_status: None,
        });
        let mut payment = self.blank_payment(&request.order_id, &request.amount, method);
        payment.order_name = Some(request.order_name.clone());
        payment.secret = Some(self.new_secret());
        let key = self.insert(payment, None);
        self.move_to(&key, PaymentStatus::WaitingForDeposit)?;
        self.get(&key)
    }

    pub fn deposit(&mut self, key: &str) -> Result<Payment, PaymentError> {
        let entry = self.payments.get(key).ok_or_else(|| not_found("payment"))?;
        match entry.payment.status {
            PaymentStatus::WaitingForDeposit => {}
            PaymentStatus::Expired => {
                return Err(pg_error(
                    ErrorKind::Expired,
                    "EXPIRED_VIRTUAL_ACCOUNT",
                    "the virtual account expired before the deposit",
                    400,
                ))
            }
            other => {
                return Err(pg_error(
                    ErrorKind::InvalidRequest,
                    "NOT_WAITING_FOR_DEPOSIT",
                    &format!("a {other} payment does not take a deposit"),
                    400,
                ))
            }
        }
        self.approve(key)?;
        self.get(key)
    }

    pub fn expire(&mut self, key: &str) -> Result<Payment, PaymentError> {
        let entry = self.payments.get(key).ok_or_else(|| not_found("payment"))?;
        let status = entry.payment.status;
        if !status.can_move_to(PaymentStatus::Expired) {
            return Err(pg_error(
                ErrorKind::InvalidRequest,
                "INVALID_STATUS",
                &format!("a {status} payment cannot expire"),
                400,
            ));
        }
        self.move_to(key, PaymentStatus::Expired)?;
        if let Some(entry) = self.payments.get_mut(key) {
            entry.session_deadline = None;
            if let Some(PaymentMethod::VirtualAccount(va)) = &mut entry.payment.method {
                va.expired = true;
            }
        }
        self.get(key)
    }

    /// Moves the clock forward and expires what is past its deadline.
    pub fn advance(&mut self, by: Duration) -> Vec<Payment> {
        self.now += by;
        let now = self.now;
        let mut due: Vec<String> = self
            .payments
            .iter()
            .filter(|(_, e)| {
                let session_over = e.session_deadline.is_some_and(|d| d <= now)
                    && matches!(
                        e.payment.status,
                        PaymentStatus::Ready | PaymentStatus::Pending
                    );
                let va_over = e.payment.status == PaymentStatus::WaitingForDeposit
                    && e.payment
                        .virtual_account()
                        .and_then(|va| va.due_date)
                        .is_some_and(|d| d <= now);
                session_over || va_over
            })
            .map(|(k, _)| k.clone())
            .collect();
        due.sort();
        due.iter().filter_map(|k| self.expire(k).ok()).collect()
    }

    pub fn register_billing_key(&mut self, customer_key: &str) -> Secret {
        let key = self.next_id("mock_bk_");
        self.billing_keys
            .insert(key.clone(), customer_key.to_owned());
        Secret::new(key)
    }

    pub fn charge(&mut self, request: &BillingChargeRequest) -> Result<Payment, PaymentError> {
        let owner = self
            .billing_keys
            .iter()
            .find(|(key, _)| request.billing_key.ct_eq(key))
            .map(|(_, customer)| customer.clone());
        match owner {
            None => {
                return Err(pg_error(
                    ErrorKind::NotFound,
                    "NOT_FOUND_BILLING_KEY",
                    "no such billing key",
                    404,
                ))
            }
            Some(customer) if customer != request.customer_key => {
                return Err(pg_error(
                    ErrorKind::Unauthorized,
                    "NOT_MATCHES_CUSTOMER_KEY",
                    "the billing key belongs to another customer",
                    403,
                ))
            }
            Some(_) => {}
        }
        self.check_new_order(&request.order_id)?;
        let method = PaymentMethod::Card(card_details());
        let mut payment = self.blank_payment(&request.order_id, &request.amount, method);
        payment.order_name = Some(request.order_name.clone());
        let key = self.insert(payment, None);
        self.approve(&key)?;
        self.get(&key)
    }
}

/// The card the mock's customers pay with.
pub(super) fn card_details() -> CardDetails {
    CardDetails {
        issuer_code: Some("61".to_owned()),
        acquirer_code: Some("31".to_owned()),
        masked_number: Some("43301234****123*".to_owned()),
        installment_months: 0,
        approval_number: None,
        card_type: Some("신용".to_owned()),
    }
}
