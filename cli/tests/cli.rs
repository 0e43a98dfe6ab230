//! The `hanpay` binary end to end: `webhook verify`, `webhook send`, `demo`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use hanpay::core::{WebhookRequest, WebhookVerifier};
use hanpay::portone::PortOneWebhookVerifier;
use hanpay::tosspayments::TossWebhookVerifier;

const BIN: &str = env!("CARGO_BIN_EXE_hanpay");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const PO_SECRET: &str = "whsec_pzQGE83cSIRKM4/WH5QY+g==";
const PO_BODY: &str = r#"{"type":"Transaction.Paid","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"example-payment-id","storeId":"store-ae356798-3d20-4969-b739-14c6b0e1a667","transactionId":"55451513-9763-4a7a-bb43-78a4c65be843"}}"#;

fn portone_verify(extra: &[&str], body: &str) -> Output {
    let mut args = vec![
        "webhook",
        "verify",
        "--provider",
        "portone",
        "--secret",
        PO_SECRET,
        "--header",
        "webhook-id: dummy-webhook-id",
        "--header",
        "webhook-timestamp: 1714039200",
    ];
    args.extend_from_slice(extra);
    run(&args, body.as_bytes())
}

#[test]
fn verify_accepts_portones_published_vector() {
    let out = portone_verify(
        &[
            "--header",
            "webhook-signature: v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=",
            "--now",
            "1714039230",
            "--peer",
            "52.78.5.241",
            "--body-file",
            "-",
        ],
        PO_BODY,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["trust"], "signed");
    assert_eq!(event["payment_key"], "example-payment-id");
    assert_eq!(event["dedupe_id"], "dummy-webhook-id");
    assert!(text(&out.stderr).contains("trust signed"));
}

