//! Both fake PGs sending their webhooks to a [`WebhookInbox`], a facade configured as an
//! operator would (signed PortOne webhooks, sender allowlists), the real pipeline, and a
//! handler that records every event and can be told to fail.
//!
//! The webhook state lives in the backend `HANPAY_MODEL_BACKEND` names: `memory` (the
//! default), `sqlite` (a temporary file) or `postgres` (a fresh database on the test server).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanpay::{
    handler_fn, HandlerError, Hanpay, HanpayConfig, PaymentEvent, PaymentProvider, PaymentStatus,
    ProviderId, WebhookOutcome, WebhookPipeline,
};
use hanpay_testkit::backends::{fresh, TestStores};
use hanpay_testkit::fake_portone::FakePortOne;
use hanpay_testkit::fake_toss::FakeToss;
use hanpay_testkit::inbox::{Received, WebhookInbox};

/// The Standard Webhooks secret PortOne signs with.
pub const PORTONE_WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// What the handler saw, and a switch to make its next call fail.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<PaymentEvent>>,
    pub fail_next: AtomicBool,
    pub failures: AtomicUsize,
}

pub struct Live {
    pub inbox: WebhookInbox,
    pub toss: FakeToss,
    pub portone: FakePortOne,
    pub hanpay: Hanpay,
    pub pipeline: WebhookPipeline,
    pub recorder: Arc<Recorder>,
    /// The backend's stores (kept so a temporary SQLite file lives as long as the test).
    _stores: TestStores,
    taken: usize,
}

impl Live {
    pub async fn start() -> Live {
        let inbox = WebhookInbox::start().await.unwrap();
        let toss = FakeToss::builder()
            .webhook_url(inbox.url("tosspayments"))
            .consecutive_cancel_window(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let portone = FakePortOne::builder()
            .webhook_url(inbox.url("portone"))
            .webhook_secret(PORTONE_WEBHOOK_SECRET)
            .start()
            .await
            .unwrap();
        let env: BTreeMap<&str, String> = [
            ("HANPAY_PROVIDER", "portone".to_owned()),
            ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
            ("TOSS_API_BASE_URL", toss.base_url()),
            ("TOSS_WEBHOOK_ALLOWLIST", "127.0.0.1/32".to_owned()),
            ("PORTONE_API_SECRET", portone.api_secret().to_owned()),
            ("PORTONE_STORE_ID", portone.store_id().to_owned()),
            ("PORTONE_CHANNEL_KEY", portone.channel_key().to_owned()),
            ("PORTONE_API_BASE_URL", portone.base_url()),
            ("PORTONE_WEBHOOK_SECRET", PORTONE_WEBHOOK_SECRET.to_owned()),
            ("PORTONE_WEBHOOK_ALLOWLIST", "127.0.0.1/32".to_owned()),
        ]
        .into_iter()
        .collect();
        let mut config = HanpayConfig::from_env_with(|name| env.get(name).cloned()).unwrap();
        let backend = match std::env::var("HANPAY_MODEL_BACKEND").as_deref() {
            Ok("sqlite") => hanpay::store::Backend::Sqlite,
            Ok("postgres") => hanpay::store::Backend::Postgres,
            Ok("memory") | Err(_) => hanpay::store::Backend::Memory,
            Ok(other) => panic!("HANPAY_MODEL_BACKEND={other}: memory, sqlite or postgres"),
        };
        let stores = fresh(backend).await;
        config.database_url = Some(stores.url.clone());
        let hanpay = Hanpay::open(&config).await.unwrap();
        let recorder = Arc::new(Recorder::default());
        let sink = Arc::clone(&recorder);
        let handler = handler_fn(move |event: PaymentEvent| {
            let sink = Arc::clone(&sink);
            async move {
                if sink.fail_next.swap(false, Ordering::SeqCst) {
                    sink.failures.fetch_add(1, Ordering::SeqCst);
                    return Err::<(), HandlerError>("order database unavailable".into());
                }
                sink.events.lock().unwrap().push(event);
                Ok(())
            }
        });
        let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
        Live {
            inbox,
            toss,
            portone,
            hanpay,
            pipeline,
            recorder,
            _stores: stores,
            taken: 0,
        }
    }

    /// The webhooks the fakes sent since the last call, in the order they were sent (each
    /// fake records a webhook when it sends it; this waits until all of them reached the
    /// inbox, which may receive them in any order).
    pub async fn new_deliveries(&mut self) -> Vec<Received> {
        let sent: Vec<String> = self
            .toss
            .sent_webhooks()
            .into_iter()
            .map(|w| w.transmission_id)
            .chain(self.portone.webhooks_sent().into_iter().map(|(id, _)| id))
            .collect();
        let received = self
            .inbox
            .wait_for(sent.len(), Duration::from_secs(10))
            .await;
        assert_eq!(
            received.len(),
            sent.len(),
            "the fakes' webhooks did not all arrive"
        );
        let mut new = received[self.taken..].to_vec();
        self.taken = received.len();
        new.sort_by_key(|d| {
            let id = d
                .headers
                .get("webhook-id")
                .or_else(|| d.headers.get("tosspayments-webhook-transmission-id"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            sent.iter().position(|s| s == id)
        });
        new
    }

    pub async fn deliver(&self, delivery: &Received) -> WebhookOutcome {
        self.pipeline
            .process(&delivery.name, &delivery.request())
            .await
    }

    /// The stored status.
    pub async fn stored(&self, provider: &str, payment_key: &str) -> Option<PaymentStatus> {
        self.hanpay
            .stores()
            .states
            .get(&ProviderId::new(provider), payment_key)
            .await
            .unwrap()
            .map(|s| s.status)
    }

    /// What the PG says now.
    pub async fn pg(&self, provider: &str, payment_key: &str) -> hanpay::Payment {
        self.hanpay
            .gateway_for(provider)
            .unwrap()
            .payment(payment_key)
            .await
            .unwrap()
    }

    pub fn events(&self) -> Vec<PaymentEvent> {
        self.recorder.events.lock().unwrap().clone()
    }
}

/// The `type` of a PortOne delivery, or the `eventType` of a Toss one.
pub fn event_type(delivery: &Received) -> String {
    let body: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap_or_default();
    body["type"]
        .as_str()
        .or_else(|| body["eventType"].as_str())
        .unwrap_or("DEPOSIT_CALLBACK")
        .to_owned()
}
