//! `hanpay demo --browser`: the browser half of checkout, to click through. It starts the
//! fake Toss Payments, PortOne and NICEPAY in-process and serves a one-page shop that loads
//! each fake's SDK stand-in (`/sdk/toss.js`, `/sdk/portone.js`, `/sdk/nicepay.js`) exactly as
//! a storefront loads the PG's:
//! checkout → the PG's payment window → the success page, where the shop confirms on the
//! server through the `hanpay` facade → order confirmed → the PG's webhook, applied by the
//! facade's pipeline, shown on the page (and at `GET /api/orders/{orderId}`).
//!
//! A virtual account is issued at confirm; the customer's deposit is the fake's control API
//! (`POST {pg}/__fake/payments/{paymentKey}/deposit`, printed at start-up), after which the
//! deposit webhook confirms the order on the same page.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanpay::{
    handler_fn, ConfirmRequest, Hanpay, HanpayConfig, Money, OrderAction, Payment, PaymentEvent,
    PaymentStatus, WebhookPipeline,
};
use hanpay_fake::window::{escape, won};
use serde_json::json;
use sha2::{Digest, Sha256};

use hanpay::nicepay::fake::FakeNicePay;

use crate::sandbox::Sandbox;

/// A Toss test client key, for the storefront's `loadTossPayments`.
const TOSS_CLIENT_KEY: &str = "test_ck_hanpayBrowserDemo000000";
/// What the shop sells.
const ORDER_NAME: &str = "Classic T-Shirt 외 1건";
const PRICE: i64 = 58_000;
/// The NICEPAY provider's name.
const NICEPAY: &str = "nicepay";

/// Where an order stands, as the shop sees it. Only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OrderStatus {
    Pending,
    AwaitingDeposit,
    Failed,
    Confirmed,
    Canceled,
}

impl OrderStatus {
    fn id(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::AwaitingDeposit => "awaiting_deposit",
            Self::Failed => "failed",
            Self::Confirmed => "confirmed",
            Self::Canceled => "canceled",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Pending => "결제 대기 · Awaiting payment",
            Self::AwaitingDeposit => "입금 대기 · Waiting for the deposit",
            Self::Failed => "결제 실패 · Payment failed",
            Self::Confirmed => "주문 확인 · Order confirmed",
            Self::Canceled => "주문 취소 · Order canceled",
        }
    }

    /// Moves to `next` unless that would go back (a late event never undoes a later one).
    fn advance(&mut self, next: OrderStatus) {
        let allowed = match (*self, next) {
            (Self::Canceled, _) => false,
            (Self::Confirmed, n) => n == Self::Canceled,
            (Self::Failed, n) => n == Self::Confirmed || n == Self::Canceled,
            (current, n) => n > current,
        };
        if allowed {
            *self = next;
        }
    }
}

/// One order of the shop.
#[derive(Debug, Clone)]
struct Order {
    pg: &'static str,
    amount: i64,
    status: OrderStatus,
    payment_key: Option<String>,
    account: Option<String>,
    failure: Option<(String, String)>,
    /// The webhooks the pipeline applied: `(action, text)`.
    webhooks: Vec<(String, String)>,
}

type Orders = Arc<Mutex<HashMap<String, Order>>>;

fn lock(orders: &Orders) -> MutexGuard<'_, HashMap<String, Order>> {
    orders
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Shop {
    hanpay: Hanpay,
    orders: Orders,
    toss_url: String,
    portone_url: String,
    portone_store_id: String,
    portone_channel_key: String,
    nicepay_url: String,
}

