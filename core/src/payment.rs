//! The unified [`Payment`] and its parts.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bank::Bank;
use crate::money::{Currency, Money};
use crate::raw_json::RawJson;
use crate::secret::{mask_tail, Secret};
use crate::status::PaymentStatus;

/// The name a provider is registered under (`"tosspayments"`, `"portone"`, `"mock"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(Cow<'static, str>);

impl ProviderId {
    /// A provider id known at compile time.
    pub const fn from_static(name: &'static str) -> ProviderId {
        ProviderId(Cow::Borrowed(name))
    }

    /// A provider id from any string.
    pub fn new(name: impl Into<String>) -> ProviderId {
        ProviderId(Cow::Owned(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payment as the PG reports it, in the same shape for every PG.
///
/// `Debug` leaves out `raw` (the PG's JSON may carry secrets) and masks the secret.
#[derive(Clone, Serialize)]
pub struct Payment {
    /// Which provider holds it.
    pub provider: ProviderId,
    /// The PG's key for the payment (Toss `paymentKey`, PortOne `paymentId`).
    pub payment_key: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The order name shown to the customer.
    pub order_name: Option<String>,
    /// The unified status.
    pub status: PaymentStatus,
    /// The PG's own status string (`"WAITING_FOR_DEPOSIT"`, `"PAID"`), kept as sent.
    pub raw_status: String,
    /// How the customer paid, when known.
    pub method: Option<PaymentMethod>,
    /// The amount originally paid.
    pub total: Money,
    /// What can still be canceled (`total - canceled`).
    pub balance: Money,
    /// What has been canceled so far.
    pub canceled: Money,
    /// Each cancellation, oldest first.
    pub cancellations: Vec<Cancellation>,
    /// When the payment was requested, as the PG stated (offset preserved, KST for Korean PGs).
    #[serde(with = "time::serde::rfc3339::option")]
    pub requested_at: Option<OffsetDateTime>,
    /// When it was approved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub approved_at: Option<OffsetDateTime>,
    /// Why it failed, for failed or aborted payments.
    pub failure: Option<Failure>,
    /// A receipt page for the customer.
    pub receipt_url: Option<String>,
    /// A per-payment secret the PG will echo in webhooks (Toss `secret`), to compare in
    /// constant time with [`Trust::SharedSecret`](crate::Trust::SharedSecret). Never serialised.
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// The PG's JSON as received, kept as its bytes and parsed only on demand
    /// ([`RawJson::value`], [`RawJson::parse`]): an escape hatch for fields hanpay does not
    /// model. Toss's `secret` is redacted from it.
    pub raw: RawJson,
}

impl fmt::Debug for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payment")
            .field("provider", &self.provider)
            .field("payment_key", &self.payment_key)
            .field("order_id", &self.order_id)
            .field("order_name", &self.order_name)
            .field("status", &self.status)
            .field("raw_status", &self.raw_status)
            .field("method", &self.method)
            .field("total", &self.total)
            .field("balance", &self.balance)
            .field("canceled", &self.canceled)
            .field("cancellations", &self.cancellations)
            .field("requested_at", &self.requested_at)
            .field("approved_at", &self.approved_at)
            .field("failure", &self.failure)
            .field("receipt_url", &self.receipt_url)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Payment {
    /// The currency of the payment.
    pub fn currency(&self) -> &Currency {
        self.total.currency()
    }

    /// `true` when nothing is left to refund (balance 0 after a cancellation), even if the
    /// PG's status still says partially canceled.
    pub fn is_fully_refunded(&self) -> bool {
        self.balance.is_zero() && !self.canceled.is_zero()
    }

    /// The virtual account details, if paid (or to be paid) by virtual account.
    pub fn virtual_account(&self) -> Option<&VirtualAccountDetails> {
        match &self.method {
            Some(PaymentMethod::VirtualAccount(va)) => Some(va),
            _ => None,
        }
    }

    /// `true` for a virtual-account payment whose deposit has arrived: refunding it needs
    /// the customer's own [`RefundAccount`](crate::RefundAccount).
    pub fn is_deposited_virtual_account(&self) -> bool {
        self.virtual_account().is_some()
            && matches!(
                self.status,
                PaymentStatus::Paid | PaymentStatus::PartiallyCanceled
            )
    }
}

/// How the customer paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentMethod {
    /// A credit or debit card.
    Card(CardDetails),
    /// A bank transfer into a virtual account (가상계좌).
    VirtualAccount(VirtualAccountDetails),
    /// Real-time account transfer (계좌이체).
    Transfer {
        /// The customer's bank, when reported.
        bank: Option<Bank>,
    },
    /// An easy-pay wallet (토스페이, 카카오페이, 네이버페이, …).
    EasyPay {
        /// The wallet's name as the PG reports it.
        provider: String,
    },
    /// Mobile phone billing (휴대폰).
    MobilePhone,
    /// Gift certificates (문화상품권, 도서문화상품권, 게임문화상품권).
    GiftCertificate,
    /// A method hanpay does not model, with the PG's name for it.
    Other {
        /// The PG's raw method name.
        raw: String,
    },
}

/// Card payment details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct CardDetails {
    /// The issuer's code as the PG reports it.
    pub issuer_code: Option<String>,
    /// The acquirer's code.
    pub acquirer_code: Option<String>,
    /// The masked card number (`"43301234****123*"`); never a full number.
    pub masked_number: Option<String>,
    /// Installment months; 0 for a lump-sum payment (일시불).
    pub installment_months: u32,
    /// The card company's approval number.
    pub approval_number: Option<String>,
    /// Card type as the PG reports it (`"신용"`, `"체크"`, `"CREDIT"`).
    pub card_type: Option<String>,
}

/// Virtual account details.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAccountDetails {
    /// The bank of the virtual account.
    pub bank: Option<Bank>,
    /// The account number the customer must transfer to (test accounts start with `X`).
    pub account_number: String,
    /// The name the deposit must be made under (입금자명), when reported.
    pub customer_name: Option<String>,
    /// The deposit deadline.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_date: Option<OffsetDateTime>,
    /// `true` once the deadline passed without a deposit.
    pub expired: bool,
    /// The PG's refund status string, when reported (Toss `refundStatus`).
    pub refund_status: Option<String>,
}

impl fmt::Debug for VirtualAccountDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualAccountDetails")
            .field("bank", &self.bank)
            .field("account_number", &mask_tail(&self.account_number))
            .field("customer_name", &self.customer_name)
            .field("due_date", &self.due_date)
            .field("expired", &self.expired)
            .field("refund_status", &self.refund_status)
            .finish()
    }
}

