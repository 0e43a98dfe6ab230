//! How a NICEPAY cancel maps to the domain, both directions, in one place:
//!
//! - [`cancel_body`]: core [`CancelRequest`] → `POST /v1/payments/{tid}/cancel` body: `reason`;
//!   a fresh `orderId` for the cancel (a partial cancel cannot reuse one); `cancelAmt` only for a
//!   partial cancel (absent = the whole balance); `taxFreeAmt`; and for a **deposited** virtual
//!   account the customer's own `refundAccount` / `refundBankCode` (3-digit KFTC code) /
//!   `refundHolder` — validated before any call.
//! - [`cancellation_from_wire`]: a `cancels[]` entry → core [`Cancellation`] (its `tid` is the
//!   `cancelledTid` of the cancel answer).
//! - [`new_cancellations`]: the cancellations a lookup shows that an earlier lookup did not —
//!   how an unknown cancel outcome is decided without re-sending blindly.

use hanpay_core::{
    validate_order_id, CancelRequest, Cancellation, CancellationStatus, Currency, Money, Payment,
    PaymentError,
};
use sha2::{Digest, Sha256};

use super::parse_nice_time;
use crate::wire::{self, Amount, CancelBody};

/// NICEPAY's `reason` limit.
const MAX_REASON_CHARS: usize = 100;
/// NICEPAY's `refundAccount` limit.
const MAX_REFUND_ACCOUNT: usize = 16;
/// NICEPAY's `refundHolder` limit.
const MAX_REFUND_HOLDER_CHARS: usize = 10;

/// The `orderId` a cancel is sent with: the request's idempotency key when it is a valid order
/// id, else a digest of it (so retries of one request keep one cancel order id), else a fresh
/// UUID.
pub fn cancel_order_id(request: &CancelRequest) -> String {
    match &request.idempotency_key {
        Some(key) if validate_order_id(key).is_ok() => key.clone(),
        Some(key) => format!(
            "cancel-{}",
            &hex::encode(Sha256::digest(key.as_bytes()))[..40]
        ),
        None => format!("cancel-{}", uuid::Uuid::new_v4().simple()),
    }
}

fn amount_of(money: &Money) -> Amount {
    Amount::new(money.minor_units())
}

/// Builds the cancel body for `request` against the payment as last looked up.
///
/// Core checks first (reason, amount within the balance, currency, a deposited virtual account
/// refunded to the customer's own account, never the virtual account itself), then NICEPAY's
/// limits (reason ≤ 100, account ≤ 16 digits, holder ≤ 10, a 3-digit bank code).
pub fn cancel_body<'a>(
    request: &'a CancelRequest,
    payment: &Payment,
    order_id: &'a str,
) -> Result<CancelBody<'a>, PaymentError> {
    request.validate_before_send(payment)?;
    if request.reason.chars().count() > MAX_REASON_CHARS {
        return Err(PaymentError::invalid(format!(
            "NICEPAY takes a cancel reason of at most {MAX_REASON_CHARS} characters"
        )));
    }
    if payment.currency() != &Currency::Krw {
        return Err(PaymentError::invalid(format!(
            "NICEPAY cancels are sent in won; this payment is in {}",
            payment.currency()
        )));
    }
    let (refund_account, refund_bank_code, refund_holder) = match (
        payment.is_deposited_virtual_account(),
        &request.refund_account,
    ) {
        (true, Some(account)) => {
            let bank = account.bank().kftc_code().ok_or_else(|| {
                PaymentError::invalid(format!(
                    "refund bank {} has no 3-digit bank code",
                    account.bank().korean_name()
                ))
            })?;
            if account.number().len() > MAX_REFUND_ACCOUNT {
                return Err(PaymentError::invalid(format!(
                    "NICEPAY takes a refund account number of at most {MAX_REFUND_ACCOUNT} digits"
                )));
            }
            if account.holder_name().chars().count() > MAX_REFUND_HOLDER_CHARS {
                return Err(PaymentError::invalid(format!(
                    "NICEPAY takes a refund account holder of at most {MAX_REFUND_HOLDER_CHARS} characters"
                )));
            }
            (
                Some(account.number()),
                Some(bank),
                Some(account.holder_name()),
            )
        }
        // Card, transfer, or a virtual account not yet deposited: no refund account is sent.
        _ => (None, None, None),
    };
    // A "partial" cancel of exactly the whole balance is sent as a full one.
    let cancel_amt = request
        .amount
        .as_ref()
        .filter(|a| a.minor_units() < payment.balance.minor_units())
        .map(amount_of);
    Ok(CancelBody {
        reason: &request.reason,
        order_id,
        cancel_amt,
        tax_free_amt: request.tax_free_amount.as_ref().map(amount_of),
        refund_account,
        refund_bank_code,
        refund_holder,
    })
}

/// Maps one `cancels[]` entry.
pub fn cancellation_from_wire(cancel: &wire::Cancel, currency: &Currency) -> Cancellation {
    Cancellation {
        amount: Money::new(cancel.amount.map_or(0, Amount::get), currency.clone()),
        tax_free_amount: None,
        reason: cancel.reason.clone().filter(|r| !r.is_empty()),
        canceled_at: cancel.cancelled_at.as_deref().and_then(parse_nice_time),
        transaction_key: cancel.tid.clone().filter(|t| !t.is_empty()),
        status: CancellationStatus::Done,
    }
}

/// The cancellations of `after` whose tid `before` does not have.
pub fn new_cancellations<'a>(before: &Payment, after: &'a Payment) -> Vec<&'a Cancellation> {
    after
        .cancellations
        .iter()
        .filter(|c| {
            !before
                .cancellations
                .iter()
                .any(|b| b.transaction_key.is_some() && b.transaction_key == c.transaction_key)
        })
        .collect()
}

/// Whether `after` shows that `request` took effect since `before`: a new cancellation of the
/// requested amount (or, for a full cancel, of the whole balance `before` had).
pub fn cancel_took_effect(request: &CancelRequest, before: &Payment, after: &Payment) -> bool {
    let wanted = request
        .amount
        .as_ref()
        .map_or(before.balance.minor_units(), Money::minor_units);
    new_cancellations(before, after)
        .iter()
        .any(|c| c.amount.minor_units() == wanted)
}
