//! The control API over HTTP, under `/__fake/…` beside the `/v1` routes (no auth): the same
//! actions as the Rust methods of [`FakeNicePay`](super::FakeNicePay).
//!
//! | Route | Does | Body → answer |
//! | --- | --- | --- |
//! | `POST /__fake/authenticate` | the customer authenticates in the window | `{orderId, amount, method?: "card" \| "vbank"}` → `{authResultCode, tid, authToken, orderId, amount, signature}` |
//! | `POST /__fake/payments/{tid}/deposit` | the customer deposits into the virtual account | — → the payment |
//! | `POST /__fake/payments/{tid}/expire` | the virtual account expires unpaid | — → the payment |
//! | `POST /__fake/payments/{tid}/fail` | sandbox scenario: the PG fails a waiting virtual account | — → the payment |
//! | `POST /__fake/payments/{tid}/approve-late` | sandbox scenario: a failed or expired payment is approved late | — → the payment |
//! | `POST /__fake/payments/{tid}/reverse-deposit` | sandbox scenario: a deposit is reversed, the account waits again | — → the payment |
//! | `POST /__fake/payments/{tid}/webhook` | the console's 재전송 (resend) | — → `{sent: true}` |
//! | `GET /__fake/payments/{tid}` | the payment as `GET /v1/payments/{tid}` answers it | — → the payment |
//! | `POST /__fake/faults` | injects a fault | `{kind: "serverError" \| "serverErrorAfterProcessing" \| "delayResponse" \| "resultCode", method?, pathContains?, times?, millis?, code?, message?}` |
//! | `GET /__fake/requests` | recorded API requests | — → `[{method, path, query, body}]` |
//! | `GET /__fake/webhooks` | webhook attempts | — → `[{url, status, answer, delivered, body}]` |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::routes::{api, json_response, Fault, Shared};
use super::state::{FakePayment, NiceError, Office, WindowMethod};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__fake/authenticate", post(authenticate))
        .route("/__fake/payments/{tid}", get(show))
        .route("/__fake/payments/{tid}/deposit", post(deposit))
        .route("/__fake/payments/{tid}/expire", post(expire))
        .route("/__fake/payments/{tid}/fail", post(fail))
        .route("/__fake/payments/{tid}/approve-late", post(approve_late))
        .route(
            "/__fake/payments/{tid}/reverse-deposit",
            post(reverse_deposit),
        )
        .route("/__fake/payments/{tid}/webhook", post(resend))
        .route("/__fake/faults", post(faults))
        .route("/__fake/requests", get(requests))
        .route("/__fake/webhooks", get(webhooks))
        .merge(super::window::routes())
        .fallback(api)
        .with_state(shared)
}

fn answer(r: Result<Value, NiceError>) -> Response {
    match r {
        Ok(v) => json_response(200, &v),
        Err(e) => json_response(
            if e.http_status == 200 {
                400
            } else {
                e.http_status
            },
            &e.body(),
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateBody {
    order_id: String,
    amount: i64,
    #[serde(default)]
    method: Option<String>,
}

async fn authenticate(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<AuthenticateBody>,
) -> Response {
    let method = match body.method.as_deref() {
        None | Some("card") => WindowMethod::Card,
        Some("vbank") => WindowMethod::Vbank,
        Some(other) => {
            return answer(Err(NiceError::new(
                "U100",
                &format!("unknown method {other}"),
            )))
        }
    };
    let r =
        shared
            .lock()
            .office
            .authenticate(&shared.client_id, &body.order_id, body.amount, method);
    answer(r.map(|a| {
        json!({
            "authResultCode": "0000",
            "authResultMsg": "인증 성공",
            "tid": a.tid,
            "clientId": shared.client_id,
            "orderId": body.order_id,
            "amount": body.amount.to_string(),
            "authToken": a.auth_token,
            "signature": a.signature,
        })
    }))
}

async fn show(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    let r = shared
        .lock()
        .office
        .lookup(&tid)
        .map(|p| p.to_json(&shared.secret_key, false));
    answer(r)
}

async fn deposit(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    let r = shared
        .lock()
        .office
        .deposit(&tid)
        .map(|p| p.to_json(&shared.secret_key, false));
    if r.is_ok() {
        shared.announce(&tid, false);
    }
    answer(r)
}

async fn expire(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    change(&shared, &tid, Office::expire)
}

async fn fail(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    change(&shared, &tid, Office::fail)
}

async fn approve_late(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    change(&shared, &tid, Office::approve_late)
}

async fn reverse_deposit(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    change(&shared, &tid, Office::reverse_deposit)
}

/// Applies a back-office change to `tid`, sends the webhook, answers the payment.
fn change(
    shared: &Shared,
    tid: &str,
    f: impl for<'a> FnOnce(&'a mut Office, &str) -> Result<&'a FakePayment, NiceError>,
) -> Response {
    let r = f(&mut shared.lock().office, tid).map(|p| p.to_json(&shared.secret_key, false));
    if r.is_ok() {
        shared.announce(tid, false);
    }
    answer(r)
}

async fn resend(State(shared): State<Arc<Shared>>, Path(tid): Path<String>) -> Response {
    let exists = shared.lock().office.payment(&tid).is_some();
    if !exists {
        return answer(Err(NiceError::new(
            "U107",
            "거래내역이 존재 하지 않습니다.",
        )));
    }
    shared.announce(&tid, false);
    answer(Ok(json!({"sent": true})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FaultBody {
    kind: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path_contains: Option<String>,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    millis: Option<u64>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

async fn faults(State(shared): State<Arc<Shared>>, Json(body): Json<FaultBody>) -> Response {
    let fault = match body.kind.as_str() {
        "serverError" => Fault::ServerError,
        "serverErrorAfterProcessing" => Fault::ServerErrorAfterProcessing,
        "delayResponse" => {
            Fault::DelayResponse(Duration::from_millis(body.millis.unwrap_or(1_000)))
        }
        "resultCode" => Fault::ResultCode {
            code: body.code.unwrap_or_else(|| "2000".to_owned()),
            message: body.message.unwrap_or_else(|| "DB오류".to_owned()),
        },
        other => {
            return answer(Err(NiceError::new(
                "U100",
                &format!("unknown fault kind {other}"),
            )))
        }
    };
    shared.add_fault(
        fault,
        body.method,
        body.path_contains,
        body.times.unwrap_or(1),
    );
    answer(Ok(
        json!({"kind": body.kind, "times": body.times.unwrap_or(1)}),
    ))
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<Value> = shared
        .lock()
        .requests
        .iter()
        .map(|r| json!({"method": r.method, "path": r.path, "query": r.query, "body": r.body}))
        .collect();
    answer(Ok(Value::Array(list)))
}

async fn webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<Value> = shared
        .outbox
        .sent()
        .iter()
        .map(|w| {
            json!({
                "url": w.url,
                "status": w.status,
                "answer": w.answer,
                "delivered": w.delivered,
                "body": String::from_utf8_lossy(&w.body),
            })
        })
        .collect();
    answer(Ok(Value::Array(list)))
}
