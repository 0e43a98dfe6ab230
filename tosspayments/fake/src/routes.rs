//! The fake's HTTP surface: Toss's `/v1` API (auth, idempotency, faults, delays) and the control
//! API under `/__fake` that plays the customer and Toss's back office.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::state::{Backoffice, SessionMethod, StatusChange, TossError};
use super::webhook::{Outbox, WebhookConfig};
use hanpay_fake::delivery::{TimeScale, WebhookDispatcher};

/// A fault injected into the next matching API requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// HTTP status to answer with.
    pub status: u16,
    /// Toss error code.
    pub code: String,
    /// Error message.
    #[serde(default = "default_fault_message")]
    pub message: String,
    /// How many requests fail (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Only requests whose path contains this text (e.g. `"/cancel"`); `None` = any API request.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Whether the error is bound to the request's `Idempotency-Key` and replayed for it, as Toss
    /// does for completed error responses. Default `false`: the fault happens before the
    /// idempotency layer (a gateway hiccup), so a retry with the same key is processed.
    #[serde(default)]
    pub replayed: bool,
}

fn default_fault_message() -> String {
    "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.".to_owned()
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault answering `status` with `code` once.
    pub fn new(status: u16, code: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: default_fault_message(),
            times: 1,
            path_contains: None,
            replayed: false,
        }
    }

    /// Fails the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Only requests whose path contains `text`.
    pub fn on_path(mut self, text: impl Into<String>) -> Self {
        self.path_contains = Some(text.into());
        self
    }

    /// Binds the error to the idempotency key so that a retry with the same key replays it.
    pub fn replayed(mut self) -> Self {
        self.replayed = true;
        self
    }

    /// Sets the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    fn matches(&self, path: &str) -> bool {
        self.path_contains
            .as_deref()
            .map_or(true, |p| path.contains(p))
    }
}

/// A delay applied to the responses of the next matching API requests (after processing, so the
/// operation takes effect and only its answer is late).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delay {
    /// Delay in milliseconds.
    pub millis: u64,
    /// How many requests are delayed (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Only requests whose path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
}

/// One API request the fake received.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (percent-encoded, as received).
    pub path: String,
    /// `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// Raw request body as text.
    pub body: String,
    /// Status the fake answered with.
    pub status: u16,
    /// Toss error code when it answered with an error.
    pub code: Option<String>,
    /// Whether the answer was an idempotent replay.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
enum IdemEntry {
    InFlight,
    Done { status: u16, body: Bytes },
}

pub(crate) struct Inner {
    pub(crate) office: Backoffice,
    idem: HashMap<(String, String, String, String), IdemEntry>,
    faults: Vec<Fault>,
    delays: Vec<Delay>,
    pub(crate) requests: Vec<RecordedRequest>,
    content_type: Option<String>,
    pub(crate) outbox: Outbox,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub(crate) changed: watch::Sender<u64>,
    pub(crate) webhook: WebhookConfig,
    /// With any key here, only these secret keys are accepted (strict mode); empty, any
    /// `test_sk_`/`test_gsk_` key is.
    pub(crate) accepted_keys: Vec<String>,
    pub(crate) dispatcher: WebhookDispatcher,
    /// How long a payment authenticated in the payment window waits for confirm.
    pub(crate) window_expiry: Duration,
}

impl Shared {
    pub(crate) fn new(
        consecutive_cancel_window: Duration,
        webhook: WebhookConfig,
        scale: TimeScale,
        accepted_keys: Vec<String>,
        window_expiry: Duration,
    ) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            inner: Mutex::new(Inner {
                office: Backoffice::new(consecutive_cancel_window),
                idem: HashMap::new(),
                faults: Vec::new(),
                delays: Vec::new(),
                requests: Vec::new(),
                content_type: None,
                outbox: Outbox::default(),
            }),
            changed,
            webhook,
            accepted_keys,
            dispatcher: WebhookDispatcher::new(scale),
            window_expiry,
        }
    }

    /// Locks the state (a poisoned lock is recovered: the fake must keep answering).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn add_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub(crate) fn add_delay(&self, delay: Delay) {
        self.lock().delays.push(delay);
    }

    pub(crate) fn set_content_type(&self, value: Option<String>) {
        self.lock().content_type = value;
    }

    /// Announces status changes: builds the webhooks and hands them to delivery.
    pub(crate) fn announce(self: &Arc<Self>, changes: Vec<StatusChange>) {
        if changes.is_empty() {
            return;
        }
        let deliveries = {
            let mut inner = self.lock();
            let mut all = Vec::new();
            for change in changes {
                all.extend(inner.outbox.enqueue(&self.webhook, &change));
            }
            all
        };
        super::webhook::dispatch(&self.dispatcher, deliveries);
        self.bump();
    }
}

