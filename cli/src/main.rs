//! `hanpay`: a local PG sandbox, webhook tools and the end-to-end demo.
//!
//! ```text
//! hanpay demo [--provider tosspayments|portone|all]
//! hanpay sandbox [--toss-addr A] [--portone-addr A] [--webhook-url PROVIDER=URL]... [--time-scale N] [--toss-relay-secret S] [--toss-accept-any-key]
//! hanpay webhook verify --provider P [--secret S]... [--webhook-secret S]... [--security-key K]... [--portone-generation v1|v2] [--peer IP] [--header 'Name: value']... [--body-file F|-] [--now SECS]
//! hanpay webhook send --provider P --event E --to URL [--secret S] [--payment-id ID] [--order-id ID] [--status S]
//! hanpay db migrate                                   # HANPAY_DATABASE_URL
//! hanpay events list [--failed] [--provider P] [--since T]
//! hanpay events replay ID|--all-failed (--exec CMD | --no-handler)
//! hanpay events outbox [--failed] [--pending] [--limit N]   # events out (to HANPAY_EVENTS_URL)
//! hanpay events redeliver EVENT_ID
//! hanpay reconcile [--once] [--unchanged-for SECS] (--exec CMD | --no-handler)
//! ```
#![forbid(unsafe_code)]

