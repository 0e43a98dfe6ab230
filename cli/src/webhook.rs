//! `hanpay webhook verify` (why was this webhook refused?) and `hanpay webhook send` (deliver a
//! realistic, signed event to a local endpoint, like `stripe trigger`).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use base64::Engine as _;
use hanpay::core::webhook::{hmac_sha256, StandardWebhooks};
use hanpay::core::{Secret, Trust, WebhookError, WebhookEvent, WebhookRequest, WebhookVerifier};
use hanpay::portone::webhook::payload::WebhookPayload as PortOnePayload;
use hanpay::portone::PortOneSettings;
use hanpay::portone::WebhookGeneration;
use hanpay::tosspayments::TossSettings;
use hanpay_testkit::fake_toss;
use http::{HeaderMap, HeaderName, HeaderValue};
use time::{OffsetDateTime, UtcOffset};

/// What `webhook verify` was given.
///
/// `Debug` is not derived: it holds secrets.
#[derive(Clone)]
pub struct VerifyInput {
    /// `tosspayments` or `portone`.
    pub provider: String,
    /// `--secret`: PortOne's Standard Webhooks secrets; for Toss, each is both a webhook secret
    /// (`TOSS_WEBHOOK_SECRET`) and a security key (`TOSS_SECURITY_KEY`), as `webhook send
    /// --secret` signs with both.
    pub secrets: Vec<String>,
    /// `--webhook-secret` (Toss): `TOSS_WEBHOOK_SECRET`, for `x-tosspayments-signature`.
    pub webhook_secrets: Vec<String>,
    /// `--security-key` (Toss): `TOSS_SECURITY_KEY`, for `tosspayments-webhook-signature`.
    pub security_keys: Vec<String>,
    /// `--portone-generation` (PortOne): V1 (iamport) or V2; `None` detects it from the body.
    pub portone_generation: Option<WebhookGeneration>,
    /// The sender's address; `None` skips the address check.
    pub peer: Option<IpAddr>,
    /// `Name: value` headers.
    pub headers: Vec<String>,
    /// The body file; `None` or `-` reads stdin.
    pub body_file: Option<PathBuf>,
    /// The clock, in Unix seconds.
    pub now: Option<i64>,
}

/// The result of a command: what to print and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Exit status.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Report {
    fn usage(message: impl Into<String>) -> Report {
        Report {
            code: 2,
            stdout: String::new(),
            stderr: format!("error: {}\n", message.into()),
        }
    }
}

fn parse_headers(lines: &[String]) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("--header {line:?}: expected 'Name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("--header {line:?}: invalid header name"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("--header {line:?}: invalid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn read_body(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).map_err(|e| format!("--body-file {}: {e}", path.display()))
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("reading the body from stdin: {e}"))?;
            Ok(body)
        }
    }
}