/// The fake's API and control routes, with `window` (the payment window's pages, which read
/// the same state) merged in.
pub(crate) fn router(shared: Arc<Shared>, window: Router<Arc<Shared>>) -> Router {
    Router::new()
        .route("/__fake/sessions", post(control_session))
        .route(
            "/__fake/sessions/{payment_key}/expire",
            post(control_expire),
        )
        .route(
            "/__fake/payments/{payment_key}/deposit",
            post(control_deposit),
        )
        .route("/__fake/payments/{payment_key}/fail", post(control_fail))
        .route(
            "/__fake/payments/{payment_key}/approve-late",
            post(control_approve_late),
        )
        .route(
            "/__fake/payments/{payment_key}/reverse-deposit",
            post(control_reverse_deposit),
        )
        .route("/__fake/billing-auths", post(control_billing_auth))
        .route("/__fake/faults", post(control_fault))
        .route("/__fake/delays", post(control_delay))
        .route("/__fake/requests", get(control_requests))
        .route("/__fake/webhooks", get(control_webhooks))
        .merge(window)
        .fallback(api)
        .with_state(shared)
}

fn error_response(e: &TossError) -> (u16, Bytes) {
    (e.status, Bytes::from(e.body().to_string()))
}

fn json_response(status: u16, body: Bytes, content_type: Option<&str>) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    let ct = content_type.unwrap_or("application/json");
    if let Ok(v) = HeaderValue::from_str(ct) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// Checks `Authorization: Basic base64("{secretKey}:")`; returns the secret key. With
/// `accepted` non-empty, only those keys pass (Toss knows the merchant's keys); otherwise any
/// test key does.
fn authenticate(headers: &HeaderMap, accepted: &[String]) -> Result<String, TossError> {
    let unauthorized = || {
        TossError::new(
            401,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    let encoded = value
        .strip_prefix("Basic ")
        .ok_or_else(unauthorized)?
        .trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| unauthorized())?;
    let text = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let Some((key, _password)) = text.split_once(':') else {
        return Err(TossError::new(
            403,
            "INCORRECT_BASIC_AUTH_FORMAT",
            "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        ));
    };
    let known = if accepted.is_empty() {
        key.starts_with("test_sk_") || key.starts_with("test_gsk_")
    } else {
        accepted.iter().any(|k| k == key)
    };
    if known {
        Ok(key.to_owned())
    } else {
        Err(unauthorized())
    }
}

fn decode_segment(seg: &str) -> String {
    percent_encoding::percent_decode_str(seg)
        .decode_utf8_lossy()
        .into_owned()
}

enum Outcome {
    Answer(u16, Bytes, Vec<StatusChange>),
}

fn route(shared: &Shared, method: &Method, path: &str, body: &Value) -> Outcome {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut inner = shared.lock();
    let office = &mut inner.office;
    let result: Result<(Value, Vec<StatusChange>), TossError> =
        match (method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "payments", "confirm"]) => office.confirm(body),
            ("GET", ["v1", "payments", "orders", order_id]) => office
                .get_by_order(&decode_segment(order_id))
                .map(|v| (v, Vec::new())),
            ("GET", ["v1", "payments", key]) => {
                office.get(&decode_segment(key)).map(|v| (v, Vec::new()))
            }
            ("POST", ["v1", "payments", key, "cancel"]) => {
                office.cancel(&decode_segment(key), body, Instant::now())
            }
            ("POST", ["v1", "virtual-accounts"]) => office.issue_virtual_account(body),
            ("POST", ["v1", "billing", "authorizations", "issue"]) => {
                office.issue_billing_key(body).map(|v| (v, Vec::new()))
            }
            ("POST", ["v1", "billing", billing_key]) => {
                office.charge_billing_key(&decode_segment(billing_key), body)
            }
            _ => Err(TossError::new(
                404,
                "NOT_FOUND",
                "존재하지 않는 API 입니다.",
            )),
        };
    match result {
        Ok((v, changes)) => Outcome::Answer(200, Bytes::from(v.to_string()), changes),
        Err(e) => {
            let (s, b) = error_response(&e);
            Outcome::Answer(s, b, Vec::new())
        }
    }
}

/// Codes that mean "not processed" and so are never bound to an idempotency key.
fn is_unprocessed(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("FORBIDDEN_CONSECUTIVE_REQUEST" | "IDEMPOTENT_REQUEST_PROCESSING")
    )
}

