//! Health, readiness, metrics, OpenAPI, webhooks in, start-up refusals, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use super::{temp_dir, Harness};
use hanpay_server::config::ServeConfig;
use hanpay_server::Server;

#[tokio::test]
async fn health_readiness_and_the_openapi_document() {
    let h = Harness::start().await;
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", h.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(format!("{}/readyz", h.base)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    let served = reqwest::get(format!("{}/openapi.json", h.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, hanpay_server::openapi::document());

    // A request id is made and echoed, or kept when sent.
    let response = reqwest::get(format!("{}/healthz", h.base)).await.unwrap();
    assert!(response.headers().get("x-request-id").is_some());
    let response = h
        .http
        .get(format!("{}/healthz", h.base))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("x-request-id").unwrap(), "req-42");
}

#[tokio::test]
async fn readiness_fails_once_the_database_is_gone() {
    let h = Harness::start().await;
    h.server().hanpay().stores().close().await;
    let ready = reqwest::get(format!("{}/readyz", h.base)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
}

#[tokio::test]
async fn metrics_count_pg_calls_webhooks_and_requests() {
    let h = Harness::start().await;
    h.paid().await;
    let response = h
        .http
        .post(format!("{}/webhooks/tosspayments", h.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let text = reqwest::get(format!("{}/metrics", h.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("hanpay_pg_calls_total{")
            && l.contains("provider=\"tosspayments\"")
            && l.contains("operation=\"confirm\"")
            && l.contains("outcome=\"ok\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("hanpay_pg_call_duration_seconds_bucket{")
                && l.contains("operation=\"confirm\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("hanpay_webhooks_received_total{")
                && l.contains("provider=\"tosspayments\"")
                && l.contains("outcome=\"rejected\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("hanpay_http_requests_total{")
                && l.contains("route=\"/v1/payments/confirm\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
}

#[tokio::test]
async fn refuses_to_start_without_an_api_key_or_a_database() {
    let toss = hanpay::tosspayments::fake::FakeToss::start().await.unwrap();
    let portone = hanpay::sandbox::fake("portone")
        .unwrap()
        .start()
        .await
        .unwrap();
    let dir = temp_dir();
    let mut env = super::env_for(&toss, portone.as_ref(), &dir);
    env.remove("HANPAY_API_KEYS");
    let err = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap_err();
    assert!(err.contains("HANPAY_API_KEYS"), "{err}");

    env.insert("HANPAY_API_KEYS".into(), "short".into());
    let err = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap_err();
    assert!(
        err.contains("HANPAY_API_KEYS") && !err.contains("short"),
        "{err}"
    );

    env.insert("HANPAY_API_KEYS".into(), super::KEY.into());
    env.insert(
        "HANPAY_EVENTS_URL".into(),
        "http://127.0.0.1:9/events".into(),
    );
    let err = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap_err();
    assert!(err.contains("HANPAY_EVENTS_SECRET"), "{err}");
    env.insert("HANPAY_EVENTS_SECRET".into(), "not-whsec".into());
    let err = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap_err();
    assert!(
        err.contains("HANPAY_EVENTS_SECRET") && !err.contains("not-whsec"),
        "{err}"
    );
    env.insert(
        "HANPAY_EVENTS_SECRET".into(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    );
    let config = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("MfKQ9r8G") && !debug.contains(super::KEY),
        "{debug}"
    );

    env.insert(
        "HANPAY_DATABASE_URL".into(),
        "postgres://shop:hunter2@127.0.0.1:1/shop".into(),
    );
    let config = ServeConfig::load(None, |n| env.get(n).cloned()).unwrap();
    let err = Server::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_err();
    assert!(
        err.contains("HANPAY_DATABASE_URL") && !err.contains("hunter2"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    let mut h = Harness::start().await;
    let (key, order) = h.session(58_000);
    h.toss
        .delay_next(Duration::from_millis(300), 1, Some("/confirm"));
    let body = json!({"payment_key": key, "order_id": order, "amount": 58000});
    let server = h.server.take().unwrap();
    let request = h.post("/v1/payments/confirm", &body, None);
    let shutdown = async {
        // Once the PG has the confirm, the request is in flight in the server.
        tokio::time::timeout(
            Duration::from_secs(10),
            h.toss
                .wait_until(|t| t.requests().iter().any(|r| r.path.contains("/confirm"))),
        )
        .await
        .unwrap();
        server.shutdown().await
    };
    let ((status, answer), stopped) = tokio::join!(request, shutdown);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "PAID");
    stopped.unwrap();
}
