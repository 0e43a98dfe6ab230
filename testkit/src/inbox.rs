//! [`WebhookInbox`]: a webhook receiver on `127.0.0.1:0` that keeps every delivery a fake PG
//! makes (exact headers, body and sender address) and answers 200, so the fake stops
//! redelivering. A test then plays the network itself: it hands the kept deliveries to the
//! pipeline late, out of order, twice, or not at all, as a real network would.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use hanpay_testkit::inbox::WebhookInbox;
//! let inbox = WebhookInbox::start().await?;
//! // Give a fake PG `inbox.url("<pg>")` as its webhook URL (e.g. FakePortOne's
//! // `.webhook_url(..)` in `hanpay-portone-fake`), let it pay, then:
//! let kept = inbox.wait_for(2, Duration::from_secs(5)).await; // Transaction.Ready, .Paid
//! # let _ = kept; Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hanpay_core::WebhookRequest;
use http::{HeaderMap, StatusCode};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One delivery the inbox received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `{name}` of `POST /inbox/{name}` (e.g. the provider).
    pub name: String,
    /// The headers as sent.
    pub headers: HeaderMap,
    /// The exact body.
    pub body: Bytes,
    /// The sender's address.
    pub peer: SocketAddr,
}

impl Received {
    /// The delivery as the pipeline would see it, received now from the same sender.
    pub fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest::new(&self.headers, self.body.clone()).peer(self.peer)
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<Received>> {
        self.received.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A loopback webhook receiver that keeps every delivery. Stops when dropped.
pub struct WebhookInbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for WebhookInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for WebhookInbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn keep(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    shared.lock().push(Received {
        name,
        headers,
        body,
        peer,
    });
    shared.changed.notify_waiters();
    StatusCode::OK
}

impl WebhookInbox {
    /// Binds `127.0.0.1:0` and starts keeping deliveries.
    pub async fn start() -> std::io::Result<WebhookInbox> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/inbox/{name}", post(keep))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::warn!(error = %e, "webhook inbox stopped");
            }
        });
        Ok(WebhookInbox { addr, shared, task })
    }

    /// The URL to configure as a fake's webhook URL: `http://127.0.0.1:<port>/inbox/{name}`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/inbox/{name}", self.addr)
    }

    /// How many deliveries were received so far.
    pub fn len(&self) -> usize {
        self.shared.lock().len()
    }

    /// `true` before the first delivery.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every delivery so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().clone()
    }

    /// Waits until at least `count` deliveries were received in all, or `timeout` passes;
    /// returns every delivery so far either way (check the count in the test).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() >= count {
                return self.received();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }

    /// [`wait_for`](Self::wait_for), each body read as JSON (`Value::Null` when it is not).
    pub async fn wait_for_json(&self, count: usize, timeout: Duration) -> Vec<serde_json::Value> {
        self.wait_for(count, timeout)
            .await
            .iter()
            .map(|d| serde_json::from_slice(&d.body).unwrap_or(serde_json::Value::Null))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn keeps_headers_body_and_sender() {
        let inbox = WebhookInbox::start().await.unwrap();
        assert!(inbox.is_empty());
        let status = reqwest::Client::new()
            .post(inbox.url("portone"))
            .header("webhook-id", "whk_1")
            .body("{\"a\":1}")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let kept = inbox.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].name, "portone");
        assert_eq!(kept[0].headers["webhook-id"], "whk_1");
        assert_eq!(&kept[0].body[..], b"{\"a\":1}");
        assert!(kept[0].peer.ip().is_loopback());
        let request = kept[0].request();
        assert_eq!(request.peer_ip(), Some(kept[0].peer.ip()));
        assert_eq!(request.header("webhook-id"), Some("whk_1"));
    }
}