/// The verifier the `hanpay` facade builds for the same settings (its own construction,
/// each PG crate's settings type), with one difference said in a note: without `--peer` the sender's
/// address is not checked.
fn verifier(
    input: &VerifyInput,
    headers: &HeaderMap,
    body: &[u8],
    notes: &mut String,
) -> Result<Box<dyn WebhookVerifier>, String> {
    let secrets =
        |list: &[String]| -> Vec<Secret> { list.iter().map(|s| Secret::new(s.as_str())).collect() };
    match input.provider.as_str() {
        hanpay::TOSSPAYMENTS => {
            let config = TossSettings::webhooks_only(
                secrets(&[input.secrets.as_slice(), &input.webhook_secrets].concat()),
                secrets(&[input.secrets.as_slice(), &input.security_keys].concat()),
            );
            let mut builder = config.webhook_verifier_builder();
            if input.peer.is_none() {
                builder = builder.without_allowlist();
            }
            let verifier = TossSettings::build_verifier(builder).map_err(|e| e.to_string())?;
            Ok(Box::new(verifier))
        }
        hanpay::PORTONE => {
            if !input.webhook_secrets.is_empty() || !input.security_keys.is_empty() {
                return Err(
                    "--webhook-secret and --security-key are Toss settings; PortOne takes --secret"
                        .into(),
                );
            }
            let generation = input.portone_generation.unwrap_or_else(|| {
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
                match PortOnePayload::parse(body, content_type) {
                    Ok(PortOnePayload::V1(_)) => WebhookGeneration::V1,
                    _ => WebhookGeneration::V2,
                }
            });
            let mut webhook_secrets = secrets(&input.secrets);
            if generation == WebhookGeneration::V1 {
                notes.push_str(
                    "note: a PortOne V1 (iamport) webhook: checked against V1's sender addresses \
                     (52.78.100.19, 52.78.48.223, 52.78.5.241)\n",
                );
                if !webhook_secrets.is_empty() {
                    notes.push_str(
                        "note: PortOne V1 webhooks are not signed, so --secret is not used\n",
                    );
                    webhook_secrets.clear();
                }
            }
            let config = PortOneSettings::webhooks_only(webhook_secrets);
            let signed = !config.webhook_secrets.is_empty();
            let mut builder = config.webhook_verifier_builder().generation(generation);
            if input.peer.is_none() && signed {
                builder = builder.without_allowlist();
            }
            let verifier = PortOneSettings::build_verifier(builder).map_err(|e| e.to_string())?;
            Ok(Box::new(verifier))
        }
        other => Err(format!(
            "unknown provider {other:?}: use tosspayments or portone"
        )),
    }
}

/// Which check refused the webhook, and which setting it used.
fn failed_check(provider: &str, error: &WebhookError) -> String {
    let signature = |header: &str| {
        match header {
        hanpay::tosspayments::RELAY_SIGNATURE_HEADER => format!(
            "the {header} signature, with the webhook secret (TOSS_WEBHOOK_SECRET: --webhook-secret or --secret)"
        ),
        hanpay::tosspayments::SIGNATURE_HEADER
        | hanpay::tosspayments::TRANSMISSION_TIME_HEADER => {
            "the tosspayments-webhook-signature signature, with the security key (TOSS_SECURITY_KEY: --security-key or --secret)".to_owned()
        }
        "webhook-id" | "webhook-timestamp" | "webhook-signature" => format!(
            "the Standard Webhooks signature ({header}), with the webhook secret (PORTONE_WEBHOOK_SECRET: --secret)"
        ),
        other => format!("the {other} header"),
    }
    };
    match error {
        WebhookError::NoMatchingSignature { header, .. } => signature(header),
        WebhookError::MissingHeader(header)
        | WebhookError::MalformedHeader { name: header, .. } => signature(header),
        WebhookError::TimestampTooOld { .. } | WebhookError::TimestampTooNew { .. } => {
            if provider == hanpay::TOSSPAYMENTS {
                "the signed transmission time (tosspayments-webhook-transmission-time)".into()
            } else {
                "the signed timestamp (webhook-timestamp)".into()
            }
        }
        WebhookError::ForbiddenSource(_) | WebhookError::UnknownSource(_) => {
            "the sender's address, against the PG's published addresses (--peer)".into()
        }
        WebhookError::BodyTooLarge { .. } => "the body size".into(),
        WebhookError::MalformedPayload(_) => "the payload".into(),
        WebhookError::SecretMismatch => "the payment's secret carried in the payload".into(),
        WebhookError::InvalidSecret(_) => "the configured secrets".into(),
        _ => error.label().into(),
    }
}

