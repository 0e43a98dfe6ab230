//! Toss Payments' part of the demo storefront (`hanpay demo --browser`): seed 001's widget code
//! with the script tag pointed at the fake, and the widget's `successUrl` / `failUrl` returns.

use std::collections::HashMap;

use hanpay_fake::storefront::{
    param, script_value, CheckoutOrder, ReturnMethod, ReturnOutcome, ReturnRoute, Storefront,
};
use hanpay_fake::window::{escape, won};
use serde_json::json;

/// A Toss test client key, for the storefront's `loadTossPayments`.
const CLIENT_KEY: &str = "test_ck_hanpayBrowserDemo000000";
/// The widget's `successUrl`: `?paymentKey=…&orderId=…&amount=…`.
const SUCCESS: &str = "/payment/success";
/// The widget's `failUrl`: `?code=…&message=…&orderId=…`.
const FAIL: &str = "/payment/fail";

/// The Toss checkout against the fake at `base_url`.
pub(crate) struct TossStorefront {
    pub(crate) base_url: String,
}

impl Storefront for TossStorefront {
    fn label(&self) -> &'static str {
        "toss"
    }

    fn order_tag(&self) -> &'static str {
        "toss"
    }

    fn checkout_link(&self) -> &'static str {
        "토스페이먼츠로 결제 · Pay with Toss Payments"
    }

    fn sdk_url(&self) -> String {
        format!("{}/sdk/toss.js", self.base_url)
    }

    fn deposit_key(&self) -> &'static str {
        "PAYMENT_KEY"
    }

    fn checkout(&self, order: &CheckoutOrder<'_>) -> String {
        format!(
            "<div id=\"payment-method\"></div><div id=\"agreement\"></div>\
             <button id=\"pay\" disabled>결제하기 · Pay</button>\
             <script src=\"{sdk}\"></script>\
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
                   successUrl: window.location.origin + '{SUCCESS}',\
                   failUrl: window.location.origin + '{FAIL}' }})\
                 .catch(function (e) {{ document.getElementById('error').textContent = e.code + ': ' + e.message; }});\
               }});\
             }})();</script>",
            sdk = escape(&self.sdk_url()),
            id = script_value(&json!(order.order_id)),
            name = script_value(&json!(order.order_name)),
            amount = order.amount,
            client_key = script_value(&json!(CLIENT_KEY)),
        )
    }

    fn return_routes(&self) -> &'static [ReturnRoute] {
        &[
            ReturnRoute {
                path: SUCCESS,
                method: ReturnMethod::Get,
            },
            ReturnRoute {
                path: FAIL,
                method: ReturnMethod::Get,
            },
        ]
    }

    /// The success redirect's amount must be the order's before confirm (Toss's docs), and
    /// the confirm is for the order's own amount.
    fn on_return(
        &self,
        path: &str,
        params: &HashMap<String, String>,
        order_amount: &dyn Fn(&str) -> Option<i64>,
    ) -> ReturnOutcome {
        let order_id = param(params, "orderId").to_owned();
        if path != SUCCESS {
            return ReturnOutcome::Failed {
                order_id,
                code: param(params, "code").to_owned(),
                message: param(params, "message").to_owned(),
            };
        }
        let Some(amount) = order_amount(&order_id) else {
            return ReturnOutcome::UnknownOrder(order_id);
        };
        let said = param(params, "amount");
        if said.parse::<i64>().is_ok_and(|a| a == amount) {
            ReturnOutcome::Confirm {
                order_id,
                payment_key: param(params, "paymentKey").to_owned(),
            }
        } else {
            ReturnOutcome::Failed {
                order_id,
                code: "AMOUNT_MISMATCH".to_owned(),
                message: format!(
                    "the redirect says {said:?}, the order is {}: not confirmed",
                    won(amount)
                ),
            }
        }
    }
}
