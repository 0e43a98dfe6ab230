//! The example shop: a commerce backend that uses only the `hanpay` facade. It does not know
//! which PG it talks to; the configuration decides.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanpay::{
    handler_fn, Bank, CancelRequest, CheckoutError, ConfirmRequest, Gateway, Hanpay, HanpayConfig,
    Money, OrderAction, Payment, PaymentError, PaymentEvent, PaymentProvider, RefundAccount,
    VirtualAccountRequest, WebhookPipeline,
};
use tokio::sync::Notify;

/// One applied webhook, as the shop recorded it.
#[derive(Debug, Clone)]
pub struct AppliedWebhook {
    /// The event.
    pub event: PaymentEvent,
}

#[derive(Default)]
struct Orders {
    webhooks: Mutex<HashMap<String, Vec<AppliedWebhook>>>,
    changed: Notify,
    /// Every delivery answered 200, as received (path, headers, body): what a PG redelivers.
    answered: Mutex<Vec<Delivery>>,
}

/// One webhook request as the PG sent it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `/webhooks/{provider}`.
    pub path: String,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The raw body.
    pub body: bytes::Bytes,
}

/// Keeps a copy of each delivery the pipeline answered with 200.
async fn keep_answered(
    axum::extract::State(orders): axum::extract::State<Arc<Orders>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::response::IntoResponse::into_response(http::StatusCode::PAYLOAD_TOO_LARGE);
    };
    let delivery = Delivery {
        path: parts.uri.path().to_owned(),
        headers: parts.headers.clone(),
        body: bytes.clone(),
    };
    let response = next
        .run(axum::extract::Request::from_parts(
            parts,
            axum::body::Body::from(bytes),
        ))
        .await;
    if response.status() == http::StatusCode::OK {
        if let Ok(mut answered) = orders.answered.lock() {
            answered.push(delivery);
        }
    }
    response
}

