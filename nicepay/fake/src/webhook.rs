//! Webhook delivery as NICEPAY does it (reference §6.2): a `POST` of the Payment object with
//! `Content-type: application/json;charset=utf-8`, no signature header (the signature is in the
//! body), and success only for **HTTP 200 with body `OK`**. No automatic redelivery is
//! documented (resends are manual, from the console), so each event is sent once;
//! [`FakeNicePay::resend_webhook`](super::FakeNicePay::resend_webhook) plays the console's
//! 재전송 button.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

/// One delivery attempt and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWebhook {
    /// The URL.
    pub url: String,
    /// The exact body.
    pub body: Bytes,
    /// The HTTP status, `None` after a network error or timeout.
    pub status: Option<u16>,
    /// The answer's body (lossy UTF-8).
    pub answer: String,
    /// `true` when NICEPAY would count it received: HTTP 200 and body `OK`.
    pub delivered: bool,
}

#[derive(Debug, Default)]
struct Inner {
    sent: Mutex<Vec<SentWebhook>>,
    /// Attempts started (counted before the answer).
    started: std::sync::atomic::AtomicUsize,
    changed: Notify,
}

/// Sends webhooks and keeps every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    client: reqwest::Client,
    targets: Arc<Vec<String>>,
    inner: Arc<Inner>,
}

impl Outbox {
    pub(crate) fn new(targets: Vec<String>) -> Outbox {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Outbox {
            client,
            targets: Arc::new(targets),
            inner: Arc::default(),
        }
    }

    /// Sends `body` to every target in the background.
    pub(crate) fn send(&self, body: Bytes) {
        for url in self.targets.iter() {
            self.inner
                .started
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let this = self.clone();
            let url = url.clone();
            let body = body.clone();
            tokio::spawn(async move { this.deliver(url, body).await });
        }
    }

    async fn deliver(&self, url: String, body: Bytes) {
        let answer = self
            .client
            .post(&url)
            .header("content-type", "application/json;charset=utf-8")
            .body(body.clone())
            .send()
            .await;
        let (status, text) = match answer {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp
                    .bytes()
                    .await
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                (Some(status), text)
            }
            Err(_) => (None, String::new()),
        };
        let delivered = status == Some(200) && text.trim() == "OK";
        if let Ok(mut list) = self.inner.sent.lock() {
            list.push(SentWebhook {
                url,
                body,
                status,
                answer: text,
                delivered,
            });
        }
        self.inner.changed.notify_waiters();
    }

    /// How many attempts were started (answered or not).
    pub(crate) fn started(&self) -> usize {
        self.inner.started.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn sent(&self) -> Vec<SentWebhook> {
        self.inner
            .sent
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `count` attempts were made, or `timeout` passes.
    pub(crate) async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<SentWebhook> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sent = self.sent();
            if sent.len() >= count {
                return sent;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.sent();
            }
        }
    }
}
