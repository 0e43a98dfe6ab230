//! The fake's `/v1` API: Basic auth, HTTP 200 with `resultCode`, injected faults, recorded
//! requests, and a webhook after each change.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;

use super::state::{CancelInput, NiceError, Office, MAX_AMOUNT};
use super::webhook::Outbox;

/// What an injected fault does to the next matching API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with an HTML body, **before** processing: nothing happens.
    ServerError,
    /// Processed, then HTTP 500 instead of the answer: it happened, the client cannot tell.
    ServerErrorAfterProcessing,
    /// Processed at once, answer held back this long: a client with a shorter read timeout
    /// loses the answer of something that happened.
    DelayResponse(Duration),
    /// Not processed; answered HTTP 200 with this `resultCode` and `resultMsg`.
    ResultCode {
        /// `resultCode`.
        code: String,
        /// `resultMsg`.
        message: String,
    },
}

#[derive(Debug, Clone)]
struct FaultEntry {
    fault: Fault,
    method: Option<String>,
    path_contains: Option<String>,
    times: u32,
}

/// One API request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/v1/payments/UT…/cancel`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// Whether the request passed Basic auth.
    pub authenticated: bool,
}

pub(crate) struct Inner {
    pub(crate) office: Office,
    pub(crate) requests: Vec<RecordedRequest>,
    faults: Vec<FaultEntry>,
}

/// State shared by the API, the control API and the Rust handle.
pub(crate) struct Shared {
    pub(crate) client_id: String,
    pub(crate) secret_key: String,
    inner: Mutex<Inner>,
    pub(crate) outbox: Outbox,
    content_type: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn new(
        client_id: String,
        secret_key: String,
        net_cancel_window: Duration,
        outbox: Outbox,
    ) -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                office: Office::new(secret_key.clone(), net_cancel_window),
                requests: Vec::new(),
                faults: Vec::new(),
            }),
            client_id,
            secret_key,
            outbox,
            content_type: Mutex::new(None),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn add_fault(
        &self,
        fault: Fault,
        method: Option<String>,
        path_contains: Option<String>,
        times: u32,
    ) {
        self.lock().faults.push(FaultEntry {
            fault,
            method,
            path_contains,
            times: times.max(1),
        });
    }

    pub(crate) fn set_content_type(&self, content_type: Option<String>) {
        if let Ok(mut ct) = self.content_type.lock() {
            *ct = content_type;
        }
    }

    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    fn take_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut inner = self.lock();
        let idx = inner.faults.iter().position(|f| {
            f.times > 0
                && f.method
                    .as_deref()
                    .map_or(true, |m| m.eq_ignore_ascii_case(method.as_str()))
                && f.path_contains
                    .as_deref()
                    .map_or(true, |p| path.contains(p))
        })?;
        let entry = &mut inner.faults[idx];
        entry.times -= 1;
        let fault = entry.fault.clone();
        if entry.times == 0 {
            inner.faults.remove(idx);
        }
        Some(fault)
    }

    /// Sends the payment `tid` as a webhook.
    pub(crate) fn announce(&self, tid: &str, with_cancelled_tid: bool) {
        let body = {
            let inner = self.lock();
            inner
                .office
                .payment(tid)
                .map(|p| p.to_json(&self.secret_key, with_cancelled_tid))
        };
        if let Some(body) = body {
            self.outbox.send(Bytes::from(body.to_string()));
        }
    }
}

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    resp
}

fn error_response(e: &NiceError) -> Response {
    json_response(e.http_status, &e.body())
}

/// Checks `Authorization: Basic base64("{clientId}:{secretKey}")` — both parts (§1).
fn authenticate(headers: &HeaderMap, client_id: &str, secret_key: &str) -> Result<(), NiceError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| NiceError::new("U304", "BASIC AUTHENTICATION 실패").at(401))?;
    let encoded = value
        .strip_prefix("Basic ")
        .ok_or_else(|| NiceError::new("U304", "BASIC AUTHENTICATION 실패").at(401))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| NiceError::new("U101", "BASE64 DECODE 실패").at(401))?;
    let text = String::from_utf8(decoded)
        .map_err(|_| NiceError::new("U101", "BASE64 DECODE 실패").at(401))?;
    let (id, key) = text
        .split_once(':')
        .ok_or_else(|| NiceError::new("U304", "BASIC AUTHENTICATION 실패").at(401))?;
    if id.is_empty() || key.is_empty() {
        return Err(NiceError::new("U304", "BASIC AUTHENTICATION 실패").at(401));
    }
    if id != client_id || key != secret_key {
        return Err(NiceError::new("U104", "사용자 인증에 실패 하였습니다.").at(401));
    }
    Ok(())
}

/// An integer amount: a JSON integer, or a string of digits (the Java sample sends `"1004"`).
/// More than 12 digits (NICEPAY's documented maximum, reference §7) is `P009`, too long.
fn integer(body: &Value, field: &str) -> Result<Option<i64>, NiceError> {
    let not_a_number = || NiceError::new("P010", &format!("{field} 숫자가 아닙니다."));
    let too_long = || NiceError::new("P009", &format!("{field} 길이 오류"));
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if i > MAX_AMOUNT => Err(too_long()),
            (Some(i), _) => Ok(Some(i)),
            (None, Some(_)) => Err(too_long()),
            (None, None) => Err(not_a_number()),
        },
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            if s.len() > 12 {
                return Err(too_long());
            }
            s.parse().map(Some).map_err(|_| not_a_number())
        }
        Some(_) => Err(not_a_number()),
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

