//! The Toss payment window: the browser half of checkout, served by the fake.
//!
//! - `GET /sdk/toss.js`: the widget stand-in ([`TOSS_JS`]).
//! - `GET /__window/toss?orderId&orderName&amount&successUrl&failUrl&method`: the window, with
//!   the order, its amount in 원 and the customer's choices: pay by card, pay by virtual
//!   account, decline (`REJECT_CARD_COMPANY`), close the window (`PAY_PROCESS_CANCELED`).
//! - `POST /__window/toss` (the window's form): card and virtual account authenticate the
//!   payment in the fake (`IN_PROGRESS`, as [`FakeToss::create_session`](super::FakeToss::create_session))
//!   and redirect to `successUrl?paymentKey=…&orderId=…&amount=…&paymentType=NORMAL`; a
//!   failure redirects to `failUrl?code=…&message=…&orderId=…` (reference §2: the success and
//!   fail redirect queries). The virtual account is issued at confirm (`WAITING_FOR_DEPOSIT`);
//!   the deposit is the control API's `POST /__fake/payments/{paymentKey}/deposit`.
//!
//! A payment authenticated here and not confirmed expires as at Toss: 10 minutes after
//! authentication it reads `EXPIRED` (with `PAYMENT_STATUS_CHANGED`) and confirm answers
//! `404 NOT_FOUND_PAYMENT_SESSION`; [`FakeTossBuilder::window_expiry`](super::FakeTossBuilder::window_expiry)
//! shortens it for the sandbox.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::routes::Shared;
use super::state::SessionMethod;
use hanpay_fake::window::{
    error_page, escape, hidden, html, page, parse_amount, script, see_other, valid_return_url,
    with_query, won,
};

/// The Toss Payments widget stand-in (`/sdk/toss.js`): a sandbox stand-in, not the PG's script.
pub const TOSS_JS: &str = include_str!("toss.js");

/// The window's routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/sdk/toss.js", get(|| async { script(TOSS_JS) }))
        .route("/__window/toss", get(show).post(choose))
}

const PG: &str = "토스페이먼츠 Toss Payments";

/// The order the storefront opened the window with.
struct Order {
    order_id: String,
    order_name: String,
    amount: i64,
    success_url: String,
    fail_url: String,
    method: String,
}

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// Reads and checks the order, with Toss's codes for what is wrong.
fn order(params: &Params) -> Result<Order, (&'static str, String)> {
    if let Some(key) = params.get("clientKey") {
        if !(key.starts_with("test_ck_") || key.starts_with("test_gck_")) {
            return Err((
                "INVALID_CLIENT_KEY",
                "테스트 클라이언트 키(test_ck_, test_gck_)만 사용할 수 있습니다.".into(),
            ));
        }
    }
    let success_url = param(params, "successUrl");
    if !valid_return_url(success_url) {
        return Err((
            "INCORRECT_SUCCESS_URL_FORMAT",
            "잘못된 successUrl 입니다. http 또는 https 로 시작하는 절대 주소여야 합니다.".into(),
        ));
    }
    let fail_url = param(params, "failUrl");
    if !valid_return_url(fail_url) {
        return Err((
            "INCORRECT_FAIL_URL_FORMAT",
            "잘못된 failUrl 입니다. http 또는 https 로 시작하는 절대 주소여야 합니다.".into(),
        ));
    }
    let Some(amount) = parse_amount(param(params, "amount")) else {
        return Err((
            "INVALID_REQUEST",
            "결제 금액(amount)은 1원 이상의 정수여야 합니다.".into(),
        ));
    };
    let order_id = param(params, "orderId");
    if order_id.is_empty() {
        return Err(("INVALID_ORDER_ID", "orderId가 필요합니다.".into()));
    }
    let order_name = param(params, "orderName");
    if order_name.is_empty() {
        return Err(("INVALID_ORDER_NAME", "orderName이 필요합니다.".into()));
    }
    Ok(Order {
        order_id: order_id.to_owned(),
        order_name: order_name.to_owned(),
        amount,
        success_url: success_url.to_owned(),
        fail_url: fail_url.to_owned(),
        method: match param(params, "method") {
            "" => "CARD".to_owned(),
            m => m.to_owned(),
        },
    })
}