/// Runs `hanpay webhook verify`.
pub fn verify(input: &VerifyInput) -> Report {
    let headers = match parse_headers(&input.headers) {
        Ok(h) => h,
        Err(e) => return Report::usage(e),
    };
    let body = match read_body(input.body_file.as_ref()) {
        Ok(b) => b,
        Err(e) => return Report::usage(e),
    };
    let now = match input.now {
        Some(secs) => match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) => t,
            Err(_) => return Report::usage(format!("--now {secs}: out of range")),
        },
        None => OffsetDateTime::now_utc(),
    };
    let mut notes = String::new();
    let verifier = match verifier(input, &headers, &body, &mut notes) {
        Ok(v) => v,
        Err(e) => return Report::usage(e),
    };
    let mut request = WebhookRequest::new(&headers, body).received_at(now);
    if let Some(ip) = input.peer {
        request = request.peer(SocketAddr::new(ip, 443));
    }
    if input.peer.is_none() {
        notes.push_str("note: no --peer given, so the sender's address was not checked\n");
    }
    if input.secrets.is_empty()
        && input.webhook_secrets.is_empty()
        && input.security_keys.is_empty()
    {
        notes.push_str("note: no --secret given, so no signature was checked\n");
    }

    match verifier.verify(&request) {
        Ok(event) => accepted(&event, notes),
        Err(error) => Report {
            code: 1,
            stdout: String::new(),
            stderr: format!(
                "{notes}rejected: {error}\n  failed check: {}\n  reason: {}\n  a receiver answers HTTP {}\n",
                failed_check(&input.provider, &error),
                error.label(),
                error.http_status()
            ),
        },
    }
}

fn accepted(event: &WebhookEvent, notes: String) -> Report {
    let json = serde_json::to_string_pretty(event).unwrap_or_else(|_| "{}".into());
    let advice = match &event.trust {
        Trust::Signed => "a signature over the raw body was verified".to_owned(),
        Trust::SharedSecret(_) => "the payload carries the payment's secret: compare it with the one \
             the confirm or virtual-account response returned (the hanpay pipeline does), then \
             fetch the payment before acting"
            .to_owned(),
        Trust::SourceAddress(ip) => format!(
            "only the sender's address ({ip}) was checked: fetch the payment from the PG before acting"
        ),
        Trust::Unverified => {
            "nothing was verified: fetch the payment from the PG before acting".to_owned()
        }
    };
    Report {
        code: 0,
        stdout: format!("{json}\n"),
        stderr: format!(
            "{notes}verified: trust {} ({advice})\n",
            event.trust.label()
        ),
    }
}

/// What `webhook send` was given. `Debug` is not derived: it holds the signing secret.
#[derive(Clone)]
pub struct SendInput {
    /// `tosspayments` or `portone`.
    pub provider: String,
    /// The event type.
    pub event: String,
    /// Where to POST.
    pub to: String,
    /// The signing secret.
    pub secret: Option<String>,
    /// The payment key / id.
    pub payment_id: Option<String>,
    /// The order id.
    pub order_id: Option<String>,
    /// The status the event announces.
    pub status: Option<String>,
    /// The amount in won.
    pub amount: i64,
}

/// A built event: headers and body.
#[derive(Debug, Clone)]
pub struct BuiltEvent {
    /// Headers to send.
    pub headers: HeaderMap,
    /// The exact body.
    pub body: String,
}

fn kst_now() -> OffsetDateTime {
    let offset = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(offset)
}

fn toss_time(t: OffsetDateTime, with_offset: bool) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if with_offset {
        format!("{base}+09:00")
    } else {
        format!("{base}.{:06}", t.microsecond())
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) -> Result<(), String> {
    let value = HeaderValue::from_str(value).map_err(|_| format!("invalid value for {name}"))?;
    headers.insert(HeaderName::from_static(name), value);
    Ok(())
}

