//! Toss error codes → provider-neutral [`ErrorKind`], decided by the **code**, never the HTTP
//! status (Toss answers the transient `PROVIDER_ERROR` with 400 and the permanent
//! `FAILED_DB_PROCESSING` with 500; see reference §4.6).
//!
//! Unknown codes are classified by their prefix (`INVALID_`, `REJECT_`, `NOT_FOUND`, …) and the
//! code itself is always kept in the error's [`hanpay_core::PgError`].
// Parses untrusted input (error bodies): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use std::time::Duration;

use hanpay_core::{ErrorKind, PaymentError, PgError};

use crate::mapping::PROVIDER_ID;
use crate::wire::ErrorBody;

/// Codes that are transient and safe to retry with the same `Idempotency-Key`.
const RETRYABLE: &[&str] = &[
    "PROVIDER_ERROR",
    "FAILED_INTERNAL_SYSTEM_PROCESSING",
    "COMMON_ERROR",
    "UNKNOWN_ERROR",
    "FAILED_REFUND_PROCESS",
    "FAILED_METHOD_HANDLING",
    "FAILED_METHOD_HANDLING_CANCEL",
    "FAILED_CARD_COMPANY_RESPONSE",
    "FAILED_BILL_KEY_AUTH_CREATION",
    "FORBIDDEN_CONSECUTIVE_REQUEST",
    "IDEMPOTENT_REQUEST_PROCESSING",
];

/// Codes after which the operation may or may not have happened: look the payment up.
const OUTCOME_UNKNOWN: &[&str] = &[
    "UNKNOWN_PAYMENT_ERROR",
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
    "CARD_PROCESSING_ERROR",
    "FAILED_PARTIAL_REFUND",
];

const UNAUTHORIZED: &[&str] = &[
    "UNAUTHORIZED_KEY",
    "INCORRECT_BASIC_AUTH_FORMAT",
    "INVALID_API_KEY",
    "INVALID_CLIENT_KEY",
    "NOT_SUPPORTED_WIDGET_KEY",
];

const EXPIRED: &[&str] = &["NOT_FOUND_PAYMENT_SESSION", "EXPIRED_PAYMENT"];

const NOT_FOUND: &[&str] = &[
    "NOT_FOUND",
    "NOT_FOUND_PAYMENT",
    "NOT_FOUND_BILLING",
    "NOT_FOUND_MERCHANT",
    "NOT_FOUND_SUBMALL",
    "PAYOUT_NOT_FOUND",
    "NOT_FOUND_HTTP_METHOD",
    "ALREADY_REMOVED_BILLING_KEY",
];

const ALREADY_PROCESSED: &[&str] = &[
    "ALREADY_PROCESSED_PAYMENT",
    "ALREADY_COMPLETED_PAYMENT",
    "ALREADY_CANCELED_PAYMENT",
    "ALREADY_REFUND_PAYMENT",
    "ALREADY_REFUNDING_PAYMENT",
    "DUPLICATED_ORDER_ID",
    "DUPLICATED_REQUEST",
];

const NOT_CANCELABLE: &[&str] = &[
    "NOT_CANCELABLE_AMOUNT",
    "NOT_CANCELABLE_PAYMENT",
    "NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER",
    "NOT_ALLOWED_PARTIAL_REFUND",
    "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
    "NOT_MATCHES_REFUNDABLE_AMOUNT",
    "NOT_SUPPORTED_REFUND",
    "EXCEED_MAX_REFUND_DUE",
    "EXCEED_MAX_REFUND_AMOUNT",
    "EXCEED_CANCEL_LIMIT",
    "EXCEED_CANCEL_AMOUNT_DISCOUNT_AMOUNT",
];

