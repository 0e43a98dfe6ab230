//! NICEPAY's part of the demo storefront (`hanpay demo --browser`): `AUTHNICE.requestPay`
//! against the fake's SDK stand-in, and its `returnUrl` POST, checked as the reference asks.

use std::collections::HashMap;

use hanpay_fake::storefront::{
    param, script_value, CheckoutOrder, ReturnMethod, ReturnOutcome, ReturnRoute, Storefront,
};
use hanpay_fake::window::escape;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::FakeNicePay;

/// The `returnUrl`, a form POST.
const RETURN: &str = "/payment/nicepay/return";

/// The NICEPAY checkout against the fake at `base_url`.
pub(crate) struct NicePayStorefront {
    pub(crate) base_url: String,
}

impl Storefront for NicePayStorefront {
    fn label(&self) -> &'static str {
        "nicepay"
    }

    fn order_tag(&self) -> &'static str {
        "nice"
    }

    fn checkout_link(&self) -> &'static str {
        "나이스페이로 결제 · Pay with NICEPAY"
    }

    fn sdk_url(&self) -> String {
        format!("{}/sdk/nicepay.js", self.base_url)
    }

    fn deposit_key(&self) -> &'static str {
        "TID"
    }

    fn checkout(&self, order: &CheckoutOrder<'_>) -> String {
        format!(
            "<fieldset id=\"payment-method\"><legend>결제 수단 · Payment method</legend>\
             <label><input type=\"radio\" name=\"method\" value=\"CARD\" checked> 카드 · Card</label> \
             <label><input type=\"radio\" name=\"method\" value=\"VIRTUAL_ACCOUNT\"> 가상계좌 · Virtual account</label>\
             </fieldset><button id=\"pay\">결제하기 · Pay</button>\
             <script src=\"{sdk}\"></script>\
             <script>document.getElementById('pay').addEventListener('click', function () {{\
               const method = document.querySelector('input[name=method]:checked').value === 'CARD' ? 'card' : 'vbank';\
               AUTHNICE.requestPay({{\
                 clientId: {client}, method: method, orderId: {id}, amount: {amount},\
                 goodsName: {name}, vbankHolder: '홍길동',\
                 returnUrl: window.location.origin + '{RETURN}',\
                 fnError: function (r) {{ document.getElementById('error').textContent = r.errorCode + ': ' + r.errorMsg; }} }});\
             }});</script>",
            sdk = escape(&self.sdk_url()),
            client = script_value(&json!(FakeNicePay::CLIENT_ID)),
            id = script_value(&json!(order.order_id)),
            name = script_value(&json!(order.order_name)),
            amount = order.amount,
        )
    }

    fn return_routes(&self) -> &'static [ReturnRoute] {
        &[ReturnRoute {
            path: RETURN,
            method: ReturnMethod::PostForm,
        }]
    }

    /// Reference §2: `authResultCode` must be `0000`, and the order, the amount and
    /// `signature = hex(sha256(authToken + clientId + amount + SecretKey))` are checked
    /// against the shop's own before approving the `tid`.
    fn on_return(
        &self,
        _path: &str,
        params: &HashMap<String, String>,
        order_amount: &dyn Fn(&str) -> Option<i64>,
    ) -> ReturnOutcome {
        let order_id = param(params, "orderId").to_owned();
        let Some(amount) = order_amount(&order_id) else {
            return ReturnOutcome::UnknownOrder(order_id);
        };
        if param(params, "authResultCode") != "0000" {
            return ReturnOutcome::Failed {
                order_id,
                code: param(params, "authResultCode").to_owned(),
                message: param(params, "authResultMsg").to_owned(),
            };
        }
        let amount = amount.to_string();
        let expected = hex::encode(Sha256::digest(
            [
                param(params, "authToken"),
                FakeNicePay::CLIENT_ID,
                &amount,
                FakeNicePay::SECRET_KEY,
            ]
            .concat()
            .as_bytes(),
        ));
        let signed = param(params, "amount") == amount
            && param(params, "clientId") == FakeNicePay::CLIENT_ID
            && hanpay_core::constant_time_eq(
                expected.as_bytes(),
                param(params, "signature").as_bytes(),
            );
        if !signed {
            return ReturnOutcome::Failed {
                order_id,
                code: "SIGNATURE_MISMATCH".to_owned(),
                message: "the returnUrl POST does not match the order (amount, clientId or \
                          signature): not approved"
                    .to_owned(),
            };
        }
        ReturnOutcome::Confirm {
            order_id,
            payment_key: param(params, "tid").to_owned(),
        }
    }
}
