//! The REST API under `/v1`, one module per resource. Every route needs an API key
//! ([`super::auth`]); every `POST` honours `Idempotency-Key` ([`super::idempotency`]).

pub mod events;
pub mod model;
pub mod orders;
pub mod payments;
pub mod providers;
pub mod view;
pub mod virtual_accounts;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use hanpay::outbox::OutboxWorker;
use hanpay::{Gateway, Hanpay, WebhookPipeline};
use hanpay_core::{Capability, PaymentProvider};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;

pub use crate::limits::MAX_BODY_BYTES;

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The configured PGs and the stores.
    pub hanpay: Hanpay,
    /// The webhook pipeline: what the API learns from the PG is applied through it too.
    pub pipeline: WebhookPipeline,
    /// The outbox worker, when events are delivered (`HANPAY_EVENTS_URL`).
    pub events: Option<OutboxWorker>,
}

impl ApiState {
    /// The PG `name` (or the default one), checking it can do `capability`.
    pub fn gateway(&self, name: Option<&str>, capability: Capability) -> Result<Gateway, ApiError> {
        let gateway = match name {
            Some(name) => self.hanpay.gateway_for(name)?,
            None => self.hanpay.gateway(),
        };
        if !gateway.capabilities().contains(capability) {
            return Err(ApiError::unsupported(
                gateway.id().as_str(),
                capability.as_str(),
            ));
        }
        Ok(gateway)
    }

    /// Applies what the PG answered a confirm, cancel or issue through the pipeline (the same
    /// legal moves as a webhook, under the payment's lock): the state store learns it now, and
    /// with events on, the move's events are written in its transaction and the worker is
    /// woken. A webhook about the same change later finds nothing left to apply. If that fails,
    /// the payment is at least tracked, so that the reconciler converges it.
    pub async fn applied(&self, payment: &hanpay::Payment) {
        match self.pipeline.observe(payment).await {
            Ok(_) => {
                if let Some(worker) = &self.events {
                    worker.wake();
                }
            }
            Err(e) => {
                tracing::warn!(
                    provider = %payment.provider,
                    error = %e,
                    "could not apply the PG's answer; tracking the payment for the reconciler"
                );
                self.track(payment).await;
            }
        }
    }

    /// Looks a payment up through the pipeline: the PG's answer, applied (its events out, the
    /// worker woken when it moved). An answer that could not be applied is still returned; the
    /// payment stays tracked for the reconciler.
    pub async fn looked_up(
        &self,
        provider: &str,
        payment_key: &str,
    ) -> Result<hanpay::Payment, ApiError> {
        match self.pipeline.payment(provider, payment_key).await {
            Ok(looked_up) => {
                if looked_up.moved.is_some() {
                    if let Some(worker) = &self.events {
                        worker.wake();
                    }
                }
                if let Some(e) = &looked_up.error {
                    tracing::warn!(provider, error = %e, "could not apply the PG's answer");
                }
                Ok(looked_up.payment)
            }
            Err(hanpay::LookupError::Pg(e)) => Err(e.into()),
            Err(e) => Err(ApiError::internal(e.to_string())),
        }
    }

    /// Starts tracking a payment, so that the reconciler converges it even if every webhook
    /// about it is lost.
    pub async fn track(&self, payment: &hanpay::Payment) {
        if let Err(e) = self
            .hanpay
            .stores()
            .states
            .track(
                &payment.provider,
                &payment.payment_key,
                Some(&payment.order_id),
            )
            .await
        {
            tracing::warn!(provider = %payment.provider, error = %e, "could not track the payment");
        }
    }
}

/// The `Idempotency-Key` header, when sent (validated by the idempotency layer).
pub fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(super::idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A JSON body's error message, cut to 300 characters (a parser's message quotes the input).
fn cap_message(message: &str) -> String {
    match message.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// A JSON body: malformed JSON is a 400, a well-formed body of the wrong shape (an unknown
/// field among them) a 422, both in the API's error format, quoting at most 64 characters of
/// any part of the input.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                )
            })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            let status = if e.is_data() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            // serde quotes the caller's input (an unknown field's name, a string it was given):
            // at most 64 characters of each, and of the whole at most a few hundred.
            let message = super::error::cap_quoted(&e.to_string());
            ApiError::new(
                status,
                "invalid_request",
                format!("invalid JSON body: {}", cap_message(&message)),
            )
        })
    }
}

/// The `/v1` routes (without the auth and idempotency layers, added by the caller), each
/// declared once: its path and method come from its `#[utoipa::path]` annotation, which also
/// writes it into the OpenAPI document.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(providers::list))
        .routes(routes!(payments::confirm))
        .routes(routes!(payments::get))
        .routes(routes!(payments::cancel))
        .routes(routes!(orders::payment))
        .routes(routes!(virtual_accounts::issue))
        .routes(routes!(events::get))
        .routes(routes!(events::redeliver))
}

/// [`routes()`] with their state, as a plain router.
pub fn router(state: ApiState) -> Router {
    Router::from(routes().with_state(state))
}