async fn show(Query(params): Query<Params>) -> Response {
    let order = match order(&params) {
        Ok(o) => o,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let selected = |m: &str| {
        if order.method == m {
            " primary"
        } else {
            ""
        }
    };
    let fields: String = [
        ("orderId", order.order_id.as_str()),
        ("orderName", &order.order_name),
        ("amount", &order.amount.to_string()),
        ("successUrl", &order.success_url),
        ("failUrl", &order.fail_url),
        ("method", &order.method),
    ]
    .iter()
    .map(|(n, v)| hidden(n, v))
    .collect();
    let body = format!(
        "<h1>토스페이먼츠 결제창 (샌드박스)<small>Toss Payments payment window — hanpay sandbox</small></h1>\
         <p class=\"note\">hanpay 샌드박스입니다. 실제 결제는 일어나지 않습니다. · This is the hanpay \
         sandbox, not Toss: no money moves.</p>\
         <dl><dt>주문명 · Order</dt><dd id=\"order-name\">{name}</dd>\
         <dt>주문번호 · Order ID</dt><dd id=\"order-id\">{id}</dd>\
         <dt>결제 금액 · Amount</dt><dd id=\"amount\">{amount}</dd></dl>\
         <form method=\"post\" action=\"/__window/toss\">{fields}\
         <button id=\"pay-card\" class=\"{card}\" name=\"action\" value=\"card\">카드로 결제 · Pay by card</button>\
         <button id=\"pay-virtual-account\" class=\"{va}\" name=\"action\" value=\"virtualAccount\">가상계좌 발급 · Pay by virtual account</button>\
         <button id=\"decline\" name=\"action\" value=\"decline\">카드사 승인 거절 · Card declined (REJECT_CARD_COMPANY)</button>\
         <button id=\"close\" name=\"action\" value=\"close\">결제창 닫기 · Close the window (PAY_PROCESS_CANCELED)</button>\
         </form>",
        name = escape(&order.order_name),
        id = escape(&order.order_id),
        amount = won(order.amount),
        card = selected("CARD"),
        va = selected("VIRTUAL_ACCOUNT"),
    );
    html(
        StatusCode::OK,
        page("토스페이먼츠 결제창 (hanpay sandbox)", &body),
    )
}

fn fail(order: &Order, code: &str, message: &str) -> Response {
    see_other(&with_query(
        &order.fail_url,
        &[
            ("code", code),
            ("message", message),
            ("orderId", &order.order_id),
        ],
    ))
}

async fn choose(State(shared): State<Arc<Shared>>, Form(params): Form<Params>) -> Response {
    let order = match order(&params) {
        Ok(o) => o,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let method = match param(&params, "action") {
        "card" => SessionMethod::Card,
        "virtualAccount" => SessionMethod::VirtualAccount {
            bank_code: "88".to_owned(),
        },
        "decline" => {
            return fail(
                &order,
                "REJECT_CARD_COMPANY",
                "카드사에서 결제를 거절했습니다. 다른 카드로 결제해주세요.",
            )
        }
        "close" => {
            return fail(
                &order,
                "PAY_PROCESS_CANCELED",
                "사용자에 의해 결제가 취소되었습니다.",
            )
        }
        other => {
            return error_page(
                PG,
                "INVALID_REQUEST",
                &format!("unknown choice {other:?}: card, virtualAccount, decline or close"),
            )
        }
    };
    let created = shared.lock().office.create_session(
        &order.order_id,
        order.amount,
        method,
        &order.order_name,
    );
    shared.bump();
    match created {
        Ok(payment_key) => {
            schedule_expiry(&shared, &payment_key);
            see_other(&with_query(
                &order.success_url,
                &[
                    ("paymentKey", payment_key.as_str()),
                    ("orderId", &order.order_id),
                    ("amount", &order.amount.to_string()),
                    ("paymentType", "NORMAL"),
                ],
            ))
        }
        Err(e) => fail(&order, &e.code, &e.message),
    }
}

/// Expires the payment if it is still unconfirmed (`IN_PROGRESS`) after the window's expiry.
/// Holds the fake weakly: a dropped fake expires nothing.
fn schedule_expiry(shared: &Arc<Shared>, payment_key: &str) {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let after = shared.window_expiry;
    let key = payment_key.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if let Some(shared) = weak.upgrade() {
            expire_unconfirmed(&shared, &key);
        }
    });
}

