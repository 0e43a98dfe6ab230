//! [`PaymentError`]: what went wrong talking to a PG, classified the same way for every PG.

use std::fmt;

use serde::Serialize;

use crate::payment::ProviderId;

/// The provider-neutral classification of a [`PaymentError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was refused by hanpay before any network call (bad order id, refund
    /// account, amount above the balance, …), or by the PG as malformed.
    InvalidRequest,
    /// The API key is wrong, of the wrong kind, or not allowed to do this.
    Unauthorized,
    /// The payment (or session, billing key, …) does not exist.
    NotFound,
    /// The operation was already done (a second confirm, a cancel of a canceled payment).
    AlreadyProcessed,
    /// The PG or the card company declined (limit exceeded, suspected fraud, …).
    Rejected,
    /// The payment cannot be canceled as asked (amount above the balance, a partial cancel
    /// the method does not allow, …).
    NotCancelable,
    /// The amount differs from the one the payment was created with (possible tampering).
    AmountMismatch,
    /// The payment session or the virtual account expired.
    Expired,
    /// A transient failure: the same call may be retried with the same idempotency key.
    Retryable,
    /// The call may or may not have taken effect (timeout, connection lost after sending).
    /// Query the payment to learn the truth before doing anything else.
    OutcomeUnknown,
    /// The provider does not offer this operation.
    Unsupported,
    /// The PG could not be reached at all (nothing was sent or the connection was refused).
    Transport,
    /// The PG's answer could not be understood.
    Decode,
}

impl ErrorKind {
    /// A short lower-case label (`"outcome_unknown"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyProcessed => "already_processed",
            ErrorKind::Rejected => "rejected",
            ErrorKind::NotCancelable => "not_cancelable",
            ErrorKind::AmountMismatch => "amount_mismatch",
            ErrorKind::Expired => "expired",
            ErrorKind::Retryable => "retryable",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PG's own account of an error: its code, its message and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgError {
    /// The PG's error code (`"NOT_CANCELABLE_AMOUNT"`, `"PAYMENT_NOT_FOUND"`).
    pub code: String,
    /// The PG's message, decoded as UTF-8.
    pub message: String,
    /// The HTTP status of the answer, when there was one.
    pub http_status: Option<u16>,
    /// For aggregators such as PortOne: the underlying PG's own code (`pgCode`), when sent.
    pub upstream_code: Option<String>,
    /// For aggregators: the underlying PG's own message (`pgMessage`), when sent.
    pub upstream_message: Option<String>,
}

impl PgError {
    /// A PG error with code and message.
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        http_status: Option<u16>,
    ) -> Self {
        PgError {
            code: code.into(),
            message: message.into(),
            http_status,
            upstream_code: None,
            upstream_message: None,
        }
    }

    /// Attaches the underlying PG's code and message (PortOne `PG_PROVIDER` errors).
    pub fn with_upstream(mut self, code: Option<String>, message: Option<String>) -> Self {
        self.upstream_code = code;
        self.upstream_message = message;
        self
    }
}

