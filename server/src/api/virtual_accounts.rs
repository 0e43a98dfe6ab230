//! `/v1/virtual-accounts`: issue a virtual account where the PG supports it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hanpay::PaymentProvider;
use hanpay_core::Capability;

use super::model::VirtualAccountBody;
use super::view::PaymentView;
use super::{idempotency_key, ApiJson, ApiState};
use crate::error::{ApiError, ErrorBody};

/// Issues a virtual account (가상계좌) for an order; the payment waits for the deposit.
#[utoipa::path(
    post,
    path = "/v1/virtual-accounts",
    tag = "virtual-accounts",
    request_body = VirtualAccountBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body")),
    responses(
        (status = 201, description = "Issued: the payment, WAITING_FOR_DEPOSIT", body = PaymentView),
        (status = 400, description = "Malformed JSON, or refused by the PG as malformed", body = ErrorBody),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "unknown_provider", body = ErrorBody),
        (status = 409, description = "already_processed, idempotency_key_in_progress", body = ErrorBody),
        (status = 422, description = "invalid_request (before any PG call), unsupported, idempotency_key_reused", body = ErrorBody),
        (status = 502, description = "The PG could not be reached", body = ErrorBody),
        (status = 503, description = "retryable", body = ErrorBody),
        (status = 504, description = "outcome_unknown", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn issue(
    State(api): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<VirtualAccountBody>,
) -> Result<(StatusCode, Json<PaymentView>), ApiError> {
    let gateway = api.gateway(body.provider.as_deref(), Capability::VirtualAccounts)?;
    let request = body.request(idempotency_key(&headers))?;
    let payment = gateway.issue_virtual_account(&request).await?;
    api.applied(&payment).await;
    Ok((StatusCode::CREATED, Json(PaymentView::from(&payment))))
}