/// Adds Toss's transmission headers to a body and, with a secret, both signatures.
fn toss_signed(
    mut headers: HeaderMap,
    body: String,
    suffix: &str,
    now: OffsetDateTime,
    secret: Option<&str>,
) -> Result<BuiltEvent, String> {
    let time = toss_time(now, true);
    insert(
        &mut headers,
        "tosspayments-webhook-transmission-id",
        &format!("wh_{suffix}"),
    )?;
    insert(
        &mut headers,
        "tosspayments-webhook-transmission-time",
        &time,
    )?;
    insert(
        &mut headers,
        "tosspayments-webhook-transmission-retried-count",
        "0",
    )?;
    if let Some(secret) = secret {
        let b64 = base64::engine::general_purpose::STANDARD;
        let toss = hmac_sha256(secret.as_bytes(), &[body.as_bytes(), b":", time.as_bytes()]);
        insert(
            &mut headers,
            "tosspayments-webhook-signature",
            &format!("v1:{}", b64.encode(toss)),
        )?;
        let relay = hmac_sha256(secret.as_bytes(), &[body.as_bytes()]);
        insert(&mut headers, "x-tosspayments-signature", &b64.encode(relay))?;
    }
    Ok(BuiltEvent { headers, body })
}

/// The PortOne transaction events `send` builds (2024-04-25 `type`s in PortOne's webhook
/// guide): `data` is `{storeId, paymentId, transactionId}` (plus `cancellationId` for the
/// cancel events, `totalAmount` for `Transaction.Confirm`).
const PORTONE_TRANSACTION_EVENTS: [&str; 11] = [
    "Transaction.Ready",
    "Transaction.Paid",
    "Transaction.VirtualAccountIssued",
    "Transaction.PartialCancelled",
    "Transaction.Cancelled",
    "Transaction.Failed",
    "Transaction.PayPending",
    "Transaction.CancelPending",
    "Transaction.Confirm",
    "Transaction.DisputeCreated",
    "Transaction.DisputeResolved",
];
/// Billing-key events: `data` is `{storeId, billingKey}`.
const PORTONE_BILLING_KEY_EVENTS: [&str; 5] = [
    "BillingKey.Ready",
    "BillingKey.Issued",
    "BillingKey.Failed",
    "BillingKey.Deleted",
    "BillingKey.Updated",
];

