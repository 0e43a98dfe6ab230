//! `/v1/events`: the events hanpay sends the application (the outbox), by id: where one stands,
//! and sending a given-up one again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hanpay::store::OutboxEvent;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::ApiState;
use crate::error::{ApiError, ErrorBody};

/// One event and its delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// The event id (`evt_…`), the `webhook-id` of every delivery attempt.
    pub id: String,
    /// `pending`, `delivered` or `failed` (given up; see `redeliver`).
    pub state: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The event as delivered: `{ id, type, provider, payment_key, order_id, old_status,
    /// new_status, amount, balance, currency, occurred_at }`. `type` is one of
    /// `payment.paid`, `payment.partially_canceled`, `payment.canceled`, `payment.failed`,
    /// `payment.expired`, `virtual_account.issued`, `virtual_account.deposited`,
    /// `payment.revived` (approved late after it failed or expired: the customer was charged —
    /// ship the order or refund it), `virtual_account.deposit_reversed` (a deposit was reversed
    /// and the payment waits again: hold the order) and `payment.status_changed` (anything
    /// else, e.g. `READY` → `PENDING`).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// When it was written (RFC 3339).
    pub created_at: String,
}

impl From<&OutboxEvent> for EventView {
    fn from(row: &OutboxEvent) -> EventView {
        EventView {
            id: row.event.id.clone(),
            state: row.state.as_str().to_owned(),
            attempts: row.attempts,
            last_error: row.last_error.clone(),
            event: serde_json::from_slice(&hanpay::outbox::event_body(&row.event))
                .unwrap_or_default(),
            created_at: row.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "event_not_found",
        format!("no event {:?}", id.chars().take(64).collect::<String>()),
    )
}

async fn load(api: &ApiState, id: &str) -> Result<OutboxEvent, ApiError> {
    api.pipeline
        .outbox()
        .event(id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| not_found(id))
}

/// One event and where its delivery stands.
#[utoipa::path(
    get,
    path = "/v1/events/{id}",
    tag = "events",
    params(("id" = String, Path, description = "The event id (`evt_…`)")),
    responses(
        (status = 200, description = "The event", body = EventView),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "event_not_found", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(api): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    Ok(Json(EventView::from(&load(&api, &id).await?)))
}

/// Sends an event again (a given-up or delivered one): pending now, attempts reset, the same
/// id, so a receiver that dedupes by `webhook-id` still processes it once.
#[utoipa::path(
    post,
    path = "/v1/events/{id}/redeliver",
    tag = "events",
    params(
        ("id" = String, Path, description = "The event id (`evt_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body"),
    ),
    responses(
        (status = 202, description = "Queued for delivery", body = EventView),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
        (status = 404, description = "event_not_found", body = ErrorBody),
        (status = 409, description = "event_pending: it is still being delivered; idempotency_key_in_progress", body = ErrorBody),
        (status = 422, description = "idempotency_key_reused", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn redeliver(
    State(api): State<ApiState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<EventView>), ApiError> {
    let before = load(&api, &id).await?;
    let queued = api
        .pipeline
        .outbox()
        .redeliver(&id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !queued {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "event_pending",
            format!(
                "event {} is {}: it is being delivered already",
                before.event.id,
                before.state.as_str()
            ),
        ));
    }
    if let Some(worker) = &api.events {
        worker.wake();
    }
    let after = load(&api, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(EventView::from(&after))))
}
