//! NICEPAY `resultCode` → provider-neutral [`ErrorKind`] (reference §3.4, §3.5, §5.2, §5.3),
//! and the crate's [`ConfigError`].
//!
//! NICEPAY answers business failures with **HTTP 200** and `resultCode != "0000"`, so the code
//! decides, not the status. The code and message are always kept in the error's
//! [`hanpay_core::PgError`]. NICEPAY publishes no retry classification: codes whose message says
//! the failure is temporary are [`ErrorKind::Retryable`] — for a lookup only; a payment call is
//! never re-sent on them without a lookup first (see the provider). The legacy engine's
//! *success* codes (`3001`, `2001`, …) and "API 지연처리" are [`ErrorKind::OutcomeUnknown`]:
//! something may have happened.

use hanpay_core::ErrorKind;

const UNAUTHORIZED: &[&str] = &[
    "U101", "U102", "U103", "U104", "U304", "U305", "U307", "U313", "A114", "U315", "A224", "P001",
    "P014",
];

const INVALID_REQUEST: &[&str] = &[
    "U100", "P007", "9000", "A117", "U105", "P009", "A147", "P010", "P011", "P024", "U130", "A106",
    "P017", "P036", "U321", "U319", "3041", "3024", "P037", "P028", "U306", "U310", "U312", "A101",
    "A211", "U314", "A204", "A205", "P035",
];

const ALREADY_PROCESSED: &[&str] = &[
    "U112", "P015", "A127", "U114", "A225", "2201", "2156", "2013", "2015", "F201",
];

const AMOUNT_MISMATCH: &[&str] = &["A123", "P034", "U127", "U502", "4122", "U113"];

const NOT_FOUND: &[&str] = &[
    "U107", "U111", "U120", "A115", "W002", "U121", "A210", "U126", "A251", "U122", "2012", "U115",
    "U309", "A124", "A125", "A126",
];

const NOT_CANCELABLE: &[&str] = &[
    "2016", "2032", "U123", "2026", "1534", "2028", "2029", "2030", "2033", "2052", "U318", "2011",
    "U128", "2020",
];

const EXPIRED: &[&str] = &["A245"];

/// Temporary by their message (§5.3).
const RETRYABLE: &[&str] = &[
    "2000", "P101", "A402", "U501", "A401", "A400", "A403", "U508", "X002", "X003", "X004", "P026",
    "P027", "S999", "9002", "4116", "A256", "V003", "A246", "2159", "4008",
];

/// May have taken effect: "API 지연처리 발생", and the legacy engine's success codes.
const OUTCOME_UNKNOWN: &[&str] = &[
    "A299", "U303", "3001", "4000", "4100", "4110", "2001", "2211", "F100", "F200", "7001", "A000",
    "C000", "W000",
];

/// The provider-neutral kind of a NICEPAY result code. Unknown codes are rejections.
///
/// ```
/// use hanpay_core::ErrorKind;
/// use hanpay_nicepay::errors::classify;
/// assert_eq!(classify("A123"), ErrorKind::AmountMismatch);
/// assert_eq!(classify("2032"), ErrorKind::NotCancelable);
/// assert_eq!(classify("2001"), ErrorKind::OutcomeUnknown); // legacy "cancel success"
/// assert_eq!(classify("Z999"), ErrorKind::Rejected);
/// ```
pub fn classify(code: &str) -> ErrorKind {
    let is = |list: &[&str]| list.contains(&code);
    if is(UNAUTHORIZED) {
        ErrorKind::Unauthorized
    } else if is(INVALID_REQUEST) {
        ErrorKind::InvalidRequest
    } else if is(ALREADY_PROCESSED) {
        ErrorKind::AlreadyProcessed
    } else if is(AMOUNT_MISMATCH) {
        ErrorKind::AmountMismatch
    } else if is(NOT_FOUND) {
        ErrorKind::NotFound
    } else if is(NOT_CANCELABLE) {
        ErrorKind::NotCancelable
    } else if is(EXPIRED) {
        ErrorKind::Expired
    } else if is(RETRYABLE) {
        ErrorKind::Retryable
    } else if is(OUTCOME_UNKNOWN) {
        ErrorKind::OutcomeUnknown
    } else {
        ErrorKind::Rejected
    }
}

/// `true` for the codes that say a duplicate `orderId` was refused (`U112`, `P015`, `A127`).
pub fn is_duplicate_order_id(code: &str) -> bool {
    matches!(code, "U112" | "P015" | "A127")
}

/// Why a [`NicePay`](crate::NicePay) or its settings could not be built. Never contains a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The client key is missing or malformed.
    #[error("invalid NICEPAY client id: {0}")]
    InvalidClientId(String),
    /// The secret key is missing or malformed.
    #[error("invalid NICEPAY secret key: {0}")]
    InvalidSecretKey(String),
    /// The base URL is not an http(s) URL.
    #[error("invalid NICEPAY API base URL: {0}")]
    InvalidBaseUrl(String),
    /// A network in the allowlist or the trusted proxies is unreadable.
    #[error("invalid {setting}: {reason}")]
    InvalidNetwork {
        /// The setting.
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_has_one_kind() {
        let lists: [(&[&str], ErrorKind); 9] = [
            (UNAUTHORIZED, ErrorKind::Unauthorized),
            (INVALID_REQUEST, ErrorKind::InvalidRequest),
            (ALREADY_PROCESSED, ErrorKind::AlreadyProcessed),
            (AMOUNT_MISMATCH, ErrorKind::AmountMismatch),
            (NOT_FOUND, ErrorKind::NotFound),
            (NOT_CANCELABLE, ErrorKind::NotCancelable),
            (EXPIRED, ErrorKind::Expired),
            (RETRYABLE, ErrorKind::Retryable),
            (OUTCOME_UNKNOWN, ErrorKind::OutcomeUnknown),
        ];
        let mut seen = std::collections::HashSet::new();
        for (list, kind) in lists {
            for code in list {
                assert!(seen.insert(*code), "{code} is listed twice");
                assert_eq!(classify(code), kind, "{code}");
            }
        }
        assert_eq!(classify(""), ErrorKind::Rejected);
        assert_eq!(classify("F112"), ErrorKind::Rejected);
        assert_eq!(classify("U504"), ErrorKind::Rejected);
        assert!(is_duplicate_order_id("U112") && !is_duplicate_order_id("U114"));
    }
}
