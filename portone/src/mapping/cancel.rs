//! The PortOne cancel mapping, both directions, in one place:
//!
//! - [`cancel_body`]: core [`CancelRequest`] → `POST /payments/{paymentId}/cancel` body
//!   (`amount` only for a partial cancel, `taxFreeAmount`, `currentCancellableAmount` as a
//!   compare-and-set, the refund account by PortOne's bank name);
//! - [`check_refund_bank`]: a refund bank PortOne cannot name is refused before any call;
//! - [`cancellation`] and [`cancellation_status`]: a `cancellations[]` entry → core
//!   [`Cancellation`];
//! - [`after_cancel`]: the payment after PortOne answered a cancel (its answer names the
//!   cancellation only).

use hanpay_core::{
    CancelRequest, Cancellation, CancellationStatus as CoreCancelStatus, Currency, ErrorKind,
    Money, Payment, PaymentError, PaymentStatus,
};

use super::{bank_name, timestamp};
use crate::wire::{CancelPaymentBody, CancellationStatus, PaymentCancellation, RefundAccountBody};
use crate::PROVIDER_ID;

/// `PaymentCancellation.status` → hanpay cancellation status.
pub fn cancellation_status(status: &CancellationStatus) -> CoreCancelStatus {
    match status {
        CancellationStatus::Succeeded => CoreCancelStatus::Done,
        CancellationStatus::Requested => CoreCancelStatus::Pending,
        CancellationStatus::Failed => CoreCancelStatus::Failed,
        CancellationStatus::Unknown(raw) => CoreCancelStatus::Other(raw.clone()),
    }
}

/// One cancellation, amounts in the payment's currency.
pub fn cancellation(c: &PaymentCancellation, currency: &Currency) -> Cancellation {
    Cancellation {
        amount: Money::new(c.total_amount, currency.clone()),
        tax_free_amount: Some(Money::new(c.tax_free_amount, currency.clone())),
        reason: Some(c.reason.clone()).filter(|r| !r.is_empty()),
        canceled_at: timestamp(c.cancelled_at.as_deref()),
        transaction_key: Some(c.id.clone()),
        status: cancellation_status(&c.status),
    }
}

/// The payment after PortOne answered a cancel with `answer`, derived from `before` (the
/// lookup the cancel was validated against) so that the cancel costs no second lookup:
/// PortOne's answer carries the cancellation only. A `SUCCEEDED` cancellation comes off the
/// balance (`PARTIAL_CANCELLED`, or `CANCELLED` at zero); a `REQUESTED` one is listed as
/// pending and the status is kept (PortOne's `Transaction.(Partial)Cancelled` webhook or the
/// reconciler's lookup brings the rest). A cancellation `before` already lists (a retry
/// answered with the first attempt's) changes nothing. An answer that does not add up (more than the
/// balance, another currency) is an error, never a guess.
pub fn after_cancel(
    mut before: Payment,
    answer: &PaymentCancellation,
) -> Result<Payment, PaymentError> {
    let added = cancellation(answer, before.total.currency());
    if before
        .cancellations
        .iter()
        .any(|c| c.transaction_key == added.transaction_key)
    {
        // A retried cancel answered with the first one's cancellation, which the lookup
        // before it already showed: nothing more came off.
        return Ok(before);
    }
    if answer.status == CancellationStatus::Succeeded {
        let (Ok(balance), Ok(canceled)) = (
            before.balance.checked_sub(&added.amount),
            before.canceled.checked_add(&added.amount),
        ) else {
            return Err(inconsistent(&before, answer));
        };
        if balance.minor_units() < 0 {
            return Err(inconsistent(&before, answer));
        }
        let (status, raw) = if balance.is_zero() {
            (PaymentStatus::Canceled, "CANCELLED")
        } else {
            (PaymentStatus::PartiallyCanceled, "PARTIAL_CANCELLED")
        };
        before.balance = balance;
        before.canceled = canceled;
        before.status = status;
        raw.clone_into(&mut before.raw_status);
    }
    before.cancellations.push(added);
    Ok(before)
}

fn inconsistent(before: &Payment, answer: &PaymentCancellation) -> PaymentError {
    PaymentError::new(
        ErrorKind::Decode,
        format!(
            "PortOne's cancellation {} of {} does not fit the payment's balance {}",
            answer.id, answer.total_amount, before.balance
        ),
    )
    .with_provider(PROVIDER_ID)
    .with_operation("cancel")
}

/// The cancel body. `currentCancellableAmount` is the balance the caller believes in
/// ([`CancelRequest::expected_balance`]); PortOne refuses the cancel if it changed.
pub fn cancel_body(request: &CancelRequest, store_id: Option<&str>) -> CancelPaymentBody {
    CancelPaymentBody {
        store_id: store_id.map(str::to_owned),
        amount: request.amount.as_ref().map(Money::minor_units),
        tax_free_amount: request.tax_free_amount.as_ref().map(Money::minor_units),
        reason: request.reason.clone(),
        requester: None,
        current_cancellable_amount: request.expected_balance.as_ref().map(Money::minor_units),
        refund_account: request.refund_account.as_ref().and_then(|a| {
            bank_name(a.bank()).map(|bank| RefundAccountBody {
                bank: bank.to_owned(),
                number: a.number().to_owned(),
                holder_name: a.holder_name().to_owned(),
            })
        }),
    }
}

/// Refuses a refund account whose bank has no PortOne V2 name, before any call.
pub fn check_refund_bank(request: &CancelRequest) -> Result<(), PaymentError> {
    match &request.refund_account {
        Some(a) if bank_name(a.bank()).is_none() => Err(PaymentError::invalid(format!(
            "PortOne has no bank code for {}: choose another refund bank",
            a.bank()
        ))
        .with_provider(PROVIDER_ID)),
        _ => Ok(()),
    }
}
