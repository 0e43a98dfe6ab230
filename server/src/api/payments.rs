//! `/v1/payments`: confirm, look up, cancel.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use hanpay::{ConfirmRequest, PaymentProvider};
use hanpay_core::Capability;

use super::model::{CancelBody, ConfirmBody};
use super::view::PaymentView;
use super::{idempotency_key, ApiJson, ApiState};
use crate::error::{ApiError, ErrorBody};

/// Confirms a payment the customer authenticated. The errors a storefront acts on are told
/// apart (the PG is asked when its refusal is ambiguous): `payment_amount_mismatch`,
/// `payment_already_confirmed` (with the payment), `payment_expired`, `payment_confirm_failed`
/// (with the PG's code), `payment_outcome_unknown` (look the payment up before anything else).
#[utoipa::path(
    post,
    path = "/v1/payments/confirm",
    tag = "payments",
    request_body = ConfirmBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body")),
    responses(
        (status = 200, description = "Confirmed", body = PaymentView),
        (status = 400, description = "Malformed JSON, or refused by the PG as malformed", body = ErrorBody),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 402, description = "payment_confirm_failed: the PG refused", body = ErrorBody),
        (status = 404, description = "unknown_provider, or the PG does not know the payment", body = ErrorBody),
        (status = 409, description = "payment_amount_mismatch, payment_already_confirmed, idempotency_key_in_progress", body = ErrorBody),
        (status = 410, description = "payment_expired", body = ErrorBody),
        (status = 422, description = "invalid_request (before any PG call), idempotency_key_reused", body = ErrorBody),
        (status = 502, description = "The PG could not be reached or refused hanpay's PG key", body = ErrorBody),
        (status = 503, description = "retryable: retry with the same Idempotency-Key", body = ErrorBody),
        (status = 504, description = "payment_outcome_unknown: look the payment up", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn confirm(
    State(api): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<PaymentView>, ApiError> {
    let gateway = api.gateway(body.provider.as_deref(), Capability::Confirm)?;
    let mut request = ConfirmRequest::new(&body.payment_key, &body.order_id, body.money()?);
    if let Some(key) = idempotency_key(&headers) {
        request = request.idempotency_key(key);
    }
    request.validate().map_err(ApiError::from)?;
    let payment = gateway.checkout_confirm(&request).await?;
    api.applied(&payment).await;
    Ok(Json(PaymentView::from(&payment)))
}

/// Looks a payment up by the PG's key.
#[utoipa::path(
    get,
    path = "/v1/payments/{provider}/{payment_key}",
    tag = "payments",
    params(
        ("provider" = String, Path, description = "The PG: one of the ids `GET /v1/providers` lists"),
        ("payment_key" = String, Path, description = "The PG's payment key"),
    ),
    responses(
        (status = 200, description = "The payment as the PG reports it", body = PaymentView),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "unknown_provider, or not_found", body = ErrorBody),
        (status = 422, description = "invalid_request, unsupported", body = ErrorBody),
        (status = 502, description = "The PG could not be reached", body = ErrorBody),
        (status = 503, description = "retryable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(api): State<ApiState>,
    Path((provider, payment_key)): Path<(String, String)>,
) -> Result<Json<PaymentView>, ApiError> {
    api.gateway(Some(&provider), Capability::LookupByKey)?;
    hanpay::core::validate_payment_key(&payment_key)?;
    // The PG's answer is applied like a reconciled webhook (one PG call, under the payment's
    // lock): a refund made in the PG's console reaches the application now.
    let payment = api.looked_up(&provider, &payment_key).await?;
    Ok(Json(PaymentView::from(&payment)))
}

/// Cancels a payment in full (no `amount`) or in part. A deposited virtual account is
/// refunded to the customer's own `refund_account`; every check that needs no PG (reason,
/// amounts, the account's format) is answered 422 before any PG call.
#[utoipa::path(
    post,
    path = "/v1/payments/{provider}/{payment_key}/cancel",
    tag = "payments",
    request_body = CancelBody,
    params(
        ("provider" = String, Path, description = "The PG"),
        ("payment_key" = String, Path, description = "The PG's payment key"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body"),
    ),
    responses(
        (status = 200, description = "The payment after the cancel", body = PaymentView),
        (status = 400, description = "Malformed JSON, or refused by the PG as malformed", body = ErrorBody),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "unknown_provider, or not_found", body = ErrorBody),
        (status = 409, description = "not_cancelable, already_processed, idempotency_key_in_progress", body = ErrorBody),
        (status = 422, description = "invalid_request (before any PG call), unsupported, idempotency_key_reused", body = ErrorBody),
        (status = 502, description = "The PG could not be reached", body = ErrorBody),
        (status = 503, description = "retryable: retry with the same Idempotency-Key", body = ErrorBody),
        (status = 504, description = "outcome_unknown: look the payment up", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(api): State<ApiState>,
    Path((provider, payment_key)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CancelBody>,
) -> Result<Json<PaymentView>, ApiError> {
    let capability = if body.amount.is_some() {
        Capability::PartialCancel
    } else {
        Capability::Cancel
    };
    let gateway = api.gateway(Some(&provider), capability)?;
    let request = body.request(&payment_key, idempotency_key(&headers))?;
    match gateway.cancel(&request).await {
        Ok(payment) => {
            api.applied(&payment).await;
            Ok(Json(PaymentView::from(&payment)))
        }
        Err(e) => {
            // A refusal the PG answered from the payment's state (already canceled, not
            // cancelable): that state is the truth, and is applied before the refusal goes out.
            if e.pg().is_some() || e.kind() == hanpay::core::ErrorKind::NotCancelable {
                let _ = api.looked_up(&provider, &payment_key).await;
            }
            Err(e.into())
        }
    }
}
