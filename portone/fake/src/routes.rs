//! The V2 HTTP surface of the fake: paths, `PortOne` auth, `Idempotency-Key` replay, injected
//! faults and delays, `{type, message}` error bodies with the OpenAPI's HTTP statuses.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::state::{ApiError, PendingWebhook, State};
use super::{Fault, Operation, RecordedRequest, Shared};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/payments/{payment_id}", get(get_payment))
        .route("/payments/{payment_id}/cancel", post(cancel))
        .route("/payments/{payment_id}/pre-register", post(pre_register))
        .route("/payments/{payment_id}/confirm", post(confirm))
        .route("/payments/{payment_id}/billing-key", post(billing_key))
        .route("/payments/{payment_id}/instant", post(instant))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    error_response(&ApiError::new(
        "INVALID_REQUEST",
        "no such endpoint in the fake",
    ))
    .with_status(404)
}

trait WithStatus {
    fn with_status(self, status: u16) -> Response;
}

impl WithStatus for Response {
    fn with_status(mut self, status: u16) -> Response {
        *self.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        self
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_response(err: &ApiError) -> Response {
    json_response(err.http_status(), &err.body())
}

/// `storeId` may come as a query parameter (GET) or in the body (POST).
fn check_store(shared: &Shared, store_id: Option<&str>) -> Result<(), ApiError> {
    match store_id {
        Some(s) if s != shared.config.store_id => Err(ApiError::new(
            "FORBIDDEN",
            "접근 권한이 없는 상점 아이디입니다.",
        )),
        _ => Ok(()),
    }
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = format!("PortOne {}", shared.config.api_secret);
    let ok = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "UNAUTHORIZED",
            "인증 정보가 올바르지 않습니다.",
        ))
    }
}

/// The `Idempotency-Key` value: an RFC 8941 string (`"…"`); a bare token is tolerated.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| ApiError::new("INVALID_REQUEST", "Idempotency-Key must be ASCII"))?
        .to_owned();
    let key = raw
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(&raw)
        .to_owned();
    if !(16..=256).contains(&key.len()) {
        return Err(ApiError::new(
            "INVALID_REQUEST",
            "Idempotency-Key must be 16 to 256 characters",
        ));
    }
    Ok(Some((raw, key)))
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new("INVALID_REQUEST", format!("invalid JSON body: {e}")))
}

/// Finds and consumes the first injected fault that applies to `op`.
fn take_fault(shared: &Shared, op: Operation) -> Option<Fault> {
    let mut faults = shared.lock_faults();
    let pos = faults
        .iter()
        .position(|f| f.scope.map_or(true, |scope| scope == op))?;
    let entry = &mut faults[pos];
    entry.remaining = entry.remaining.saturating_sub(1);
    let fault = entry.fault.clone();
    if entry.remaining == 0 {
        faults.remove(pos);
    }
    Some(fault)
}

enum Stored {
    InFlight,
    Done {
        fingerprint: [u8; 32],
        status: u16,
        body: Value,
    },
}

/// Idempotency records: key → outcome (kept for the life of the fake; PortOne keeps 3 h).
#[derive(Default)]
pub(crate) struct IdempotencyStore {
    entries: HashMap<String, Stored>,
}

type Outcome = Result<(Value, Vec<PendingWebhook>), ApiError>;

