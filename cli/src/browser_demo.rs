//! `hanpay demo --browser`: the browser half of checkout, to click through. It starts every
//! registered fake in-process and serves a one-page shop that loads each fake's SDK stand-in
//! (`/sdk/<pg>.js`) exactly as a storefront loads the PG's. What depends on the PG (the
//! checkout page's payment part, the pages its window returns to and how a return is checked)
//! is the fake's [`Storefront`]; the shop names no PG:
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
use hanpay_fake::storefront::{
    script_value as js, CheckoutOrder, ReturnMethod, ReturnOutcome, Storefront,
};
use hanpay_fake::window::{escape, won};
use serde_json::json;

use crate::sandbox::Sandbox;

/// What the shop sells.
const ORDER_NAME: &str = "Classic T-Shirt 외 1건";
const PRICE: i64 = 58_000;

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

/// One PG the shop sells through: its fake and the fake's part of the storefront.
struct ShopPg {
    /// The PG's id.
    id: &'static str,
    /// Its display name.
    name: &'static str,
    /// Its fake's base URL.
    base_url: String,
    storefront: Box<dyn Storefront>,
}

struct Shop {
    hanpay: Hanpay,
    orders: Orders,
    /// Every running fake with a storefront, in registration order.
    pgs: Vec<ShopPg>,
}

impl Shop {
    fn pg(&self, id: &str) -> Option<&ShopPg> {
        self.pgs.iter().find(|p| p.id == id)
    }
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
        // The shop's default provider is the first registered fake; it reaches every PG.
        let first = sandbox
            .running
            .first()
            .map(|r| r.sandbox.fake.id())
            .ok_or("no PG has a fake")?;
        let env = sandbox.env(first);
        let pgs: Vec<ShopPg> = sandbox
            .running
            .iter()
            .filter_map(|r| {
                let storefront = r.sandbox.fake.storefront()?;
                Some(ShopPg {
                    id: r.sandbox.fake.id(),
                    name: r.name,
                    base_url: r.sandbox.fake.base_url(),
                    storefront,
                })
            })
            .collect();
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
            pgs,
        });
        let mut app = Router::new()
            .route("/", get(index))
            .route("/checkout/{pg}", get(checkout));
        // The pages each PG's window returns the customer to.
        for pg in &shop.pgs {
            let id = pg.id;
            for route in pg.storefront.return_routes() {
                let path = route.path;
                app = match route.method {
                    ReturnMethod::Get => app.route(
                        path,
                        get(
                            move |State(shop): State<Arc<Shop>>, Query(params): Query<Params>| async move {
                                returned(&shop, id, path, &params).await
                            },
                        ),
                    ),
                    ReturnMethod::PostForm => app.route(
                        path,
                        post(
                            move |State(shop): State<Arc<Shop>>,
                                  axum::Form(params): axum::Form<Params>| async move {
                                returned(&shop, id, path, &params).await
                            },
                        ),
                    ),
                };
            }
        }
        let app = app
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
        let storefronts: Vec<(String, Box<dyn Storefront>)> = self
            .sandbox
            .running
            .iter()
            .filter_map(|r| Some((r.sandbox.fake.base_url(), r.sandbox.fake.storefront()?)))
            .collect();
        let urls: String = storefronts
            .iter()
            .map(|(url, s)| format!("{}: {url}\n", s.label()))
            .collect();
        let sdks: Vec<String> = storefronts.iter().map(|(_, s)| s.sdk_url()).collect();
        let deposits: String = storefronts
            .iter()
            .map(|(url, s)| {
                format!(
                    "  curl -s -XPOST {url}/__fake/payments/{}/deposit\n",
                    s.deposit_key()
                )
            })
            .collect();
        format!(
            "hanpay demo --browser: a one-page shop, checkout in the browser, no PG account\n\n\
             shop: {shop}\n\
             {urls}\n\
             Open {shop} and pay: card, virtual account, a declined card or a closed window.\n\
             The storefront loads {}, the sandbox's stand-ins for the PGs' browser SDKs.\n\n\
             Deposit into an issued virtual account (the key is on the order page):\n\
             {deposits}\n\
             Ctrl-C stops the demo.\n",
            list(&sdks, " and\n")
        )
    }
}

/// `items` as a list: `a, b{last}c`.
fn list(items: &[String], last: &str) -> String {
    match items.split_last() {
        Some((tail, [])) => tail.clone(),
        Some((tail, rest)) => format!("{}{last}{tail}", rest.join(", ")),
        None => String::new(),
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

async fn index(State(shop): State<Arc<Shop>>) -> Response {
    let links: String = shop
        .pgs
        .iter()
        .map(|pg| {
            format!(
                "<p><a id=\"checkout-{id}\" href=\"/checkout/{id}\">{label}</a></p>",
                id = escape(pg.id),
                label = escape(pg.storefront.checkout_link())
            )
        })
        .collect();
    page(
        "hanpay sample shop",
        &format!(
            "<h1>hanpay 샘플 상점 · Sample shop</h1><p>{} — {}</p>{links}",
            escape(ORDER_NAME),
            won(PRICE)
        ),
    )
}

fn new_order(shop: &Shop, pg: &ShopPg) -> String {
    let id = format!(
        "shop-{}-{}",
        pg.storefront.order_tag(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    lock(&shop.orders).insert(
        id.clone(),
        Order {
            pg: pg.id,
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

/// The checkout page: the order and the PG's payment part (its storefront's).
async fn checkout(State(shop): State<Arc<Shop>>, Path(pg): Path<String>) -> Response {
    let Some(pg) = shop.pg(&pg) else {
        let ids: Vec<String> = shop.pgs.iter().map(|p| p.id.to_owned()).collect();
        return not_found(&format!("unknown PG {pg:?}: {}", list(&ids, " or ")));
    };
    let order_id = new_order(&shop, pg);
    let body = format!(
        "<h1>주문서 · Checkout</h1><dl><dt>주문번호 · Order ID</dt><dd id=\"order-id\">{}</dd>\
         <dt>상품 · Items</dt><dd>{}</dd><dt>결제 금액 · Amount</dt><dd>{}</dd></dl>\
         <p id=\"error\" class=\"error\"></p>{}",
        escape(&order_id),
        escape(ORDER_NAME),
        won(PRICE),
        pg.storefront.checkout(&CheckoutOrder {
            order_id: &order_id,
            order_name: ORDER_NAME,
            amount: PRICE,
        })
    );
    page(&format!("checkout · {}", pg.name), &body)
}

type Params = HashMap<String, String>;

/// A return from `pg`'s payment window to `path`: its storefront reads it, then the shop
/// confirms the payment or records the failure.
async fn returned(shop: &Shop, pg: &str, path: &str, params: &Params) -> Response {
    let Some(pg) = shop.pg(pg) else {
        return not_found(&format!("unknown PG {pg:?}"));
    };
    let amount_of = |order_id: &str| lock(&shop.orders).get(order_id).map(|o| o.amount);
    let outcome = pg.storefront.on_return(path, params, &amount_of);
    match outcome {
        ReturnOutcome::Confirm {
            order_id,
            payment_key,
        } => confirm(shop, &order_id, &payment_key).await,
        ReturnOutcome::Failed {
            order_id,
            code,
            message,
        } => window_failed(shop, &order_id, &code, &message),
        ReturnOutcome::UnknownOrder(order_id) => not_found(&format!("no order {order_id:?}")),
    }
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
            let fake = shop.pg(order.pg).map_or("", |pg| pg.base_url.as_str());
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