/// Codes that are caller mistakes even though their names start like declines.
const INVALID_REQUEST: &[&str] = &[
    "INVALID_REQUEST",
    "INVALID_REQUIRED_PARAM",
    "INVALID_IDEMPOTENCY_KEY",
    "INVALID_REFUND_ACCOUNT_NUMBER",
    "INVALID_REFUND_ACCOUNT_INFO",
    "INVALID_BANK",
    "INVALID_ORDER_ID",
    "INVALID_PAYMENT_KEY",
    "INVALID_CURRENCY",
    "INVALID_TEST_CODE",
    "REQUIRED_AMOUNT",
    "REQUIRED_ACCOUNT_KEY",
    "BELOW_MINIMUM_AMOUNT",
    "BELOW_ZERO_AMOUNT",
    "NOT_MATCHES_CUSTOMER_KEY",
    "API_VERSION_UPDATE_NEEDED",
    "FAILED_DB_PROCESSING",
    "EXCEED_MAX_VALID_HOURS",
    "EXCEED_MAX_DUE_DATE",
    "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE",
];

/// The provider-neutral kind of a Toss error code.
///
/// ```
/// use hanpay_core::ErrorKind;
/// use hanpay_tosspayments::errors::classify;
/// assert_eq!(classify("PROVIDER_ERROR"), ErrorKind::Retryable); // HTTP 400, yet transient
/// assert_eq!(classify("NOT_CANCELABLE_AMOUNT"), ErrorKind::NotCancelable);
/// assert_eq!(classify("SOME_FUTURE_CODE"), ErrorKind::Rejected);
/// ```
pub fn classify(code: &str) -> ErrorKind {
    let is = |list: &[&str]| list.contains(&code);
    if is(RETRYABLE) {
        ErrorKind::Retryable
    } else if is(OUTCOME_UNKNOWN) {
        ErrorKind::OutcomeUnknown
    } else if is(UNAUTHORIZED) {
        ErrorKind::Unauthorized
    } else if is(EXPIRED) {
        ErrorKind::Expired
    } else if is(NOT_FOUND) {
        ErrorKind::NotFound
    } else if is(ALREADY_PROCESSED) {
        ErrorKind::AlreadyProcessed
    } else if is(NOT_CANCELABLE) {
        ErrorKind::NotCancelable
    } else if is(INVALID_REQUEST) {
        ErrorKind::InvalidRequest
    } else if code.starts_with("NOT_FOUND") {
        ErrorKind::NotFound
    } else if code.starts_with("ALREADY_") || code.starts_with("DUPLICATED_") {
        ErrorKind::AlreadyProcessed
    } else if code.starts_with("INVALID_CARD")
        || code.starts_with("INVALID_STOPPED")
        || code.starts_with("INVALID_REJECT")
        || code == "INVALID_PASSWORD"
    {
        // The customer's card was refused: a decline, not a bug in the request.
        ErrorKind::Rejected
    } else if code.starts_with("INVALID_") {
        ErrorKind::InvalidRequest
    } else {
        // REJECT_*, EXCEED_*, NOT_SUPPORTED_*, FDS_ERROR, PAY_PROCESS_*, and codes added later.
        ErrorKind::Rejected
    }
}

/// The minimum wait before retrying `code` (Toss refuses a second cancel of one payment within
/// one second: `FORBIDDEN_CONSECUTIVE_REQUEST`).
pub fn retry_floor(code: &str) -> Duration {
    if code == "FORBIDDEN_CONSECUTIVE_REQUEST" {
        Duration::from_millis(1100)
    } else {
        Duration::ZERO
    }
}

/// Decodes a Toss error body. The bytes are read as UTF-8 (lossily) whatever `Content-Type`'s
/// charset claims, so Korean messages never turn into mojibake; a body that is not
/// `{code, message}` keeps its text (truncated) as the message.
pub(crate) fn decode_error_body(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(e) => (e.code, e.message),
        Err(_) => (String::new(), text.chars().take(200).collect()),
    }
}

