//! Signed webhook delivery with a PG's real redelivery schedule, scaled in time.
//!
//! The fake servers hand each event to a [`WebhookDispatcher`]: it POSTs the body to every
//! configured URL, asks the caller for fresh headers on each attempt (Toss bumps
//! `tosspayments-webhook-transmission-retried-count`; PortOne signs a fresh
//! `webhook-timestamp`), and — while the answer does not stop the PG's schedule — waits the
//! schedule's next delay divided by the [`TimeScale`] and tries again. Every attempt is
//! recorded in a [`DeliveryLog`] that tests can wait on without sleeping.
// DELIVERY-READY

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hanpay_core::webhook::RedeliverySchedule;
use http::HeaderMap;
use tokio::sync::Notify;

/// How much faster than real time redeliveries happen: every delay is divided by the factor.
///
/// `TimeScale::real()` keeps the PG's minutes; `TimeScale::speedup(60_000)` turns a minute
/// into a millisecond, so a test sees Toss's whole 7-resend schedule in under six seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeScale(u32);

impl TimeScale {
    /// Real time.
    pub const fn real() -> TimeScale {
        TimeScale(1)
    }

    /// Every delay divided by `factor` (0 is treated as 1).
    pub const fn speedup(factor: u32) -> TimeScale {
        TimeScale(if factor == 0 { 1 } else { factor })
    }

    /// The factor.
    pub const fn factor(self) -> u32 {
        self.0
    }

    /// `delay` scaled.
    pub fn scale(self, delay: Duration) -> Duration {
        delay / self.0
    }
}

impl Default for TimeScale {
    /// A minute becomes a millisecond.
    fn default() -> Self {
        TimeScale::speedup(60_000)
    }
}

/// Builds the headers of one attempt. Called with the attempt number (0 = the first
/// delivery, 1 = the first resend, …).
pub type HeaderBuilder = Arc<dyn Fn(u32) -> HeaderMap + Send + Sync>;

/// One webhook to deliver to one URL.
#[derive(Clone)]
pub struct Delivery {
    /// Where to POST.
    pub url: String,
    /// The exact body bytes.
    pub body: Bytes,
    /// A label for the log (`"PAYMENT_STATUS_CHANGED"`, `"Transaction.Paid"`).
    pub event: String,
    /// The PG's redelivery schedule.
    pub schedule: RedeliverySchedule,
    /// Fresh headers for each attempt.
    pub headers: HeaderBuilder,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("url", &self.url)
            .field("event", &self.event)
            .field("body_len", &self.body.len())
            .field("schedule", &self.schedule.name())
            .finish()
    }
}

/// What one attempt got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The URL.
    pub url: String,
    /// The event label.
    pub event: String,
    /// 0 for the first delivery, then 1, 2, … for resends.
    pub attempt: u32,
    /// The HTTP status, or `None` after a network error or timeout.
    pub status: Option<u16>,
    /// The headers that were sent.
    pub headers: HeaderMap,
    /// When it was sent.
    pub sent_at: Instant,
    /// `true` when this answer ended the delivery successfully.
    pub delivered: bool,
}

/// Every attempt made by a dispatcher, in order; tests wait on it instead of sleeping.
#[derive(Debug, Clone, Default)]
pub struct DeliveryLog {
    inner: Arc<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    attempts: Mutex<Vec<Attempt>>,
    changed: Notify,
}

impl DeliveryLog {
    fn push(&self, attempt: Attempt) {
        if let Ok(mut list) = self.inner.attempts.lock() {
            list.push(attempt);
        }
        self.inner.changed.notify_waiters();
    }

    /// A copy of every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.inner
            .attempts
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Waits until `predicate` holds for the attempts so far, or `timeout` passes; returns the
    /// attempts either way (check the predicate's condition in the test).
    pub async fn wait_until<F>(&self, timeout: Duration, mut predicate: F) -> Vec<Attempt>
    where
        F: FnMut(&[Attempt]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let snapshot = self.attempts();
            if predicate(&snapshot) {
                return snapshot;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.attempts();
            }
        }
    }
}

/// Delivers webhooks on a PG's schedule.
#[derive(Debug, Clone)]
pub struct WebhookDispatcher {
    client: reqwest::Client,
    scale: TimeScale,
    log: DeliveryLog,
}

impl WebhookDispatcher {
    /// A dispatcher with a 10-second per-attempt timeout (Toss asks for an answer within 10 s).
    pub fn new(scale: TimeScale) -> WebhookDispatcher {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        WebhookDispatcher {
            client,
            scale,
            log: DeliveryLog::default(),
        }
    }

