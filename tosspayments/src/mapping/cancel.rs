//! The Toss cancel mapping, both directions, in one place:
//!
//! - [`cancel_body`]: core [`CancelRequest`] → `POST /v1/payments/{paymentKey}/cancel` body
//!   (`cancelReason`; `cancelAmount` only for a partial cancel; `refundReceiveAccount` only for a
//!   deposited virtual account, with `bank` — not `bankCode` — and the **customer's** account;
//!   `taxFreeAmount`; `currency`);
//! - [`cancellation_from_wire`]: a `cancels[]` entry → core [`Cancellation`].

use hanpay_core::{
    CancelRequest, Cancellation, CancellationStatus, Currency, Money, Payment, PaymentError,
};

use super::{amount_of, money, parse_time};
use crate::wire::{self, CancelBody, RefundReceiveAccountIn};

/// Builds the cancel body for `request` against the payment as last looked up.
///
/// Validates first (core rules: reason, amount within the balance, currency, a refund account
/// for a deposited virtual account that is not the virtual account itself), so nothing invalid
/// is ever sent.
pub fn cancel_body<'a>(
    request: &'a CancelRequest,
    payment: &Payment,
) -> Result<CancelBody<'a>, PaymentError> {
    request.validate_before_send(payment)?;
    check_cancel_amounts(request)?;
    let refund_receive_account = if payment.is_deposited_virtual_account() {
        match &request.refund_account {
            Some(account) => {
                let bank = super::bank_code(account.bank()).ok_or_else(|| {
                    PaymentError::invalid(format!(
                        "refund bank {} has no Toss bank code",
                        account.bank().korean_name()
                    ))
                })?;
                Some(RefundReceiveAccountIn {
                    bank,
                    account_number: account.number(),
                    holder_name: account.holder_name(),
                })
            }
            None => None,
        }
    } else {
        // Card, easy pay, transfer, or a virtual account not yet deposited: Toss needs no refund
        // account (cancelling before deposit just closes the account).
        None
    };
    Ok(CancelBody {
        cancel_reason: &request.reason,
        cancel_amount: request.amount.as_ref().map(amount_of),
        refund_receive_account,
        tax_free_amount: request.tax_free_amount.as_ref().map(amount_of),
        currency: Some(payment.currency().code().to_owned()).filter(|c| !c.is_empty()),
    })
}

/// Refuses a cancel (or tax-free) amount above [`MAX_AMOUNT`](super::MAX_AMOUNT) before any
/// call, the payment's lookup included.
pub fn check_cancel_amounts(request: &CancelRequest) -> Result<(), PaymentError> {
    if let Some(amount) = &request.amount {
        super::check_amount("cancel", amount)?;
    }
    if let Some(tax_free) = &request.tax_free_amount {
        super::check_amount("tax-free cancel", tax_free)?;
    }
    Ok(())
}

