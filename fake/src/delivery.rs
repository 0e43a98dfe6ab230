//! Signed webhook delivery with a PG's real redelivery schedule, scaled in time.
//!
//! The fake servers hand each event to a [`WebhookDispatcher`]: it POSTs the body to every
//! configured URL, asks the caller for fresh headers on each attempt (Toss bumps
//! `tosspayments-webhook-transmission-retried-count`; PortOne signs a fresh
//! `webhook-timestamp`), and — while the answer does not stop the PG's schedule — waits the
//! schedule's next delay divided by the [`TimeScale`] and tries again. Every attempt is
//! recorded in a [`DeliveryLog`] that tests can wait on without sleeping.
// DELIVERY-READY

use std::sync::atomic::{AtomicU64, Ordering};
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

/// How long the sender waits for a receiver before counting the attempt as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverTimeouts {
    /// To connect.
    pub connect: Duration,
    /// Between reads of the answer (from the request sent to the first byte, and after).
    pub read: Duration,
    /// For the whole attempt, if bounded.
    pub total: Option<Duration>,
}

impl ReceiverTimeouts {
    /// An answer within 10 seconds, all told (Toss's rule: "10초 이내로 200 응답"); the
    /// dispatcher's default. A PG with other timeouts says so in its fake.
    pub const fn within_10s() -> ReceiverTimeouts {
        ReceiverTimeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(10),
            total: Some(Duration::from_secs(10)),
        }
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
    /// The PG's (unscaled) delay before the next resend, jitter included; `None` when this
    /// attempt ended the delivery.
    pub next_delay: Option<Duration>,
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
    timeouts: ReceiverTimeouts,
    seed: Option<u64>,
    deliveries: Arc<AtomicU64>,
    log: DeliveryLog,
}

impl WebhookDispatcher {
    /// A dispatcher with the default timeouts ([`ReceiverTimeouts::within_10s`]: an answer within 10 s).
    pub fn new(scale: TimeScale) -> WebhookDispatcher {
        WebhookDispatcher::with_timeouts(scale, ReceiverTimeouts::within_10s())
    }

    /// A dispatcher that waits for receivers as long as `timeouts` says.
    pub fn with_timeouts(scale: TimeScale, timeouts: ReceiverTimeouts) -> WebhookDispatcher {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(total) = timeouts.total {
            builder = builder.timeout(total);
        }
        WebhookDispatcher {
            client: builder.build().unwrap_or_default(),
            scale,
            timeouts,
            seed: None,
            deliveries: Arc::new(AtomicU64::new(0)),
            log: DeliveryLog::default(),
        }
    }

    /// Draws jittered delays from a generator seeded with `seed` (mixed with the delivery's
    /// sequence number), so a jittered schedule is the same on every run. Without a seed,
    /// jitter is drawn from an unseeded generator.
    pub fn with_seed(mut self, seed: u64) -> WebhookDispatcher {
        self.seed = Some(seed);
        self
    }

