//! `hanpay sandbox`: FakeToss and FakePortOne as a local PG for app developers, on fixed
//! loopback addresses, delivering signed webhooks to local URLs (no tunnel needed).
//!
//! FakeToss binds its address directly (its control API lives under `/__fake/…`). FakePortOne
//! binds a random loopback port; the sandbox serves PortOne's fixed address itself: the
//! control API under `/__fake/…` (calling the fake's Rust control methods) and everything else
//! forwarded to the fake.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanpay_testkit::delivery::TimeScale;
use hanpay_testkit::fake_portone::{self, FakePortOne, PayMethod};
use hanpay_testkit::fake_toss::FakeToss;
use serde::Deserialize;
use serde_json::json;

/// Default address of the Toss sandbox.
pub const DEFAULT_TOSS_ADDR: &str = "127.0.0.1:8701";
/// Default address of the PortOne sandbox.
pub const DEFAULT_PORTONE_ADDR: &str = "127.0.0.1:8702";
/// The Toss security key the sandbox signs `tosspayments-webhook-signature` with.
pub const TOSS_SECURITY_KEY: &str =
    "6861e6b061f7c2a0a3fa4cd9e1a5b1e0c1d3a2f4e5b6c7d8e9f0a1b2c3d4e5f6";
/// The Toss webhook secret the sandbox signs `x-tosspayments-signature` with.
pub const TOSS_WEBHOOK_SECRET: &str = "hanpay-sandbox-toss-webhook-secret";
/// The PortOne Standard Webhooks secret the sandbox signs with.
pub const PORTONE_WEBHOOK_SECRET: &str = "whsec_aGFucGF5LXNhbmRib3gtcG9ydG9uZS13aCE=";

/// How to run the sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where FakeToss listens.
    pub toss_addr: SocketAddr,
    /// Where the PortOne front listens.
    pub portone_addr: SocketAddr,
    /// `(provider, url)` webhook targets.
    pub webhook_urls: Vec<(String, String)>,
    /// Redelivery speed-up: every PG delay divided by this.
    pub time_scale: u32,
}

/// A running sandbox. Stops when dropped.
pub struct Sandbox {
    /// The fake Toss server.
    pub toss: FakeToss,
    /// The fake PortOne server (behind the front).
    pub portone: Arc<FakePortOne>,
    portone_addr: SocketAddr,
    front: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.front.abort();
    }
}

