//! Requests as plain data, with builders and provider-neutral validation.
//!
//! Every request has a `validate()` that providers call before any network call; a failure is
//! an [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).

use std::time::Duration;

use time::OffsetDateTime;

use crate::bank::{Bank, RefundAccount, RefundAccountError};
use crate::error::PaymentError;
use crate::money::Money;
use crate::payment::Payment;
use crate::secret::Secret;

/// Checks an order id: 6–64 characters of `A-Z a-z 0-9 _ = -`, the rule Toss applies and a
/// safe subset for every PG.
pub fn validate_order_id(order_id: &str) -> Result<(), PaymentError> {
    let len = order_id.chars().count();
    if !(6..=64).contains(&len) {
        return Err(PaymentError::invalid(format!(
            "order id must be 6 to 64 characters, got {len}"
        )));
    }
    if let Some(bad) = order_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '-')))
    {
        return Err(PaymentError::invalid(format!(
            "order id may contain only A-Z, a-z, 0-9, '_', '=' and '-', found {bad:?}"
        )));
    }
    Ok(())
}

/// Checks a payment key: non-empty, at most 200 characters, no control characters or `/`.
pub fn validate_payment_key(payment_key: &str) -> Result<(), PaymentError> {
    if payment_key.is_empty() || payment_key.len() > 200 {
        return Err(PaymentError::invalid(
            "payment key must be 1 to 200 characters",
        ));
    }
    if payment_key.chars().any(|c| c.is_control() || c == '/') {
        return Err(PaymentError::invalid(
            "payment key must not contain '/' or control characters",
        ));
    }
    Ok(())
}

fn validate_positive(what: &str, amount: &Money) -> Result<(), PaymentError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(PaymentError::invalid(format!(
            "{what} must be above zero, got {amount}"
        )))
    }
}

/// Confirm (approve) a payment the customer authenticated in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmRequest {
    /// The PG's payment key (Toss `paymentKey` from the successUrl; PortOne `paymentId`).
    pub payment_key: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The amount the merchant expects: the PG refuses (or hanpay flags) any other amount.
    pub amount: Money,
    /// PortOne manual confirm (수동 승인): the `paymentToken` the browser received.
    pub payment_token: Option<Secret>,
    /// Idempotency key; one is generated when absent.
    pub idempotency_key: Option<String>,
}

impl ConfirmRequest {
    /// A confirm of `payment_key` for `order_id` at `amount`.
    pub fn new(payment_key: impl Into<String>, order_id: impl Into<String>, amount: Money) -> Self {
        ConfirmRequest {
            payment_key: payment_key.into(),
            order_id: order_id.into(),
            amount,
            payment_token: None,
            idempotency_key: None,
        }
    }

    /// Sets the PortOne manual-confirm payment token.
    pub fn payment_token(mut self, token: impl Into<Secret>) -> Self {
        self.payment_token = Some(token.into());
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Provider-neutral checks.
    pub fn validate(&self) -> Result<(), PaymentError> {
        validate_payment_key(&self.payment_key)?;
        validate_order_id(&self.order_id)?;
        validate_positive("confirm amount", &self.amount)
    }
}

/// Cancel (refund) a payment in full or in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// The PG's payment key.
    pub payment_key: String,
    /// Why (at most 200 characters; PGs show it to the customer).
    pub reason: String,
    /// The amount to cancel; `None` cancels the whole remaining balance.
    pub amount: Option<Money>,
    /// Of which tax-free.
    pub tax_free_amount: Option<Money>,
    /// The customer's own account, required to refund a deposited virtual-account payment.
    pub refund_account: Option<RefundAccount>,
    /// The balance the caller believes in; PGs that support it (PortOne
    /// `currentCancellableAmount`) refuse the cancel if it changed meanwhile.
    pub expected_balance: Option<Money>,
    /// Idempotency key; one is generated when absent and reused on every retry.
    pub idempotency_key: Option<String>,
}

