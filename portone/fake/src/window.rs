//! The PortOne payment window: the browser half of checkout, served by the fake.
//!
//! - `GET /sdk/portone.js`: the browser SDK stand-in ([`PORTONE_JS`]),
//!   `PortOne.requestPayment({...})` in redirect mode.
//! - `GET /__window/portone?storeId&paymentId&orderName&totalAmount&currency&payMethod&redirectUrl`:
//!   the window, with the order, its amount in 원 and the customer's choices: pay by card
//!   (approved at once, `PAID`, `Transaction.Paid`), pay by virtual account (issued,
//!   `VIRTUAL_ACCOUNT_ISSUED`; the deposit is the control API's
//!   `POST /__fake/payments/{paymentId}/deposit`), decline, close the window.
//! - `POST /__window/portone` (the window's form): redirects to `redirectUrl?paymentId=…`, and on
//!   failure `redirectUrl?paymentId=…&code=…&message=…` (PortOne V2's redirect: the
//!   `paymentId`, plus `code` and `message` when the payment failed). The reference documents
//!   no values for `code`; the window sends `FAILURE_TYPE_PG` with the PG's reason in
//!   `message` (`[REJECT_CARD_COMPANY] …`, `[PAY_PROCESS_CANCELED] …`). A failed or closed
//!   window records no payment, so the customer can retry with the same `paymentId`.
//!
//! PortOne approves a default-channel payment in the window, so nothing is left unconfirmed to
//! expire (a manual-confirm channel's timeout is PG-specific and undocumented).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::{PayMethod, Shared};
use hanpay_fake::window::{
    error_page, escape, hidden, html, page, parse_amount, script, see_other, valid_return_url,
    with_query, won,
};

/// The PortOne browser SDK stand-in (`/sdk/portone.js`): a sandbox stand-in, not the PG's script.
pub const PORTONE_JS: &str = include_str!("portone.js");

/// The window's routes, merged into the fake's router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sdk/portone.js", get(|| async { script(PORTONE_JS) }))
        .route("/__window/portone", get(show).post(choose))
        .with_state(shared)
}

const PG: &str = "포트원 PortOne";

/// The payment the storefront opened the window with.
struct Request {
    payment_id: String,
    order_name: String,
    total_amount: i64,
    currency: String,
    pay_method: String,
    redirect_url: String,
}

type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

fn request(shared: &Shared, params: &Params) -> Result<Request, (&'static str, String)> {
    if param(params, "storeId") != shared.config.store_id {
        return Err((
            "FAILURE_TYPE_INVALID_PARAMETER",
            "storeId가 상점 아이디와 일치하지 않습니다.".into(),
        ));
    }
    let redirect_url = param(params, "redirectUrl");
    if !valid_return_url(redirect_url) {
        return Err((
            "FAILURE_TYPE_INVALID_PARAMETER",
            "redirectUrl은 http 또는 https 로 시작하는 절대 주소여야 합니다.".into(),
        ));
    }
    let Some(total_amount) = parse_amount(param(params, "totalAmount")) else {
        return Err((
            "FAILURE_TYPE_INVALID_PARAMETER",
            "totalAmount는 1 이상의 정수여야 합니다.".into(),
        ));
    };
    let payment_id = param(params, "paymentId");
    if payment_id.is_empty() || payment_id.len() > 64 {
        return Err((
            "FAILURE_TYPE_INVALID_PARAMETER",
            "paymentId는 1자 이상 64자 이하여야 합니다.".into(),
        ));
    }
    let currency = match param(params, "currency") {
        "" | "KRW" | "CURRENCY_KRW" => "KRW",
        _ => {
            return Err((
                "FAILURE_TYPE_INVALID_PARAMETER",
                "샌드박스 결제창은 KRW만 지원합니다.".into(),
            ))
        }
    };
    let order_name = param(params, "orderName");
    if order_name.is_empty() {
        return Err((
            "FAILURE_TYPE_INVALID_PARAMETER",
            "orderName이 필요합니다.".into(),
        ));
    }
    Ok(Request {
        payment_id: payment_id.to_owned(),
        order_name: order_name.to_owned(),
        total_amount,
        currency: currency.to_owned(),
        pay_method: match param(params, "payMethod") {
            "" => "CARD".to_owned(),
            m => m.to_owned(),
        },
        redirect_url: redirect_url.to_owned(),
    })
}