async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let idem_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let (status, resp_body, replayed, changes, delay) = handle(
        &shared,
        &method,
        &path,
        &headers,
        idem_key.as_deref(),
        &body,
    );
    let code = if status == 200 {
        None
    } else {
        serde_json::from_slice::<Value>(&resp_body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
    };
    let content_type = {
        let mut inner = shared.lock();
        inner.requests.push(RecordedRequest {
            method: method.to_string(),
            path,
            idempotency_key: idem_key,
            body: body_text,
            status,
            code,
            replayed,
        });
        inner.content_type.clone()
    };
    shared.announce(changes);
    shared.bump();
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    json_response(status, resp_body, content_type.as_deref())
}

type Handled = (u16, Bytes, bool, Vec<StatusChange>, Option<Duration>);

fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    idem_key: Option<&str>,
    body: &Bytes,
) -> Handled {
    let api_key = match authenticate(headers, &shared.accepted_keys) {
        Ok(k) => k,
        Err(e) => {
            let (s, b) = error_response(&e);
            return (s, b, false, Vec::new(), None);
        }
    };
    // Delay and fault selection.
    let (delay, fault) = {
        let mut inner = shared.lock();
        let delay = take_matching(
            &mut inner.delays,
            |d| {
                d.path_contains
                    .as_deref()
                    .map_or(true, |p| path.contains(p))
            },
            |d| &mut d.times,
        )
        .map(|d| Duration::from_millis(d.millis));
        let fault = take_matching(&mut inner.faults, |f| f.matches(path), |f| &mut f.times);
        (delay, fault)
    };
    if let Some(f) = fault.as_ref().filter(|f| !f.replayed) {
        let e = TossError::new(f.status, &f.code, &f.message);
        let (s, b) = error_response(&e);
        return (s, b, false, Vec::new(), delay);
    }
    let is_post = method == Method::POST;
    let idem_id = match idem_key {
        Some(k) if is_post => {
            if k.is_empty() || k.chars().count() > 300 {
                let e = TossError::new(
                    400,
                    "INVALID_IDEMPOTENCY_KEY",
                    "멱등키는 300자 이하여야 합니다.",
                );
                let (s, b) = error_response(&e);
                return (s, b, false, Vec::new(), delay);
            }
            let id = (api_key, method.to_string(), path.to_owned(), k.to_owned());
            let mut inner = shared.lock();
            match inner.idem.get(&id) {
                Some(IdemEntry::Done { status, body }) => {
                    return (*status, body.clone(), true, Vec::new(), delay)
                }
                Some(IdemEntry::InFlight) => {
                    let e = TossError::new(
                        409,
                        "IDEMPOTENT_REQUEST_PROCESSING",
                        "이전 멱등 요청이 처리중입니다. 다시 한번 요청해서 응답을 확인하세요.",
                    );
                    let (s, b) = error_response(&e);
                    return (s, b, false, Vec::new(), delay);
                }
                None => {
                    inner.idem.insert(id.clone(), IdemEntry::InFlight);
                }
            }
            Some(id)
        }
        _ => None,
    };
    let (status, resp, changes) = if let Some(f) = fault {
        let (s, b) = error_response(&TossError::new(f.status, &f.code, &f.message));
        (s, b, Vec::new())
    } else {
        let parsed: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => {
                    let e = TossError::new(
                        400,
                        "INVALID_REQUEST",
                        "잘못된 요청입니다. JSON 형식을 확인해주세요.",
                    );
                    let (s, b) = error_response(&e);
                    if let Some(id) = idem_id {
                        shared.lock().idem.remove(&id);
                    }
                    return (s, b, false, Vec::new(), delay);
                }
            }
        };
        let Outcome::Answer(s, b, c) = route(shared, method, path, &parsed);
        (s, b, c)
    };
    if let Some(id) = idem_id {
        let mut inner = shared.lock();
        let code = serde_json::from_slice::<Value>(&resp)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
        if status != 200 && is_unprocessed(code.as_deref()) {
            inner.idem.remove(&id);
        } else {
            inner.idem.insert(
                id,
                IdemEntry::Done {
                    status,
                    body: resp.clone(),
                },
            );
        }
    }
    (status, resp, false, changes, delay)
}