impl CancelRequest {
    /// Cancel everything that remains.
    pub fn full(payment_key: impl Into<String>, reason: impl Into<String>) -> Self {
        CancelRequest {
            payment_key: payment_key.into(),
            reason: reason.into(),
            amount: None,
            tax_free_amount: None,
            refund_account: None,
            expected_balance: None,
            idempotency_key: None,
        }
    }

    /// Cancel `amount` only.
    pub fn partial(
        payment_key: impl Into<String>,
        reason: impl Into<String>,
        amount: Money,
    ) -> Self {
        CancelRequest {
            amount: Some(amount),
            ..CancelRequest::full(payment_key, reason)
        }
    }

    /// Refund to the customer's own account (virtual-account payments).
    pub fn refund_to(mut self, account: RefundAccount) -> Self {
        self.refund_account = Some(account);
        self
    }

    /// Sets the tax-free part.
    pub fn tax_free_amount(mut self, amount: Money) -> Self {
        self.tax_free_amount = Some(amount);
        self
    }

    /// Sets the balance the caller expects the payment to have.
    pub fn expected_balance(mut self, balance: Money) -> Self {
        self.expected_balance = Some(balance);
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Checks that need no knowledge of the payment.
    pub fn validate(&self) -> Result<(), PaymentError> {
        validate_payment_key(&self.payment_key)?;
        let reason_len = self.reason.chars().count();
        if self.reason.trim().is_empty() || reason_len > 200 {
            return Err(PaymentError::invalid(format!(
                "cancel reason must be 1 to 200 characters, got {reason_len}"
            )));
        }
        if let Some(amount) = &self.amount {
            validate_positive("cancel amount", amount)?;
        }
        if let Some(tax_free) = &self.tax_free_amount {
            if tax_free.minor_units() < 0 {
                return Err(PaymentError::invalid(
                    "tax-free amount must not be negative",
                ));
            }
            if let Some(amount) = &self.amount {
                if tax_free.minor_units() > amount.minor_units() {
                    return Err(PaymentError::invalid(
                        "tax-free amount must not exceed the cancel amount",
                    ));
                }
            }
        }
        Ok(())
    }

    /// [`validate_against`](Self::validate_against) as a provider runs it before sending:
    /// a request that carries its own idempotency key and finds nothing left to cancel may be
    /// the retry of a cancel that already went through (the instance that sent it died before
    /// answering). That refusal is not final then: the request is sent, and the PG answers it —
    /// a PG that replays answers per key (Toss, PortOne) replays the first answer, and any PG
    /// refuses a cancel it cannot make, so nothing is ever canceled twice. Every other check
    /// still refuses before any request.
    pub fn validate_before_send(&self, payment: &Payment) -> Result<(), PaymentError> {
        match self.validate_against(payment) {
            Err(e) if self.may_be_replayed(&e) => Ok(()),
            other => other,
        }
    }

    /// Whether `refusal` (of [`validate_against`](Self::validate_against)) may hide the retry
    /// of a cancel that already went through: "nothing left to cancel" for a request with its
    /// own idempotency key.
    pub fn may_be_replayed(&self, refusal: &PaymentError) -> bool {
        self.idempotency_key.is_some() && refusal.kind() == crate::ErrorKind::NotCancelable
    }

    /// Checks against the payment as the PG last reported it, before the cancel is sent:
    /// the currency matches, the amount is within the balance, nothing is canceled twice, and a
    /// deposited virtual account is refunded to the customer's own account — never to the
    /// virtual account itself.
    pub fn validate_against(&self, payment: &Payment) -> Result<(), PaymentError> {
        self.validate()?;
        if payment.status.is_terminal() || payment.balance.is_zero() {
            return Err(PaymentError::new(
                crate::ErrorKind::NotCancelable,
                format!(
                    "payment is {} with a balance of {}: nothing to cancel",
                    payment.status, payment.balance
                ),
            ));
        }
        if let Some(amount) = &self.amount {
            if amount.currency() != payment.balance.currency() {
                return Err(PaymentError::invalid(format!(
                    "cancel amount is in {}, the payment in {}",
                    amount.currency(),
                    payment.balance.currency()
                )));
            }
            if amount.minor_units() > payment.balance.minor_units() {
                return Err(PaymentError::new(
                    crate::ErrorKind::NotCancelable,
                    format!(
                        "cancel amount {amount} exceeds the cancelable balance {}",
                        payment.balance
                    ),
                ));
            }
        }
        if let Some(expected) = &self.expected_balance {
            if expected != &payment.balance {
                return Err(PaymentError::new(
                    crate::ErrorKind::NotCancelable,
                    format!(
                        "the balance changed: expected {expected}, the PG reports {}",
                        payment.balance
                    ),
                ));
            }
        }
        if payment.is_deposited_virtual_account() {
            let Some(account) = &self.refund_account else {
                return Err(PaymentError::invalid(
                    "refunding a deposited virtual-account payment needs the customer's own \
                     refund account (bank, number, holder); a refund goes to the customer's own \
                     account, not to the virtual account they paid into",
                ));
            };
            if let Some(va) = payment.virtual_account() {
                if va.account_number == account.number() {
                    return Err(RefundAccountError::IsTheVirtualAccount.into());
                }
            }
        }
        Ok(())
    }
}

/// How long a virtual account stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VirtualAccountValidity {
    /// Open for this many hours (1 to 720).
    Hours(u32),
    /// Open until this moment.
    Until(OffsetDateTime),
}

