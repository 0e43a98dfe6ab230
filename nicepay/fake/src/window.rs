//! The NICEPAY payment window (Server 승인): the browser half of checkout, served by the fake.
//!
//! - `GET /sdk/nicepay.js`: the window script stand-in ([`NICEPAY_JS`]),
//!   `AUTHNICE.requestPay({...})`.
//! - `GET /__window/nicepay?clientId&method&orderId&amount&goodsName&returnUrl&mallReserved`:
//!   the window, with the order, its amount in 원 and one button for the method (`card`:
//!   pay by card; `vbank`: a virtual account, issued when the merchant approves, deposited
//!   with the control API's `POST /__fake/payments/{tid}/deposit`).
//! - `POST /__window/nicepay` (the window's form): authenticates in the fake (as
//!   [`FakeNicePay::authenticate`](super::FakeNicePay::authenticate)) and answers a page that
//!   POSTs `application/x-www-form-urlencoded` to `returnUrl` with exactly the fields of
//!   reference §2: `authResultCode` (`0000`), `authResultMsg`, `tid`, `clientId`, `orderId`,
//!   `amount` (a string), `mallReserved`, `authToken`, and
//!   `signature = hex(sha256(authToken + clientId + amount + SecretKey))`.
//!
//! Not modelled, because the reference does not document them: the window's failure codes
//! (a declined card, a closed window: NICEPAY reports those to the script's `fnError`), and
//! the time allowed between authentication and approve (so nothing expires here).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::routes::Shared;
use super::state::WindowMethod;
use hanpay_fake::window::{
    error_page, escape, hidden, html, page, parse_amount, script, valid_return_url, won,
};

/// The NICEPAY window script stand-in (`/sdk/nicepay.js`): a sandbox stand-in, not the PG's script.
pub const NICEPAY_JS: &str = include_str!("nicepay.js");

/// The window's routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/sdk/nicepay.js", get(|| async { script(NICEPAY_JS) }))
        .route("/__window/nicepay", get(show).post(authenticate))
}

const PG: &str = "나이스페이 NICEPAY";

struct Request {
    method: WindowMethod,
    method_name: &'static str,
    order_id: String,
    amount: i64,
    goods_name: String,
    return_url: String,
    mall_reserved: String,
}

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// Reads and checks the request against §2's limits (lengths are bytes).
fn request(shared: &Shared, params: &Params) -> Result<Request, (&'static str, String)> {
    if param(params, "clientId") != shared.client_id {
        return Err(("U104", "사용자 인증에 실패 (clientId)".into()));
    }
    let (method, method_name) = match param(params, "method") {
        "card" => (WindowMethod::Card, "card"),
        "vbank" => (WindowMethod::Vbank, "vbank"),
        other => {
            return Err((
                "INVALID_PARAMETER",
                format!("method {other:?}: the sandbox window supports card and vbank"),
            ))
        }
    };
    let order_id = param(params, "orderId");
    if order_id.is_empty() || order_id.len() > 64 {
        return Err(("U105", "orderId 길이 오류 (1~64 bytes)".into()));
    }
    let Some(amount) = parse_amount(param(params, "amount")) else {
        return Err(("P017", "amount는 1원 이상의 정수여야 합니다.".into()));
    };
    let goods_name = param(params, "goodsName");
    if goods_name.is_empty() || goods_name.len() > 40 {
        return Err((
            "INVALID_PARAMETER",
            "goodsName 길이 오류 (1~40 bytes)".into(),
        ));
    }
    let return_url = param(params, "returnUrl");
    if !valid_return_url(return_url) || return_url.len() > 500 {
        return Err((
            "INVALID_PARAMETER",
            "returnUrl은 500 bytes 이하의 http(s) 절대 주소여야 합니다.".into(),
        ));
    }
    let mall_reserved = param(params, "mallReserved");
    if mall_reserved.len() > 500 {
        return Err((
            "INVALID_PARAMETER",
            "mallReserved 길이 오류 (500 bytes)".into(),
        ));
    }
    Ok(Request {
        method,
        method_name,
        order_id: order_id.to_owned(),
        amount,
        goods_name: goods_name.to_owned(),
        return_url: return_url.to_owned(),
        mall_reserved: mall_reserved.to_owned(),
    })
}