    /// The time scale.
    pub fn scale(&self) -> TimeScale {
        self.scale
    }

    /// The log of attempts.
    pub fn log(&self) -> &DeliveryLog {
        &self.log
    }

    /// Starts delivering in the background; the task ends when an answer stops the schedule
    /// or the resends run out. Returns whether it was delivered.
    pub fn dispatch(&self, delivery: Delivery) -> tokio::task::JoinHandle<bool> {
        let this = self.clone();
        tokio::spawn(async move { this.run(delivery).await })
    }

    /// Delivers in the foreground (same rules as [`WebhookDispatcher::dispatch`]).
    pub async fn run(&self, delivery: Delivery) -> bool {
        let mut rng = fastrand::Rng::new();
        let mut attempt: u32 = 0;
        loop {
            let headers = (delivery.headers)(attempt);
            let sent_at = Instant::now();
            let status = self
                .client
                .post(&delivery.url)
                .headers(headers.clone())
                .body(delivery.body.clone())
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            // PortOne V1 also stops on a 4xx: that ends the delivery without success.
            let stopped = status.is_some_and(|s| delivery.schedule.stops_on(s));
            let delivered = stopped && status.is_some_and(|s| (200..300).contains(&s));
            self.log.push(Attempt {
                url: delivery.url.clone(),
                event: delivery.event.clone(),
                attempt,
                status,
                headers,
                sent_at,
                delivered,
            });
            if stopped {
                return delivered;
            }
            let Some(delay) = delivery.schedule.delay(attempt as usize, &mut rng) else {
                return false;
            };
            tokio::time::sleep(self.scale.scale(delay)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::{extract::State, http::StatusCode, routing::post, Router};

    async fn receiver(answers: Vec<u16>) -> (String, Arc<AtomicU32>) {
        let hits = Arc::new(AtomicU32::new(0));
        let state = (hits.clone(), Arc::new(answers));
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State((hits, answers)): State<(Arc<AtomicU32>, Arc<Vec<u16>>)>| async move {
                        let n = hits.fetch_add(1, Ordering::SeqCst) as usize;
                        let code = answers.get(n).copied().unwrap_or(200);
                        StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook"), hits)
    }

    fn delivery(url: String, schedule: RedeliverySchedule) -> Delivery {
        Delivery {
            url,
            body: Bytes::from_static(b"{}"),
            event: "TEST".into(),
            schedule,
            headers: Arc::new(|attempt| {
                let mut h = HeaderMap::new();
                h.insert("x-attempt", attempt.into());
                h
            }),
        }
    }

    #[tokio::test]
    async fn toss_schedule_redelivers_until_200() {
        let (url, hits) = receiver(vec![500, 201, 200]).await;
        let dispatcher = WebhookDispatcher::new(TimeScale::speedup(60_000));
        let delivered = dispatcher
            .run(delivery(url, RedeliverySchedule::toss()))
            .await;
        assert!(delivered);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        let attempts = dispatcher.log().attempts();
        assert_eq!(
            attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
            vec![Some(500), Some(201), Some(200)]
        );
        assert_eq!(attempts[2].headers["x-attempt"], "2");
        // 1 min and 4 min, scaled to 1 ms and 4 ms: the gaps grow.
        let gap1 = attempts[1].sent_at - attempts[0].sent_at;
        let gap2 = attempts[2].sent_at - attempts[1].sent_at;
        assert!(gap1 >= Duration::from_millis(1));
        assert!(gap2 >= Duration::from_millis(4));
    }

    #[tokio::test]
    async fn portone_v1_stops_on_4xx_without_success() {
        let (url, hits) = receiver(vec![503, 404]).await;
        let dispatcher = WebhookDispatcher::new(TimeScale::default());
        let handle = dispatcher.dispatch(delivery(url, RedeliverySchedule::portone_v1()));
        assert!(!handle.await.unwrap());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_resend() {
        let (url, hits) = receiver(vec![500; 10]).await;
        let dispatcher = WebhookDispatcher::new(TimeScale::speedup(600_000));
        let handle = dispatcher.dispatch(delivery(url, RedeliverySchedule::portone_v2()));
        let log = dispatcher.log().clone();
        let seen = log
            .wait_until(Duration::from_secs(10), |a| a.len() == 6)
            .await;
        assert_eq!(seen.len(), 6, "first attempt + 5 resends");
        assert!(!handle.await.unwrap());
        assert_eq!(hits.load(Ordering::SeqCst), 6);
    }
}
