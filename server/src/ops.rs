//! `GET /healthz` (the process is up) and `GET /readyz` (the database answers and every
//! embedded migration is applied).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hanpay::Hanpay;
use serde::Serialize;
use utoipa::ToSchema;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `not_ready`.
    pub status: String,
    /// Why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Up", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        reason: None,
    })
}

/// Ready to serve: the database answers and its migrations are applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready: the database does not answer or is not migrated", body = Health),
    )
)]
pub async fn readyz(State(hanpay): State<Hanpay>) -> (StatusCode, Json<Health>) {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "not_ready".into(),
                reason: Some(reason),
            }),
        )
    };
    match hanpay.stores().pending_migrations().await {
        Ok(pending) if pending.is_empty() => (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
                reason: None,
            }),
        ),
        Ok(pending) => not_ready(format!(
            "migrations not applied: {pending:?} (run `hanpay db migrate`)"
        )),
        Err(e) => not_ready(format!("the database does not answer: {}", e.message())),
    }
}

/// `/healthz` and `/readyz`, each declared once by its `#[utoipa::path]` annotation.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Hanpay> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(readyz))
}
