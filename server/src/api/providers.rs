//! `/v1/providers`: the configured PGs and what each supports.

use axum::extract::State;
use axum::Json;

use super::view::{ProviderView, ProvidersView};
use super::ApiState;
use crate::error::ErrorBody;

/// Lists the configured PGs, the default one, and what each supports.
#[utoipa::path(
    get,
    path = "/v1/providers",
    tag = "providers",
    responses(
        (status = 200, description = "The configured PGs", body = ProvidersView),
        (status = 401, description = "No or a wrong API key", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(api): State<ApiState>) -> Json<ProvidersView> {
    let hanpay = &api.hanpay;
    let providers = hanpay
        .names()
        .into_iter()
        .filter_map(|name| {
            let provider = hanpay.provider(name)?;
            let mut capabilities: Vec<String> = provider
                .capabilities()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            if hanpay.verifier(name).is_some() && !capabilities.iter().any(|c| c == "webhooks") {
                capabilities.push("webhooks".to_owned());
            }
            Some(ProviderView {
                id: name.to_owned(),
                default: name == hanpay.default_name(),
                capabilities,
            })
        })
        .collect();
    Json(ProvidersView {
        default: hanpay.default_name().to_owned(),
        providers,
    })
}
