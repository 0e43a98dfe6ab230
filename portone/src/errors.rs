//! PortOne's error `type` → the provider-neutral [`ErrorKind`], keeping PortOne's own type,
//! message and (for `PG_PROVIDER`) the PG's `pgCode`/`pgMessage`.
// Parses untrusted input (error bodies): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use hanpay_core::{ErrorKind, PaymentError, PgError};

use crate::wire::{ErrorBody, ErrorType};
use crate::PROVIDER_ID;

/// The classification of a V2 error `type`; `http_status` decides for types this crate does
/// not know.
pub fn kind_for(error_type: &ErrorType, http_status: u16) -> ErrorKind {
    use ErrorType as T;
    match error_type {
        T::InvalidRequest
        | T::SumOfPartsExceedsCancelAmount
        | T::SumOfPartsExceedsTotalAmount
        | T::NegativePromotionAdjustedCancelAmount
        | T::PromotionDiscountRetainOptionShouldNotBeChanged => ErrorKind::InvalidRequest,
        T::Unauthorized | T::Forbidden => ErrorKind::Unauthorized,
        T::PaymentNotFound
        | T::BillingKeyNotFound
        | T::BillingKeyNotIssued
        | T::ChannelNotFound
        | T::PaymentCancellationNotFound => ErrorKind::NotFound,
        T::PaymentNotPaid
        | T::CancellableAmountConsistencyBroken
        | T::CancelAmountExceedsCancellableAmount
        | T::CancelTaxFreeAmountExceedsCancellableTaxFreeAmount
        | T::CancelTaxAmountExceedsCancellableTaxAmount
        | T::MaxCancelCountReached => ErrorKind::NotCancelable,
        T::PaymentAlreadyCancelled
        | T::AlreadyPaid
        | T::AlreadyPaidOrWaiting
        | T::BillingKeyAlreadyDeleted
        | T::BillingKeyAlreadyIssued
        | T::PaymentScheduleAlreadyExists
        | T::PaymentCancellationNotPending => ErrorKind::AlreadyProcessed,
        T::InformationMismatch => ErrorKind::AmountMismatch,
        T::PgProvider
        | T::ChannelSpecific
        | T::InvalidPaymentToken
        | T::PaymentNotWaitingForDeposit
        | T::MaxTransactionCountReached => ErrorKind::Rejected,
        // The same key is still being processed: ask again later with the same key.
        T::IdempotencyOutstandingRequest => ErrorKind::Retryable,
        T::Unknown(_) => kind_for_status(http_status),
    }
}

/// The classification of an HTTP status alone (unknown error types, bodies that are not JSON).
pub fn kind_for_status(http_status: u16) -> ErrorKind {
    match http_status {
        400 | 422 => ErrorKind::InvalidRequest,
        401 | 403 => ErrorKind::Unauthorized,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyProcessed,
        408 | 429 | 500..=599 => ErrorKind::Retryable,
        _ => ErrorKind::Rejected,
    }
}

/// PortOne's error as received: kept as the [`PaymentError`]'s source so callers can downcast
/// for the PG's own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PortOne {error_type} (HTTP {http_status}): {message}")]
pub struct PortOneApiError {
    /// PortOne's error `type` (raw).
    pub error_type: String,
    /// PortOne's message (empty when none was sent).
    pub message: String,
    /// `PG_PROVIDER`: the PG's own code.
    pub pg_code: Option<String>,
    /// `PG_PROVIDER`: the PG's own message.
    pub pg_message: Option<String>,
    /// The HTTP status.
    pub http_status: u16,
}

