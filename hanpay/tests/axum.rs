//! `POST /webhooks/{provider}` through a real listener on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "axum", feature = "tosspayments"))]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hanpay::tosspayments::TossWebhookVerifier;
use hanpay::{
    handler_fn, Bank, Hanpay, Money, PaymentEvent, PaymentProvider, PaymentStatus,
    VirtualAccountRequest, WebhookPipeline,
};
use hanpay_testkit::mock::{MockProvider, MOCK_WEBHOOK_PATH};

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<PaymentEvent>>>,
    hanpay: Hanpay,
    mock: MockProvider,
    toss_mock: MockProvider,
}

async fn serve(trusted_proxies: &[&str]) -> Server {
    let mock = MockProvider::new();
    // A Toss-shaped provider: the real Toss verifier (Toss's published sender addresses) in
    // front of an in-memory PG that calls itself "tosspayments".
    let toss_mock = MockProvider::builder().id("tosspayments").build();
    let verifier = TossWebhookVerifier::builder()
        .trusted_proxies(trusted_proxies.iter().map(|p| p.parse().unwrap()))
        .build()
        .unwrap();
    let hanpay = Hanpay::builder()
        .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(mock.clone()))
        .provider_with_webhooks(Arc::new(toss_mock.clone()), Arc::new(verifier))
        .max_webhook_body_bytes(16 * 1024)
        .build()
        .unwrap();
    let seen: Arc<Mutex<Vec<PaymentEvent>>> = Arc::default();
    let sink = seen.clone();
    let pipeline = WebhookPipeline::builder(
        hanpay.clone(),
        handler_fn(move |event: PaymentEvent| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(event);
                Ok(())
            }
        }),
    )
    .build();
    let app: axum::Router = hanpay::axum::webhook_router(pipeline);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        seen,
        hanpay,
        mock,
        toss_mock,
    }
}

#[tokio::test]
async fn a_signed_webhook_is_processed_once_over_http() {
    let server = serve(&[]).await;
    let key = server
        .mock
        .authenticate_card("order-http-1", &Money::krw(58_000))
        .unwrap();
    server
        .hanpay
        .gateway()
        .confirm(&hanpay::ConfirmRequest::new(
            &key,
            "order-http-1",
            Money::krw(58_000),
        ))
        .await
        .unwrap();
    let webhook = server.mock.take_webhooks().remove(0);
    let client = reqwest::Client::new();
    // The mock's verifier checks timestamps against its own clock: send it now-ish.
    let send = || {
        let mut req = client
            .post(format!("{}{MOCK_WEBHOOK_PATH}", server.base))
            .body(webhook.body.clone());
        for (name, value) in &webhook.headers {
            req = req.header(name, value);
        }
        req.send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    let body: serde_json::Value = first.json().await.unwrap();
    assert_eq!(body["result"], "processed", "{body}");
    assert_eq!(body["new_status"], "PAID");
    let second: serde_json::Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(second["result"], "duplicate");
    assert_eq!(server.seen.lock().unwrap().len(), 1);

    let unknown = client
        .post(format!("{}/webhooks/kakaopay", server.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let get = client
        .get(format!("{}{MOCK_WEBHOOK_PATH}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn an_oversized_body_is_413_without_processing() {
    let server = serve(&[]).await;
    let client = reqwest::Client::new();
    let big = vec![b'{'; 64 * 1024];
    let resp = client
        .post(format!("{}{MOCK_WEBHOOK_PATH}", server.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Chunked, with no Content-Length: still capped while reading.
    let status = raw_chunked_post(&server.base, MOCK_WEBHOOK_PATH, 64, 1024).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(server.seen.lock().unwrap().is_empty());
}

/// Sends `chunks` chunks of `size` bytes with `Transfer-Encoding: chunked` and returns the
/// status line.
async fn raw_chunked_post(base: &str, path: &str, chunks: usize, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
    for _ in 0..chunks {
        // The server may close as soon as the cap is passed.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn deposit_callback_to(server: &Server, forwarded_for: &str) -> reqwest::Response {
    let va = server
        .hanpay
        .gateway_for("tosspayments")
        .unwrap()
        .issue_virtual_account(&VirtualAccountRequest::new(
            Money::krw(390_000),
            "order-xff-1",
            "지갑",
            "김토스",
            Bank::Daegu,
        ))
        .await
        .unwrap();
    server.toss_mock.deposit(&va.payment_key).unwrap();
    let secret = server
        .hanpay
        .secrets()
        .find(&va.provider, Some(&va.payment_key), None)
        .await
        .unwrap()
        .unwrap();
    let body = serde_json::json!({
        "createdAt": "2024-09-03T19:40:22.000000",
        "secret": secret.expose(),
        "status": "DONE",
        "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986",
        "orderId": "order-xff-1",
    });
    reqwest::Client::new()
        .post(format!("{}/webhooks/tosspayments", server.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_403() {
    let server = serve(&[]).await;
    // 13.124.18.147 is a Toss address, but the peer (127.0.0.1) is no trusted proxy.
    let resp = deposit_callback_to(&server, "13.124.18.147").await;
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "forbidden_source", "{body}");
    assert!(body["message"].as_str().unwrap().contains("127.0.0.1"));
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_is_honoured() {
    let server = serve(&["127.0.0.1/32"]).await;
    let resp = deposit_callback_to(&server, "13.124.18.147").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["result"], "processed", "{body}");
    {
        let seen = server.seen.lock().unwrap();
        assert_eq!(seen[0].new_status, PaymentStatus::Paid);
        assert_eq!(
            seen[0].action,
            hanpay::OrderAction::ConfirmVirtualAccountOrder
        );
    }
    // Through the same proxy, a non-Toss client address is refused.
    let server = serve(&["127.0.0.1/32"]).await;
    let resp = deposit_callback_to(&server, "203.0.113.9").await;
    assert_eq!(resp.status(), 403);
}
