//! `Idempotency-Key` on every `POST` of the API, kept in the database
//! ([`hanpay::store::IdempotencyStore`]) so that it holds across instances and restarts:
//!
//! - same key, same request (method, path and body bytes) → the stored answer (status and
//!   body, with `Idempotent-Replayed: true`); the PG is not called again;
//! - same key, another request → `422 idempotency_key_reused`;
//! - same key while the first request runs (here or in another instance) → `409
//!   idempotency_key_in_progress` at once: retry later with the same key. (The waiting caller
//!   is not held: a request never blocks on another.)
//!
//! Answers below 500 are stored for [`TTL`]. A 5xx (outcome unknown, PG unreachable, store
//! failure) is not: the key is released so that a retry runs again — with the same key, which
//! is also the PG call's idempotency key, so the PG does not act twice. A request whose
//! instance dies holds its key for [`LEASE`], then a retry runs again.
//! Without the header, a `POST` runs as is.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hanpay::store::{Begin, IdempotencyStore, StoredResponse};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::limits::MAX_BODY_BYTES;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The answer header set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a started request holds its key (longer than any PG call with its retries).
pub const LEASE: Duration = Duration::from_secs(120);
/// How long an answer is replayed.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The store, for the middleware.
pub type Store = Arc<dyn IdempotencyStore>;

/// SHA-256 of the method, the path and the body.
fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str().as_bytes());
    hash.update(b"\n");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

/// The middleware (on `POST` routes).
pub async fn layer(State(store): State<Store>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match request.headers().get(HEADER) {
        None => return next.run(request).await,
        Some(value) => match value.to_str().map(str::trim) {
            Ok(k)
                if !k.is_empty()
                    && k.len() <= MAX_KEY_LEN
                    && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                k.to_owned()
            }
            _ => {
                return ApiError::invalid(format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ))
                .into_response()
            }
        },
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let print = fingerprint(&parts.method, parts.uri.path(), &bytes);
    match store.begin(&key, &print, LEASE).await {
        Err(e) => {
            tracing::error!(error = %e, "idempotency store");
            ApiError::internal("the idempotency store failed; retry with the same key")
                .into_response()
        }
        Ok(Begin::Completed(stored)) => replay(stored),
        Ok(Begin::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request (a different body or path)",
        )
        .into_response(),
        Ok(Begin::InProgress) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still running; retry later with the same key",
        )
        .into_response(),
        Ok(Begin::Started) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            finish(&store, &key, &print, response).await
        }
    }
}

async fn finish(store: &Store, key: &str, print: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = store.release(key, print).await;
            tracing::error!(error = %e, "reading the answer to store it");
            return ApiError::internal("the answer could not be read").into_response();
        }
    };
    let status = parts.status.as_u16();
    let outcome = if parts.status.is_server_error() {
        store.release(key, print).await
    } else {
        store
            .complete(
                key,
                print,
                &StoredResponse {
                    status,
                    body: bytes.to_vec(),
                },
                TTL,
            )
            .await
    };
    if let Err(e) = outcome {
        // The answer stands; a retry with this key may run again (the PG call carries the
        // same idempotency key).
        tracing::error!(error = %e, "idempotency store: could not record the answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