fn order_date(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == "orderDate")
        .map(|(_, v)| v)
}

/// What processing a request produced: the answer and the payment to announce.
struct Processed {
    answer: Result<Value, NiceError>,
    announce: Option<(String, bool)>,
}

fn process(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &Value,
) -> Processed {
    let secret = shared.secret_key.as_str();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut inner = shared.lock();
    let office = &mut inner.office;
    let payment = |r: Result<&super::state::FakePayment, NiceError>,
                   cancel: bool|
     -> (Result<Value, NiceError>, Option<(String, bool)>) {
        match r {
            Ok(p) => (Ok(p.to_json(secret, cancel)), Some((p.tid.clone(), cancel))),
            Err(e) => (Err(e), None),
        }
    };
    let (answer, announce) = match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payments", "netcancel"]) => {
            payment(office.net_cancel(text(body, "orderId")), true)
        }
        ("GET", ["v1", "payments", "find", order_id]) => {
            let date = order_date(query);
            let r = office
                .find(order_id, date.as_deref())
                .map(|p| p.to_json(secret, false));
            (r, None)
        }
        ("POST", ["v1", "payments", tid]) => match integer(body, "amount") {
            Ok(amount) => payment(office.approve(tid, amount), false),
            Err(e) => (Err(e), None),
        },
        ("GET", ["v1", "payments", tid]) => {
            (office.lookup(tid).map(|p| p.to_json(secret, false)), None)
        }
        ("POST", ["v1", "payments", tid, "cancel"]) => {
            let input = match integer(body, "cancelAmt") {
                Ok(cancel_amt) => Ok(CancelInput {
                    reason: text(body, "reason").map(str::to_owned),
                    order_id: text(body, "orderId").map(str::to_owned),
                    cancel_amt,
                    refund_account: text(body, "refundAccount").map(str::to_owned),
                    refund_bank_code: text(body, "refundBankCode").map(str::to_owned),
                    refund_holder: text(body, "refundHolder").map(str::to_owned),
                }),
                Err(e) => Err(e),
            };
            match input {
                Ok(input) => payment(office.cancel(tid, input), true),
                Err(e) => (Err(e), None),
            }
        }
        ("POST", ["v1", "subscribe", "regist"]) => {
            let r = office
                .billing_regist(text(body, "encData"), text(body, "orderId"))
                .map(|(bid, tid)| {
                    serde_json::json!({
                        "resultCode": "0000",
                        "resultMsg": "빌키가 정상적으로 생성되었습니다.",
                        "tid": tid,
                        "orderId": text(body, "orderId"),
                        "bid": bid,
                        "authDate": super::state::nice_time(super::state::now_kst()),
                        "cardCode": "04",
                        "cardName": "삼성",
                    })
                });
            (r, None)
        }
        ("POST", ["v1", "subscribe", bid, "payments"]) => match integer(body, "amount") {
            Ok(amount) => payment(
                office.billing_charge(bid, text(body, "orderId"), amount, text(body, "goodsName")),
                false,
            ),
            Err(e) => (Err(e), None),
        },
        ("POST", ["v1", "subscribe", bid, "expire"]) => {
            (office.billing_expire(bid, text(body, "orderId")), None)
        }
        (_, ["v1", ..]) => (Err(NiceError::new("9999", "Not Found").at(404)), None),
        _ => (Err(NiceError::new("9999", "Not Found").at(404)), None),
    };
    Processed { answer, announce }
}

/// The `/v1` API (every path the control API does not claim).
pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let auth = authenticate(&headers, &shared.client_id, &shared.secret_key);
    shared.lock().requests.push(RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.clone(),
        query: query.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        authenticated: auth.is_ok(),
    });
    if let Err(e) = auth {
        return error_response(&e);
    }
    let json: Value = if body.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return error_response(&NiceError::new("U100", "요청 본문이 JSON이 아닙니다."))
            }
        }
    };
    let fault = shared.take_fault(&method, &path);
    match &fault {
        Some(Fault::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>500 Internal Server Error</body></html>",
            )
                .into_response();
        }
        Some(Fault::ResultCode { code, message }) => {
            return error_response(&NiceError::new(code, message));
        }
        _ => {}
    }
    let processed = process(&shared, &method, &path, query.as_deref(), &json);
    if let Some((tid, cancel)) = &processed.announce {
        shared.announce(tid, *cancel);
    }
    match fault {
        Some(Fault::ServerErrorAfterProcessing) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>500 Internal Server Error</body></html>",
            )
                .into_response();
        }
        Some(Fault::DelayResponse(delay)) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let mut resp = match processed.answer {
        Ok(v) => json_response(200, &v),
        Err(e) => error_response(&e),
    };
    let overridden = shared.content_type.lock().ok().and_then(|ct| ct.clone());
    if let Some(v) = overridden.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}