/// Maps one `cancels[]` entry.
pub fn cancellation_from_wire(
    cancel: &wire::Cancel,
    currency: &Currency,
) -> Result<Cancellation, PaymentError> {
    let amount = match &cancel.cancel_amount {
        Some(a) => money(a, currency, "cancels[].cancelAmount")?,
        None => Money::zero(currency.clone()),
    };
    let tax_free_amount = cancel
        .tax_free_amount
        .as_ref()
        .map(|a| money(a, currency, "cancels[].taxFreeAmount"))
        .transpose()?;
    let status = match &cancel.cancel_status {
        None | Some(wire::CancelStatus::Done) => CancellationStatus::Done,
        Some(wire::CancelStatus::InProgress) => CancellationStatus::Pending,
        Some(wire::CancelStatus::Aborted) => CancellationStatus::Failed,
        Some(other) => CancellationStatus::Other(other.as_str().to_owned()),
    };
    Ok(Cancellation {
        amount,
        tax_free_amount,
        reason: cancel.cancel_reason.clone(),
        canceled_at: parse_time(cancel.canceled_at.as_deref()),
        transaction_key: cancel.transaction_key.clone(),
        status,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::mapping::payment_from_slice;
    use hanpay_core::{Bank, ErrorKind, RefundAccount};

    const CARD: &[u8] = include_bytes!("../../tests/fixtures/card_two_partial_cancels.json");
    const SEED000: &[u8] =
        include_bytes!("../../tests/fixtures/confirm_waiting_for_deposit_seed000.json");

    fn deposited(mut p: Payment) -> Payment {
        p.status = hanpay_core::PaymentStatus::Paid;
        p
    }

    #[test]
    fn partial_card_cancel_body() {
        let p = payment_from_slice(CARD).unwrap();
        let req = CancelRequest::partial(&p.payment_key, "한 개 환불", Money::krw(374_000 / 10));
        let body = cancel_body(&req, &p).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["cancelAmount"], serde_json::json!(37400));
        assert!(json["cancelAmount"].is_u64());
        assert_eq!(json["currency"], "KRW");
        assert!(json.get("refundReceiveAccount").is_none());
        let full = CancelRequest::full(&p.payment_key, "전액");
        let json = serde_json::to_value(cancel_body(&full, &p).unwrap()).unwrap();
        assert!(json.get("cancelAmount").is_none());
    }

    #[test]
    fn waiting_virtual_account_needs_no_refund_account() {
        let p = payment_from_slice(SEED000).unwrap();
        let req = CancelRequest::full(&p.payment_key, "Customer wants refund");
        let json = serde_json::to_value(cancel_body(&req, &p).unwrap()).unwrap();
        assert!(json.get("refundReceiveAccount").is_none());
    }

    #[test]
    fn deposited_virtual_account_refund() {
        let p = deposited(payment_from_slice(SEED000).unwrap());
        let missing = CancelRequest::full(&p.payment_key, "refund");
        assert_eq!(
            cancel_body(&missing, &p).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        let account = RefundAccount::new(Bank::Daegu, "1600802567580", "Pankaj").unwrap();
        let ok = CancelRequest::full(&p.payment_key, "refund").refund_to(account);
        let json = serde_json::to_value(cancel_body(&ok, &p).unwrap()).unwrap();
        assert_eq!(
            json["refundReceiveAccount"],
            serde_json::json!({"bank": "31", "accountNumber": "1600802567580", "holderName": "Pankaj"})
        );
    }

    #[test]
    fn cancel_above_balance_is_refused_locally() {
        let p = payment_from_slice(CARD).unwrap();
        let req = CancelRequest::partial(&p.payment_key, "too much", Money::krw(40_001));
        assert_eq!(
            cancel_body(&req, &p).unwrap_err().kind(),
            ErrorKind::NotCancelable
        );
    }

    #[test]
    fn cancels_map() {
        let p = payment_from_slice(CARD).unwrap();
        assert_eq!(p.cancellations.len(), 2);
        assert_eq!(p.cancellations[0].amount, Money::krw(10_000));
        assert_eq!(p.cancellations[1].amount, Money::krw(8_000));
        assert_eq!(p.cancellations[1].status, CancellationStatus::Done);
        assert_eq!(
            p.cancellations[1].transaction_key.as_deref(),
            Some("txrd_a01cancel0000000000002")
        );
        assert!(p.cancellations[0].canceled_at.is_some());
        let entry: wire::Cancel =
            serde_json::from_str(r#"{"cancelAmount": 1, "cancelStatus": "IN_PROGRESS"}"#).unwrap();
        let c = cancellation_from_wire(&entry, &Currency::Krw).unwrap();
        assert_eq!(c.status, CancellationStatus::Pending);
        let entry: wire::Cancel =
            serde_json::from_str(r#"{"cancelAmount": 1, "cancelStatus": "WEIRD"}"#).unwrap();
        let c = cancellation_from_wire(&entry, &Currency::Krw).unwrap();
        assert_eq!(c.status, CancellationStatus::Other("WEIRD".into()));
    }
}