/// The error for an error response. Classified by the code; only a response without a code
/// falls back to the status (429 and 5xx transient, anything else a rejection).
pub fn error_from_response(operation: &'static str, status: u16, body: &[u8]) -> PaymentError {
    let (code, message) = decode_error_body(body);
    let kind = if status == 429 {
        ErrorKind::Retryable
    } else if code.is_empty() {
        if status >= 500 {
            ErrorKind::Retryable
        } else {
            ErrorKind::Rejected
        }
    } else {
        classify(&code)
    };
    let summary = if code.is_empty() {
        format!("Toss answered HTTP {status}")
    } else {
        format!("Toss answered {code}")
    };
    PaymentError::new(kind, summary)
        .with_provider(PROVIDER_ID)
        .with_operation(operation)
        .with_pg(PgError::new(code, message, Some(status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("PROVIDER_ERROR", ErrorKind::Retryable),
            ("FAILED_INTERNAL_SYSTEM_PROCESSING", ErrorKind::Retryable),
            ("COMMON_ERROR", ErrorKind::Retryable),
            ("UNKNOWN_ERROR", ErrorKind::Retryable),
            ("FAILED_REFUND_PROCESS", ErrorKind::Retryable),
            ("FAILED_METHOD_HANDLING", ErrorKind::Retryable),
            ("FAILED_METHOD_HANDLING_CANCEL", ErrorKind::Retryable),
            ("FAILED_CARD_COMPANY_RESPONSE", ErrorKind::Retryable),
            ("FORBIDDEN_CONSECUTIVE_REQUEST", ErrorKind::Retryable),
            ("IDEMPOTENT_REQUEST_PROCESSING", ErrorKind::Retryable),
            (
                "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
                ErrorKind::OutcomeUnknown,
            ),
            ("UNKNOWN_PAYMENT_ERROR", ErrorKind::OutcomeUnknown),
            ("UNAUTHORIZED_KEY", ErrorKind::Unauthorized),
            ("INCORRECT_BASIC_AUTH_FORMAT", ErrorKind::Unauthorized),
            ("NOT_FOUND_PAYMENT", ErrorKind::NotFound),
            ("NOT_FOUND_PAYMENT_SESSION", ErrorKind::Expired),
            ("ALREADY_PROCESSED_PAYMENT", ErrorKind::AlreadyProcessed),
            ("ALREADY_CANCELED_PAYMENT", ErrorKind::AlreadyProcessed),
            ("NOT_CANCELABLE_AMOUNT", ErrorKind::NotCancelable),
            (
                "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
                ErrorKind::NotCancelable,
            ),
            ("INVALID_REFUND_ACCOUNT_NUMBER", ErrorKind::InvalidRequest),
            ("INVALID_REQUEST", ErrorKind::InvalidRequest),
            ("FAILED_DB_PROCESSING", ErrorKind::InvalidRequest),
            ("INVALID_CARD_EXPIRATION", ErrorKind::Rejected),
            ("INVALID_STOPPED_CARD", ErrorKind::Rejected),
            ("REJECT_CARD_COMPANY", ErrorKind::Rejected),
            ("EXCEED_MAX_DAILY_PAYMENT_COUNT", ErrorKind::Rejected),
            ("FDS_ERROR", ErrorKind::Rejected),
            ("INVALID_SOMETHING_NEW", ErrorKind::InvalidRequest),
            ("NOT_FOUND_SOMETHING_NEW", ErrorKind::NotFound),
            ("BRAND_NEW_CODE", ErrorKind::Rejected),
            ("", ErrorKind::Rejected),
        ];
        for (code, kind) in cases {
            assert_eq!(classify(code), kind, "{code}");
        }
    }

    #[test]
    fn consecutive_backoff_floor() {
        assert!(retry_floor("FORBIDDEN_CONSECUTIVE_REQUEST") >= Duration::from_secs(1));
        assert_eq!(retry_floor("COMMON_ERROR"), Duration::ZERO);
    }
}

/// Why a [`TossPayments`](crate::TossPayments) could not be built. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key is not a Toss secret key.
    #[error("{0}")]
    InvalidSecretKey(String),
    /// The base URL is unusable.
    #[error("invalid base URL: {0}")]
    InvalidBaseUrl(String),
    /// The HTTP client could not be built.
    #[error("{0}")]
    HttpClient(String),
}
