//! The REST API's error answer: `{ "code", "message", "pg": { "code", "message", "status" } }`,
//! with the seed-001 codes for confirm ([`hanpay::CheckoutError::code`]) and the core
//! [`ErrorKind`] labels otherwise.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hanpay::{CheckoutError, ErrorKind, PaymentError, UnknownProvider};
use serde::Serialize;
use utoipa::ToSchema;

use super::api::view::PaymentView;

/// The PG's own account of the error, when the PG answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PgErrorBody {
    /// The PG's error code (`REJECT_CARD_COMPANY`).
    pub code: String,
    /// The PG's message (UTF-8).
    pub message: String,
    /// The HTTP status the PG answered with.
    pub status: Option<u16>,
}

/// An error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for programs: `payment_amount_mismatch`, `payment_already_confirmed`,
    /// `payment_expired`, `payment_confirm_failed`, `payment_outcome_unknown` (confirm);
    /// `invalid_request`, `unauthorized`, `not_found`, `unknown_provider`,
    /// `already_processed`, `rejected`, `not_cancelable`, `amount_mismatch`, `expired`,
    /// `retryable`, `outcome_unknown`, `unsupported`, `transport`, `decode`,
    /// `idempotency_key_reused`, `idempotency_key_in_progress`, `internal`.
    pub code: String,
    /// What went wrong, for people (never a secret).
    pub message: String,
    /// The PG's code, message and status, when the PG answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg: Option<PgErrorBody>,
    /// `payment_already_confirmed`: the payment as the PG reports it now, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Box<PaymentView>>,
}

/// An error answer with its HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An answer with `status`, `code` and `message` and no PG part.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                pg: None,
                payment: None,
            },
        }
    }

    /// 401: no or a wrong API key.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 422: refused before any PG call.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// 500: hanpay itself failed (a store); the message carries no secret.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 422: the provider does not offer the operation.
    pub fn unsupported(provider: &str, what: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported",
            format!("{provider} does not support {what} (see GET /v1/providers)"),
        )
    }

    fn with_pg(mut self, error: &PaymentError) -> ApiError {
        self.body.pg = error.pg().map(|pg| PgErrorBody {
            code: pg.code.clone(),
            message: pg.message.clone(),
            status: pg.http_status,
        });
        self
    }
}

/// The most characters of the caller's input an error message quotes.
pub const MAX_QUOTED_CHARS: usize = 64;

/// The most characters of any error message (a last guard: messages quote capped input).
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// `text` cut to `max` characters, with `…` when cut.
fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The caller's input as an error message may quote it: at most [`MAX_QUOTED_CHARS`]
/// characters, then `…`.
pub fn quote_input(text: &str) -> String {
    cap(text, MAX_QUOTED_CHARS)
}

/// A parser's message with every quoted part (between backticks or double quotes, as serde
/// quotes a field name or a string it was given) cut by [`quote_input`].
pub fn cap_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS));
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = &rest[open..=open];
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        match after.find(quote) {
            Some(close) => {
                out.push_str(&quote_input(&after[..close]));
                out.push_str(quote);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&quote_input(after));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The HTTP status for an error kind.
fn status_of(error: &PaymentError) -> StatusCode {
    match error.kind() {
        // Refused by hanpay before any call, or by the PG as malformed.
        ErrorKind::InvalidRequest if error.pg().is_none() => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        // The PG refused *our* PG key: a server configuration problem, not the caller's.
        ErrorKind::Unauthorized => StatusCode::BAD_GATEWAY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyProcessed | ErrorKind::NotCancelable | ErrorKind::AmountMismatch => {
            StatusCode::CONFLICT
        }
        ErrorKind::Rejected => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::Expired => StatusCode::GONE,
        ErrorKind::Retryable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::OutcomeUnknown => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Transport | ErrorKind::Decode => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> ApiError {
        ApiError::new(status_of(&error), error.kind().as_str(), error.to_string()).with_pg(&error)
    }
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> ApiError {
        let status = match &error {
            CheckoutError::AmountMismatch { .. } | CheckoutError::AlreadyConfirmed { .. } => {
                StatusCode::CONFLICT
            }
            CheckoutError::ExpiredSession { .. } => StatusCode::GONE,
            CheckoutError::ConfirmFailed { error } => match error.kind() {
                ErrorKind::Retryable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Unauthorized | ErrorKind::Transport | ErrorKind::Decode => {
                    StatusCode::BAD_GATEWAY
                }
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::PAYMENT_REQUIRED,
            },
            CheckoutError::OutcomeUnknown { .. } => StatusCode::GATEWAY_TIMEOUT,
            CheckoutError::InvalidRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            // A case added to the library later: its error kind decides.
            _ => status_of(error.payment_error()),
        };
        let mut api =
            ApiError::new(status, error.code(), error.to_string()).with_pg(error.payment_error());
        if let CheckoutError::AlreadyConfirmed {
            payment: Some(payment),
            ..
        } = &error
        {
            api.body.payment = Some(Box::new(PaymentView::from(payment.as_ref())));
        }
        api
    }
}

impl From<UnknownProvider> for ApiError {
    fn from(error: UnknownProvider) -> ApiError {
        let message = format!(
            "provider {:?} is not configured (configured: {})",
            quote_input(&error.name),
            error.configured
        );
        ApiError::new(StatusCode::NOT_FOUND, "unknown_provider", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.body.message.chars().count() > MAX_MESSAGE_CHARS {
            self.body.message = cap(&self.body.message, MAX_MESSAGE_CHARS);
        }
        (self.status, axum::Json(self.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_capped() {
        let long = "x".repeat(5_000);
        assert_eq!(quote_input("short"), "short");
        assert_eq!(quote_input(&"가".repeat(64)), "가".repeat(64));
        assert_eq!(quote_input(&long), format!("{}…", "x".repeat(64)));
        let message = format!("unknown field `{long}`, expected `amount` at line 1 column 9");
        assert_eq!(
            cap_quoted(&message),
            format!(
                "unknown field `{}…`, expected `amount` at line 1 column 9",
                "x".repeat(64)
            )
        );
        let unclosed = format!("invalid type: string \"{long}");
        assert_eq!(
            cap_quoted(&unclosed),
            format!("invalid type: string \"{}…", "x".repeat(64))
        );
        assert_eq!(cap_quoted("no quotes"), "no quotes");
    }
}
