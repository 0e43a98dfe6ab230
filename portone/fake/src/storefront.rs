//! PortOne's part of the demo storefront (`hanpay demo --browser`): `PortOne.requestPayment`
//! against the fake's SDK stand-in, and its `redirectUrl` return.

use std::collections::HashMap;

use hanpay_fake::storefront::{
    param, script_value, CheckoutOrder, ReturnMethod, ReturnOutcome, ReturnRoute, Storefront,
};
use hanpay_fake::window::escape;
use serde_json::json;

/// The `redirectUrl`: `?paymentId=…`, with `code` and `message` when it failed.
const COMPLETE: &str = "/payment/portone/complete";

/// The PortOne checkout against the fake at `base_url`, for its store and channel.
pub(crate) struct PortOneStorefront {
    pub(crate) base_url: String,
    pub(crate) store_id: String,
    pub(crate) channel_key: String,
}

impl Storefront for PortOneStorefront {
    fn label(&self) -> &'static str {
        "portone"
    }

    fn order_tag(&self) -> &'static str {
        "po"
    }

    fn checkout_link(&self) -> &'static str {
        "포트원으로 결제 · Pay with PortOne"
    }

    fn sdk_url(&self) -> String {
        format!("{}/sdk/portone.js", self.base_url)
    }

    fn deposit_key(&self) -> &'static str {
        "PAYMENT_ID"
    }

    fn checkout(&self, order: &CheckoutOrder<'_>) -> String {
        format!(
            "<fieldset id=\"payment-method\"><legend>결제 수단 · Payment method</legend>\
             <label><input type=\"radio\" name=\"method\" value=\"CARD\" checked> 카드 · Card</label> \
             <label><input type=\"radio\" name=\"method\" value=\"VIRTUAL_ACCOUNT\"> 가상계좌 · Virtual account</label>\
             </fieldset><button id=\"pay\">결제하기 · Pay</button>\
             <script src=\"{sdk}\"></script>\
             <script>document.getElementById('pay').addEventListener('click', async function () {{\
               const method = document.querySelector('input[name=method]:checked').value;\
               const response = await PortOne.requestPayment({{\
                 storeId: {store}, channelKey: {channel}, paymentId: {id}, orderName: {name},\
                 totalAmount: {amount}, currency: 'KRW', payMethod: method,\
                 redirectUrl: window.location.origin + '{COMPLETE}' }});\
               if (response && response.code) {{\
                 document.getElementById('error').textContent = response.code + ': ' + response.message;\
               }}\
             }});</script>",
            sdk = escape(&self.sdk_url()),
            store = script_value(&json!(self.store_id)),
            channel = script_value(&json!(self.channel_key)),
            id = script_value(&json!(order.order_id)),
            name = script_value(&json!(order.order_name)),
            amount = order.amount,
        )
    }

    fn return_routes(&self) -> &'static [ReturnRoute] {
        &[ReturnRoute {
            path: COMPLETE,
            method: ReturnMethod::Get,
        }]
    }

    /// The payment id is the shop's order id; the confirm is for the order's own amount.
    fn on_return(
        &self,
        _path: &str,
        params: &HashMap<String, String>,
        _order_amount: &dyn Fn(&str) -> Option<i64>,
    ) -> ReturnOutcome {
        let payment_id = param(params, "paymentId").to_owned();
        match params.get("code") {
            Some(code) => ReturnOutcome::Failed {
                order_id: payment_id,
                code: code.clone(),
                message: param(params, "message").to_owned(),
            },
            None => ReturnOutcome::Confirm {
                order_id: payment_id.clone(),
                payment_key: payment_id,
            },
        }
    }
}