    /// How long receivers are waited for.
    pub fn timeouts(&self) -> ReceiverTimeouts {
        self.timeouts
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
        // The sequence number is taken now, in dispatch order, so seeded jitter does not depend
        // on which task runs first.
        let sequence = self.deliveries.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move { this.deliver(delivery, sequence).await })
    }

    /// Delivers in the foreground (same rules as [`WebhookDispatcher::dispatch`]).
    pub async fn run(&self, delivery: Delivery) -> bool {
        let sequence = self.deliveries.fetch_add(1, Ordering::SeqCst);
        self.deliver(delivery, sequence).await
    }

    async fn deliver(&self, delivery: Delivery, sequence: u64) -> bool {
        let mut rng = match self.seed {
            Some(seed) => {
                fastrand::Rng::with_seed(seed ^ sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            }
            None => fastrand::Rng::new(),
        };
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
            let next_delay = if stopped {
                None
            } else {
                delivery.schedule.delay(attempt as usize, &mut rng)
            };
            self.log.push(Attempt {
                url: delivery.url.clone(),
                event: delivery.event.clone(),
                attempt,
                status,
                headers,
                sent_at,
                delivered,
                next_delay,
            });
            if stopped {
                return delivered;
            }
            let Some(delay) = next_delay else {
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

    // The schedules the dispatcher is tested with: Toss's and PortOne's (each fake has its own,
    // checked against its provider crate there).
    mod schedules {
        use std::time::Duration;

        use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop};

        const fn minutes(m: u64) -> Duration {
            Duration::from_secs(m * 60)
        }

        /// Toss Payments: 7 resends after 1, 4, 16, 64, 256, 1024 and 4096 minutes; only 200 stops it.
        pub fn toss() -> RedeliverySchedule {
            RedeliverySchedule::new(
                "tosspayments",
                [1, 4, 16, 64, 256, 1024, 4096]
                    .into_iter()
                    .map(minutes)
                    .collect(),
                false,
                RedeliveryStop::Only200,
            )
        }

        /// PortOne V2: 5 resends after at most 1, 4, 16, 64 and 256 minutes (full jitter); any 2xx
        /// stops it.
        pub fn portone_v2() -> RedeliverySchedule {
            RedeliverySchedule::new(
                "portone-v2",
                [1, 4, 16, 64, 256].into_iter().map(minutes).collect(),
                true,
                RedeliveryStop::Any2xx,
            )
        }

        /// PortOne V1: 5 resends one minute apart, only after a 5xx or a network error.
        pub fn portone_v1() -> RedeliverySchedule {
            RedeliverySchedule::new(
                "portone-v1",
                vec![minutes(1); 5],
                false,
                RedeliveryStop::Below500,
            )
        }
    }

    use axum::{extract::State, http::StatusCode, routing::post, Router};
    use hanpay_core::webhook::RedeliveryStop;

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
        let delivered = dispatcher.run(delivery(url, schedules::toss())).await;
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
        let handle = dispatcher.dispatch(delivery(url, schedules::portone_v1()));
        assert!(!handle.await.unwrap());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_resend() {
        let (url, hits) = receiver(vec![500; 10]).await;
        let dispatcher = WebhookDispatcher::new(TimeScale::speedup(600_000));
        let handle = dispatcher.dispatch(delivery(url, schedules::portone_v2()));
        let log = dispatcher.log().clone();
        let seen = log
            .wait_until(Duration::from_secs(10), |a| a.len() == 6)
            .await;
        assert_eq!(seen.len(), 6, "first attempt + 5 resends");
        assert!(!handle.await.unwrap());
        assert_eq!(hits.load(Ordering::SeqCst), 6);
    }

    /// A receiver that answers 200 after `delay`.
    async fn slow_receiver(delay: Duration) -> String {
        let app = Router::new().route(
            "/hook",
            post(move || async move {
                tokio::time::sleep(delay).await;
                StatusCode::OK
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    #[tokio::test]
    async fn the_read_timeout_bounds_each_attempt() {
        let timeouts = ReceiverTimeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_millis(500),
            total: None,
        };
        let one_try = RedeliverySchedule::new("one", Vec::new(), false, RedeliveryStop::Any2xx);
        let dispatcher = WebhookDispatcher::with_timeouts(TimeScale::default(), timeouts);
        assert_eq!(dispatcher.timeouts(), timeouts);
        let quick = slow_receiver(Duration::from_millis(10)).await;
        assert!(dispatcher.run(delivery(quick, one_try.clone())).await);
        let hung = slow_receiver(Duration::from_secs(3600)).await;
        assert!(!dispatcher.run(delivery(hung, one_try)).await);
        let attempts = dispatcher.log().attempts();
        assert_eq!(attempts[1].status, None, "timed out");
    }

    #[test]
    fn toss_waits_10_seconds() {
        // PortOne's 30 s: in its fake (`portone_waits_30_seconds`).
        assert_eq!(
            ReceiverTimeouts::within_10s().total,
            Some(Duration::from_secs(10))
        );
    }

    async fn jittered_delays(seed: u64) -> Vec<Duration> {
        let (url, _) = receiver(vec![500; 10]).await;
        let dispatcher = WebhookDispatcher::new(TimeScale::speedup(6_000_000)).with_seed(seed);
        assert!(!dispatcher.run(delivery(url, schedules::portone_v2())).await);
        dispatcher
            .log()
            .attempts()
            .iter()
            .filter_map(|a| a.next_delay)
            .collect()
    }

    #[tokio::test]
    async fn seeded_jitter_is_bounded_and_repeatable() {
        let a = jittered_delays(7).await;
        let nominal = schedules::portone_v2().delays().to_vec();
        assert_eq!(a.len(), nominal.len());
        assert!(a.iter().zip(&nominal).all(|(d, n)| d <= n));
        assert_ne!(a, nominal, "jittered");
        assert_eq!(a, jittered_delays(7).await, "same seed, same schedule");
        assert_ne!(a, jittered_delays(8).await);
    }
}
