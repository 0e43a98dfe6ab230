//! `hanpay serve` over real HTTP, in process on 127.0.0.1:0, against the fake PGs and a
//! temporary SQLite file, through the crate's public API ([`Server::start_tuned`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod events;
mod fuzz;
mod hardening;
mod openapi;
mod ops;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hanpay::tosspayments::fake::FakeToss;
use hanpay_fake::sandbox::RunningFake;
use serde_json::Value;

use hanpay_server::config::ServeConfig;
use hanpay_server::Server;

/// The first key of `HANPAY_API_KEYS`, sent by the harness.
pub const KEY: &str = "test-api-key-0123456789abcdef";
/// The second key of `HANPAY_API_KEYS` (a rotation).
pub const OTHER_KEY: &str = "rotated-api-key-0123456789abcdef";

/// A server on a temporary SQLite file, with FakeToss (the default PG) and FakePortOne.
pub struct Harness {
    /// The server (taken by the shutdown test).
    pub server: Option<Server>,
    /// The fake Toss Payments, the default PG.
    pub toss: FakeToss,
    /// The fake PortOne.
    pub _portone: Box<dyn RunningFake>,
    /// `http://ADDR` of the server.
    pub base: String,
    /// The client the requests go through.
    pub http: reqwest::Client,
    /// The temporary directory of the SQLite file, removed on drop.
    pub dir: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh temporary directory.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hanpay-serve-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The server's environment: the fakes' variables, Toss as the default PG, SQLite in `dir`,
/// both API keys.
pub fn env_for(
    toss: &FakeToss,
    portone: &dyn RunningFake,
    dir: &std::path::Path,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in RunningFake::env(toss).into_iter().chain(portone.env()) {
        env.insert(k.to_owned(), v);
    }
    env.insert("HANPAY_PROVIDER".into(), "tosspayments".into());
    env.insert(
        "HANPAY_DATABASE_URL".into(),
        format!("sqlite://{}", dir.join("hanpay.db").display()),
    );
    env.insert("HANPAY_API_KEYS".into(), format!("{KEY},{OTHER_KEY}"));
    env
}

impl Harness {
    /// A server with the default environment.
    pub async fn start() -> Harness {
        Harness::start_with(&[], |worker| worker).await
    }

    /// A server with `extra` variables (`HANPAY_EVENTS_URL`, …) and its outbox worker tuned.
    pub async fn start_with(
        extra: &[(&str, String)],
        tune: fn(hanpay::outbox::OutboxWorkerBuilder) -> hanpay::outbox::OutboxWorkerBuilder,
    ) -> Harness {
        hanpay_server::telemetry::init(false);
        let toss = FakeToss::builder()
            .consecutive_cancel_window(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let portone = hanpay::sandbox::fake("portone")
            .unwrap()
            .start()
            .await
            .unwrap();
        let dir = temp_dir();
        let mut env = env_for(&toss, portone.as_ref(), &dir);
        for (k, v) in extra {
            env.insert((*k).to_owned(), v.clone());
        }
        let config = ServeConfig::load(None, |name| env.get(name).cloned()).unwrap();
        let server = Server::start_tuned(config, SocketAddr::from(([127, 0, 0, 1], 0)), tune)
            .await
            .unwrap();
        let base = format!("http://{}", server.addr());
        Harness {
            server: Some(server),
            toss,
            _portone: portone,
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
        }
    }

    /// The running server.
    pub fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// A POST with the API key and, when given, an idempotency key.
    pub async fn post(&self, path: &str, body: &Value, idempotency: Option<&str>) -> (u16, Value) {
        self.post_raw(path, body.to_string(), idempotency).await
    }

    /// A POST of `body` as it is, with the API key and, when given, an idempotency key.
    pub async fn post_raw(
        &self,
        path: &str,
        body: String,
        idempotency: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = idempotency {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A GET with the API key.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The API requests the fake Toss received whose path contains `part`.
    pub fn toss_calls(&self, part: &str) -> usize {
        self.toss
            .requests()
            .iter()
            .filter(|r| r.path.contains(part))
            .count()
    }

    /// An authenticated card session of `amount` won for a fresh order.
    pub fn session(&self, amount: i64) -> (String, String) {
        let order = format!("order-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let key = self
            .toss
            .create_session(
                &order,
                amount,
                hanpay::tosspayments::fake::SessionMethod::Card,
            )
            .unwrap();
        (key, order)
    }

    /// Confirms a fresh 58,000원 payment and returns its key.
    pub async fn paid(&self) -> String {
        let (key, order) = self.session(58_000);
        let (status, body) = self
            .post(
                "/v1/payments/confirm",
                &serde_json::json!({"payment_key": key, "order_id": order, "amount": 58000}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        key
    }
}
