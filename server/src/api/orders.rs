//! `/v1/orders`: a payment by the merchant's order id.

use axum::extract::{Path, State};
use axum::Json;
use hanpay::PaymentProvider;
use hanpay_core::Capability;

use super::view::PaymentView;
use super::ApiState;
use crate::error::{ApiError, ErrorBody};

/// Looks the payment of an order up.
#[utoipa::path(
    get,
    path = "/v1/orders/{provider}/{order_id}/payment",
    tag = "payments",
    params(
        ("provider" = String, Path, description = "The PG"),
        ("order_id" = String, Path, description = "Your order id"),
    ),
    responses(
        (status = 200, description = "The order's payment as the PG reports it", body = PaymentView),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "unknown_provider, or not_found", body = ErrorBody),
        (status = 422, description = "invalid_request, unsupported", body = ErrorBody),
        (status = 502, description = "The PG could not be reached", body = ErrorBody),
        (status = 503, description = "retryable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn payment(
    State(api): State<ApiState>,
    Path((provider, order_id)): Path<(String, String)>,
) -> Result<Json<PaymentView>, ApiError> {
    let gateway = api.gateway(Some(&provider), Capability::LookupByOrderId)?;
    hanpay::core::validate_order_id(&order_id)?;
    let payment = gateway.payment_by_order_id(&order_id).await?;
    Ok(Json(PaymentView::from(&payment)))
}
