//! The control API over HTTP, under `/__fake/…` beside the V2 routes: the same actions as
//! [`FakePortOne`](super::FakePortOne)'s Rust control methods, for the CLI sandbox and apps
//! written in other languages. No authentication (it plays the customer and PortOne's back
//! office, not the merchant). Bodies are camelCase JSON; errors are PortOne-style
//! `{type, message}` with the type's HTTP status.
//!
//! | Route | Rust method | Body → answer |
//! | --- | --- | --- |
//! | `POST /__fake/payments/{paymentId}/pay` | `pay` | `{amount, currency?, orderName?, method?: "card" \| "easyPay", provider?}` → `{paymentId, status: "PAID"}` |
//! | `POST /__fake/payments/{paymentId}/authenticate` | `authenticate` (수동 승인) | as `pay` → `{paymentId, paymentToken, status: "READY"}` |
//! | `POST /__fake/payments/{paymentId}/virtual-account` | `issue_virtual_account` | `{amount, currency?, orderName?, bank?}` → `{paymentId, accountNumber, status: "VIRTUAL_ACCOUNT_ISSUED"}` |
//! | `POST /__fake/payments/{paymentId}/deposit` | `deposit` | — → `{paymentId, status: "PAID"}` |
//! | `POST /__fake/payments/{paymentId}/fail` | `fail_payment` | `{reason?, pgCode?}` → `{paymentId, status: "FAILED"}` |
//! | `POST /__fake/payments/{paymentId}/approve-late` | `approve_late` | — → `{paymentId, status: "PAID"}` |
//! | `POST /__fake/payments/{paymentId}/reverse-deposit` | `reverse_deposit` (sandbox scenario) | — → `{paymentId, status: "VIRTUAL_ACCOUNT_ISSUED"}` |
//! | `POST /__fake/payments/{paymentId}/complete-cancellations` | `complete_pending_cancellations` | — → the payment |
//! | `GET /__fake/payments/{paymentId}` | `payment` | — → the payment as `GET /payments/{id}` answers it |
//! | `POST /__fake/faults` | `fail_next` / `inject` | `{operation?, times?, errorType, httpStatus?}` or `{operation?, times?, pgCode, pgMessage?}` → the fault |
//! | `POST /__fake/delays` | `inject` with a delay | `{operation?, times?, millis, stage?: "response" \| "beforeProcessing"}` → the delay |
//! | `POST /__fake/billing-keys` | `register_billing_key` | `{billingKey}` → `{billingKey}` |
//! | `POST /__fake/async-cancel` | `set_async_cancel` | `{enabled}` → `{enabled}` |
//!
//! `operation` is one of `getPayment`, `cancel`, `preRegister`, `confirm`, `billingKey`,
//! `instant`, or `any` (the default).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{status_for_error_type, PayMethod};
use super::{FakeError, Fault, Operation, Shared};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__fake/payments/{payment_id}", get(show))
        .route("/__fake/payments/{payment_id}/pay", post(pay))
        .route(
            "/__fake/payments/{payment_id}/authenticate",
            post(authenticate),
        )
        .route(
            "/__fake/payments/{payment_id}/virtual-account",
            post(virtual_account),
        )
        .route("/__fake/payments/{payment_id}/deposit", post(deposit))
        .route("/__fake/payments/{payment_id}/fail", post(fail))
        .route(
            "/__fake/payments/{payment_id}/approve-late",
            post(approve_late),
        )
        .route(
            "/__fake/payments/{payment_id}/reverse-deposit",
            post(reverse_deposit),
        )
        .route(
            "/__fake/payments/{payment_id}/complete-cancellations",
            post(complete_cancellations),
        )
        .route("/__fake/faults", post(faults))
        .route("/__fake/delays", post(delays))
        .route("/__fake/billing-keys", post(billing_keys))
        .route("/__fake/async-cancel", post(async_cancel))
        .with_state(shared)
}

/// Control errors answer like PortOne: `{type, message}` with the type's HTTP status.
impl IntoResponse for FakeError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(status_for_error_type(&self.error_type))
            .unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            Json(json!({"type": self.error_type, "message": self.message})),
        )
            .into_response()
    }
}

type Answer = Result<Json<Value>, FakeError>;

