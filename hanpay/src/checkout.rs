//! The checkout contract: a confirm whose failure the storefront can act on.
//!
//! [`Gateway::checkout_confirm`](crate::Gateway::checkout_confirm) confirms a payment and, when
//! the PG refuses, looks the payment up to tell the cases apart — PGs report some of them with
//! a generic code (Toss answers a wrong amount with `INVALID_REQUEST`):
//!
//! | [`CheckoutError`] | `code()` | What the storefront does |
//! | --- | --- | --- |
//! | `AmountMismatch` | `payment_amount_mismatch` | the amount differs from the order's: refuse, investigate |
//! | `AlreadyConfirmed` | `payment_already_confirmed` | a second confirm (e.g. a reloaded success page): show the order |
//! | `ExpiredSession` | `payment_expired` | the payment window closed: start a new checkout |
//! | `ConfirmFailed` | `payment_confirm_failed` | the PG refused: show its message, let the customer retry |
//! | `OutcomeUnknown` | `payment_outcome_unknown` | timeout: look the payment up before anything else |
//! | `InvalidRequest` | `invalid_request` | refused before any call: a bug in the caller |

use hanpay_core::{ErrorKind, Money, Payment, PaymentError};

/// Why a checkout confirm failed, in the cases a storefront handles differently.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The amount sent differs from the one the payment was created with (possible tampering).
    #[error("amount mismatch: the order says {requested}, the payment is for {actual}")]
    AmountMismatch {
        /// The amount in the confirm request.
        requested: Money,
        /// The payment's amount at the PG, when it could be read.
        actual: MaybeMoney,
        /// The PG's error.
        #[source]
        error: PaymentError,
    },
    /// The payment was already confirmed; `payment` is its current state.
    #[error("payment already confirmed")]
    AlreadyConfirmed {
        /// The payment as the PG reports it now, when it could be read.
        payment: Option<Box<Payment>>,
        /// The PG's error.
        #[source]
        error: PaymentError,
    },
    /// The payment session (or window) expired before the confirm.
    #[error("payment session expired")]
    ExpiredSession {
        /// The PG's error.
        #[source]
        error: PaymentError,
    },
    /// The PG refused the confirm for another reason (declined card, …).
    #[error("confirm failed at the PG: {error}")]
    ConfirmFailed {
        /// The PG's error, with its code and message.
        #[source]
        error: PaymentError,
    },
    /// Timeout or lost connection: the payment may or may not be confirmed. Look it up.
    #[error("confirm outcome unknown: {error}")]
    OutcomeUnknown {
        /// The error.
        #[source]
        error: PaymentError,
    },
    /// Refused before any call (bad order id, non-positive amount, …).
    #[error("invalid confirm request: {error}")]
    InvalidRequest {
        /// The error.
        #[source]
        error: PaymentError,
    },
}

/// An amount that may be unknown, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeMoney(pub Option<Money>);

impl std::fmt::Display for MaybeMoney {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(m) => m.fmt(f),
            None => f.write_str("an unknown amount"),
        }
    }
}