/// The running demo: every fake and the shop. Stops when dropped.
pub struct BrowserDemo {
    sandbox: Sandbox,
    shop_addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for BrowserDemo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl BrowserDemo {
    /// Binds the shop on `shop_addr`, starts the fakes on free loopback ports delivering
    /// webhooks to it, and serves.
    pub async fn start(shop_addr: SocketAddr) -> Result<BrowserDemo, String> {
        let listener = tokio::net::TcpListener::bind(shop_addr)
            .await
            .map_err(|e| format!("cannot bind the shop on {shop_addr}: {e}"))?;
        let shop_addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Every registered fake, as `hanpay sandbox` starts them, delivering to the shop.
        let webhook_urls = crate::sandbox::Options::default();
        let options = crate::sandbox::Options {
            addrs: vec![(None, SocketAddr::from(([127, 0, 0, 1], 0)))],
            webhook_urls: hanpay::plugins()
                .iter()
                .map(|p| {
                    let id = p.id();
                    (id.to_owned(), format!("http://{shop_addr}/webhooks/{id}"))
                })
                .filter(|(id, _)| hanpay::sandbox::fake(id).is_some())
                .collect(),
            time_scale: 60_000,
            ..webhook_urls
        };
        let sandbox = Sandbox::start(&options)
            .await
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        let env = sandbox.env(hanpay::tosspayments::ID);
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let url = |id: &str| {
            sandbox
                .get(id)
                .map(|r| r.sandbox.fake.base_url())
                .unwrap_or_default()
        };
        let (toss_url, portone_url, nicepay_url) = (
            url(hanpay::tosspayments::ID),
            url(hanpay::portone::ID),
            url(NICEPAY),
        );
        let (portone_store_id, portone_channel_key) =
            (var("PORTONE_STORE_ID"), var("PORTONE_CHANNEL_KEY"));
        let config = HanpayConfig::from_env_with(|name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        })
        .map_err(|e| format!("configuration: {e}"))?;
        let hanpay = Hanpay::open(&config)
            .await
            .map_err(|e| format!("shop start-up: {e}"))?;
        let orders: Orders = Arc::default();
        let sink = Arc::clone(&orders);
        let pipeline = WebhookPipeline::builder(
            hanpay.clone(),
            handler_fn(move |event: PaymentEvent| {
                let sink = Arc::clone(&sink);
                async move {
                    apply(&sink, &event);
                    Ok(())
                }
            }),
        )
        .build();
        let shop = Arc::new(Shop {
            hanpay,
            orders,
            toss_url,
            portone_url,
            portone_store_id,
            portone_channel_key,
            nicepay_url,
        });
        let app = Router::new()
            .route("/", get(index))
            .route("/checkout/{pg}", get(checkout))
            .route("/payment/success", get(toss_success))
            .route("/payment/fail", get(toss_fail))
            .route("/payment/portone/complete", get(portone_complete))
            .route("/payment/nicepay/return", post(nicepay_return))
            .route("/orders/{order_id}", get(order_page))
            .route("/api/orders/{order_id}", get(order_json))
            .with_state(shop)
            .merge(hanpay::axum::webhook_router(pipeline));
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(BrowserDemo {
            sandbox,
            shop_addr,
            server,
        })
    }

    /// The shop's URL.
    pub fn shop_url(&self) -> String {
        format!("http://{}/", self.shop_addr)
    }

    /// What `hanpay demo --browser` prints.
    pub fn banner(&self) -> String {
        let shop = self.shop_url();
        let url = |id: &str| {
            self.sandbox
                .get(id)
                .map(|r| r.sandbox.fake.base_url())
                .unwrap_or_default()
        };
        let toss = url(hanpay::tosspayments::ID);
        let portone = url(hanpay::portone::ID);
        let nicepay = url(NICEPAY);
        format!(
            "hanpay demo --browser: a one-page shop, checkout in the browser, no PG account\n\n\
             shop: {shop}\n\
             toss: {toss}\n\
             portone: {portone}\n\
             nicepay: {nicepay}\n\n\
             Open {shop} and pay: card, virtual account, a declined card or a closed window.\n\
             The storefront loads {toss}/sdk/toss.js, {portone}/sdk/portone.js and\n\
             {nicepay}/sdk/nicepay.js, the sandbox's stand-ins for the PGs' browser SDKs.\n\n\
             Deposit into an issued virtual account (the key is on the order page):\n  \
             curl -s -XPOST {toss}/__fake/payments/PAYMENT_KEY/deposit\n  \
             curl -s -XPOST {portone}/__fake/payments/PAYMENT_ID/deposit\n  \
             curl -s -XPOST {nicepay}/__fake/payments/TID/deposit\n\n\
             Ctrl-C stops the demo.\n"
        )
    }
}