fn invalid(message: impl Into<String>) -> FakeError {
    FakeError {
        error_type: "INVALID_REQUEST".into(),
        message: message.into(),
    }
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, FakeError> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| invalid(format!("invalid control body: {e}")))
}

/// The customer's side of a browser payment.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayBody {
    amount: i64,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    order_name: Option<String>,
    /// `card` (default) or `easyPay`.
    #[serde(default)]
    method: Option<String>,
    /// Easy-pay provider (`KAKAOPAY` by default, `NAVERPAY`, `TOSSPAY`, …).
    #[serde(default)]
    provider: Option<String>,
    /// Virtual-account bank (`SHINHAN` by default).
    #[serde(default)]
    bank: Option<String>,
}

impl PayBody {
    fn currency(&self) -> &str {
        self.currency.as_deref().unwrap_or("KRW")
    }

    fn order_name(&self) -> &str {
        self.order_name.as_deref().unwrap_or("테스트 주문")
    }

    fn method(&self) -> Result<PayMethod, FakeError> {
        match self.method.as_deref() {
            None | Some("card") => Ok(PayMethod::Card),
            Some("easyPay") => Ok(PayMethod::EasyPay(
                self.provider.clone().unwrap_or_else(|| "KAKAOPAY".into()),
            )),
            Some(other) => Err(invalid(format!(
                "unknown method {other:?}: use card or easyPay"
            ))),
        }
    }
}