/// Issue a virtual account (가상계좌 발급) for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAccountRequest {
    /// The amount the customer must deposit.
    pub amount: Money,
    /// The merchant's order id.
    pub order_id: String,
    /// The order name.
    pub order_name: String,
    /// The customer's name (입금자명).
    pub customer_name: String,
    /// The bank the account is opened at.
    pub bank: Bank,
    /// How long it stays open.
    pub validity: VirtualAccountValidity,
    /// The customer's e-mail, for the PG's notification.
    pub customer_email: Option<String>,
    /// Idempotency key; generated when absent.
    pub idempotency_key: Option<String>,
}

impl VirtualAccountRequest {
    /// A virtual account for `order_id`, open 72 hours by default.
    pub fn new(
        amount: Money,
        order_id: impl Into<String>,
        order_name: impl Into<String>,
        customer_name: impl Into<String>,
        bank: Bank,
    ) -> Self {
        VirtualAccountRequest {
            amount,
            order_id: order_id.into(),
            order_name: order_name.into(),
            customer_name: customer_name.into(),
            bank,
            validity: VirtualAccountValidity::Hours(72),
            customer_email: None,
            idempotency_key: None,
        }
    }

    /// Open for `hours` hours.
    pub fn valid_hours(mut self, hours: u32) -> Self {
        self.validity = VirtualAccountValidity::Hours(hours);
        self
    }

    /// Open until `due`.
    pub fn due_date(mut self, due: OffsetDateTime) -> Self {
        self.validity = VirtualAccountValidity::Until(due);
        self
    }

    /// Sets the customer's e-mail.
    pub fn customer_email(mut self, email: impl Into<String>) -> Self {
        self.customer_email = Some(email.into());
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The validity as a duration from `now` (for PGs that take hours).
    pub fn validity_from(&self, now: OffsetDateTime) -> Duration {
        match &self.validity {
            VirtualAccountValidity::Hours(h) => Duration::from_secs(u64::from(*h) * 3600),
            VirtualAccountValidity::Until(due) => {
                let secs = (*due - now).whole_seconds().max(0);
                Duration::from_secs(secs.unsigned_abs())
            }
        }
    }

    /// Provider-neutral checks.
    pub fn validate(&self) -> Result<(), PaymentError> {
        validate_positive("virtual account amount", &self.amount)?;
        validate_order_id(&self.order_id)?;
        if self.order_name.trim().is_empty() || self.order_name.chars().count() > 100 {
            return Err(PaymentError::invalid(
                "order name must be 1 to 100 characters",
            ));
        }
        if self.customer_name.trim().is_empty() || self.customer_name.chars().count() > 100 {
            return Err(PaymentError::invalid(
                "customer name must be 1 to 100 characters",
            ));
        }
        if let VirtualAccountValidity::Hours(h) = self.validity {
            if !(1..=720).contains(&h) {
                return Err(PaymentError::invalid(format!(
                    "virtual account validity must be 1 to 720 hours, got {h}"
                )));
            }
        }
        Ok(())
    }
}

/// Charge a stored billing key (자동결제).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingChargeRequest {
    /// The billing key issued by the PG.
    pub billing_key: Secret,
    /// The merchant's id for the customer (Toss `customerKey`).
    pub customer_key: String,
    /// The amount.
    pub amount: Money,
    /// The merchant's order id.
    pub order_id: String,
    /// The order name.
    pub order_name: String,
    /// Idempotency key; generated when absent.
    pub idempotency_key: Option<String>,
}