/// `hanpay demo --browser`: serves until Ctrl-C. Returns the exit status.
pub async fn run(shop_addr: SocketAddr) -> i32 {
    let demo = match BrowserDemo::start(shop_addr).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hanpay demo --browser: {e}");
            return 1;
        }
    };
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(demo.banner().as_bytes());
        let _ = out.flush();
    }
    let _ = tokio::signal::ctrl_c().await;
    drop(demo);
    0
}

/// The pipeline's handler: records the applied webhook on its order and moves the order.
fn apply(orders: &Orders, event: &PaymentEvent) {
    let Some(order_id) = event.order_id.as_deref() else {
        return;
    };
    let mut orders = lock(orders);
    let Some(order) = orders.get_mut(order_id) else {
        return;
    };
    let old = event
        .old_status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "(new)".into());
    order.webhooks.push((
        format!("{:?}", event.action),
        format!("{old} → {} — {}", event.new_status, event.action.describe()),
    ));
    match event.action {
        OrderAction::ConfirmOrder | OrderAction::ConfirmVirtualAccountOrder => {
            order.status.advance(OrderStatus::Confirmed);
        }
        OrderAction::AwaitDeposit => order.status.advance(OrderStatus::AwaitingDeposit),
        OrderAction::CancelOrder => order.status.advance(OrderStatus::Canceled),
        OrderAction::FailOrder => order.status.advance(OrderStatus::Failed),
        _ => {}
    }
}

