//! The demo storefront's per-PG part (`hanpay demo --browser`): a running fake's
//! [`Storefront`] ([`RunningFake::storefront`](crate::sandbox::RunningFake::storefront)) writes
//! the checkout page's payment part against its SDK stand-in (`/sdk/<pg>.js`), names the pages
//! its payment window returns the customer to, and reads what a return carries. The shop around
//! it (orders, confirm through the facade, webhooks, the order page) names no PG.

use std::collections::HashMap;

/// The order a checkout page is for.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutOrder<'a> {
    /// The shop's order id.
    pub order_id: &'a str,
    /// What the customer buys.
    pub order_name: &'a str,
    /// The amount, in won.
    pub amount: i64,
}

/// How the payment window brings the customer back to a [`ReturnRoute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnMethod {
    /// A `GET` redirect, its parameters in the query.
    Get,
    /// A form `POST`, its parameters in the body (`application/x-www-form-urlencoded`).
    PostForm,
}

/// A page of the shop the PG's payment window returns the customer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnRoute {
    /// The shop's path (`/payment/success`); the checkout script points the window at it.
    pub path: &'static str,
    /// How the window arrives there.
    pub method: ReturnMethod,
}

/// What the shop does with a return ([`Storefront::on_return`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// Confirm `payment_key` on the server for `order_id`, for the order's own amount.
    Confirm {
        /// The shop's order id.
        order_id: String,
        /// What the merchant confirms (the PG's payment key, id or tid).
        payment_key: String,
    },
    /// The payment window failed, or the return does not match the order: the order failed
    /// with `code` and `message`.
    Failed {
        /// The shop's order id.
        order_id: String,
        /// The PG's (or the check's) code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The return names no order of the shop (the order id it carries).
    UnknownOrder(String),
}

/// One PG's part of the demo storefront, as a running fake hands it out: everything of the
/// browser checkout that depends on which PG it is.
pub trait Storefront: Send + Sync {
    /// The short name the demo's banner gives the fake's URL (`toss`: `toss: http://…`).
    fn label(&self) -> &'static str;

    /// The tag in the shop's order ids for this PG (`shop-{tag}-…`).
    fn order_tag(&self) -> &'static str;

    /// The shop's link to this PG's checkout (Korean and English).
    fn checkout_link(&self) -> &'static str;

    /// The URL of the fake's SDK stand-in the checkout page loads (`{base}/sdk/toss.js`).
    fn sdk_url(&self) -> String;

    /// The name of the key the fake's deposit control API takes (`PAYMENT_KEY`), for the
    /// banner's `POST {base}/__fake/payments/{KEY}/deposit`.
    fn deposit_key(&self) -> &'static str;

    /// The checkout page's payment part for `order`, below the shop's order summary (which
    /// has an empty `#error` element to show a window's error in): the payment method, a
    /// `#pay` button, the SDK stand-in's script and the storefront code that calls it with
    /// return URLs on [`return_routes`](Storefront::return_routes).
    fn checkout(&self, order: &CheckoutOrder<'_>) -> String;

    /// The pages the payment window returns the customer to.
    fn return_routes(&self) -> &'static [ReturnRoute];

    /// Reads a return to `path` (one of [`return_routes`](Storefront::return_routes)) with
    /// its `params`, checking it as the PG's documentation asks a merchant to against the
    /// order's amount (`order_amount(order_id)`, `None` when the shop has no such order).
    fn on_return(
        &self,
        path: &str,
        params: &HashMap<String, String>,
        order_amount: &dyn Fn(&str) -> Option<i64>,
    ) -> ReturnOutcome;
}

/// A value for an inline script: JSON, with `</` broken so it cannot close the script.
pub fn script_value(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The value of `name` in `params` (empty when absent).
pub fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}
