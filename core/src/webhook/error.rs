//! [`WebhookError`]: why a webhook was refused. No message ever contains a secret.

use std::net::IpAddr;

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but unreadable.
    #[error("malformed header {name}: {reason}")]
    MalformedHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The timestamp is older than the tolerance allows.
    #[error("timestamp is {age_secs} s old, more than the {tolerance_secs} s tolerated (by {} s)", age_secs.saturating_sub(*tolerance_secs as i64))]
    TimestampTooOld {
        /// How old it is, in seconds.
        age_secs: i64,
        /// The tolerance.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error("timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s tolerated (by {} s)", ahead_secs.saturating_sub(*tolerance_secs as i64))]
    TimestampTooNew {
        /// How far ahead it is, in seconds.
        ahead_secs: i64,
        /// The tolerance.
        tolerance_secs: u64,
    },
    /// No signature in the header matched any configured secret.
    #[error(
        "no signature matched in {header} ({candidates} candidate(s) checked against {secrets} secret(s))"
    )]
    NoMatchingSignature {
        /// The signature header that was checked.
        header: &'static str,
        /// How many candidate signatures were checked.
        candidates: usize,
        /// How many secrets were tried.
        secrets: usize,
    },
    /// The sender's address is not on the allowlist.
    #[error("source address {0} is not allowed")]
    ForbiddenSource(IpAddr),
    /// The sender's address could not be determined (no peer, unreadable forwarding header).
    #[error("source address unknown: {0}")]
    UnknownSource(String),
    /// The body is larger than the cap.
    #[error("body of {len} bytes exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// The body's size.
        len: usize,
        /// The cap.
        limit: usize,
    },
    /// The body is not a payload this provider sends.
    #[error("malformed payload: {0}")]
    MalformedPayload(String),
    /// A configured secret is unusable (empty, bad base64, …). Says which, never its value.
    #[error("invalid secret configuration: {0}")]
    InvalidSecret(String),
    /// A per-payment shared secret did not match the one saved at confirm.
    #[error("the webhook's payment secret does not match the one the PG returned")]
    SecretMismatch,
}

impl WebhookError {
    /// The HTTP status a receiver should answer: 413 for a large body, 403 for a forbidden or
    /// unknown source, 400 for a malformed payload, 401 for everything about authenticity, 500
    /// for a configuration problem.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::BodyTooLarge { .. } => 413,
            WebhookError::ForbiddenSource(_) | WebhookError::UnknownSource(_) => 403,
            WebhookError::MalformedPayload(_) => 400,
            WebhookError::InvalidSecret(_) => 500,
            WebhookError::MissingHeader(_)
            | WebhookError::MalformedHeader { .. }
            | WebhookError::TimestampTooOld { .. }
            | WebhookError::TimestampTooNew { .. }
            | WebhookError::NoMatchingSignature { .. }
            | WebhookError::SecretMismatch => 401,
        }
    }

    /// A short machine-readable label (`"timestamp_too_old"`).
    pub fn label(&self) -> &'static str {
        match self {
            WebhookError::MissingHeader(_) => "missing_header",
            WebhookError::MalformedHeader { .. } => "malformed_header",
            WebhookError::TimestampTooOld { .. } => "timestamp_too_old",
            WebhookError::TimestampTooNew { .. } => "timestamp_too_new",
            WebhookError::NoMatchingSignature { .. } => "no_matching_signature",
            WebhookError::ForbiddenSource(_) => "forbidden_source",
            WebhookError::UnknownSource(_) => "unknown_source",
            WebhookError::BodyTooLarge { .. } => "body_too_large",
            WebhookError::MalformedPayload(_) => "malformed_payload",
            WebhookError::InvalidSecret(_) => "invalid_secret",
            WebhookError::SecretMismatch => "secret_mismatch",
        }
    }
}
