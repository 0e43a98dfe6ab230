//! `hanpay webhook verify` (why was this webhook refused?) and `hanpay webhook send` (deliver a
//! realistic, signed event to a local endpoint, like `stripe trigger`).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use hanpay::core::plugin::{WebhookTool, WebhookToolInput};
use hanpay::core::{Secret, Trust, WebhookError, WebhookEvent, WebhookRequest};
use hanpay_fake::sandbox::{SampleEvent, SampleRequest};
use http::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

/// What `webhook verify` was given.
///
/// `Debug` is not derived: it holds secrets.
#[derive(Clone)]
pub struct VerifyInput {
    /// The PG's id (`tosspayments`, `portone`, `nicepay`, …: any registered plugin).
    pub provider: String,
    /// `--secret`: the PG's webhook secrets (the PG's plugin says which settings they are).
    pub secrets: Vec<String>,
    /// `--set key=value`: the PG's own webhook settings.
    pub settings: Vec<(String, String)>,
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

/// The registered plugin `id`, or an error listing them.
pub fn plugin(id: &str) -> Result<&'static hanpay::core::plugin::Plugin, String> {
    hanpay::plugin(id).ok_or_else(|| {
        format!(
            "unknown provider {id:?}: this hanpay has {}",
            hanpay::plugins()
                .iter()
                .map(|p| p.id())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Which check refused the webhook, and which setting it used.
fn failed_check(tool: &WebhookTool, error: &WebhookError) -> String {
    let signature = |header: &str| match tool.signature_settings.iter().find(|(h, _)| *h == header)
    {
        Some((_, setting)) => format!("the {header} signature, with {setting}"),
        None => format!("the {header} header"),
    };
    match error {
        WebhookError::NoMatchingSignature { header, .. } => signature(header),
        WebhookError::MissingHeader(header)
        | WebhookError::MalformedHeader { name: header, .. } => signature(header),
        WebhookError::TimestampTooOld { .. } | WebhookError::TimestampTooNew { .. } => {
            "the signed timestamp".into()
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
    let plugin = match plugin(&input.provider) {
        Ok(p) => p,
        Err(e) => return Report::usage(e),
    };
    let secrets: Vec<Secret> = input
        .secrets
        .iter()
        .map(|s| Secret::new(s.as_str()))
        .collect();
    let tool_input = WebhookToolInput::new(
        &secrets,
        &input.settings,
        input.peer.is_some(),
        &headers,
        &body,
    );
    let tool = match plugin.webhook_tool(&tool_input) {
        Some(Ok(tool)) => tool,
        Some(Err(e)) => return Report::usage(e.to_string()),
        None => {
            return Report::usage(format!(
                "{} has no webhook tool: verify through the hanpay facade instead",
                plugin.name()
            ))
        }
    };
    let mut notes: String = tool.notes.iter().map(|n| format!("note: {n}\n")).collect();
    let verifier = &tool.verifier;
    let mut request = WebhookRequest::new(&headers, body).received_at(now);
    if let Some(ip) = input.peer {
        request = request.peer(SocketAddr::new(ip, 443));
    }
    if input.peer.is_none() {
        notes.push_str("note: no --peer given, so the sender's address was not checked\n");
    }
    if input.secrets.is_empty() && input.settings.is_empty() {
        notes.push_str("note: no --secret given, so no signature was checked\n");
    }

    match verifier.verify(&request) {
        Ok(event) => accepted(&event, notes),
        Err(error) => Report {
            code: 1,
            stdout: String::new(),
            stderr: format!(
                "{notes}rejected: {error}\n  failed check: {}\n  reason: {}\n  a receiver answers HTTP {}\n",
                failed_check(&tool, &error),
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
        Trust::SignedWithoutStatus { sender } => format!(
            "the signature covers which payment this is, not its status{}: fetch the payment from \
             the PG before acting (the hanpay pipeline does)",
            sender
                .map(|ip| format!("; the sender ({ip}) is on the allowlist"))
                .unwrap_or_default()
        ),
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
    /// The PG to imitate (any fake in `hanpay::sandbox::fakes()`).
    pub provider: String,
    /// The event: the PG's own name, as its fake lists them.
    pub sample: SampleEvent,
    /// Where to POST.
    pub to: String,
}

/// Builds the event as the PG would send it, signed when a secret is given.
pub fn build_event(input: &SendInput) -> Result<SampleRequest, String> {
    let fake = hanpay::sandbox::fake(&input.provider).ok_or_else(|| {
        format!(
            "unknown provider {:?}: webhook send imitates {}",
            input.provider,
            hanpay::sandbox::fake_ids()
        )
    })?;
    fake.sample_webhook(&input.sample)
}

/// Every fake's events, for `webhook send --help`.
pub fn events_help() -> String {
    hanpay::sandbox::fakes()
        .iter()
        .map(|f| format!("{}: {}", f.id(), f.sample_events().join(" | ")))
        .collect::<Vec<_>>()
        .join("; ")
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