/// A running shop: its PG gateway and its webhook endpoint.
pub struct Shop {
    hanpay: Hanpay,
    pipeline: WebhookPipeline,
    orders: Arc<Orders>,
    server: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shop {
    /// Starts the shop on `listener` with `config` (its database opened and migrated):
    /// webhooks at `POST /webhooks/{provider}`.
    pub async fn start(
        config: &HanpayConfig,
        listener: tokio::net::TcpListener,
    ) -> Result<Shop, String> {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let hanpay = Hanpay::open(config).await.map_err(|e| e.to_string())?;
        let orders = Arc::new(Orders::default());
        let sink = Arc::clone(&orders);
        let pipeline = WebhookPipeline::builder(
            hanpay.clone(),
            handler_fn(move |event: PaymentEvent| {
                let sink = Arc::clone(&sink);
                async move {
                    let order = event.order_id.clone().unwrap_or_default();
                    if let Ok(mut map) = sink.webhooks.lock() {
                        map.entry(order).or_default().push(AppliedWebhook { event });
                    }
                    sink.changed.notify_waiters();
                    Ok(())
                }
            }),
        )
        .build();
        let app: axum::Router = hanpay::axum::webhook_router(pipeline.clone()).layer(
            axum::middleware::from_fn_with_state(Arc::clone(&orders), keep_answered),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(Shop {
            hanpay,
            pipeline,
            orders,
            server,
            addr,
        })
    }

    /// Where the shop listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The last delivery answered 200.
    pub fn last_answered(&self) -> Option<Delivery> {
        self.orders.answered.lock().ok()?.last().cloned()
    }

    /// How many moves reached the handler, over all orders.
    pub fn handled(&self) -> usize {
        self.orders
            .webhooks
            .lock()
            .map(|m| m.values().map(Vec::len).sum())
            .unwrap_or(0)
    }

    /// How many deliveries the inbox counted for the event seen last (a duplicate counts an
    /// attempt and keeps the first processing's outcome).
    pub async fn last_attempts(&self) -> Option<u32> {
        let filter = hanpay::store::InboxFilter {
            limit: 1000,
            ..Default::default()
        };
        let entries = self.pipeline.events(&filter).await.ok()?;
        entries
            .iter()
            .max_by_key(|e| (e.last_seen, e.attempts))
            .map(|e| e.attempts)
    }

    /// Whether the shop's PG can do `capability`.
    pub fn supports(&self, capability: hanpay::core::Capability) -> bool {
        self.gateway().capabilities().contains(capability)
    }

    /// The PG this shop is configured for.
    pub fn provider(&self) -> String {
        self.hanpay.default_name().to_owned()
    }

    fn gateway(&self) -> Gateway {
        self.hanpay.gateway()
    }

    /// The success page: confirm what the customer authenticated, for the order's amount.
    pub async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<Payment, CheckoutError> {
        self.gateway()
            .checkout_confirm(&ConfirmRequest::new(payment_key, order_id, amount))
            .await
    }

    /// Issues a virtual account for an order.
    pub async fn issue_virtual_account(
        &self,
        order_id: &str,
        amount: Money,
        customer: &str,
    ) -> Result<Payment, PaymentError> {
        self.gateway()
            .issue_virtual_account(
                &VirtualAccountRequest::new(amount, order_id, "겨울 코트", customer, Bank::Shinhan)
                    .valid_hours(72),
            )
            .await
    }

    /// Refunds part of a payment.
    pub async fn refund_part(
        &self,
        payment_key: &str,
        amount: Money,
        reason: &str,
    ) -> Result<Payment, PaymentError> {
        self.gateway()
            .cancel(&CancelRequest::partial(payment_key, reason, amount))
            .await
    }

    /// Cancels the rest of a payment.
    pub async fn cancel(&self, payment_key: &str, reason: &str) -> Result<Payment, PaymentError> {
        self.gateway()
            .cancel(&CancelRequest::full(payment_key, reason))
            .await
    }

    /// Refunds a deposited virtual-account payment to the account the customer typed in. The
    /// request is checked against the payment before it is sent.
    pub async fn refund_to_account(
        &self,
        payment_key: &str,
        bank: Bank,
        number: &str,
        holder: &str,
    ) -> Result<Payment, PaymentError> {
        let account = RefundAccount::new(bank, number, holder)?;
        let gateway = self.gateway();
        let payment = gateway.payment(payment_key).await?;
        let request = CancelRequest::full(payment_key, "고객 환불 요청").refund_to(account);
        request.validate_against(&payment)?;
        gateway.cancel(&request).await
    }

    /// Looks a payment up.
    pub async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.gateway().payment(payment_key).await
    }

    /// Waits until a webhook for `order_id` with `action` has been applied.
    pub async fn wait_for(
        &self,
        order_id: &str,
        action: OrderAction,
        timeout: Duration,
    ) -> Result<PaymentEvent, String> {
        let wait = async {
            loop {
                let notified = self.orders.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(event) = self.find(order_id, action) {
                    return event;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| {
            let seen: Vec<String> = self
                .orders
                .webhooks
                .lock()
                .map(|m| {
                    m.get(order_id)
                        .map(|v| v.iter().map(|w| format!("{:?}", w.event.action)).collect())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            format!(
                "no webhook applied {action:?} to {order_id} within {timeout:?} (applied: {seen:?})"
            )
        })
    }

    /// Every event the handler applied to `order_id`, in order.
    pub fn applied(&self, order_id: &str) -> Vec<PaymentEvent> {
        self.orders
            .webhooks
            .lock()
            .map(|m| {
                m.get(order_id)
                    .map(|v| v.iter().map(|w| w.event.clone()).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    fn find(&self, order_id: &str, action: OrderAction) -> Option<PaymentEvent> {
        self.orders.webhooks.lock().ok().and_then(|m| {
            m.get(order_id).and_then(|v| {
                v.iter()
                    .find(|w| w.event.action == action)
                    .map(|w| w.event.clone())
            })
        })
    }
}