async fn pay(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Answer {
    browser_pay(&shared, &payment_id, &body, false)
}

async fn authenticate(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Answer {
    browser_pay(&shared, &payment_id, &body, true)
}

fn browser_pay(shared: &Arc<Shared>, payment_id: &str, body: &Bytes, manual: bool) -> Answer {
    let body: PayBody = parse(body)?;
    let method = body.method()?;
    let token = shared.run(|s| {
        s.browser_pay(
            payment_id,
            body.amount,
            body.currency(),
            body.order_name(),
            &method,
            manual,
        )
    })?;
    Ok(Json(match token {
        Some(token) => json!({
            "paymentId": payment_id, "paymentToken": token, "status": "READY"
        }),
        None => json!({"paymentId": payment_id, "status": "PAID"}),
    }))
}

async fn virtual_account(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Answer {
    let body: PayBody = parse(&body)?;
    let bank = body.bank.as_deref().unwrap_or("SHINHAN");
    let account = shared.run(|s| {
        s.browser_virtual_account(
            &payment_id,
            body.amount,
            body.currency(),
            body.order_name(),
            bank,
            72,
        )
    })?;
    Ok(Json(json!({
        "paymentId": payment_id,
        "accountNumber": account,
        "status": "VIRTUAL_ACCOUNT_ISSUED",
    })))
}

async fn deposit(State(shared): State<Arc<Shared>>, Path(payment_id): Path<String>) -> Answer {
    shared.run(|s| s.deposit(&payment_id).map(|hooks| ((), hooks)))?;
    Ok(Json(json!({"paymentId": payment_id, "status": "PAID"})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    pg_code: Option<String>,
}

async fn fail(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Answer {
    let body: FailBody = parse(&body)?;
    let reason = body.reason.as_deref().unwrap_or("카드 한도 초과");
    let pg_code = body.pg_code.as_deref().unwrap_or("EXCEED_LIMIT");
    shared.run(|s| s.fail(&payment_id, reason, pg_code).map(|h| ((), h)))?;
    Ok(Json(json!({"paymentId": payment_id, "status": "FAILED"})))
}

async fn approve_late(State(shared): State<Arc<Shared>>, Path(payment_id): Path<String>) -> Answer {
    shared.run(|s| s.approve_late(&payment_id).map(|h| ((), h)))?;
    Ok(Json(json!({"paymentId": payment_id, "status": "PAID"})))
}

async fn reverse_deposit(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
) -> Answer {
    shared.run(|s| s.reverse_deposit(&payment_id).map(|h| ((), h)))?;
    Ok(Json(
        json!({"paymentId": payment_id, "status": "VIRTUAL_ACCOUNT_ISSUED"}),
    ))
}

async fn complete_cancellations(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
) -> Answer {
    shared.run(|s| {
        s.complete_pending_cancellations(&payment_id)
            .map(|h| ((), h))
    })?;
    show(State(shared), Path(payment_id)).await
}

async fn show(State(shared): State<Arc<Shared>>, Path(payment_id): Path<String>) -> Answer {
    shared.payment_json(&payment_id).map(Json).ok_or(FakeError {
        error_type: "PAYMENT_NOT_FOUND".into(),
        message: "결제 건이 존재하지 않습니다.".into(),
    })
}

fn operation(name: Option<&str>) -> Result<Option<Operation>, FakeError> {
    Ok(Some(match name {
        None | Some("any") => return Ok(None),
        Some("getPayment" | "get") => Operation::GetPayment,
        Some("cancel") => Operation::Cancel,
        Some("preRegister" | "pre-register") => Operation::PreRegister,
        Some("confirm") => Operation::Confirm,
        Some("billingKey" | "billing-key") => Operation::BillingKeyPayment,
        Some("instant") => Operation::InstantPayment,
        Some(other) => {
            return Err(invalid(format!(
                "unknown operation {other:?}: use getPayment, cancel, preRegister, confirm, \
                 billingKey, instant or any"
            )))
        }
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FaultBody {
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    http_status: Option<u16>,
    #[serde(default)]
    pg_code: Option<String>,
    #[serde(default)]
    pg_message: Option<String>,
}

async fn faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body: FaultBody = parse(&body)?;
    let scope = operation(body.operation.as_deref())?;
    let times = body.times.unwrap_or(1);
    let (fault, error_type) = match (&body.error_type, &body.pg_code) {
        (Some(error_type), None) => (
            Fault::Error {
                error_type: error_type.clone(),
                http_status: body.http_status,
            },
            error_type.as_str(),
        ),
        (None, Some(pg_code)) => (
            Fault::PgProvider {
                pg_code: pg_code.clone(),
                pg_message: body
                    .pg_message
                    .clone()
                    .unwrap_or_else(|| "PG사 오류".to_owned()),
            },
            "PG_PROVIDER",
        ),
        _ => {
            return Err(invalid(
                "give either errorType (with an optional httpStatus) or pgCode",
            ))
        }
    };
    let http_status = match &fault {
        Fault::Error {
            http_status: Some(status),
            ..
        } => *status,
        _ => status_for_error_type(error_type),
    };
    let answer = json!({
        "operation": body.operation.as_deref().unwrap_or("any"),
        "times": times,
        "errorType": error_type,
        "httpStatus": http_status,
    });
    shared.inject(scope, times, fault);
    Ok(Json(answer))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DelayBody {
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    times: Option<u32>,
    millis: u64,
    /// `response` (default: processed at once, answered late) or `beforeProcessing`.
    #[serde(default)]
    stage: Option<String>,
}

async fn delays(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body: DelayBody = parse(&body)?;
    let scope = operation(body.operation.as_deref())?;
    let delay = Duration::from_millis(body.millis);
    let (stage, fault) = match body.stage.as_deref() {
        None | Some("response") => ("response", Fault::DelayResponse(delay)),
        Some("beforeProcessing") => ("beforeProcessing", Fault::DelayBeforeProcessing(delay)),
        Some(other) => {
            return Err(invalid(format!(
                "unknown stage {other:?}: use response or beforeProcessing"
            )))
        }
    };
    let times = body.times.unwrap_or(1);
    shared.inject(scope, times, fault);
    Ok(Json(json!({
        "operation": body.operation.as_deref().unwrap_or("any"),
        "times": times,
        "millis": body.millis,
        "stage": stage,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingKeyBody {
    billing_key: String,
}

async fn billing_keys(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body: BillingKeyBody = parse(&body)?;
    shared
        .lock_state()
        .billing_keys
        .push(body.billing_key.clone());
    Ok(Json(json!({"billingKey": body.billing_key})))
}

#[derive(Deserialize)]
struct AsyncCancelBody {
    enabled: bool,
}

async fn async_cancel(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let body: AsyncCancelBody = parse(&body)?;
    shared.lock_state().async_cancel = body.enabled;
    Ok(Json(json!({"enabled": body.enabled})))
}