fn take_matching<T: Clone>(
    list: &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    times: impl Fn(&mut T) -> &mut u32,
) -> Option<T> {
    let idx = list.iter().position(matches)?;
    let item = list[idx].clone();
    let left = times(&mut list[idx]);
    *left = left.saturating_sub(1);
    if *left == 0 {
        list.remove(idx);
    }
    Some(item)
}

// ---------------------------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------------------------

/// Body of `POST /__fake/sessions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    order_id: String,
    amount: i64,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    order_name: Option<String>,
    #[serde(default)]
    easy_pay_provider: Option<String>,
    #[serde(default)]
    bank: Option<String>,
}

fn control_error(e: &TossError) -> Response {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(e.body()),
    )
        .into_response()
}

async fn control_session(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<SessionBody>,
) -> Response {
    let method = match body.method.as_deref().unwrap_or("card") {
        "card" => SessionMethod::Card,
        "easyPay" => SessionMethod::EasyPay(
            body.easy_pay_provider
                .unwrap_or_else(|| "토스페이".to_owned()),
        ),
        "virtualAccount" => SessionMethod::VirtualAccount {
            bank_code: body.bank.unwrap_or_else(|| "88".to_owned()),
        },
        other => {
            return control_error(&TossError::new(
                400,
                "INVALID_REQUEST",
                &format!("unknown method {other}: use card, easyPay or virtualAccount"),
            ))
        }
    };
    let name = body.order_name.unwrap_or_else(|| "테스트 주문".to_owned());
    let result = shared
        .lock()
        .office
        .create_session(&body.order_id, body.amount, method, &name);
    shared.bump();
    match result {
        Ok(key) => Json(json!({
            "paymentKey": key, "orderId": body.order_id, "amount": body.amount
        }))
        .into_response(),
        Err(e) => control_error(&e),
    }
}

/// Answers a control call that changed a payment: announces the change (webhooks) and returns
/// the payment, or the control error.
fn control_change(
    shared: &Arc<Shared>,
    result: Result<(Value, Vec<StatusChange>), TossError>,
) -> Response {
    match result {
        Ok((v, changes)) => {
            shared.announce(changes);
            shared.bump();
            Json(v).into_response()
        }
        Err(e) => control_error(&e),
    }
}

async fn control_expire(
    State(shared): State<Arc<Shared>>,
    Path(payment_key): Path<String>,
) -> Response {
    let result = shared.lock().office.expire(&payment_key);
    control_change(&shared, result)
}

async fn control_deposit(
    State(shared): State<Arc<Shared>>,
    Path(payment_key): Path<String>,
) -> Response {
    let result = shared.lock().office.deposit(&payment_key);
    control_change(&shared, result)
}

async fn control_fail(
    State(shared): State<Arc<Shared>>,
    Path(payment_key): Path<String>,
) -> Response {
    let result = shared.lock().office.fail(&payment_key);
    control_change(&shared, result)
}

async fn control_approve_late(
    State(shared): State<Arc<Shared>>,
    Path(payment_key): Path<String>,
) -> Response {
    let result = shared.lock().office.approve_late(&payment_key);
    control_change(&shared, result)
}

async fn control_reverse_deposit(
    State(shared): State<Arc<Shared>>,
    Path(payment_key): Path<String>,
) -> Response {
    let result = shared.lock().office.reverse_deposit(&payment_key);
    control_change(&shared, result)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingAuthBody {
    customer_key: String,
}

async fn control_billing_auth(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<BillingAuthBody>,
) -> Response {
    let auth_key = shared.lock().office.billing_auth(&body.customer_key);
    Json(json!({ "authKey": auth_key, "customerKey": body.customer_key })).into_response()
}

async fn control_fault(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> Response {
    shared.add_fault(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn control_delay(State(shared): State<Arc<Shared>>, Json(delay): Json<Delay>) -> Response {
    shared.add_delay(delay);
    StatusCode::NO_CONTENT.into_response()
}

async fn control_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared.lock().requests.clone();
    Json(requests).into_response()
}

async fn control_webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let sent = shared.lock().outbox.sent().to_vec();
    Json(sent).into_response()
}