impl Sandbox {
    /// Starts both fakes.
    pub async fn start(options: &Options) -> std::io::Result<Sandbox> {
        let scale = options.time_scale.max(1);
        let mut toss = FakeToss::builder()
            .time_scale(TimeScale::speedup(scale))
            .security_key(TOSS_SECURITY_KEY)
            .relay_secret(TOSS_WEBHOOK_SECRET);
        let mut portone = FakePortOne::builder()
            .webhook_secret(PORTONE_WEBHOOK_SECRET)
            .time_scale(TimeScale::speedup(scale));
        for (provider, url) in &options.webhook_urls {
            match provider.as_str() {
                hanpay::TOSSPAYMENTS => toss = toss.webhook_url(url.clone()),
                hanpay::PORTONE => portone = portone.webhook_url(url.clone()),
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!(
                            "unknown provider {other:?} in --webhook-url (tosspayments or portone)"
                        ),
                    ))
                }
            }
        }
        let toss = toss.bind(options.toss_addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("Toss sandbox on {}: {e}", options.toss_addr),
            )
        })?;
        let portone = Arc::new(portone.start().await?);
        let listener = tokio::net::TcpListener::bind(options.portone_addr)
            .await
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("PortOne sandbox on {}: {e}", options.portone_addr),
                )
            })?;
        let portone_addr = listener.local_addr()?;
        let app = portone_front(Arc::clone(&portone));
        let front = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "PortOne sandbox front stopped");
            }
        });
        Ok(Sandbox {
            toss,
            portone,
            portone_addr,
            front,
        })
    }

    /// Toss base URL.
    pub fn toss_url(&self) -> String {
        self.toss.base_url()
    }

    /// PortOne base URL.
    pub fn portone_url(&self) -> String {
        format!("http://{}", self.portone_addr)
    }

    /// The environment an application sets to use the sandbox (what `hanpay::Hanpay::from_env`
    /// reads), with `provider` as the default.
    pub fn env(&self, provider: &str) -> Vec<(&'static str, String)> {
        vec![
            ("HANPAY_PROVIDER", provider.to_owned()),
            ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
            ("TOSS_API_BASE_URL", self.toss_url()),
            ("TOSS_SECURITY_KEY", TOSS_SECURITY_KEY.to_owned()),
            ("TOSS_WEBHOOK_SECRET", TOSS_WEBHOOK_SECRET.to_owned()),
            ("TOSS_WEBHOOK_ALLOWLIST", "127.0.0.1,::1".to_owned()),
            ("PORTONE_API_SECRET", self.portone.api_secret().to_owned()),
            ("PORTONE_API_BASE_URL", self.portone_url()),
            ("PORTONE_STORE_ID", self.portone.store_id().to_owned()),
            ("PORTONE_CHANNEL_KEY", self.portone.channel_key().to_owned()),
            ("PORTONE_WEBHOOK_SECRET", PORTONE_WEBHOOK_SECRET.to_owned()),
            ("PORTONE_WEBHOOK_ALLOWLIST", "127.0.0.1,::1".to_owned()),
        ]
    }

    /// The banner `hanpay sandbox` prints.
    pub fn banner(&self, options: &Options) -> String {
        let toss = self.toss_url();
        let portone = self.portone_url();
        let mut out = String::new();
        out.push_str("hanpay sandbox: a local Toss Payments and PortOne for your app\n\n");
        out.push_str(&format!(
            "  Toss Payments  {toss}\n  PortOne        {portone}\n\n"
        ));
        out.push_str("Point your app at it (these are what hanpay::Hanpay::from_env reads):\n\n");
        for (name, value) in self.env("tosspayments") {
            out.push_str(&format!("  export {name}={value}\n"));
        }
        out.push_str("  # switch the app to PortOne with: export HANPAY_PROVIDER=portone\n");
        out.push_str("\nWebhooks (signed as the PGs sign them, redelivered on their schedules");
        out.push_str(&format!(", {}x faster):\n", options.time_scale.max(1)));
        if options.webhook_urls.is_empty() {
            out.push_str(
                "  none configured: add --webhook-url tosspayments=http://127.0.0.1:3000/webhooks/tosspayments\n",
            );
        }
        for (provider, url) in &options.webhook_urls {
            out.push_str(&format!("  {provider:<13} -> {url}\n"));
        }
        out.push_str("\nPlay the customer with the control API:\n\n");
        out.push_str(&format!(
            "  # Toss: the customer authenticates a card payment (the widget's successUrl carries paymentKey)\n  \
             curl -s -XPOST {toss}/__fake/sessions -H 'content-type: application/json' \\\n    \
             -d '{{\"orderId\":\"order-0001\",\"amount\":58000,\"method\":\"card\"}}'\n  \
             # then confirm it from your app; for a virtual account issued by your app, deposit:\n  \
             curl -s -XPOST {toss}/__fake/payments/PAYMENT_KEY/deposit\n  \
             # the next cancel fails once with a transient error:\n  \
             curl -s -XPOST {toss}/__fake/faults -H 'content-type: application/json' \\\n    \
             -d '{{\"status\":500,\"code\":\"FAILED_INTERNAL_SYSTEM_PROCESSING\",\"pathContains\":\"/cancel\"}}'\n\n"
        ));
        out.push_str(&format!(
            "  # PortOne: the customer pays payment-0001 in the browser (approved at once)\n  \
             curl -s -XPOST {portone}/__fake/payments/payment-0001/pay -H 'content-type: application/json' \\\n    \
             -d '{{\"amount\":58000,\"orderName\":\"티셔츠\"}}'\n  \
             # deposit into a virtual account your app issued:\n  \
             curl -s -XPOST {portone}/__fake/payments/PAYMENT_ID/deposit\n  \
             # the next cancel fails once with a 503:\n  \
             curl -s -XPOST {portone}/__fake/faults -H 'content-type: application/json' \\\n    \
             -d '{{\"operation\":\"cancel\",\"errorType\":\"SERVICE_UNAVAILABLE\"}}'\n  \
             # what the fake holds:\n  \
             curl -s {portone}/__fake/payments/PAYMENT_ID\n"
        ));
        out.push_str("\nDebug a webhook your app refused: hanpay webhook verify --help\n");
        out.push_str("Ctrl-C stops the sandbox.\n");
        out
    }
}

type Front = Arc<FakePortOne>;

fn portone_front(fake: Front) -> Router {
    Router::new()
        .route("/__fake/payments/{payment_id}/pay", post(pay))
        .route(
            "/__fake/payments/{payment_id}/virtual-account",
            post(virtual_account),
        )
        .route("/__fake/payments/{payment_id}/deposit", post(deposit))
        .route("/__fake/payments/{payment_id}/fail", post(fail))
        .route("/__fake/payments/{payment_id}", get(show))
        .route("/__fake/faults", post(faults))
        .fallback(forward)
        .with_state(fake)
}