/// An error from a [`PaymentProvider`](crate::PaymentProvider) call.
///
/// Match on [`PaymentError::kind`] to decide what to do; read [`PaymentError::pg`] for the PG's
/// own code and message. Messages never contain a secret. (A boxed struct, so that
/// `Result<_, PaymentError>` stays one pointer wide.)
///
/// ```
/// use hanpay_core::{ErrorKind, PaymentError, PgError};
/// let err = PaymentError::new(ErrorKind::NotCancelable, "cancel amount exceeds the balance")
///     .with_pg(PgError::new("NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.", Some(403)));
/// assert_eq!(err.kind(), ErrorKind::NotCancelable);
/// assert!(!err.is_retryable());
/// assert_eq!(err.pg().map(|p| p.code.as_str()), Some("NOT_CANCELABLE_AMOUNT"));
/// ```
#[derive(Debug)]
pub struct PaymentError(Box<Inner>);

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PaymentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    provider: Option<ProviderId>,
    operation: Option<&'static str>,
    pg: Option<PgError>,
    idempotency_key: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = &self.provider {
            write!(f, "{provider}: ")?;
        }
        if let Some(op) = self.operation {
            write!(f, "{op}: ")?;
        }
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(pg) = &self.pg {
            write!(f, " [{}: {}", pg.code, pg.message)?;
            if pg.upstream_code.is_some() || pg.upstream_message.is_some() {
                write!(
                    f,
                    " (PG {}: {})",
                    pg.upstream_code.as_deref().unwrap_or("-"),
                    pg.upstream_message.as_deref().unwrap_or("-")
                )?;
            }
            if let Some(status) = pg.http_status {
                write!(f, " (HTTP {status})")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl PaymentError {
    /// An error of `kind` with a human-readable message (which must not contain a secret).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> PaymentError {
        PaymentError(Box::new(Inner {
            kind,
            message: message.into(),
            provider: None,
            operation: None,
            pg: None,
            idempotency_key: None,
            source: None,
        }))
    }

    /// Shorthand for an [`ErrorKind::InvalidRequest`] caught before any call.
    pub fn invalid(message: impl Into<String>) -> PaymentError {
        PaymentError::new(ErrorKind::InvalidRequest, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(provider: &ProviderId, operation: &'static str) -> PaymentError {
        PaymentError::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by this provider"),
        )
        .with_provider(provider.clone())
        .with_operation(operation)
    }

    /// Attaches the PG's code, message and HTTP status.
    pub fn with_pg(mut self, pg: PgError) -> PaymentError {
        self.0.pg = Some(pg);
        self
    }

    /// Attaches the provider.
    pub fn with_provider(mut self, provider: ProviderId) -> PaymentError {
        self.0.provider = Some(provider);
        self
    }

    /// Attaches the operation name (`"cancel"`).
    pub fn with_operation(mut self, operation: &'static str) -> PaymentError {
        self.0.operation = Some(operation);
        self
    }

    /// Attaches the idempotency key used, so a caller can retry with the same one.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> PaymentError {
        self.0.idempotency_key = Some(key.into());
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> PaymentError {
        self.0.source = Some(source.into());
        self
    }

    /// The classification.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// hanpay's message (without the PG part).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The PG's own code, message and HTTP status, if the PG answered.
    pub fn pg(&self) -> Option<&PgError> {
        self.0.pg.as_ref()
    }

    /// The provider that raised it.
    pub fn provider(&self) -> Option<&ProviderId> {
        self.0.provider.as_ref()
    }

    /// The operation that failed.
    pub fn operation(&self) -> Option<&'static str> {
        self.0.operation
    }

    /// The idempotency key of the failed call, if it had one.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }

    /// `true` when the same call may be retried with the same idempotency key.
    pub fn is_retryable(&self) -> bool {
        self.0.kind == ErrorKind::Retryable
    }

    /// `true` when the call may or may not have taken effect; query the payment to reconcile.
    pub fn is_outcome_unknown(&self) -> bool {
        self.0.kind == ErrorKind::OutcomeUnknown
    }
}

impl From<crate::bank::RefundAccountError> for PaymentError {
    fn from(err: crate::bank::RefundAccountError) -> Self {
        PaymentError::invalid(err.to_string()).with_source(err)
    }
}

impl From<crate::money::MoneyError> for PaymentError {
    fn from(err: crate::money::MoneyError) -> Self {
        PaymentError::invalid(err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_pg_code_and_message() {
        let err = PaymentError::new(ErrorKind::Retryable, "PG internal error")
            .with_provider(ProviderId::new("tosspayments"))
            .with_operation("cancel")
            .with_pg(PgError::new(
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다.",
                Some(500),
            ));
        let text = err.to_string();
        assert!(text.starts_with("tosspayments: cancel: retryable"));
        assert!(text.contains("FAILED_INTERNAL_SYSTEM_PROCESSING"));
        assert!(text.contains("내부 시스템"));
        assert!(text.contains("HTTP 500"));
        assert!(err.is_retryable());
        assert!(!err.is_outcome_unknown());
    }

    #[test]
    fn unsupported_names_operation() {
        let err = PaymentError::unsupported(&ProviderId::new("mock"), "charge_billing_key");
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("charge_billing_key"));
    }
}