async fn show(State(shared): State<Arc<Shared>>, Query(params): Query<Params>) -> Response {
    let req = match request(&shared, &params) {
        Ok(r) => r,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let fields: String = [
        ("clientId", shared.client_id.as_str()),
        ("method", req.method_name),
        ("orderId", &req.order_id),
        ("amount", &req.amount.to_string()),
        ("goodsName", &req.goods_name),
        ("returnUrl", &req.return_url),
        ("mallReserved", &req.mall_reserved),
    ]
    .iter()
    .map(|(n, v)| hidden(n, v))
    .collect();
    let button = match req.method {
        WindowMethod::Vbank => {
            "<button id=\"pay-virtual-account\" class=\"primary\">가상계좌 발급 · Pay by virtual account</button>"
        }
        _ => "<button id=\"pay-card\" class=\"primary\">카드로 결제 · Pay by card</button>",
    };
    let body = format!(
        "<h1>나이스페이 결제창 (샌드박스)<small>NICEPAY payment window — hanpay sandbox</small></h1>\
         <p class=\"note\">hanpay 샌드박스입니다. 실제 결제는 일어나지 않습니다. · This is the hanpay \
         sandbox, not NICEPAY: no money moves.</p>\
         <dl><dt>상품명 · Goods</dt><dd id=\"order-name\">{name}</dd>\
         <dt>주문번호 · Order ID</dt><dd id=\"order-id\">{id}</dd>\
         <dt>결제 금액 · Amount</dt><dd id=\"amount\">{amount}</dd></dl>\
         <form method=\"post\" action=\"/__window/nicepay\">{fields}{button}</form>",
        name = escape(&req.goods_name),
        id = escape(&req.order_id),
        amount = won(req.amount),
    );
    html(
        StatusCode::OK,
        page("나이스페이 결제창 (hanpay sandbox)", &body),
    )
}

async fn authenticate(State(shared): State<Arc<Shared>>, Form(params): Form<Params>) -> Response {
    let req = match request(&shared, &params) {
        Ok(r) => r,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let authenticated =
        shared
            .lock()
            .office
            .authenticate(&shared.client_id, &req.order_id, req.amount, req.method);
    let auth = match authenticated {
        Ok(a) => a,
        Err(e) => return error_page(PG, &e.code, &e.message),
    };
    let fields: String = [
        ("authResultCode", "0000"),
        ("authResultMsg", "인증 성공"),
        ("tid", auth.tid.as_str()),
        ("clientId", &shared.client_id),
        ("orderId", &req.order_id),
        ("amount", &req.amount.to_string()),
        ("mallReserved", &req.mall_reserved),
        ("authToken", &auth.auth_token),
        ("signature", &auth.signature),
    ]
    .iter()
    .map(|(n, v)| hidden(n, v))
    .collect();
    let body = format!(
        "<h1>나이스페이 결제창 (샌드박스)<small>NICEPAY payment window — hanpay sandbox</small></h1>\
         <p>인증되었습니다. 상점으로 돌아갑니다. · Authenticated: returning to the shop.</p>\
         <form id=\"return\" method=\"post\" action=\"{action}\" \
         enctype=\"application/x-www-form-urlencoded\">{fields}\
         <button id=\"return-to-shop\">상점으로 돌아가기 · Back to the shop</button></form>\
         <script>document.getElementById('return').submit();</script>",
        action = escape(&req.return_url),
    );
    html(
        StatusCode::OK,
        page("나이스페이 결제창 (hanpay sandbox)", &body),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use base64::Engine as _;
    use serde_json::{json, Value};

    use super::super::FakeNicePay;
    use crate::state::sha256_hex;

    fn form(method: &str, order_id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("clientId", FakeNicePay::CLIENT_ID.to_owned()),
            ("method", method.to_owned()),
            ("orderId", order_id.to_owned()),
            ("amount", "1004".to_owned()),
            ("goodsName", "나이스페이-상품".to_owned()),
            ("returnUrl", "http://shop.test/nicepay/return".to_owned()),
            ("mallReserved", "{\"cart\":7}".to_owned()),
        ]
    }

    /// The hidden fields of the page's `#return` form, in order (the page writes them with
    /// `window::hidden`, escaped).
    fn return_fields(page: &str) -> Vec<(String, String)> {
        let form = page.split("<form id=\"return\"").nth(1).unwrap();
        let form = form.split("</form>").next().unwrap();
        form.split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|rest| {
                let (name, rest) = rest.split_once("\" value=\"").unwrap();
                let value = rest.split_once('"').unwrap().0;
                (
                    name.to_owned(),
                    value.replace("&quot;", "\"").replace("&amp;", "&"),
                )
            })
            .collect()
    }

    async fn submit(fake: &FakeNicePay, method: &str, order_id: &str) -> (u16, String) {
        let res = reqwest::Client::new()
            .post(format!("{}/__window/nicepay", fake.base_url()))
            .form(&form(method, order_id))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn approve(fake: &FakeNicePay, tid: &str, amount: i64) -> Value {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            FakeNicePay::CLIENT_ID,
            FakeNicePay::SECRET_KEY
        ));
        reqwest::Client::new()
            .post(format!("{}/v1/payments/{tid}", fake.base_url()))
            .header("authorization", format!("Basic {auth}"))
            .json(&json!({"amount": amount}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Reference §2: the returnUrl POST carries `authResultCode`, `authResultMsg`, `tid`,
    /// `clientId`, `orderId`, `amount` (a string), `mallReserved`, `authToken` and
    /// `signature = hex(sha256(authToken + clientId + amount + SecretKey))`.
    #[tokio::test]
    async fn the_return_post_carries_what_nicepay_sends() {
        let fake = FakeNicePay::start().await.unwrap();
        let (status, page) = submit(&fake, "card", "order-nice-window-1").await;
        assert_eq!(status, 200);
        assert!(page.contains("action=\"http://shop.test/nicepay/return\""));
        assert!(page.contains("method=\"post\""));
        let fields = return_fields(&page);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "authResultCode",
                "authResultMsg",
                "tid",
                "clientId",
                "orderId",
                "amount",
                "mallReserved",
                "authToken",
                "signature"
            ]
        );
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("authResultCode"), "0000");
        assert_eq!(get("orderId"), "order-nice-window-1");
        assert_eq!(get("amount"), "1004");
        assert_eq!(get("mallReserved"), "{\"cart\":7}");
        assert!(get("authToken").len() <= 40 && get("tid").len() <= 30);
        assert_eq!(
            get("signature"),
            sha256_hex(&[
                &get("authToken"),
                FakeNicePay::CLIENT_ID,
                "1004",
                FakeNicePay::SECRET_KEY
            ])
        );
        let paid = approve(&fake, &get("tid"), 1004).await;
        assert_eq!(
            (paid["resultCode"].as_str(), paid["status"].as_str()),
            (Some("0000"), Some("paid"))
        );
    }

    #[tokio::test]
    async fn a_vbank_window_is_issued_at_approve_and_deposited() {
        let fake = FakeNicePay::start().await.unwrap();
        let query = serde_urlencoded::to_string(form("vbank", "order-nice-window-va")).unwrap();
        let window = reqwest::get(format!("{}/__window/nicepay?{query}", fake.base_url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(window.contains("1,004원") && window.contains("가상계좌 발급"));
        let (_, page) = submit(&fake, "vbank", "order-nice-window-va").await;
        let tid = return_fields(&page)
            .into_iter()
            .find(|(k, _)| k == "tid")
            .unwrap()
            .1;
        let issued = approve(&fake, &tid, 1004).await;
        assert_eq!(issued["status"], "ready");
        fake.deposit(&tid).unwrap();
        assert_eq!(fake.status(&tid).as_deref(), Some("paid"));
        let js = reqwest::get(format!("{}/sdk/nicepay.js", fake.base_url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(js.contains("window.AUTHNICE"));
    }

    #[tokio::test]
    async fn a_bad_request_is_refused_in_the_window() {
        let fake = FakeNicePay::start().await.unwrap();
        for (field, bad) in [
            ("clientId", "S2_someone_else"),
            ("amount", "1004.0"),
            ("method", "bank"),
            ("returnUrl", "/relative"),
            (
                "goodsName",
                "가나다라마바사아자차카타파하가나다라마바사아자",
            ),
        ] {
            let mut f = form("card", "order-nice-window-bad");
            for (k, v) in &mut f {
                if *k == field {
                    *v = bad.to_owned();
                }
            }
            let res = reqwest::Client::new()
                .post(format!("{}/__window/nicepay", fake.base_url()))
                .form(&f)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400, "{field}={bad}");
        }
        assert!(fake.tid_for_order("order-nice-window-bad").is_none());
    }
}