/// A value for an inline script: JSON, with `</` broken so it cannot close the script.
fn js(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}\
         dl{{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}}dt{{color:#666}}dd{{margin:0}}\
         button{{font-size:1rem;padding:.6rem 1.2rem}}.error{{color:#c00}}</style></head>\
         <body><p><a href=\"/\">hanpay 샘플 상점 · sample shop</a> (sandbox)</p>{body}</body></html>",
        escape(title)
    );
    let mut resp = html.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn not_found(what: &str) -> Response {
    let mut resp = page(
        "not found",
        &format!("<p class=\"error\">{}</p>", escape(what)),
    );
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

async fn index() -> Response {
    page(
        "hanpay sample shop",
        &format!(
            "<h1>hanpay 샘플 상점 · Sample shop</h1><p>{} — {}</p>\
             <p><a id=\"checkout-tosspayments\" href=\"/checkout/tosspayments\">토스페이먼츠로 결제 · \
             Pay with Toss Payments</a></p>\
             <p><a id=\"checkout-portone\" href=\"/checkout/portone\">포트원으로 결제 · Pay with PortOne</a></p>\
             <p><a id=\"checkout-nicepay\" href=\"/checkout/nicepay\">나이스페이로 결제 · Pay with NICEPAY</a></p>",
            escape(ORDER_NAME),
            won(PRICE)
        ),
    )
}

fn new_order(shop: &Shop, pg: &'static str) -> String {
    let tag = match pg {
        hanpay::tosspayments::ID => "toss",
        hanpay::portone::ID => "po",
        _ => "nice",
    };
    let id = format!(
        "shop-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    lock(&shop.orders).insert(
        id.clone(),
        Order {
            pg,
            amount: PRICE,
            status: OrderStatus::Pending,
            payment_key: None,
            account: None,
            failure: None,
            webhooks: Vec::new(),
        },
    );
    id
}

async fn checkout(State(shop): State<Arc<Shop>>, Path(pg): Path<String>) -> Response {
    let header = |order_id: &str| {
        format!(
            "<h1>주문서 · Checkout</h1><dl><dt>주문번호 · Order ID</dt><dd id=\"order-id\">{}</dd>\
             <dt>상품 · Items</dt><dd>{}</dd><dt>결제 금액 · Amount</dt><dd>{}</dd></dl>\
             <p id=\"error\" class=\"error\"></p>",
            escape(order_id),
            escape(ORDER_NAME),
            won(PRICE)
        )
    };
    match pg.as_str() {
        hanpay::tosspayments::ID => {
            let order_id = new_order(&shop, hanpay::tosspayments::ID);
            // Seed 001's widget code, with the script tag pointed at the sandbox.
            let body = format!(
                "{header}<div id=\"payment-method\"></div><div id=\"agreement\"></div>\
                 <button id=\"pay\" disabled>결제하기 · Pay</button>\
                 <script src=\"{sdk}/sdk/toss.js\"></script>\
                 <script>(async function () {{\
                   const order = {{ orderId: {id}, orderName: {name}, amount: {amount} }};\
                   const tossPayments = await loadTossPayments({client_key});\
                   const widgets = tossPayments.widgets({{ customerKey: 'guest' }});\
                   await widgets.setAmount({{ currency: 'KRW', value: order.amount }});\
                   await widgets.renderPaymentMethods({{ selector: '#payment-method', variantKey: 'DEFAULT' }});\
                   await widgets.renderAgreement({{ selector: '#agreement', variantKey: 'AGREEMENT' }});\
                   const pay = document.getElementById('pay');\
                   pay.disabled = false;\
                   pay.addEventListener('click', function () {{\
                     widgets.requestPayment({{ orderId: order.orderId, orderName: order.orderName,\
                       successUrl: window.location.origin + '/payment/success',\
                       failUrl: window.location.origin + '/payment/fail' }})\
                     .catch(function (e) {{ document.getElementById('error').textContent = e.code + ': ' + e.message; }});\
                   }});\
                 }})();</script>",
                header = header(&order_id),
                sdk = escape(&shop.toss_url),
                id = js(&json!(order_id)),
                name = js(&json!(ORDER_NAME)),
                amount = PRICE,
                client_key = js(&json!(TOSS_CLIENT_KEY)),
            );
            page("checkout · Toss Payments", &body)
        }
        hanpay::portone::ID => {
            let order_id = new_order(&shop, hanpay::portone::ID);
            let body = format!(
                "{header}<fieldset id=\"payment-method\"><legend>결제 수단 · Payment method</legend>\
                 <label><input type=\"radio\" name=\"method\" value=\"CARD\" checked> 카드 · Card</label> \
                 <label><input type=\"radio\" name=\"method\" value=\"VIRTUAL_ACCOUNT\"> 가상계좌 · Virtual account</label>\
                 </fieldset><button id=\"pay\">결제하기 · Pay</button>\
                 <script src=\"{sdk}/sdk/portone.js\"></script>\
                 <script>document.getElementById('pay').addEventListener('click', async function () {{\
                   const method = document.querySelector('input[name=method]:checked').value;\
                   const response = await PortOne.requestPayment({{\
                     storeId: {store}, channelKey: {channel}, paymentId: {id}, orderName: {name},\
                     totalAmount: {amount}, currency: 'KRW', payMethod: method,\
                     redirectUrl: window.location.origin + '/payment/portone/complete' }});\
                   if (response && response.code) {{\
                     document.getElementById('error').textContent = response.code + ': ' + response.message;\
                   }}\
                 }});</script>",
                header = header(&order_id),
                sdk = escape(&shop.portone_url),
                store = js(&json!(shop.portone_store_id)),
                channel = js(&json!(shop.portone_channel_key)),
                id = js(&json!(order_id)),
                name = js(&json!(ORDER_NAME)),
                amount = PRICE,
            );
            page("checkout · PortOne", &body)
        }
        NICEPAY => {
            let order_id = new_order(&shop, NICEPAY);
            let body = format!(
                "{header}<fieldset id=\"payment-method\"><legend>결제 수단 · Payment method</legend>\
                 <label><input type=\"radio\" name=\"method\" value=\"CARD\" checked> 카드 · Card</label> \
                 <label><input type=\"radio\" name=\"method\" value=\"VIRTUAL_ACCOUNT\"> 가상계좌 · Virtual account</label>\
                 </fieldset><button id=\"pay\">결제하기 · Pay</button>\
                 <script src=\"{sdk}/sdk/nicepay.js\"></script>\
                 <script>document.getElementById('pay').addEventListener('click', function () {{\
                   const method = document.querySelector('input[name=method]:checked').value === 'CARD' ? 'card' : 'vbank';\
                   AUTHNICE.requestPay({{\
                     clientId: {client}, method: method, orderId: {id}, amount: {amount},\
                     goodsName: {name}, vbankHolder: '홍길동',\
                     returnUrl: window.location.origin + '/payment/nicepay/return',\
                     fnError: function (r) {{ document.getElementById('error').textContent = r.errorCode + ': ' + r.errorMsg; }} }});\
                 }});</script>",
                header = header(&order_id),
                sdk = escape(&shop.nicepay_url),
                client = js(&json!(FakeNicePay::CLIENT_ID)),
                id = js(&json!(order_id)),
                name = js(&json!(ORDER_NAME)),
                amount = PRICE,
            );
            page("checkout · NICEPAY", &body)
        }
        other => not_found(&format!(
            "unknown PG {other:?}: tosspayments, portone or nicepay"
        )),
    }
}

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// Confirms on the server through the facade, for the amount the shop stored with the order,
/// and records the outcome.
async fn confirm(shop: &Shop, order_id: &str, payment_key: &str) -> Response {
    let Some(order) = lock(&shop.orders).get(order_id).cloned() else {
        return not_found(&format!("no order {order_id}"));
    };
    // A reload of the success page: this payment is already confirmed, show the order.
    let confirmed = matches!(
        order.status,
        OrderStatus::Confirmed | OrderStatus::AwaitingDeposit
    );
    if confirmed && order.payment_key.as_deref() == Some(payment_key) {
        return order_view(shop, order_id);
    }
    let result = match shop.hanpay.gateway_for(order.pg) {
        Ok(gateway) => gateway
            .checkout_confirm(&ConfirmRequest::new(
                payment_key,
                order_id,
                Money::krw(order.amount),
            ))
            .await
            .map_err(|e| (e.code().to_owned(), e.to_string())),
        Err(e) => Err(("UNKNOWN_PROVIDER".to_owned(), e.to_string())),
    };
    {
        let mut orders = lock(&shop.orders);
        if let Some(order) = orders.get_mut(order_id) {
            order.payment_key = Some(payment_key.to_owned());
            match &result {
                Ok(payment) => record(order, payment),
                Err((code, message)) => {
                    order.failure = Some((code.clone(), message.clone()));
                    order.status.advance(OrderStatus::Failed);
                }
            }
        }
    }
    order_view(shop, order_id)
}

fn record(order: &mut Order, payment: &Payment) {
    match payment.status {
        PaymentStatus::Paid => order.status.advance(OrderStatus::Confirmed),
        PaymentStatus::WaitingForDeposit => {
            order.account = payment.virtual_account().map(|va| {
                let bank = va
                    .bank
                    .as_ref()
                    .map(|b| b.korean_name().to_owned())
                    .unwrap_or_default();
                format!("{bank} {}", va.account_number)
            });
            order.status.advance(OrderStatus::AwaitingDeposit);
        }
        other => {
            order.failure = Some((
                "UNEXPECTED_STATUS".to_owned(),
                format!("the PG reports {other}"),
            ));
            order.status.advance(OrderStatus::Failed);
        }
    }
}

/// Toss's successUrl: `?paymentKey=…&orderId=…&amount=…`. The query's amount must be the
/// order's before confirm (Toss's docs), and the confirm sends the order's own amount.
async fn toss_success(State(shop): State<Arc<Shop>>, Query(params): Query<Params>) -> Response {
    let order_id = param(&params, "orderId");
    let Some(order) = lock(&shop.orders).get(order_id).cloned() else {
        return not_found(&format!("no order {order_id:?}"));
    };
    let amount_matches = param(&params, "amount")
        .parse::<i64>()
        .is_ok_and(|a| a == order.amount);
    if !amount_matches {
        let mut orders = lock(&shop.orders);
        if let Some(o) = orders.get_mut(order_id) {
            o.failure = Some((
                "AMOUNT_MISMATCH".to_owned(),
                format!(
                    "the redirect says {:?}, the order is {}: not confirmed",
                    param(&params, "amount"),
                    won(o.amount)
                ),
            ));
            o.status.advance(OrderStatus::Failed);
        }
        drop(orders);
        return order_view(&shop, order_id);
    }
    confirm(&shop, order_id, param(&params, "paymentKey")).await
}

/// Records a failed payment window (`code`, `message`) and shows the order.
fn window_failed(shop: &Shop, order_id: &str, code: &str, message: &str) -> Response {
    {
        let mut orders = lock(&shop.orders);
        let Some(order) = orders.get_mut(order_id) else {
            return not_found(&format!("no order {order_id:?}"));
        };
        order.failure = Some((code.to_owned(), message.to_owned()));
        order.status.advance(OrderStatus::Failed);
    }
    order_view(shop, order_id)
}

/// Toss's failUrl: `?code=…&message=…&orderId=…`.
async fn toss_fail(State(shop): State<Arc<Shop>>, Query(params): Query<Params>) -> Response {
    window_failed(
        &shop,
        param(&params, "orderId"),
        param(&params, "code"),
        param(&params, "message"),
    )
}

/// PortOne's redirectUrl: `?paymentId=…`, with `code` and `message` when it failed.
async fn portone_complete(State(shop): State<Arc<Shop>>, Query(params): Query<Params>) -> Response {
    let payment_id = param(&params, "paymentId");
    if let Some(code) = params.get("code") {
        return window_failed(&shop, payment_id, code, param(&params, "message"));
    }
    confirm(&shop, payment_id, payment_id).await
}

/// NICEPAY's returnUrl POST (reference §2): `authResultCode` must be `0000`, and the order,
/// the amount and `signature = hex(sha256(authToken + clientId + amount + SecretKey))` are
/// checked against the shop's own before approving.
async fn nicepay_return(
    State(shop): State<Arc<Shop>>,
    axum::Form(params): axum::Form<Params>,
) -> Response {
    let order_id = param(&params, "orderId");
    let Some(order) = lock(&shop.orders).get(order_id).cloned() else {
        return not_found(&format!("no order {order_id:?}"));
    };
    if param(&params, "authResultCode") != "0000" {
        return window_failed(
            &shop,
            order_id,
            param(&params, "authResultCode"),
            param(&params, "authResultMsg"),
        );
    }
    let amount = order.amount.to_string();
    let expected = hex::encode(Sha256::digest(
        [
            param(&params, "authToken"),
            FakeNicePay::CLIENT_ID,
            &amount,
            FakeNicePay::SECRET_KEY,
        ]
        .concat()
        .as_bytes(),
    ));
    let signed = param(&params, "amount") == amount
        && param(&params, "clientId") == FakeNicePay::CLIENT_ID
        && hanpay_core::constant_time_eq(
            expected.as_bytes(),
            param(&params, "signature").as_bytes(),
        );
    if !signed {
        return window_failed(
            &shop,
            order_id,
            "SIGNATURE_MISMATCH",
            "the returnUrl POST does not match the order (amount, clientId or signature): not approved",
        );
    }
    confirm(&shop, order_id, param(&params, "tid")).await
}

async fn order_page(State(shop): State<Arc<Shop>>, Path(order_id): Path<String>) -> Response {
    order_view(&shop, &order_id)
}

/// The order page: its status, its failure, the webhooks applied; it follows the order at
/// `/api/orders/{id}` until the order settles.
fn order_view(shop: &Shop, order_id: &str) -> Response {
    let Some(order) = lock(&shop.orders).get(order_id).cloned() else {
        return not_found(&format!("no order {order_id:?}"));
    };
    let failure = order
        .failure
        .as_ref()
        .map(|(code, message)| {
            format!(
                "<h2 class=\"error\">결제 실패 · Payment failed</h2><dl><dt>code</dt>\
                 <dd id=\"fail-code\">{}</dd><dt>message</dt><dd id=\"fail-message\">{}</dd></dl>",
                escape(code),
                escape(message)
            )
        })
        .unwrap_or_default();
    let webhooks: String = order
        .webhooks
        .iter()
        .map(|(action, text)| {
            format!(
                "<li data-action=\"{}\">{}</li>",
                escape(action),
                escape(text)
            )
        })
        .collect();
    // The customer's bank transfer, played at the PG sandbox's control API (the browser
    // test uses the same API directly).
    let deposit = match (&order.payment_key, order.status) {
        (Some(key), OrderStatus::AwaitingDeposit) => {
            let fake = match order.pg {
                hanpay::tosspayments::ID => &shop.toss_url,
                hanpay::portone::ID => &shop.portone_url,
                _ => &shop.nicepay_url,
            };
            format!(
                "<p><button id=\"sandbox-deposit\">입금하기 (샌드박스) · Deposit (sandbox)</button></p>\
                 <script>document.getElementById('sandbox-deposit').addEventListener('click', function () {{\
                   this.disabled = true;\
                   fetch({url}, {{ method: 'POST', mode: 'no-cors' }});\
                 }});</script>",
                url = js(&json!(format!(
                    "{fake}/__fake/payments/{}/deposit",
                    key.replace('/', "%2F")
                ))),
            )
        }
        _ => String::new(),
    };
    let body = format!(
        "<h1>주문 · Order</h1><dl>\
         <dt>주문번호 · Order ID</dt><dd id=\"order-id\">{id}</dd>\
         <dt>PG</dt><dd id=\"pg\">{pg}</dd>\
         <dt>결제 금액 · Amount</dt><dd>{amount}</dd>\
         <dt>상태 · Status</dt><dd id=\"order-status\" data-status=\"{status_id}\">{status}</dd>\
         <dt>결제 키 · Payment key</dt><dd id=\"payment-key\">{key}</dd>\
         <dt>가상계좌 · Virtual account</dt><dd id=\"account\">{account}</dd></dl>{deposit}{failure}\
         <h2>적용된 웹훅 · Webhooks applied</h2><ul id=\"webhooks\">{webhooks}</ul>\
         <script>(function () {{\
           const labels = {labels};\
           const deadline = Date.now() + 600000;\
           async function poll() {{\
             try {{\
               const order = await (await fetch('/api/orders/' + encodeURIComponent({id_js}))).json();\
               const status = document.getElementById('order-status');\
               status.dataset.status = order.status;\
               status.textContent = labels[order.status] || order.status;\
               const list = document.getElementById('webhooks');\
               if (list.children.length !== order.webhooks.length) {{\
                 list.replaceChildren(...order.webhooks.map(function (w) {{\
                   const li = document.createElement('li');\
                   li.dataset.action = w.action;\
                   li.textContent = w.text;\
                   return li;\
                 }}));\
               }}\
             }} catch (e) {{}}\
             if (Date.now() < deadline) setTimeout(poll, 300);\
           }}\
           poll();\
         }})();</script>",
        id = escape(order_id),
        pg = escape(order.pg),
        amount = won(order.amount),
        status_id = order.status.id(),
        status = order.status.label(),
        key = escape(order.payment_key.as_deref().unwrap_or("-")),
        account = escape(order.account.as_deref().unwrap_or("-")),
        labels = js(&json!({
            "pending": OrderStatus::Pending.label(),
            "awaiting_deposit": OrderStatus::AwaitingDeposit.label(),
            "failed": OrderStatus::Failed.label(),
            "confirmed": OrderStatus::Confirmed.label(),
            "canceled": OrderStatus::Canceled.label(),
        })),
        id_js = js(&json!(order_id)),
    );
    page("order", &body)
}

async fn order_json(State(shop): State<Arc<Shop>>, Path(order_id): Path<String>) -> Response {
    let Some(order) = lock(&shop.orders).get(&order_id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order"})),
        )
            .into_response();
    };
    Json(json!({
        "orderId": order_id,
        "pg": order.pg,
        "amount": order.amount,
        "status": order.status.id(),
        "paymentKey": order.payment_key,
        "account": order.account,
        "failure": order.failure.map(|(code, message)| json!({"code": code, "message": message})),
        "webhooks": order.webhooks.iter().map(|(action, text)| json!({"action": action, "text": text})).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;

    #[test]
    fn an_order_never_goes_back() {
        let mut s = Pending;
        s.advance(AwaitingDeposit);
        assert_eq!(s, AwaitingDeposit);
        s.advance(Confirmed);
        s.advance(AwaitingDeposit);
        assert_eq!(
            s, Confirmed,
            "a late AwaitDeposit does not undo the deposit"
        );
        s.advance(Failed);
        assert_eq!(s, Confirmed);
        s.advance(Canceled);
        s.advance(Confirmed);
        assert_eq!(s, Canceled);
        let mut f = Pending;
        f.advance(Failed);
        f.advance(Pending);
        assert_eq!(f, Failed);
    }
}