impl CheckoutError {
    /// The storefront error code (`"payment_amount_mismatch"`, …).
    pub fn code(&self) -> &'static str {
        match self {
            CheckoutError::AmountMismatch { .. } => "payment_amount_mismatch",
            CheckoutError::AlreadyConfirmed { .. } => "payment_already_confirmed",
            CheckoutError::ExpiredSession { .. } => "payment_expired",
            CheckoutError::ConfirmFailed { .. } => "payment_confirm_failed",
            CheckoutError::OutcomeUnknown { .. } => "payment_outcome_unknown",
            CheckoutError::InvalidRequest { .. } => "invalid_request",
        }
    }

    /// The underlying [`PaymentError`].
    pub fn payment_error(&self) -> &PaymentError {
        match self {
            CheckoutError::AmountMismatch { error, .. }
            | CheckoutError::AlreadyConfirmed { error, .. }
            | CheckoutError::ExpiredSession { error }
            | CheckoutError::ConfirmFailed { error }
            | CheckoutError::OutcomeUnknown { error }
            | CheckoutError::InvalidRequest { error } => error,
        }
    }

    /// Classifies a confirm error. `requested` is the amount sent; `looked_up` is the payment
    /// as the PG reported it after the refusal, when it could be fetched.
    pub fn classify(
        error: PaymentError,
        requested: &Money,
        looked_up: Option<Payment>,
    ) -> CheckoutError {
        let pg_code = error.pg().map(|p| p.code.as_str()).unwrap_or("");
        match error.kind() {
            ErrorKind::OutcomeUnknown => return CheckoutError::OutcomeUnknown { error },
            ErrorKind::AmountMismatch => {
                return CheckoutError::AmountMismatch {
                    requested: requested.clone(),
                    actual: MaybeMoney(looked_up.map(|p| p.total)),
                    error,
                }
            }
            ErrorKind::AlreadyProcessed => {
                return CheckoutError::AlreadyConfirmed {
                    payment: looked_up.map(Box::new),
                    error,
                }
            }
            ErrorKind::Expired => return CheckoutError::ExpiredSession { error },
            ErrorKind::InvalidRequest if error.pg().is_none() => {
                return CheckoutError::InvalidRequest { error }
            }
            _ => {}
        }
        if pg_code.contains("SESSION") {
            return CheckoutError::ExpiredSession { error };
        }
        if let Some(payment) = looked_up {
            if payment.total != *requested {
                return CheckoutError::AmountMismatch {
                    requested: requested.clone(),
                    actual: MaybeMoney(Some(payment.total)),
                    error,
                };
            }
            if payment.status == hanpay_core::PaymentStatus::Expired {
                return CheckoutError::ExpiredSession { error };
            }
            if payment.status.is_paid() || payment.status == hanpay_core::PaymentStatus::Canceled {
                return CheckoutError::AlreadyConfirmed {
                    payment: Some(Box::new(payment)),
                    error,
                };
            }
        }
        CheckoutError::ConfirmFailed { error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanpay_core::{PaymentStatus, PgError, ProviderId};

    fn payment(status: PaymentStatus, total: i64) -> Payment {
        Payment {
            provider: ProviderId::from_static("mock"),
            payment_key: "pk".into(),
            order_id: "order-1".into(),
            order_name: None,
            status,
            raw_status: status.as_str().into(),
            method: None,
            total: Money::krw(total),
            balance: Money::krw(total),
            canceled: Money::krw(0),
            cancellations: vec![],
            requested_at: None,
            approved_at: None,
            failure: None,
            receipt_url: None,
            secret: None,
            raw: hanpay_core::RawJson::default(),
        }
    }

    fn pg(kind: ErrorKind, code: &str) -> PaymentError {
        PaymentError::new(kind, "refused").with_pg(PgError::new(code, "메시지", Some(400)))
    }

    #[test]
    fn distinguishes_the_four_cases() {
        let asked = Money::krw(58_000);
        let c = CheckoutError::classify(
            pg(ErrorKind::InvalidRequest, "INVALID_REQUEST"),
            &asked,
            Some(payment(PaymentStatus::Pending, 50_000)),
        );
        assert_eq!(c.code(), "payment_amount_mismatch");
        assert!(c.to_string().contains("58,000원") && c.to_string().contains("50,000원"));

        let c = CheckoutError::classify(
            pg(ErrorKind::AlreadyProcessed, "ALREADY_PROCESSED_PAYMENT"),
            &asked,
            Some(payment(PaymentStatus::Paid, 58_000)),
        );
        assert_eq!(c.code(), "payment_already_confirmed");

        let c = CheckoutError::classify(
            pg(ErrorKind::NotFound, "NOT_FOUND_PAYMENT_SESSION"),
            &asked,
            None,
        );
        assert_eq!(c.code(), "payment_expired");

        let c = CheckoutError::classify(
            pg(ErrorKind::Rejected, "REJECT_CARD_COMPANY"),
            &asked,
            Some(payment(PaymentStatus::Pending, 58_000)),
        );
        assert_eq!(c.code(), "payment_confirm_failed");
        assert_eq!(
            c.payment_error().pg().map(|p| p.code.as_str()),
            Some("REJECT_CARD_COMPANY")
        );

        let c = CheckoutError::classify(
            PaymentError::new(ErrorKind::OutcomeUnknown, "timeout"),
            &asked,
            None,
        );
        assert_eq!(c.code(), "payment_outcome_unknown");
        let c = CheckoutError::classify(PaymentError::invalid("bad order id"), &asked, None);
        assert_eq!(c.code(), "invalid_request");
    }
}
