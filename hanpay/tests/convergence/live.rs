//! Every registered fake PG ([`hanpay::sandbox::fakes()`]) started as the sandbox
//! starts it, sending its webhooks to a [`WebhookInbox`]; a facade configured from the fakes'
//! sandbox variables as an operator would (signed webhooks where the PG signs them, sender
//! allowlists); the real pipeline; and a handler that records every event and can be told to
//! fail.
//!
//! The webhook state lives in the backend `HANPAY_MODEL_BACKEND` names: `memory` (the
//! default), `sqlite` (a temporary file) or `postgres` (a fresh database on the test server).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanpay::sandbox::fakes;
use hanpay::sandbox::kit::sandbox::{RunningFake, SandboxOptions};
use hanpay::{
    handler_fn, HandlerError, Hanpay, HanpayConfig, PaymentEvent, PaymentProvider, PaymentStatus,
    ProviderId, WebhookOutcome, WebhookPipeline,
};
use hanpay_store::suite::backends::{fresh, TestStores};
use hanpay_testkit::inbox::{Received, WebhookInbox};

/// What the handler saw, and a switch to make its next call fail.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<PaymentEvent>>,
    pub fail_next: AtomicBool,
    pub failures: AtomicUsize,
}

pub struct Live {
    pub inbox: WebhookInbox,
    /// Every registered fake, in the order of `fakes()`.
    pub fakes: Vec<Box<dyn RunningFake>>,
    pub hanpay: Hanpay,
    pub pipeline: WebhookPipeline,
    pub recorder: Arc<Recorder>,
    /// The backend's stores (kept so a temporary SQLite file lives as long as the test).
    _stores: TestStores,
    taken: usize,
}

/// Sandbox options a test sets on every fake that has them: cancels in quick succession are
/// allowed (the model cancels again at once).
const TEST_OPTIONS: &[(&str, &str)] = &[("consecutive_cancel_ms", "0")];

impl Live {
    pub async fn start() -> Live {
        let inbox = WebhookInbox::start().await.unwrap();
        let mut env: BTreeMap<&str, String> = BTreeMap::new();
        let mut started = Vec::new();
        for plugin in fakes() {
            let options = SandboxOptions {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                webhook_urls: vec![inbox.url(plugin.id())],
                time_scale: 1,
                options: TEST_OPTIONS
                    .iter()
                    .filter(|(name, _)| plugin.options().iter().any(|(n, _)| n == name))
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
            };
            let sandbox = plugin.start_sandbox(&options).await.unwrap();
            env.extend(sandbox.env);
            started.push(sandbox.fake);
        }
        // Any one PG is the default; every configured PG is reachable by name.
        env.insert("HANPAY_PROVIDER", started[0].id().to_owned());
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
        // A fake whose PG this build of the facade lacks (its feature off) is left out.
        started.retain(|fake| {
            let known = hanpay.gateway_for(fake.id()).is_ok();
            if !known {
                println!("{}: not compiled into this facade, left out", fake.id());
            }
            known
        });
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
            fakes: started,
            hanpay,
            pipeline,
            recorder,
            _stores: stores,
            taken: 0,
        }
    }

    /// The running fake of PG `id`.
    pub fn fake(&self, id: &str) -> &dyn RunningFake {
        self.fakes
            .iter()
            .find(|f| f.id() == id)
            .map(|f| f.as_ref())
            .unwrap_or_else(|| panic!("no fake {id}"))
    }

    /// The concrete fake `T` (for a PG-specific test).
    pub fn concrete<T: 'static>(&self, id: &str) -> &T {
        self.fake(id).as_any().downcast_ref::<T>().unwrap()
    }

    /// The webhooks the fakes sent since the last call, in the order the inbox received them
    /// (each fake counts a webhook when it sends it; this waits until all of them arrived).
    pub async fn new_deliveries(&mut self) -> Vec<Received> {
        let sent: usize = self.fakes.iter().map(|f| f.webhooks_sent()).sum();
        let received = self.inbox.wait_for(sent, Duration::from_secs(10)).await;
        assert_eq!(
            received.len(),
            sent,
            "the fakes' webhooks did not all arrive"
        );
        let new = received[self.taken..].to_vec();
        self.taken = received.len();
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

/// The PG's name of a delivery: PortOne's `type`, Toss's `eventType` (or `DEPOSIT_CALLBACK`),
/// NICEPAY's `status` (its webhook is the Payment object).
pub fn event_type(delivery: &Received) -> String {
    let body: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap_or_default();
    if let Some(kind) = body["type"].as_str().or_else(|| body["eventType"].as_str()) {
        return kind.to_owned();
    }
    match (body["tid"].as_str(), body["status"].as_str()) {
        (Some(_), Some(status)) => format!("status {status}"),
        _ => "DEPOSIT_CALLBACK".to_owned(),
    }
}