/// Builds the [`PaymentError`] for a non-2xx answer. `body` is decoded as UTF-8 whatever the
/// charset header said; a body that is not an error object keeps a short excerpt as message.
pub fn from_response(operation: &'static str, http_status: u16, body: &[u8]) -> PaymentError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (error_type, message, pg_code, pg_message) = match parsed {
        Some(b) => (
            b.kind,
            b.message.unwrap_or_default(),
            b.pg_code,
            b.pg_message,
        ),
        None => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(200).collect();
            (ErrorType::default(), excerpt, None, None)
        }
    };
    let kind = kind_for(&error_type, http_status);
    let code = if error_type.as_str().is_empty() {
        format!("HTTP_{http_status}")
    } else {
        error_type.as_str().to_owned()
    };
    let summary = if message.is_empty() {
        format!("PortOne answered {code}")
    } else {
        format!("PortOne answered {code}: {message}")
    };
    PaymentError::new(kind, summary)
        .with_provider(PROVIDER_ID)
        .with_operation(operation)
        .with_pg(
            PgError::new(code.clone(), message.clone(), Some(http_status))
                .with_upstream(pg_code.clone(), pg_message.clone()),
        )
        .with_source(PortOneApiError {
            error_type: code,
            message,
            pg_code,
            pg_message,
            http_status,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn every_payment_error_type_has_its_kind() {
        for (t, status, kind) in [
            ("PAYMENT_NOT_FOUND", 404, ErrorKind::NotFound),
            (
                "PAYMENT_ALREADY_CANCELLED",
                409,
                ErrorKind::AlreadyProcessed,
            ),
            ("PAYMENT_NOT_PAID", 409, ErrorKind::NotCancelable),
            (
                "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
                409,
                ErrorKind::NotCancelable,
            ),
            (
                "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                409,
                ErrorKind::NotCancelable,
            ),
            ("MAX_CANCEL_COUNT_REACHED", 409, ErrorKind::NotCancelable),
            ("PG_PROVIDER", 502, ErrorKind::Rejected),
            ("UNAUTHORIZED", 401, ErrorKind::Unauthorized),
            ("FORBIDDEN", 403, ErrorKind::Unauthorized),
            ("INVALID_REQUEST", 400, ErrorKind::InvalidRequest),
            ("IDEMPOTENCY_OUTSTANDING_REQUEST", 409, ErrorKind::Retryable),
            ("ALREADY_PAID", 409, ErrorKind::AlreadyProcessed),
            ("INFORMATION_MISMATCH", 409, ErrorKind::AmountMismatch),
            ("INVALID_PAYMENT_TOKEN", 400, ErrorKind::Rejected),
            ("BILLING_KEY_NOT_FOUND", 404, ErrorKind::NotFound),
            (
                "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
                409,
                ErrorKind::InvalidRequest,
            ),
            ("SOMETHING_NEW", 503, ErrorKind::Retryable),
            ("SOMETHING_NEW", 404, ErrorKind::NotFound),
            ("SOMETHING_NEW", 418, ErrorKind::Rejected),
        ] {
            assert_eq!(
                kind_for(&ErrorType::from_wire(t), status),
                kind,
                "{t} {status}"
            );
        }
    }

    #[test]
    fn pg_provider_keeps_pg_code_and_message() {
        let body = r#"{"type":"PG_PROVIDER","message":"PG사 오류","pgCode":"CARD_LIMIT","pgMessage":"한도초과"}"#;
        let err = from_response("confirm", 502, body.as_bytes());
        assert_eq!(err.kind(), ErrorKind::Rejected);
        let pg = err.pg().unwrap();
        assert_eq!(pg.code, "PG_PROVIDER");
        assert_eq!(pg.message, "PG사 오류");
        assert_eq!(pg.upstream_code.as_deref(), Some("CARD_LIMIT"));
        assert_eq!(pg.upstream_message.as_deref(), Some("한도초과"));
        assert!(err.to_string().contains("(PG CARD_LIMIT: 한도초과)"));
        assert_eq!(pg.http_status, Some(502));
        let source = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<PortOneApiError>())
            .unwrap();
        assert_eq!(source.pg_code.as_deref(), Some("CARD_LIMIT"));
        assert_eq!(err.operation(), Some("confirm"));
    }

    #[test]
    fn non_json_and_non_utf8_bodies_never_panic() {
        let err = from_response("payment", 502, b"<html>Bad Gateway</html>");
        assert_eq!(err.kind(), ErrorKind::Retryable);
        assert_eq!(err.pg().unwrap().code, "HTTP_502");
        let err = from_response("payment", 400, &[0xff, 0xfe, b'{']);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        let err = from_response(
            "payment",
            404,
            "{\"type\":\"PAYMENT_NOT_FOUND\"}".as_bytes(),
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("PAYMENT_NOT_FOUND"));
    }
}
