//! The OpenAPI 3.1 document, generated from the handlers' annotations (`utoipa`), served at
//! `/openapi.json` and committed as `openapi.json` at the repository root.
//!
//! Regenerate the committed file with `hanpay serve --print-openapi > openapi.json` or
//! `HANPAY_UPDATE_OPENAPI=1 cargo test -p hanpay-server openapi`; the test
//! (`tests/serve/openapi.rs`) fails while they differ.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;
use super::error::{ErrorBody, PgErrorBody};
use super::ops;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hanpay",
        description = "One payment API over Korean PGs (every PG hanpay registers: GET \
                       /v1/providers lists them): confirm, look up, cancel, virtual accounts. Amounts are integers in the currency's minor \
                       unit (won). Every POST takes an Idempotency-Key.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody, PgErrorBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as pretty JSON with a final newline (the committed file's form).
pub fn document() -> String {
    // The paths come from the routers, where each route is declared once.
    let mut doc = ApiDoc::openapi()
        .merge_from(api::routes().into_openapi())
        .merge_from(ops::routes().into_openapi());
    // The version of the service, not of the generator's default.
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut text = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