impl BillingChargeRequest {
    /// A charge of `amount` on `billing_key`.
    pub fn new(
        billing_key: impl Into<Secret>,
        customer_key: impl Into<String>,
        amount: Money,
        order_id: impl Into<String>,
        order_name: impl Into<String>,
    ) -> Self {
        BillingChargeRequest {
            billing_key: billing_key.into(),
            customer_key: customer_key.into(),
            amount,
            order_id: order_id.into(),
            order_name: order_name.into(),
            idempotency_key: None,
        }
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Provider-neutral checks.
    pub fn validate(&self) -> Result<(), PaymentError> {
        if self.billing_key.is_empty() {
            return Err(PaymentError::invalid("billing key is empty"));
        }
        let key_len = self.customer_key.chars().count();
        if !(2..=300).contains(&key_len) {
            return Err(PaymentError::invalid(
                "customer key must be 2 to 300 characters",
            ));
        }
        validate_positive("charge amount", &self.amount)?;
        validate_order_id(&self.order_id)?;
        if self.order_name.trim().is_empty() {
            return Err(PaymentError::invalid("order name is empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::payment::{PaymentMethod, ProviderId, VirtualAccountDetails};
    use crate::{ErrorKind, PaymentStatus};

    #[test]
    fn order_ids() {
        assert!(validate_order_id("order_1-A=").is_ok());
        assert!(validate_order_id("abcde").is_err());
        assert!(validate_order_id(&"a".repeat(64)).is_ok());
        assert!(validate_order_id(&"a".repeat(65)).is_err());
        assert!(validate_order_id("order 123").is_err());
        assert!(validate_order_id("주문번호123").is_err());
        assert!(validate_payment_key("a/b").is_err());
        assert!(validate_payment_key("").is_err());
    }

    #[test]
    fn confirm_validation() {
        assert!(ConfirmRequest::new("pk_1", "order-0001", Money::krw(100))
            .validate()
            .is_ok());
        assert!(ConfirmRequest::new("pk_1", "order-0001", Money::krw(0))
            .validate()
            .is_err());
        assert!(ConfirmRequest::new("pk_1", "short", Money::krw(1))
            .validate()
            .is_err());
    }

    #[test]
    fn cancel_reason_and_amounts() {
        assert!(CancelRequest::full("pk", "고객 변심").validate().is_ok());
        assert!(CancelRequest::full("pk", "").validate().is_err());
        assert!(CancelRequest::full("pk", "가".repeat(200))
            .validate()
            .is_ok());
        assert!(CancelRequest::full("pk", "가".repeat(201))
            .validate()
            .is_err());
        assert!(CancelRequest::partial("pk", "r", Money::krw(0))
            .validate()
            .is_err());
        assert!(CancelRequest::partial("pk", "r", Money::krw(100))
            .tax_free_amount(Money::krw(101))
            .validate()
            .is_err());
    }

    fn va_payment(status: PaymentStatus) -> Payment {
        Payment {
            provider: ProviderId::from_static("mock"),
            payment_key: "pk".into(),
            order_id: "order-0001".into(),
            order_name: None,
            status,
            raw_status: String::new(),
            method: Some(PaymentMethod::VirtualAccount(VirtualAccountDetails {
                bank: Some(Bank::Daegu),
                account_number: "600802567548".into(),
                customer_name: None,
                due_date: None,
                expired: false,
                refund_status: None,
            })),
            total: Money::krw(390_000),
            balance: Money::krw(390_000),
            canceled: Money::krw(0),
            cancellations: vec![],
            requested_at: None,
            approved_at: None,
            failure: None,
            receipt_url: None,
            secret: None,
            raw: crate::RawJson::default(),
        }
    }

    #[test]
    fn a_retry_with_its_own_key_is_sent_for_the_pg_to_answer() {
        let own = RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").unwrap();
        let mut canceled = va_payment(PaymentStatus::Canceled);
        canceled.balance = Money::krw(0);
        let first = CancelRequest::full("pk", "r").refund_to(own.clone());
        assert_eq!(
            first.validate_before_send(&canceled).unwrap_err().kind(),
            ErrorKind::NotCancelable
        );
        let retry = first.clone().idempotency_key("cancel-order-1");
        assert!(retry.validate_before_send(&canceled).is_ok());
        // Only "nothing left to cancel" is let through; malformed requests never are.
        let bad = CancelRequest::full("pk", "").idempotency_key("cancel-order-1");
        assert_eq!(
            bad.validate_before_send(&canceled).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn cancel_against_payment() {
        let paid = va_payment(PaymentStatus::Paid);
        let err = CancelRequest::full("pk", "r")
            .validate_against(&paid)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("customer's own"));

        let own = RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").unwrap();
        assert!(CancelRequest::full("pk", "r")
            .refund_to(own)
            .validate_against(&paid)
            .is_ok());

        let same = RefundAccount::new(Bank::Daegu, "600802567548", "Pankaj").unwrap();
        let err = CancelRequest::full("pk", "r")
            .refund_to(same)
            .validate_against(&paid)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("virtual account the customer paid into"));

        let over = CancelRequest::partial("pk", "r", Money::krw(390_001));
        assert_eq!(
            over.validate_against(&paid).unwrap_err().kind(),
            ErrorKind::NotCancelable
        );

        let usd = CancelRequest::partial("pk", "r", Money::new(1, crate::Currency::Usd));
        assert_eq!(
            usd.validate_against(&paid).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );

        // Before the deposit no refund account is needed.
        let waiting = va_payment(PaymentStatus::WaitingForDeposit);
        assert!(CancelRequest::full("pk", "r")
            .validate_against(&waiting)
            .is_ok());

        let mut canceled = va_payment(PaymentStatus::Canceled);
        canceled.balance = Money::krw(0);
        assert_eq!(
            CancelRequest::full("pk", "r")
                .validate_against(&canceled)
                .unwrap_err()
                .kind(),
            ErrorKind::NotCancelable
        );

        let stale = CancelRequest::full("pk", "r").expected_balance(Money::krw(1));
        assert_eq!(
            stale.validate_against(&waiting).unwrap_err().kind(),
            ErrorKind::NotCancelable
        );
    }

    #[test]
    fn virtual_account_validity() {
        let req = VirtualAccountRequest::new(
            Money::krw(1000),
            "order-0001",
            "책",
            "홍길동",
            Bank::Shinhan,
        );
        assert!(req.validate().is_ok());
        assert!(req.clone().valid_hours(721).validate().is_err());
        assert!(req.clone().valid_hours(0).validate().is_err());
        assert!(req.clone().valid_hours(720).validate().is_ok());
        assert_eq!(
            req.validity_from(OffsetDateTime::UNIX_EPOCH),
            Duration::from_secs(72 * 3600)
        );
    }

    #[test]
    fn billing_validation() {
        let ok =
            BillingChargeRequest::new("bk", "customer-1", Money::krw(9_900), "order-0001", "구독");
        assert!(ok.validate().is_ok());
        let mut bad = ok.clone();
        bad.customer_key = "x".into();
        assert!(bad.validate().is_err());
        assert!(format!("{ok:?}").contains("Secret(***)"));
    }
}