mod demo;
mod events;
mod sandbox;
mod webhook;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// hanpay: one API for Korean PGs. Try it locally with no PG account.
///
/// The argument types deliberately do not derive `Debug`: they hold secrets (`--secret`,
/// `--toss-relay-secret`) that must never reach a log line.
#[derive(Parser)]
#[command(name = "hanpay", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole payment lifecycle against the built-in sandbox with an example shop.
    Demo {
        /// Which PG to run the shop against.
        #[arg(long, value_enum, default_value_t = DemoProvider::All)]
        provider: DemoProvider,
    },
    /// Run fake Toss Payments and PortOne servers for your app to talk to.
    Sandbox {
        /// Where the Toss sandbox listens.
        #[arg(long, default_value = sandbox::DEFAULT_TOSS_ADDR)]
        toss_addr: SocketAddr,
        /// Where the PortOne sandbox listens.
        #[arg(long, default_value = sandbox::DEFAULT_PORTONE_ADDR)]
        portone_addr: SocketAddr,
        /// Deliver PROVIDER's webhooks to URL (repeatable), e.g.
        /// tosspayments=http://127.0.0.1:3000/webhooks/tosspayments
        #[arg(long = "webhook-url", value_parser = parse_webhook_url)]
        webhook_urls: Vec<(String, String)>,
        /// Redelivery speed-up: each of the PG's delays is divided by this (1 = real time).
        #[arg(long, default_value_t = 60)]
        time_scale: u32,
        /// Sign Toss webhooks with x-tosspayments-signature using SECRET, as a platform that
        /// relays Toss events does. Without it, Toss webhooks are unsigned, as Toss sends them.
        #[arg(long, value_name = "SECRET")]
        toss_relay_secret: Option<String>,
        /// Accept any test_sk_ key at the Toss sandbox. By default only the printed
        /// TOSS_SECRET_KEY is accepted; another key gets 401 UNAUTHORIZED_KEY, as at Toss.
        #[arg(long)]
        toss_accept_any_key: bool,
    },
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// The database named by HANPAY_DATABASE_URL.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The inbox: every verified webhook delivery and what was done with it.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Re-fetch payments stuck in a waiting status from their PG and apply any change.
    Reconcile {
        /// One round, then exit.
        #[arg(long)]
        once: bool,
        /// Only payments unchanged for this many seconds.
        #[arg(long, default_value_t = 600)]
        unchanged_for: u64,
        #[command(flatten)]
        handler: HandlerArgs,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the embedded migrations.
    Migrate,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct HandlerArgs {
    /// Run CMD (through sh) for each applied move, the event as JSON on its standard input; a
    /// non-zero exit counts as a handler failure.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// Apply and print the moves without running any handler.
    #[arg(long)]
    no_handler: bool,
}

impl HandlerArgs {
    fn handler(self) -> events::Handler {
        match self.exec {
            Some(cmd) => events::Handler::Exec(cmd),
            None => events::Handler::PrintOnly,
        }
    }
}

#[derive(Subcommand)]
enum EventsCommand {
    /// List recorded deliveries, newest first.
    List {
        /// Only those whose last processing failed.
        #[arg(long)]
        failed: bool,
        /// Only this provider's.
        #[arg(long)]
        provider: Option<String>,
        /// Only those seen since T (RFC 3339, or an age: 30m, 24h, 7d).
        #[arg(long, value_parser = events::parse_since)]
        since: Option<time::OffsetDateTime>,
        /// At most N.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Process an event again from the PG's current state (re-fetched: the original
    /// signature has expired).
    Replay {
        /// The event's id (from `events list`).
        #[arg(required_unless_present = "all_failed")]
        id: Option<i64>,
        /// Every event whose last processing failed.
        #[arg(long, conflicts_with = "id")]
        all_failed: bool,
        #[command(flatten)]
        handler: HandlerArgs,
    },
    /// List the outbox: the events applied changes produced for the application, newest first.
    Outbox {
        /// Only those given up (kept until redelivered).
        #[arg(long, conflicts_with = "pending")]
        failed: bool,
        /// Only those not delivered yet.
        #[arg(long)]
        pending: bool,
        /// At most N.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send an outbox event again (same id), at the next round of the delivering worker.
    Redeliver {
        /// The event's id (`evt_…`, from `events outbox`).
        event_id: String,
    },
}

fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("error: {e}");
            if !e.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(1)
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DemoProvider {
    Tosspayments,
    Portone,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Provider {
    Tosspayments,
    Portone,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Tosspayments => hanpay::TOSSPAYMENTS,
            Provider::Portone => hanpay::PORTONE,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Generation {
    V1,
    V2,
}

impl Generation {
    fn portone(self) -> hanpay::portone::WebhookGeneration {
        match self {
            Generation::V1 => hanpay::portone::WebhookGeneration::V1,
            Generation::V2 => hanpay::portone::WebhookGeneration::V2,
        }
    }
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Verify a webhook as the PG sent it and print the event, or why it is refused.
    Verify {
        /// The PG that sent it.
        #[arg(long, value_enum)]
        provider: Provider,
        /// A secret (repeatable, for rotation). PortOne: a Standard Webhooks secret (whsec_…,
        /// PORTONE_WEBHOOK_SECRET). Toss: both the webhook secret and the security key, as
        /// `webhook send --secret` signs. The webhook is verified exactly as the hanpay facade
        /// verifies it with the same settings.
        #[arg(long = "secret")]
        secrets: Vec<String>,
        /// Toss: a webhook secret (TOSS_WEBHOOK_SECRET) for x-tosspayments-signature
        /// (repeatable). Once one is given, every webhook must carry a valid signature.
        #[arg(long = "webhook-secret")]
        webhook_secrets: Vec<String>,
        /// Toss: a security key (TOSS_SECURITY_KEY) for tosspayments-webhook-signature
        /// (repeatable).
        #[arg(long = "security-key")]
        security_keys: Vec<String>,
        /// PortOne: the generation that sent it, which picks the sender addresses (V1 iamport:
        /// 52.78.100.19, 52.78.48.223, 52.78.5.241; V2: 52.78.5.241). Default: detected from
        /// the body.
        #[arg(long, value_enum)]
        portone_generation: Option<Generation>,
        /// The sender's IP address, checked against the PG's published addresses.
        #[arg(long)]
        peer: Option<IpAddr>,
        /// A request header, 'Name: value' (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// The raw body file ('-' or absent: standard input).
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// The current time in Unix seconds (to check published vectors).
        #[arg(long)]
        now: Option<i64>,
    },
    /// Build a realistic event, sign it as the PG would, and POST it.
    Send {
        /// The PG to imitate.
        #[arg(long, value_enum)]
        provider: Provider,
        /// The event: Toss PAYMENT_STATUS_CHANGED | DEPOSIT_CALLBACK | CANCEL_STATUS_CHANGED;
        /// PortOne Transaction.Paid | Transaction.Cancelled | Transaction.VirtualAccountIssued |
        /// Transaction.DisputeCreated | BillingKey.Issued | BillingKey.Deleted | …
        #[arg(long)]
        event: String,
        /// The URL to POST to.
        #[arg(long)]
        to: String,
        /// The signing secret (Toss: security key and webhook secret; PortOne: whsec_…; for a
        /// DEPOSIT_CALLBACK, the payment's secret).
        #[arg(long)]
        secret: Option<String>,
        /// The payment key (Toss) or payment id (PortOne; the billing key for BillingKey.*).
        #[arg(long)]
        payment_id: Option<String>,
        /// The order id.
        #[arg(long)]
        order_id: Option<String>,
        /// The status the event announces (Toss: DONE, CANCELED, …).
        #[arg(long)]
        status: Option<String>,
        /// The amount, in won.
        #[arg(long, default_value_t = 58_000)]
        amount: i64,
    },
}

fn parse_webhook_url(text: &str) -> Result<(String, String), String> {
    let (provider, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected PROVIDER=URL"))?;
    let provider = provider.trim().to_ascii_lowercase();
    if provider != hanpay::TOSSPAYMENTS && provider != hanpay::PORTONE {
        return Err(format!(
            "{provider:?}: the provider is tosspayments or portone"
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    Ok((provider, url.to_owned()))
}

fn emit(report: &webhook::Report) -> ExitCode {
    let _ = std::io::stdout().write_all(report.stdout.as_bytes());
    let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    ExitCode::from(u8::try_from(report.code).unwrap_or(1))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { provider } => {
            let providers: &[&str] = match provider {
                DemoProvider::Tosspayments => &[hanpay::TOSSPAYMENTS],
                DemoProvider::Portone => &[hanpay::PORTONE],
                DemoProvider::All => &[hanpay::TOSSPAYMENTS, hanpay::PORTONE],
            };
            let code = demo::run(
                providers,
                Box::new(|line| {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                }),
            )
            .await;
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Sandbox {
            toss_addr,
            portone_addr,
            webhook_urls,
            time_scale,
            toss_relay_secret,
            toss_accept_any_key,
        } => {
            let options = sandbox::Options {
                toss_addr,
                portone_addr,
                webhook_urls,
                time_scale,
                toss_relay_secret,
                toss_accept_any_key,
            };
            let running = match sandbox::Sandbox::start(&options).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            };
            print!("{}", running.banner(&options));
            let _ = std::io::stdout().flush();
            let _ = tokio::signal::ctrl_c().await;
            drop(running);
            ExitCode::SUCCESS
        }
        Command::Db {
            command: DbCommand::Migrate,
        } => finish(events::migrate().await),
        Command::Events { command } => match command {
            EventsCommand::List {
                failed,
                provider,
                since,
                limit,
            } => finish(
                events::list(hanpay::store::InboxFilter {
                    failed_only: failed,
                    provider: provider.map(hanpay::ProviderId::new),
                    since,
                    limit,
                })
                .await,
            ),
            EventsCommand::Replay {
                id,
                all_failed: _,
                handler,
            } => finish(events::replay(id, handler.handler()).await),
            EventsCommand::Outbox {
                failed,
                pending,
                limit,
            } => finish(events::outbox(failed, pending, limit).await),
            EventsCommand::Redeliver { event_id } => finish(events::redeliver(&event_id).await),
        },
        Command::Reconcile {
            once,
            unchanged_for,
            handler,
        } => finish(
            events::reconcile(
                once,
                std::time::Duration::from_secs(unchanged_for),
                handler.handler(),
            )
            .await,
        ),
        Command::Webhook { command } => match command {
            WebhookCommand::Verify {
                provider,
                secrets,
                webhook_secrets,
                security_keys,
                portone_generation,
                peer,
                headers,
                body_file,
                now,
            } => emit(&webhook::verify(&webhook::VerifyInput {
                provider: provider.name().to_owned(),
                secrets,
                webhook_secrets,
                security_keys,
                portone_generation: portone_generation.map(Generation::portone),
                peer,
                headers,
                body_file,
                now,
            })),
            WebhookCommand::Send {
                provider,
                event,
                to,
                secret,
                payment_id,
                order_id,
                status,
                amount,
            } => emit(
                &webhook::send(&webhook::SendInput {
                    provider: provider.name().to_owned(),
                    event,
                    to,
                    secret,
                    payment_id,
                    order_id,
                    status,
                    amount,
                })
                .await,
            ),
        },
    }
}