/// Everything common to one API call: record, auth, faults, idempotency, delays, webhooks.
async fn handle(
    shared: Arc<Shared>,
    op: Operation,
    payment_id: String,
    headers: HeaderMap,
    body: Bytes,
    apply: impl FnOnce(&mut State, &Bytes) -> Outcome + Send + 'static,
) -> Response {
    let idem = idempotency_key(&headers);
    shared.record(RecordedRequest {
        operation: op,
        payment_id: payment_id.clone(),
        idempotency_key: idem
            .as_ref()
            .ok()
            .and_then(|k| k.as_ref().map(|k| k.0.clone())),
        authorization_scheme: headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' ').map(|(s, _)| s.to_owned())),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    if let Err(e) = check_auth(&shared, &headers) {
        return error_response(&e);
    }
    let idem = match idem {
        Ok(k) => k.map(|(_, key)| key),
        Err(e) => return error_response(&e),
    };
    let mut delay_before = None;
    let mut delay_after = None;
    match take_fault(&shared, op) {
        Some(Fault::Error {
            error_type,
            http_status,
        }) => {
            let err = ApiError::injected(&error_type);
            let status = http_status.unwrap_or_else(|| err.http_status());
            return json_response(status, &err.body());
        }
        Some(Fault::PgProvider {
            pg_code,
            pg_message,
        }) => return error_response(&ApiError::pg(&pg_code, &pg_message)),
        Some(Fault::DelayBeforeProcessing(d)) => delay_before = Some(d),
        Some(Fault::DelayResponse(d)) => delay_after = Some(d),
        None => {}
    }

    let fingerprint: [u8; 32] = {
        let mut h = Sha256::new();
        h.update(op.path_suffix().as_bytes());
        h.update(payment_id.as_bytes());
        h.update(&body);
        h.finalize().into()
    };
    if let Some(key) = &idem {
        let mut store = shared.lock_idempotency();
        match store.entries.get(key) {
            Some(Stored::InFlight) => {
                return error_response(&ApiError::new(
                    "IDEMPOTENCY_OUTSTANDING_REQUEST",
                    "같은 Idempotency-Key의 요청이 처리 중입니다.",
                ));
            }
            Some(Stored::Done {
                fingerprint: f,
                status,
                body,
            }) => {
                if *f != fingerprint {
                    return error_response(&ApiError::new(
                        "INVALID_REQUEST",
                        "Idempotency-Key was used for a different request",
                    ));
                }
                let response = json_response(*status, body);
                drop(store);
                shared.note_replay();
                return response;
            }
            None => {
                store.entries.insert(key.clone(), Stored::InFlight);
            }
        }
    }

    // Processing runs on its own task: like PortOne, the fake finishes a request whose client
    // hung up, and records the outcome for the idempotency key.
    let worker = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Slow processing: a retry with the same key meanwhile finds it in flight (409).
            if let Some(d) = delay_before {
                tokio::time::sleep(d).await;
            }
            let outcome = {
                let mut state = shared.lock_state();
                apply(&mut state, &body)
            };
            let (status, value) = match outcome {
                Ok((value, hooks)) => {
                    shared.dispatch_webhooks(hooks);
                    (200, value)
                }
                Err(e) => (e.http_status(), e.body()),
            };
            if let Some(key) = idem {
                shared.lock_idempotency().entries.insert(
                    key,
                    Stored::Done {
                        fingerprint,
                        status,
                        body: value.clone(),
                    },
                );
            }
            (status, value)
        })
    };
    let Ok((status, value)) = worker.await else {
        return error_response(&ApiError::new(
            "INVALID_REQUEST",
            "the fake failed to process",
        ))
        .with_status(500);
    };
    if let Some(d) = delay_after {
        tokio::time::sleep(d).await;
    }
    json_response(status, &value)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreQuery {
    store_id: Option<String>,
}

async fn get_payment(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(payment_id): Path<String>,
    Query(query): Query<StoreQuery>,
    headers: HeaderMap,
) -> Response {
    let sh = Arc::clone(&shared);
    let id = payment_id.clone();
    // GET ignores Idempotency-Key, as PortOne does.
    let mut headers = headers;
    headers.remove("idempotency-key");
    handle(
        shared,
        Operation::GetPayment,
        payment_id,
        headers,
        Bytes::new(),
        move |state, _| {
            check_store(&sh, query.store_id.as_deref())?;
            let p = state.payments.get(&id).ok_or_else(|| {
                ApiError::new("PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
            })?;
            Ok((
                p.to_json(&sh.config.store_id, &sh.config.channel_key),
                Vec::new(),
            ))
        },
    )
    .await
}

macro_rules! post_handler {
    ($name:ident, $op:expr, $body:ty, $method:ident) => {
        async fn $name(
            AxumState(shared): AxumState<Arc<Shared>>,
            Path(payment_id): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let sh = Arc::clone(&shared);
            let id = payment_id.clone();
            handle(
                shared,
                $op,
                payment_id,
                headers,
                body,
                move |state, body| {
                    let parsed: $body = parse_body(body)?;
                    check_store(&sh, parsed.store_id.as_deref())?;
                    state.$method(&id, parsed)
                },
            )
            .await
        }
    };
}

post_handler!(cancel, Operation::Cancel, super::state::CancelIn, cancel);
post_handler!(
    confirm,
    Operation::Confirm,
    super::state::ConfirmIn,
    confirm
);
post_handler!(
    billing_key,
    Operation::BillingKeyPayment,
    super::state::BillingKeyPayIn,
    billing_key_pay
);
post_handler!(
    instant,
    Operation::InstantPayment,
    super::state::InstantIn,
    instant
);

async fn pre_register(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sh = Arc::clone(&shared);
    let id = payment_id.clone();
    handle(
        shared,
        Operation::PreRegister,
        payment_id,
        headers,
        body,
        move |state, body| {
            let parsed: super::state::PreRegisterIn = parse_body(body)?;
            check_store(&sh, parsed.store_id.as_deref())?;
            state.pre_register(&id, parsed).map(|v| (v, Vec::new()))
        },
    )
    .await
}
