//! What `/v1` answers: a payment, the same shape for every PG, and the configured PGs.

use hanpay::core::{Cancellation, CancellationStatus, PaymentMethod};
use hanpay::{Money, Payment};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A virtual account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VirtualAccountView {
    /// The bank's KFTC code, when known.
    pub bank_code: Option<String>,
    /// The bank's name, when known.
    pub bank_name: Option<String>,
    /// The account number to transfer to.
    pub account_number: String,
    /// The depositor's name, when reported.
    pub customer_name: Option<String>,
    /// The deposit deadline (RFC 3339).
    pub due_date: Option<String>,
    /// Whether the deadline passed without a deposit.
    pub expired: bool,
}

/// One cancellation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CancellationView {
    /// The amount returned, in minor units.
    pub amount: i64,
    /// Of which tax-free.
    pub tax_free_amount: Option<i64>,
    /// The reason given.
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub canceled_at: Option<String>,
    /// `done`, `pending`, `failed` or the PG's own word.
    pub status: String,
}

/// Why a payment failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailureView {
    /// The PG's failure code.
    pub code: String,
    /// The PG's message.
    pub message: String,
}

/// A payment as the PG reports it, the same shape for every PG.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    /// The PG: one of the ids `GET /v1/providers` lists.
    pub provider: String,
    /// The PG's payment key.
    pub payment_key: String,
    /// Your order id.
    pub order_id: String,
    /// The order name.
    pub order_name: Option<String>,
    /// `READY`, `PENDING`, `WAITING_FOR_DEPOSIT`, `PAID`, `PARTIALLY_CANCELED`, `CANCELED`,
    /// `FAILED`, `EXPIRED` or `UNKNOWN`.
    #[schema(example = "PAID")]
    pub status: String,
    /// The PG's own status word, as sent.
    pub raw_status: String,
    /// ISO 4217 code of the amounts.
    #[schema(example = "KRW")]
    pub currency: String,
    /// The amount paid, in minor units.
    #[schema(example = 58000)]
    pub amount: i64,
    /// What can still be canceled.
    pub balance: i64,
    /// What was canceled so far.
    pub canceled: i64,
    /// `card`, `virtual_account`, `transfer`, `easy_pay`, `mobile_phone`,
    /// `gift_certificate` or the PG's own word; absent when not reported.
    pub method: Option<String>,
    /// The virtual account, for virtual-account payments.
    pub virtual_account: Option<VirtualAccountView>,
    /// Each cancellation, oldest first.
    pub cancellations: Vec<CancellationView>,
    /// When requested (RFC 3339, the PG's offset).
    pub requested_at: Option<String>,
    /// When approved.
    pub approved_at: Option<String>,
    /// Why it failed.
    pub failure: Option<FailureView>,
    /// A receipt page.
    pub receipt_url: Option<String>,
}

fn rfc3339(at: Option<OffsetDateTime>) -> Option<String> {
    at.and_then(|t| t.format(&Rfc3339).ok())
}

fn method_name(method: &PaymentMethod) -> String {
    match method {
        PaymentMethod::Card(_) => "card".into(),
        PaymentMethod::VirtualAccount(_) => "virtual_account".into(),
        PaymentMethod::Transfer { .. } => "transfer".into(),
        PaymentMethod::EasyPay { .. } => "easy_pay".into(),
        PaymentMethod::MobilePhone => "mobile_phone".into(),
        PaymentMethod::GiftCertificate => "gift_certificate".into(),
        PaymentMethod::Other { raw } => raw.clone(),
        _ => "other".into(),
    }
}

fn cancellation(c: &Cancellation) -> CancellationView {
    CancellationView {
        amount: c.amount.minor_units(),
        tax_free_amount: c.tax_free_amount.as_ref().map(Money::minor_units),
        reason: c.reason.clone(),
        canceled_at: rfc3339(c.canceled_at),
        status: match &c.status {
            CancellationStatus::Done => "done".into(),
            CancellationStatus::Pending => "pending".into(),
            CancellationStatus::Failed => "failed".into(),
            CancellationStatus::Other(s) => s.clone(),
        },
    }
}

impl From<&Payment> for PaymentView {
    fn from(p: &Payment) -> PaymentView {
        PaymentView {
            provider: p.provider.to_string(),
            payment_key: p.payment_key.clone(),
            order_id: p.order_id.clone(),
            order_name: p.order_name.clone(),
            status: p.status.as_str().to_owned(),
            raw_status: p.raw_status.clone(),
            currency: p.total.currency().code().to_owned(),
            amount: p.total.minor_units(),
            balance: p.balance.minor_units(),
            canceled: p.canceled.minor_units(),
            method: p.method.as_ref().map(method_name),
            virtual_account: p.virtual_account().map(|va| VirtualAccountView {
                bank_code: va
                    .bank
                    .as_ref()
                    .and_then(|b| b.kftc_code())
                    .map(str::to_owned),
                bank_name: va.bank.as_ref().map(|b| b.korean_name().to_owned()),
                account_number: va.account_number.clone(),
                customer_name: va.customer_name.clone(),
                due_date: rfc3339(va.due_date),
                expired: va.expired,
            }),
            cancellations: p.cancellations.iter().map(cancellation).collect(),
            requested_at: rfc3339(p.requested_at),
            approved_at: rfc3339(p.approved_at),
            failure: p.failure.as_ref().map(|f| FailureView {
                code: f.code.clone(),
                message: f.message.clone(),
            }),
            receipt_url: p.receipt_url.clone(),
        }
    }
}

/// One configured PG and what it supports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    /// Its name, as used in paths (`tosspayments`).
    pub id: String,
    /// Whether it is the default PG.
    pub default: bool,
    /// `confirm`, `lookup_by_key`, `lookup_by_order_id`, `cancel`, `partial_cancel`,
    /// `virtual_accounts`, `billing_keys`, `webhooks`.
    pub capabilities: Vec<String>,
}

/// `GET /v1/providers`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvidersView {
    /// The default PG's name.
    pub default: String,
    /// Every configured PG.
    pub providers: Vec<ProviderView>,
}
