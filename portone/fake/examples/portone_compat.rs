//! Runs a client program against a [`FakePortOne`] it starts on `127.0.0.1:0`, for the
//! official-SDK compatibility check (`compat/run.sh`).
//!
//! ```text
//! cargo run -p hanpay-portone-fake --example portone_compat -- node compat/portone-js/run.mjs
//! ```
//!
//! The program gets the fake through its environment — `PORTONE_API_BASE_URL`,
//! `PORTONE_API_SECRET`, `PORTONE_STORE_ID`, `PORTONE_CHANNEL_KEY`, `PORTONE_WEBHOOK_SECRET`,
//! `PORTONE_BILLING_KEY` (registered) — plays the customer through the fake's `/__fake/…`
//! control API, and reads the webhooks the fake sent from `COMPAT_WEBHOOKS_URL`: a JSON array
//! of `{headers, body}`, exactly as received by a capturing endpoint the harness serves on its
//! own loopback port. The harness exits with the program's exit code (1 if it had to be killed
//! after the time limit).
#![forbid(unsafe_code)]

use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use hanpay_portone_fake::FakePortOne;
use serde_json::{json, Value};

/// The Standard Webhooks secret the fake signs with.
const WEBHOOK_SECRET: &str = "whsec_aGFucGF5LWNvbXBhdC1wb3J0b25lLXdoc2VjIQ==";
/// A billing key the fake knows.
const BILLING_KEY: &str = "billing-key-compat-0001";
/// How long the program may run.
const TIME_LIMIT: Duration = Duration::from_secs(90);

type Captured = Arc<Mutex<Vec<Value>>>;

async fn capture(State(seen): State<Captured>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_owned(), Value::String(value.to_owned())))
        })
        .collect();
    let entry = json!({"headers": headers, "body": String::from_utf8_lossy(&body)});
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(entry);
    StatusCode::OK
}

async fn captured(State(seen): State<Captured>) -> Json<Value> {
    let list = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Json(Value::Array(list))
}

#[tokio::main]
async fn main() -> ExitCode {
    let program: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, args)) = program.split_first() else {
        eprintln!("usage: portone_compat PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    match run(command, args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portone_compat: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(command: &str, args: &[String]) -> std::io::Result<ExitCode> {
    let seen: Captured = Arc::default();
    let app = Router::new()
        .route("/hook", post(capture))
        .route("/captured", get(captured))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let fake = FakePortOne::builder()
        .webhook_url(format!("{receiver}/hook"))
        .webhook_secret(WEBHOOK_SECRET)
        .start()
        .await?;
    fake.register_billing_key(BILLING_KEY);

    let mut child = tokio::process::Command::new(command)
        .args(args)
        .env("PORTONE_API_BASE_URL", fake.base_url())
        .env("PORTONE_API_SECRET", fake.api_secret())
        .env("PORTONE_STORE_ID", fake.store_id())
        .env("PORTONE_CHANNEL_KEY", fake.channel_key())
        .env("PORTONE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("PORTONE_BILLING_KEY", BILLING_KEY)
        .env("COMPAT_WEBHOOKS_URL", format!("{receiver}/captured"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start {command}: {e}")))?;
    match tokio::time::timeout(TIME_LIMIT, child.wait()).await {
        Ok(status) => {
            let code = status?.code().unwrap_or(1);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        Err(_) => {
            eprintln!(
                "portone_compat: {command} still running after {}s: killed",
                TIME_LIMIT.as_secs()
            );
            child.kill().await?;
            Ok(ExitCode::from(1))
        }
    }
}