async fn show(State(shared): State<Arc<Shared>>, Query(params): Query<Params>) -> Response {
    let req = match request(&shared, &params) {
        Ok(r) => r,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let selected = |m: &str| {
        if req.pay_method == m {
            " primary"
        } else {
            ""
        }
    };
    let fields: String = [
        ("storeId", shared.config.store_id.as_str()),
        ("paymentId", &req.payment_id),
        ("orderName", &req.order_name),
        ("totalAmount", &req.total_amount.to_string()),
        ("currency", &req.currency),
        ("payMethod", &req.pay_method),
        ("redirectUrl", &req.redirect_url),
    ]
    .iter()
    .map(|(n, v)| hidden(n, v))
    .collect();
    let body = format!(
        "<h1>포트원 결제창 (샌드박스)<small>PortOne payment window — hanpay sandbox</small></h1>\
         <p class=\"note\">hanpay 샌드박스입니다. 실제 결제는 일어나지 않습니다. · This is the hanpay \
         sandbox, not PortOne: no money moves.</p>\
         <dl><dt>주문명 · Order</dt><dd id=\"order-name\">{name}</dd>\
         <dt>결제 번호 · Payment ID</dt><dd id=\"payment-id\">{id}</dd>\
         <dt>결제 금액 · Amount</dt><dd id=\"amount\">{amount}</dd></dl>\
         <form method=\"post\" action=\"/__window/portone\">{fields}\
         <button id=\"pay-card\" class=\"{card}\" name=\"action\" value=\"card\">카드로 결제 · Pay by card</button>\
         <button id=\"pay-virtual-account\" class=\"{va}\" name=\"action\" value=\"virtualAccount\">가상계좌 발급 · Pay by virtual account</button>\
         <button id=\"decline\" name=\"action\" value=\"decline\">카드사 승인 거절 · Card declined</button>\
         <button id=\"close\" name=\"action\" value=\"close\">결제창 닫기 · Close the window</button>\
         </form>",
        name = escape(&req.order_name),
        id = escape(&req.payment_id),
        amount = won(req.total_amount),
        card = selected("CARD"),
        va = selected("VIRTUAL_ACCOUNT"),
    );
    html(
        StatusCode::OK,
        page("포트원 결제창 (hanpay sandbox)", &body),
    )
}

fn failed(req: &Request, code: &str, message: &str) -> Response {
    see_other(&with_query(
        &req.redirect_url,
        &[
            ("paymentId", req.payment_id.as_str()),
            ("code", code),
            ("message", message),
        ],
    ))
}

async fn choose(State(shared): State<Arc<Shared>>, Form(params): Form<Params>) -> Response {
    let req = match request(&shared, &params) {
        Ok(r) => r,
        Err((code, message)) => return error_page(PG, code, &message),
    };
    let done = match param(&params, "action") {
        "card" => shared.run(|s| {
            s.browser_pay(
                &req.payment_id,
                req.total_amount,
                &req.currency,
                &req.order_name,
                &PayMethod::Card,
                false,
            )
            .map(|(_, hooks)| ((), hooks))
        }),
        "virtualAccount" => shared.run(|s| {
            s.browser_virtual_account(
                &req.payment_id,
                req.total_amount,
                &req.currency,
                &req.order_name,
                "SHINHAN",
                72,
            )
            .map(|(_, hooks)| ((), hooks))
        }),
        "decline" => {
            return failed(
                &req,
                "FAILURE_TYPE_PG",
                "[REJECT_CARD_COMPANY] 카드사에서 결제를 거절했습니다.",
            )
        }
        "close" => {
            return failed(
                &req,
                "FAILURE_TYPE_PG",
                "[PAY_PROCESS_CANCELED] 사용자가 결제를 취소했습니다.",
            )
        }
        other => {
            return error_page(
                PG,
                "FAILURE_TYPE_INVALID_PARAMETER",
                &format!("unknown choice {other:?}: card, virtualAccount, decline or close"),
            )
        }
    };
    match done {
        Ok(()) => see_other(&with_query(
            &req.redirect_url,
            &[("paymentId", req.payment_id.as_str())],
        )),
        Err(e) => failed(
            &req,
            "FAILURE_TYPE_PG",
            &format!("[{}] {}", e.error_type, e.message),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::FakePortOne;

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn form(fake: &FakePortOne, payment_id: &str, action: &str) -> Vec<(&'static str, String)> {
        vec![
            ("storeId", fake.store_id().to_owned()),
            ("paymentId", payment_id.to_owned()),
            ("orderName", "겨울 코트".to_owned()),
            ("totalAmount", "39000".to_owned()),
            ("currency", "KRW".to_owned()),
            ("payMethod", "CARD".to_owned()),
            (
                "redirectUrl",
                "http://shop.test/payment/portone/complete".to_owned(),
            ),
            ("action", action.to_owned()),
        ]
    }

    async fn choose(fake: &FakePortOne, payment_id: &str, action: &str) -> Vec<(String, String)> {
        let res = client()
            .post(format!("{}/__window/portone", fake.base_url()))
            .form(&form(fake, payment_id, action))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "{action}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let (path, query) = location.split_once('?').unwrap();
        assert_eq!(path, "http://shop.test/payment/portone/complete");
        serde_urlencoded::from_str(query).unwrap()
    }

    fn keys(query: &[(String, String)]) -> Vec<&str> {
        query.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[tokio::test]
    async fn the_window_shows_the_payment_in_won() {
        let fake = FakePortOne::builder().start().await.unwrap();
        let query = serde_urlencoded::to_string(
            form(&fake, "pay-window-1", "card")
                .into_iter()
                .filter(|(k, _)| *k != "action")
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let res = client()
            .get(format!("{}/__window/portone?{query}", fake.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let page = res.text().await.unwrap();
        assert!(page.contains("39,000원") && page.contains("겨울 코트"));
        assert!(page.contains("가상계좌 발급") && page.contains("Pay by virtual account"));
        let js = client()
            .get(format!("{}/sdk/portone.js", fake.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(js.contains("window.PortOne"));
    }

    /// PortOne V2's redirect: `paymentId`, plus `code` and `message` on failure.
    #[tokio::test]
    async fn redirects_carry_what_portone_sends() {
        let fake = FakePortOne::builder().start().await.unwrap();
        let q = choose(&fake, "pay-window-card", "card").await;
        assert_eq!(keys(&q), ["paymentId"]);
        assert_eq!(q[0].1, "pay-window-card");
        assert_eq!(fake.payment("pay-window-card").unwrap()["status"], "PAID");

        let q = choose(&fake, "pay-window-va", "virtualAccount").await;
        assert_eq!(keys(&q), ["paymentId"]);
        let va = fake.payment("pay-window-va").unwrap();
        assert_eq!(va["status"], "VIRTUAL_ACCOUNT_ISSUED");
        fake.deposit("pay-window-va").unwrap();
        assert_eq!(fake.payment("pay-window-va").unwrap()["status"], "PAID");

        for (action, reason) in [
            ("decline", "REJECT_CARD_COMPANY"),
            ("close", "PAY_PROCESS_CANCELED"),
        ] {
            let q = choose(&fake, "pay-window-fail", action).await;
            assert_eq!(keys(&q), ["paymentId", "code", "message"]);
            assert_eq!(q[0].1, "pay-window-fail");
            assert_eq!(q[1].1, "FAILURE_TYPE_PG");
            assert!(q[2].1.contains(reason), "{q:?}");
        }
        assert!(fake.payment("pay-window-fail").is_none());

        // Paying an already paid payment again fails in the window, with PortOne's reason.
        let q = choose(&fake, "pay-window-card", "card").await;
        assert_eq!(keys(&q), ["paymentId", "code", "message"]);
        assert!(q[2].1.contains("ALREADY_PAID"), "{q:?}");
    }

    #[tokio::test]
    async fn another_store_or_a_fractional_amount_is_refused() {
        let fake = FakePortOne::builder().start().await.unwrap();
        for (field, bad) in [
            ("storeId", "store-someone-else"),
            ("totalAmount", "39000.5"),
            ("redirectUrl", "/relative"),
        ] {
            let mut f = form(&fake, "pay-window-bad", "card");
            for (k, v) in &mut f {
                if *k == field {
                    *v = bad.to_owned();
                }
            }
            let res = client()
                .post(format!("{}/__window/portone", fake.base_url()))
                .form(&f)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400, "{field}={bad}");
        }
        assert!(fake.payment("pay-window-bad").is_none());
    }
}