/// Expires the payment (`EXPIRED`, `PAYMENT_STATUS_CHANGED`) if it is still `IN_PROGRESS`; a
/// confirmed one (`DONE`, a virtual account `WAITING_FOR_DEPOSIT`) is left alone.
fn expire_unconfirmed(shared: &Arc<Shared>, payment_key: &str) {
    let expired = {
        let mut inner = shared.lock();
        let unconfirmed = inner
            .office
            .payment(payment_key)
            .is_some_and(|p| p.status == "IN_PROGRESS");
        unconfirmed.then(|| inner.office.expire(payment_key))
    };
    if let Some(Ok((_, changes))) = expired {
        shared.announce(changes);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::super::FakeToss;
    use base64::Engine as _;
    use serde_json::{json, Value};

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn form(order_id: &str, action: &str) -> Vec<(&'static str, String)> {
        vec![
            ("orderId", order_id.to_owned()),
            ("orderName", "Classic T-Shirt 외 1건".to_owned()),
            ("amount", "58000".to_owned()),
            (
                "successUrl",
                "http://shop.test/payment/success?from=widget".to_owned(),
            ),
            ("failUrl", "http://shop.test/payment/fail".to_owned()),
            ("method", "CARD".to_owned()),
            ("action", action.to_owned()),
        ]
    }

    /// Posts the window's form; returns the redirect's path and its query pairs in order.
    async fn choose(
        fake: &FakeToss,
        order_id: &str,
        action: &str,
    ) -> (String, Vec<(String, String)>) {
        let res = client()
            .post(format!("{}/__window/toss", fake.base_url()))
            .form(&form(order_id, action))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "{action}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let (path, query) = location.split_once('?').unwrap();
        (
            path.to_owned(),
            serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap(),
        )
    }

    fn keys(query: &[(String, String)]) -> Vec<&str> {
        query.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn value<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    async fn confirm(fake: &FakeToss, key: &str, order_id: &str, amount: i64) -> (u16, Value) {
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", FakeToss::SECRET_KEY));
        let res = client()
            .post(format!("{}/v1/payments/confirm", fake.base_url()))
            .header("authorization", format!("Basic {auth}"))
            .json(&json!({"paymentKey": key, "orderId": order_id, "amount": amount}))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    #[tokio::test]
    async fn the_window_shows_the_order_in_won_with_both_languages() {
        let fake = FakeToss::start().await.unwrap();
        let mut url = format!("{}/__window/toss?", fake.base_url());
        url.push_str(
            &serde_urlencoded::to_string(
                form("order-window-1", "card")
                    .into_iter()
                    .filter(|(k, _)| *k != "action")
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
        );
        let res = client().get(url).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains("58,000원"), "{page}");
        assert!(page.contains("Classic T-Shirt 외 1건"));
        assert!(page.contains("카드로 결제") && page.contains("Pay by card"));
        assert!(
            !page.contains("http-equiv")
                && !page.contains("<script src")
                && !page.contains("<link"),
            "no external assets"
        );
        let js = client()
            .get(format!("{}/sdk/toss.js", fake.base_url()))
            .send()
            .await
            .unwrap();
        assert!(js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(js.text().await.unwrap().contains("window.loadTossPayments"));
    }

    /// Reference §2 (tosspayments.md): `successUrl?paymentKey=…&orderId=…&amount=…` (+
    /// `paymentType` in the v2 SDK); `failUrl?code=…&message=…&orderId=…`.
    #[tokio::test]
    async fn redirects_carry_what_toss_sends() {
        let fake = FakeToss::start().await.unwrap();
        let (path, q) = choose(&fake, "order-window-card", "card").await;
        assert_eq!(path, "http://shop.test/payment/success");
        assert_eq!(
            keys(&q),
            ["from", "paymentKey", "orderId", "amount", "paymentType"]
        );
        assert_eq!(value(&q, "orderId"), "order-window-card");
        assert_eq!(value(&q, "amount"), "58000");
        assert_eq!(value(&q, "paymentType"), "NORMAL");
        let key = value(&q, "paymentKey");
        assert_eq!(fake.payment_json(key).unwrap()["status"], "IN_PROGRESS");
        let (status, paid) = confirm(&fake, key, "order-window-card", 58_000).await;
        assert_eq!((status, paid["status"].as_str()), (200, Some("DONE")));

        for (action, code) in [
            ("decline", "REJECT_CARD_COMPANY"),
            ("close", "PAY_PROCESS_CANCELED"),
        ] {
            let (path, q) = choose(&fake, "order-window-fail", action).await;
            assert_eq!(path, "http://shop.test/payment/fail");
            assert_eq!(keys(&q), ["code", "message", "orderId"]);
            assert_eq!(value(&q, "code"), code);
            assert!(!value(&q, "message").is_empty());
            assert_eq!(value(&q, "orderId"), "order-window-fail");
        }
        assert!(fake.payment_key_for_order("order-window-fail").is_none());
    }

    #[tokio::test]
    async fn a_virtual_account_is_issued_at_confirm_and_deposited_by_the_control_api() {
        let fake = FakeToss::start().await.unwrap();
        let (_, q) = choose(&fake, "order-window-va", "virtualAccount").await;
        let key = value(&q, "paymentKey").to_owned();
        let (status, issued) = confirm(&fake, &key, "order-window-va", 58_000).await;
        assert_eq!(
            (status, issued["status"].as_str()),
            (200, Some("WAITING_FOR_DEPOSIT"))
        );
        assert_eq!(issued["method"], "가상계좌");
        // The window's expiry, when it comes, leaves a confirmed payment alone.
        super::expire_unconfirmed(&fake.shared, &key);
        let waiting = fake.payment_json(&key).unwrap();
        assert_eq!(waiting["status"], "WAITING_FOR_DEPOSIT");
        assert_eq!(waiting["virtualAccount"]["expired"], false);
        let res = client()
            .post(format!("{}/__fake/payments/{key}/deposit", fake.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(fake.payment_json(&key).unwrap()["status"], "DONE");
    }

    #[tokio::test]
    async fn an_unconfirmed_payment_expires_after_the_window_expiry() {
        let inbox = hanpay_testkit::inbox::WebhookInbox::start().await.unwrap();
        let fake = FakeToss::builder()
            .window_expiry(Duration::from_millis(20))
            .webhook_url(inbox.url("tosspayments"))
            .start()
            .await
            .unwrap();
        let (_, q) = choose(&fake, "order-window-late", "card").await;
        let key = value(&q, "paymentKey").to_owned();
        tokio::time::timeout(
            Duration::from_secs(10),
            fake.wait_until(|f| {
                f.payment_json(&key)
                    .is_some_and(|p| p["status"] == "EXPIRED")
            }),
        )
        .await
        .expect("expired within the bound");
        let (status, body) = confirm(&fake, &key, "order-window-late", 58_000).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND_PAYMENT_SESSION"))
        );
        assert!(fake
            .sent_webhooks()
            .iter()
            .any(|w| w.event_type == "PAYMENT_STATUS_CHANGED" && w.status == "EXPIRED"));
    }

    #[tokio::test]
    async fn the_default_expiry_is_tosss_ten_minutes() {
        assert_eq!(
            super::super::FakeTossBuilder::default().window_expiry,
            Duration::from_secs(600)
        );
    }

    #[tokio::test]
    async fn malformed_orders_get_tosss_codes_and_no_payment() {
        let fake = FakeToss::start().await.unwrap();
        for (field, bad, code) in [
            ("amount", "58000.5", "INVALID_REQUEST"),
            ("amount", "-1", "INVALID_REQUEST"),
            ("successUrl", "/relative", "INCORRECT_SUCCESS_URL_FORMAT"),
            (
                "failUrl",
                "javascript:alert(1)",
                "INCORRECT_FAIL_URL_FORMAT",
            ),
        ] {
            let mut f = form("order-window-bad", "card");
            for (k, v) in &mut f {
                if *k == field {
                    *v = bad.to_owned();
                }
            }
            let res = client()
                .post(format!("{}/__window/toss", fake.base_url()))
                .form(&f)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400);
            assert!(res.text().await.unwrap().contains(code), "{field}={bad}");
        }
        // An invalid order id is Toss's INVALID_ORDER_ID, sent to failUrl.
        let (path, q) = choose(&fake, "short", "card").await;
        assert_eq!(path, "http://shop.test/payment/fail");
        assert_eq!(value(&q, "code"), "INVALID_ORDER_ID");
        assert!(fake.payment_key_for_order("order-window-bad").is_none());
    }
}