#[test]
fn verify_explains_each_rejection() {
    let sig = "webhook-signature: v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=";
    // One space more in the body.
    let tampered = PO_BODY.replace(",\"data\"", ", \"data\"");
    let out = portone_verify(&["--header", sig, "--now", "1714039230"], &tampered);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no signature matched"), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");

    // Stale by 1000 s beyond the 300 s tolerance.
    let out = portone_verify(&["--header", sig, "--now", "1714040500"], PO_BODY);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("1300 s old"), "{err}");
    assert!(err.contains("by 1000 s"), "{err}");

    // Missing signature header.
    let out = portone_verify(&["--now", "1714039230"], PO_BODY);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing header webhook-signature"));

    // A sender that is not PortOne.
    let out = portone_verify(
        &[
            "--header",
            sig,
            "--now",
            "1714039230",
            "--peer",
            "203.0.113.7",
        ],
        PO_BODY,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("203.0.113.7 is not allowed"), "{err}");
    assert!(err.contains("HTTP 403"), "{err}");

    // Usage errors are exit 2.
    let out = run(
        &[
            "webhook",
            "verify",
            "--provider",
            "portone",
            "--header",
            "nocolon",
        ],
        b"{}",
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_toss_with_either_kind_of_secret() {
    let body = r#"{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2024-09-03T19:40:22.000000","data":{"paymentKey":"tgen_1","orderId":"order-0001","status":"DONE","totalAmount":58000,"balanceAmount":58000,"method":"카드"}}"#;
    let time = "2024-09-03T19:40:22+09:00";
    let now = "1725360030"; // 2024-09-03T10:40:30Z
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = "security-key-of-the-merchant";
    let toss = b64.encode(hanpay::core::webhook::hmac_sha256(
        key.as_bytes(),
        &[body.as_bytes(), b":", time.as_bytes()],
    ));
    let relay = b64.encode(hanpay::core::webhook::hmac_sha256(
        b"relay-secret",
        &[body.as_bytes()],
    ));
    let toss_header = format!("tosspayments-webhook-signature: v1:{toss}");
    let time_header = format!("tosspayments-webhook-transmission-time: {time}");
    let relay_header = format!("x-tosspayments-signature: {relay}");
    let base = [
        "webhook",
        "verify",
        "--provider",
        "tosspayments",
        "--now",
        now,
    ];

    let mut args = base.to_vec();
    args.extend_from_slice(&[
        "--secret",
        key,
        "--header",
        &toss_header,
        "--header",
        &time_header,
    ]);
    let out = run(&args, body.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut args = base.to_vec();
    args.extend_from_slice(&["--secret", "relay-secret", "--header", &relay_header]);
    let out = run(&args, body.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["status_hint"], "PAID");

    let mut args = base.to_vec();
    args.extend_from_slice(&[
        "--secret",
        "wrong",
        "--header",
        &toss_header,
        "--header",
        &time_header,
    ]);
    let out = run(&args, body.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no signature matched"));

    let mut args = base.to_vec();
    args.extend_from_slice(&["--secret", key, "--header", &toss_header]);
    let out = run(&args, body.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing header tosspayments-webhook-transmission-time"));
}

const TOSS_STATUS_BODY: &str = r#"{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2024-09-03T19:40:22.000000","data":{"paymentKey":"tgen_1","orderId":"order-0001","status":"DONE","totalAmount":58000,"balanceAmount":58000,"method":"카드"}}"#;

fn toss_verify(extra: &[&str]) -> Output {
    let mut args = vec![
        "webhook",
        "verify",
        "--provider",
        "tosspayments",
        "--now",
        "1725360030",
    ];
    args.extend_from_slice(extra);
    run(&args, TOSS_STATUS_BODY.as_bytes())
}

#[test]
fn verify_refuses_a_present_but_wrong_relay_signature_as_the_facade_does() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let wrong = b64.encode(hanpay::core::webhook::hmac_sha256(
        b"not-the-secret",
        &[TOSS_STATUS_BODY.as_bytes()],
    ));
    let header = format!("x-tosspayments-signature: {wrong}");
    // From one of Toss's addresses too: the address never excuses a wrong signature.
    for peer in [None, Some("13.124.18.147")] {
        for (secret_flag, secret) in [("--secret", "S"), ("--set", "webhook_secret=S")] {
            let mut args = vec![secret_flag, secret, "--header", &header];
            if let Some(p) = peer {
                args.extend_from_slice(&["--peer", p]);
            }
            let out = toss_verify(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{secret_flag} {peer:?}: {err}");
            assert!(
                err.contains("no signature matched in x-tosspayments-signature"),
                "{err}"
            );
            assert!(
                err.contains("failed check: the x-tosspayments-signature signature"),
                "{err}"
            );
            assert!(err.contains("TOSS_WEBHOOK_SECRET"), "{err}");
            assert!(err.contains("HTTP 401"), "{err}");
        }
    }
    // The library configured as the facade does for TOSS_WEBHOOK_SECRET=S says the same.
    let config = hanpay::tosspayments::TossSettings::webhooks_only(
        vec![hanpay::Secret::new("S")],
        Vec::new(),
    );
    let facade =
        hanpay::tosspayments::TossSettings::build_verifier(config.webhook_verifier_builder())
            .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-tosspayments-signature", wrong.parse().unwrap());
    let request = WebhookRequest::new(&headers, TOSS_STATUS_BODY.as_bytes().to_vec())
        .peer("13.124.18.147:443".parse().unwrap());
    assert_eq!(facade.verify(&request).unwrap_err().http_status(), 401);

    // A security key alone does not check the relay header, exactly like the facade with only
    // TOSS_SECURITY_KEY set: the event is admitted by its sender address.
    let out = toss_verify(&[
        "--set",
        "security_key=S",
        "--header",
        &header,
        "--peer",
        "13.124.18.147",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("trust source_address"));
}

#[test]
fn verify_refuses_repeated_signature_headers_for_every_pg() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let good = b64.encode(hanpay::core::webhook::hmac_sha256(
        b"relay-secret",
        &[TOSS_STATUS_BODY.as_bytes()],
    ));
    let junk = b64.encode([0u8; 32]);
    for (first, second) in [(&good, &junk), (&junk, &good)] {
        let h1 = format!("x-tosspayments-signature: {first}");
        let h2 = format!("x-tosspayments-signature: {second}");
        let out = toss_verify(&["--secret", "relay-secret", "--header", &h1, "--header", &h2]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("x-tosspayments-signature: sent more than once"),
            "{}",
            text(&out.stderr)
        );
    }
    let good = "webhook-signature: v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=";
    let junk = "webhook-signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for (first, second) in [(good, junk), (junk, good)] {
        let out = portone_verify(
            &["--header", first, "--header", second, "--now", "1714039230"],
            PO_BODY,
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("webhook-signature: sent more than once"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn verify_checks_portone_v1_webhooks_against_v1_senders() {
    let v1 = r#"{"imp_uid":"imp_1234567890","merchant_uid":"order-v1-0001","status":"paid"}"#;
    let verify_v1 = |extra: &[&str]| {
        let mut args = vec!["webhook", "verify", "--provider", "portone"];
        args.extend_from_slice(extra);
        run(&args, v1.as_bytes())
    };
    // Detected from the body.
    let out = verify_v1(&["--peer", "52.78.100.19"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["trust"], "source_address");
    assert_eq!(event["payment_key"], "order-v1-0001");
    assert!(text(&out.stderr).contains("PortOne V1"));
    // Named explicitly, with a (V2) secret that V1 webhooks cannot use.
    let out = verify_v1(&[
        "--set",
        "generation=v1",
        "--secret",
        PO_SECRET,
        "--peer",
        "52.78.48.223",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not signed"));
    // Not one of V1's senders.
    let out = verify_v1(&["--peer", "203.0.113.7"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("203.0.113.7 is not allowed"), "{err}");
    assert!(err.contains("failed check: the sender's address"), "{err}");
    // V2's sender list still applies to a V2 body.
    let out = portone_verify(
        &[
            "--header",
            "webhook-signature: v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=",
            "--now",
            "1714039230",
            "--peer",
            "52.78.100.19",
        ],
        PO_BODY,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

type Received = Arc<Mutex<Vec<String>>>;

/// A receiver that verifies with the real verifier and answers 200 or the refusal's status.
async fn receiver(verifier: Arc<dyn WebhookVerifier>) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request| {
                let verifier = verifier.clone();
                let log = log.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                    let req = WebhookRequest::new(&parts.headers, body).peer(peer);
                    match verifier.verify(&req) {
                        Ok(event) => {
                            log.lock().unwrap().push(format!("{:?}", event.kind));
                            StatusCode::OK
                        }
                        Err(e) => StatusCode::from_u16(e.http_status()).unwrap(),
                    }
                }
            },
        ),
    );
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
    (format!("http://{addr}/hook"), received)
}

async fn run_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs, b"")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn send_delivers_signed_events_to_a_local_receiver() {
    let portone = PortOneWebhookVerifier::builder()
        .secret(PO_SECRET)
        .allowlist(["127.0.0.1"])
        .build()
        .unwrap();
    let (url, received) = receiver(Arc::new(portone)).await;
    let out = run_async(args(&[
        "webhook",
        "send",
        "--provider",
        "portone",
        "--event",
        "Transaction.Paid",
        "--to",
        &url,
        "--secret",
        PO_SECRET,
        "--payment-id",
        "payment-0001",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("200 OK"));
    assert_eq!(received.lock().unwrap().len(), 1);

    // The wrong secret: the receiver refuses, the command says so and fails.
    let out = run_async(args(&[
        "webhook",
        "send",
        "--provider",
        "portone",
        "--event",
        "Transaction.Paid",
        "--to",
        &url,
        "--secret",
        "whsec_aGFucGF5LXNhbmRib3gtcG9ydG9uZS13aCE=",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("401"));
    assert_eq!(received.lock().unwrap().len(), 1);

    let toss = TossWebhookVerifier::builder()
        .security_key("merchant-security-key")
        .webhook_secret("merchant-security-key")
        .without_allowlist()
        .build()
        .unwrap();
    let (url, received) = receiver(Arc::new(toss)).await;
    for event in ["PAYMENT_STATUS_CHANGED", "CANCEL_STATUS_CHANGED"] {
        let out = run_async(args(&[
            "webhook",
            "send",
            "--provider",
            "tosspayments",
            "--event",
            event,
            "--to",
            &url,
            "--secret",
            "merchant-security-key",
            "--status",
            "CANCELED",
        ]))
        .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[test]
fn demo_runs_end_to_end() {
    let out = run(&["demo"], b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("58,000원"), "{stdout}");
    // Every registered PG, the same shop code: NICEPAY appears without the demo naming it.
    for pg in hanpay::plugins() {
        assert!(stdout.contains(&format!("── {} ──", pg.name())), "{stdout}");
    }
    assert!(stdout.contains("── NICEPAY ──"), "{stdout}");
    assert!(
        stdout.contains("looked the payment up, saw no cancellation, then retried"),
        "{stdout}"
    );
    assert!(
        stdout.contains("virtual accounts skipped: NICEPAY"),
        "{stdout}"
    );
    assert!(stdout.contains("refused before any PG call"), "{stdout}");
    assert!(stdout.contains("exactly one cancellation"), "{stdout}");
    // Toss's real trust levels: unsigned events admitted by sender and per-payment secret.
    assert!(
        stdout.contains("webhook PAYMENT_STATUS_CHANGED: unsigned, as Toss Payments sends it"),
        "{stdout}"
    );
    assert!(stdout.contains("webhook DEPOSIT_CALLBACK"), "{stdout}");
    assert!(
        stdout.contains(
            "shared secret matched the one saved when the virtual account was issued (compared in constant time)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("reconciled with the PG (it reports PAID)"),
        "{stdout}"
    );
    assert!(stdout.contains("webhook Transaction.Paid: signature over the raw body verified"));
    assert!(stdout.contains("all steps passed"), "{stdout}");
    assert!(!stdout.contains('✘'), "{stdout}");

    let out = run(&["demo", "--provider", "portone"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stdout).contains("── Toss Payments"));

    // An unknown PG lists the registered ones.
    let out = run(&["demo", "--provider", "paypal"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("tosspayments, portone, nicepay"), "{err}");
}

/// A running `hanpay sandbox` on random ports, and the banner it printed.
struct SandboxProcess {
    child: tokio::process::Child,
    banner: String,
}

impl SandboxProcess {
    async fn start(extra: &[&str]) -> SandboxProcess {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = tokio::process::Command::new(BIN)
            .args(["sandbox", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("Ctrl-C") {
                break;
            }
        }
        SandboxProcess { child, banner }
    }

    /// The value of `export NAME=…` in the banner.
    fn export(&self, name: &str) -> Option<String> {
        self.banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("export {name}=")))
            .map(str::to_owned)
    }
}

#[tokio::test]
async fn sandbox_serves_both_pgs_and_the_control_api() {
    let mut sandbox = SandboxProcess::start(&[]).await;
    let value = |name: &str| sandbox.export(name).unwrap();
    let portone = value("PORTONE_API_BASE_URL");
    let toss = value("TOSS_API_BASE_URL");
    // Toss's own path by default: the sender allowlist, no relay secret to expect.
    assert_eq!(value("TOSS_WEBHOOK_ALLOWLIST"), "127.0.0.1,::1");
    assert_eq!(value("PORTONE_WEBHOOK_ALLOWLIST"), "127.0.0.1,::1");
    assert!(
        sandbox.export("TOSS_WEBHOOK_SECRET").is_none(),
        "{}",
        sandbox.banner
    );
    assert!(sandbox.banner.contains("tosspayments.relay_secret"));
    // Every fake, NICEPAY included, without the sandbox naming it.
    assert_eq!(value("NICEPAY_WEBHOOK_ALLOWLIST"), "127.0.0.1,::1");
    assert!(value("NICEPAY_API_BASE_URL").starts_with("http://127.0.0.1:"));
    let client = reqwest::Client::new();
    let paid = client
        .post(format!("{portone}/__fake/payments/payment-0001/pay"))
        .json(&serde_json::json!({"amount": 58000}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let payment: serde_json::Value = client
        .get(format!("{portone}/payments/payment-0001"))
        .header(
            "authorization",
            format!("PortOne {}", value("PORTONE_API_SECRET")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(payment["status"], "PAID", "{payment}");
    assert_eq!(payment["amount"]["total"], 58000);
    let session: serde_json::Value = client
        .post(format!("{toss}/__fake/sessions"))
        .json(&serde_json::json!({"orderId": "order-0001", "amount": 58000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(session["paymentKey"].as_str().is_some(), "{session}");
    sandbox.child.kill().await.unwrap();
}

type Recorded = Arc<Mutex<Vec<(axum::http::HeaderMap, bytes::Bytes)>>>;

/// A receiver that records every delivery and answers 200.
async fn recorder() -> (String, Recorded, Arc<tokio::sync::Notify>) {
    let recorded: Recorded = Arc::default();
    let notify = Arc::new(tokio::sync::Notify::new());
    let (log, wake) = (recorded.clone(), notify.clone());
    let app = axum::Router::new().route(
        "/hook",
        post(move |request: Request| {
            let (log, wake) = (log.clone(), wake.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                log.lock().unwrap().push((parts.headers, body));
                wake.notify_waiters();
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), recorded, notify)
}

/// Confirms a card payment at the sandbox's Toss and returns the first PAYMENT_STATUS_CHANGED
/// the recorder got, with the payment's secret from the confirm response.
async fn toss_card_webhook(
    sandbox: &SandboxProcess,
    recorded: &Recorded,
    notify: &tokio::sync::Notify,
    order_id: &str,
) -> (axum::http::HeaderMap, bytes::Bytes, String) {
    let toss = sandbox.export("TOSS_API_BASE_URL").unwrap();
    let client = reqwest::Client::new();
    let session: serde_json::Value = client
        .post(format!("{toss}/__fake/sessions"))
        .json(&serde_json::json!({"orderId": order_id, "amount": 58000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:", sandbox.export("TOSS_SECRET_KEY").unwrap()));
    let paid: serde_json::Value = client
        .post(format!("{toss}/v1/payments/confirm"))
        .header("authorization", format!("Basic {basic}"))
        .json(&serde_json::json!({
            "paymentKey": session["paymentKey"], "orderId": order_id, "amount": 58000
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "DONE", "{paid}");
    let secret = paid["secret"].as_str().unwrap().to_owned();
    let wait = async {
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(hit) = recorded.lock().unwrap().first().cloned() {
                return hit;
            }
            notified.await;
        }
    };
    let (headers, body) = tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .expect("the sandbox delivered no webhook");
    (headers, body, secret)
}

#[tokio::test]
async fn sandbox_toss_webhooks_are_native_unless_relay_signing_is_asked_for() {
    // Native (the default): no signature header at all; the per-payment secret is the proof.
    let (url, recorded, notify) = recorder().await;
    let mut native =
        SandboxProcess::start(&["--webhook-url", &format!("tosspayments={url}")]).await;
    let (headers, body, secret) =
        toss_card_webhook(&native, &recorded, &notify, "order-native-1").await;
    assert!(headers.get("x-tosspayments-signature").is_none());
    assert!(headers.get("tosspayments-webhook-signature").is_none());
    assert!(headers
        .get("tosspayments-webhook-transmission-id")
        .is_some());
    let verifier = TossWebhookVerifier::builder()
        .without_allowlist()
        .build()
        .unwrap();
    let event = verifier
        .verify(&WebhookRequest::new(&headers, body))
        .unwrap();
    assert_eq!(event.trust.label(), "shared_secret");
    assert!(event
        .trust
        .matches_secret(&hanpay::core::Secret::new(secret)));
    native.child.kill().await.unwrap();

    // Relay-signed, as a relaying platform does: the banner exports the secret to verify with.
    let (url, recorded, notify) = recorder().await;
    let mut relay = SandboxProcess::start(&[
        "--webhook-url",
        &format!("tosspayments={url}"),
        "--option",
        "tosspayments.relay_secret=platform-relay-secret",
    ])
    .await;
    assert_eq!(
        relay.export("TOSS_WEBHOOK_SECRET").as_deref(),
        Some("platform-relay-secret")
    );
    let (headers, body, _) = toss_card_webhook(&relay, &recorded, &notify, "order-relay-1").await;
    assert!(headers.get("x-tosspayments-signature").is_some());
    let verifier = TossWebhookVerifier::builder()
        .webhook_secret("platform-relay-secret")
        .without_allowlist()
        .build()
        .unwrap();
    let event = verifier
        .verify(&WebhookRequest::new(&headers, body))
        .unwrap();
    assert_eq!(event.trust.label(), "signed");
    relay.child.kill().await.unwrap();
}

/// NICEPAY needs no CLI edit: `webhook verify` builds its verifier through the plugin's webhook
/// tool, from a body its fake signs (the signature field of the body).
#[test]
fn verify_nicepay_through_its_plugin() {
    let fake = hanpay::sandbox::fake("nicepay").unwrap();
    let sample = fake
        .sample_webhook(&hanpay_fake::sandbox::SampleEvent {
            event: "paid".into(),
            secret: Some("nice-secret-key".into()),
            amount: 15_000,
            ..Default::default()
        })
        .unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "webhook",
            "verify",
            "--provider",
            "nicepay",
            "--header",
            "content-type: application/json;charset=utf-8",
        ];
        args.extend_from_slice(extra);
        run(&args, sample.body.as_bytes())
    };
    let out = verify(&["--secret", "old-key", "--secret", "nice-secret-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["status_hint"], "PAID", "{event}");
    assert_eq!(event["trust"], "signed_without_status", "{event}");
    let err = text(&out.stderr);
    assert!(err.contains("not the status"), "{err}");

    let out = verify(&["--secret", "wrong-key"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("failed check: the signature (body field) signature"),
        "{err}"
    );
    assert!(err.contains("NICEPAY_SECRET_KEY"), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");

    // Not from NICEPAY's published senders.
    let out = verify(&["--secret", "nice-secret-key", "--peer", "203.0.113.7"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("HTTP 403"),
        "{}",
        text(&out.stderr)
    );

    // A setting NICEPAY does not have, and an unknown PG, are named.
    let out = verify(&["--secret", "k", "--set", "generation=v1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nicepay.generation"));
    let out = run(
        &["webhook", "verify", "--provider", "paypal", "--secret", "k"],
        b"{}",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tosspayments, portone, nicepay"),
        "{}",
        text(&out.stderr)
    );
}