/// Builds the event as the PG would send it, signed when a secret is given.
pub fn build_event(input: &SendInput) -> Result<BuiltEvent, String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let order_id = input
        .order_id
        .clone()
        .unwrap_or_else(|| format!("order-{}", &suffix[..12]));
    let mut headers = HeaderMap::new();
    insert(&mut headers, "content-type", "application/json")?;
    match input.provider.as_str() {
        hanpay::TOSSPAYMENTS => {
            let payment_key = input
                .payment_id
                .clone()
                .unwrap_or_else(|| format!("tgen_{}", &suffix[..20]));
            let now = kst_now();
            let body = match input.event.as_str() {
                // The sandbox's own builder: `data` is the whole Payment object, as Toss sends
                // it (and as `hanpay sandbox` does).
                "PAYMENT_STATUS_CHANGED" => {
                    let status = input.status.as_deref().unwrap_or("DONE");
                    let payment = fake_toss::sample_payment(
                        &payment_key,
                        &order_id,
                        input.amount,
                        status,
                    )
                    .map_err(|e| format!("PAYMENT_STATUS_CHANGED: {}", e.message))?;
                    return toss_signed(
                        headers,
                        fake_toss::payment_status_changed_body(&payment),
                        &suffix,
                        now,
                        input.secret.as_deref(),
                    );
                }
                "DEPOSIT_CALLBACK" => serde_json::json!({
                    "createdAt": toss_time(now, false),
                    "secret": input.secret.clone().unwrap_or_else(|| format!("ps_{}", &suffix[..20])),
                    "status": input.status.clone().unwrap_or_else(|| "DONE".into()),
                    "transactionKey": suffix.to_uppercase(),
                    "orderId": order_id,
                }),
                "CANCEL_STATUS_CHANGED" => serde_json::json!({
                    "eventType": "CANCEL_STATUS_CHANGED",
                    "createdAt": toss_time(now, false),
                    "data": {
                        "paymentKey": payment_key,
                        "orderId": order_id,
                        "transactionKey": suffix.to_uppercase(),
                        "cancelStatus": input.status.clone().unwrap_or_else(|| "DONE".into()),
                        "cancelAmount": input.amount,
                    }
                }),
                other => {
                    return Err(format!(
                        "unknown Toss event {other:?}: PAYMENT_STATUS_CHANGED, DEPOSIT_CALLBACK or CANCEL_STATUS_CHANGED"
                    ))
                }
            }
            .to_string();
            let secret = input
                .secret
                .as_deref()
                .filter(|_| input.event != "DEPOSIT_CALLBACK");
            toss_signed(headers, body, &suffix, now, secret)
        }
        hanpay::PORTONE => {
            let payment_id = input.payment_id.clone().unwrap_or(order_id);
            let event = input.event.as_str();
            let store_id = "store-00000000-0000-0000-0000-000000000000";
            let data = if PORTONE_BILLING_KEY_EVENTS.contains(&event) {
                let billing_key = input
                    .payment_id
                    .clone()
                    .unwrap_or_else(|| format!("billing-key-{suffix}"));
                serde_json::json!({"storeId": store_id, "billingKey": billing_key})
            } else if PORTONE_TRANSACTION_EVENTS.contains(&event) {
                let mut data = serde_json::json!({
                    "storeId": store_id,
                    "paymentId": payment_id,
                    "transactionId": uuid::Uuid::new_v4().to_string(),
                });
                if event.contains("Cancel") {
                    data["cancellationId"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
                }
                if event == "Transaction.Confirm" {
                    data["totalAmount"] = serde_json::json!(input.amount);
                }
                data
            } else {
                return Err(format!(
                    "unknown PortOne event {event:?}: one of {}, {}",
                    PORTONE_TRANSACTION_EVENTS.join(", "),
                    PORTONE_BILLING_KEY_EVENTS.join(", ")
                ));
            };
            let now = OffsetDateTime::now_utc();
            let body = serde_json::json!({
                "type": input.event,
                "timestamp": now
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                "data": data,
            })
            .to_string();
            let id = format!("msg_{suffix}");
            let ts = now.unix_timestamp();
            insert(&mut headers, "webhook-id", &id)?;
            insert(&mut headers, "webhook-timestamp", &ts.to_string())?;
            if let Some(secret) = &input.secret {
                let signer = StandardWebhooks::new([secret.as_str()])
                    .map_err(|e| format!("--secret: {e} (PortOne secrets are whsec_ + base64)"))?;
                insert(
                    &mut headers,
                    "webhook-signature",
                    &signer.sign(&id, ts, body.as_bytes()),
                )?;
            }
            Ok(BuiltEvent { headers, body })
        }
        other => Err(format!(
            "unknown provider {other:?}: use tosspayments or portone"
        )),
    }
}

/// Runs `hanpay webhook send`.
pub async fn send(input: &SendInput) -> Report {
    let built = match build_event(input) {
        Ok(b) => b,
        Err(e) => return Report::usage(e),
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => return Report::usage(e.to_string()),
    };
    let mut out = format!("POST {}\n", input.to);
    for (name, value) in &built.headers {
        out.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
    }
    out.push_str(&format!("\n{}\n\n", built.body));
    match client
        .post(&input.to)
        .headers(built.headers.clone())
        .body(built.body.clone())
        .send()
        .await
    {
        Ok(answer) => {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            out.push_str(&format!("<- {status}\n{text}\n"));
            Report {
                code: if status.is_success() { 0 } else { 1 },
                stdout: out,
                stderr: if status.is_success() {
                    String::new()
                } else {
                    format!("the endpoint answered {status}: the PG would redeliver\n")
                },
            }
        }
        Err(e) => Report {
            code: 1,
            stdout: out,
            stderr: format!("could not deliver: {e}\n"),
        },
    }
}