fn control_error(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"type": "INVALID_REQUEST", "message": e.to_string()})),
    )
        .into_response()
}

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
    /// Easy-pay provider (`KAKAOPAY`, `NAVERPAY`, `TOSSPAY`).
    #[serde(default)]
    provider: Option<String>,
    /// Virtual-account bank (`SHINHAN`, …).
    #[serde(default)]
    bank: Option<String>,
}

async fn pay(
    State(fake): State<Front>,
    Path(payment_id): Path<String>,
    Json(body): Json<PayBody>,
) -> Response {
    let method = match body.method.as_deref() {
        Some("easyPay") => PayMethod::EasyPay(body.provider.unwrap_or_else(|| "KAKAOPAY".into())),
        _ => PayMethod::Card,
    };
    match fake.pay(
        &payment_id,
        body.amount,
        body.currency.as_deref().unwrap_or("KRW"),
        body.order_name.as_deref().unwrap_or("테스트 주문"),
        method,
    ) {
        Ok(()) => Json(json!({"paymentId": payment_id, "status": "PAID"})).into_response(),
        Err(e) => control_error(e),
    }
}

async fn virtual_account(
    State(fake): State<Front>,
    Path(payment_id): Path<String>,
    Json(body): Json<PayBody>,
) -> Response {
    match fake.issue_virtual_account(
        &payment_id,
        body.amount,
        body.currency.as_deref().unwrap_or("KRW"),
        body.order_name.as_deref().unwrap_or("테스트 주문"),
        body.bank.as_deref().unwrap_or("SHINHAN"),
    ) {
        Ok(account) => {
            Json(json!({"paymentId": payment_id, "accountNumber": account})).into_response()
        }
        Err(e) => control_error(e),
    }
}

async fn deposit(State(fake): State<Front>, Path(payment_id): Path<String>) -> Response {
    match fake.deposit(&payment_id) {
        Ok(()) => Json(json!({"paymentId": payment_id, "status": "PAID"})).into_response(),
        Err(e) => control_error(e),
    }
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
    State(fake): State<Front>,
    Path(payment_id): Path<String>,
    Json(body): Json<FailBody>,
) -> Response {
    match fake.fail_payment(
        &payment_id,
        body.reason.as_deref().unwrap_or("카드 한도 초과"),
        body.pg_code.as_deref().unwrap_or("EXCEED_LIMIT"),
    ) {
        Ok(()) => Json(json!({"paymentId": payment_id, "status": "FAILED"})).into_response(),
        Err(e) => control_error(e),
    }
}

async fn show(State(fake): State<Front>, Path(payment_id): Path<String>) -> Response {
    match fake.payment(&payment_id) {
        Some(payment) => Json(payment).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"type": "PAYMENT_NOT_FOUND", "message": "no such payment"})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FaultBody {
    /// `cancel`, `get`, `confirm`, `instant`, … (default: any).
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    times: Option<u32>,
    error_type: String,
}

fn operation(name: &str) -> Option<fake_portone::Operation> {
    use fake_portone::Operation as Op;
    match name {
        "get" | "getPayment" => Some(Op::GetPayment),
        "cancel" => Some(Op::Cancel),
        "preRegister" | "pre-register" => Some(Op::PreRegister),
        "confirm" => Some(Op::Confirm),
        "billingKey" | "billing-key" => Some(Op::BillingKeyPayment),
        "instant" => Some(Op::InstantPayment),
        _ => None,
    }
}

async fn faults(State(fake): State<Front>, Json(body): Json<FaultBody>) -> Response {
    let scope = match body.operation.as_deref() {
        None | Some("any") => None,
        Some(name) => match operation(name) {
            Some(op) => Some(op),
            None => return control_error(format!("unknown operation {name:?}")),
        },
    };
    let times = body.times.unwrap_or(1);
    fake.fail_next(scope, times, &body.error_type);
    Json(json!({"operation": body.operation, "times": times, "errorType": body.error_type}))
        .into_response()
}

/// Forwards a PortOne API request to the fake.
async fn forward(State(fake): State<Front>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{path}", fake.base_url());
    let client = reqwest::Client::new();
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            headers.append(name.clone(), value.clone());
        }
    }
    let answer = client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes: Bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            for name in [http::header::CONTENT_TYPE] {
                if let Some(v) = headers.get(&name) {
                    response.headers_mut().insert(name, v.clone());
                }
            }
            response
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"type": "UNKNOWN", "message": format!("sandbox forward failed: {e}")})),
        )
            .into_response(),
    }
}