/// The state of one cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationStatus {
    /// Done: the money went back.
    Done,
    /// Accepted but asynchronous (PortOne `REQUESTED`): not final yet.
    Pending,
    /// The cancellation failed.
    Failed,
    /// Another status string, kept as sent.
    Other(String),
}

/// One cancellation (full or partial refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cancellation {
    /// The amount returned.
    pub amount: Money,
    /// Of which tax-free.
    pub tax_free_amount: Option<Money>,
    /// The reason given.
    pub reason: Option<String>,
    /// When it was canceled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub canceled_at: Option<OffsetDateTime>,
    /// The PG's transaction key or cancellation id.
    pub transaction_key: Option<String>,
    /// Its state.
    pub status: CancellationStatus,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The PG's failure code.
    pub code: String,
    /// The PG's message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: PaymentStatus, balance: i64, canceled: i64) -> Payment {
        Payment {
            provider: ProviderId::from_static("mock"),
            payment_key: "pk".into(),
            order_id: "order-1".into(),
            order_name: None,
            status,
            raw_status: status.as_str().into(),
            method: Some(PaymentMethod::VirtualAccount(VirtualAccountDetails {
                bank: Some(Bank::Daegu),
                account_number: "X600802567548".into(),
                customer_name: None,
                due_date: None,
                expired: false,
                refund_status: None,
            })),
            total: Money::krw(390_000),
            balance: Money::krw(balance),
            canceled: Money::krw(canceled),
            cancellations: vec![],
            requested_at: None,
            approved_at: None,
            failure: None,
            receipt_url: None,
            secret: Some(Secret::new("ps_secret")),
            raw: RawJson::default(),
        }
    }

    #[test]
    fn fully_refunded_follows_the_balance() {
        assert!(sample(PaymentStatus::PartiallyCanceled, 0, 390_000).is_fully_refunded());
        assert!(!sample(PaymentStatus::PartiallyCanceled, 1, 389_999).is_fully_refunded());
        assert!(!sample(PaymentStatus::Paid, 390_000, 0).is_fully_refunded());
    }

    #[test]
    fn deposited_virtual_account() {
        assert!(sample(PaymentStatus::Paid, 390_000, 0).is_deposited_virtual_account());
        assert!(
            !sample(PaymentStatus::WaitingForDeposit, 390_000, 0).is_deposited_virtual_account()
        );
    }

    #[test]
    fn debug_and_json_hide_secrets_and_account_numbers() {
        let mut p = sample(PaymentStatus::Paid, 390_000, 0);
        let json = serde_json::to_string(&p).unwrap_or_default();
        p.raw = RawJson::from_value(
            &serde_json::json!({"secret": "ps_secret", "virtualAccount": {"accountNumber": "X600802567548"}}),
        );
        let debug = format!("{p:?}");
        assert!(!debug.contains("ps_secret"));
        assert!(!debug.contains("X600802567548"));
        assert!(!json.contains("ps_secret"));
        assert!(json.contains("\"total\":{\"amount\":390000"));
    }
}
