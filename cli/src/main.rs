//! `hanpay`: a local PG sandbox, webhook tools and the end-to-end demo.
//!
//! ```text
//! hanpay demo [--provider P|all]                     # P: any registered PG
//! hanpay demo --browser [--shop-addr A]              # checkout in the browser
//! hanpay sandbox [--addr [P=]ADDR]... [--webhook-url P=URL]... [--time-scale N] [--option P.NAME=VALUE]...
//! hanpay webhook verify --provider P [--secret S]... [--set KEY=VALUE]... [--peer IP] [--header 'Name: value']... [--body-file F|-] [--now SECS]
//! hanpay webhook send --provider P --event E --to URL [--secret S] [--payment-id ID] [--order-id ID] [--status S]
//! hanpay db migrate                                   # HANPAY_DATABASE_URL
//! hanpay events list [--failed] [--provider P] [--since T]
//! hanpay events replay ID|--all-failed (--exec CMD | --no-handler)
//! hanpay events outbox [--failed] [--pending] [--limit N]   # events out (to HANPAY_EVENTS_URL)
//! hanpay events redeliver EVENT_ID
//! hanpay reconcile [--once] [--unchanged-for SECS] (--exec CMD | --no-handler)
//! hanpay serve [--listen ADDR] [--config FILE] [--print-openapi]   # HANPAY_API_KEYS, …
//! ```
#![forbid(unsafe_code)]

mod browser_demo;
mod demo;
mod events;
mod sandbox;
mod webhook;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// hanpay: one API for Korean PGs. Try it locally with no PG account.
///
/// The argument types deliberately do not derive `Debug`: they hold secrets (`--secret`,
/// `--option tosspayments.relay_secret=…`) that must never reach a log line.
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
        /// Which PG to run the shop against (any registered PG with a fake), or all.
        #[arg(long, default_value = "all")]
        provider: String,
        /// Serve a one-page shop to click through checkout in a browser instead.
        #[arg(long)]
        browser: bool,
        /// Where the browser shop listens (with --browser).
        #[arg(long, default_value = "127.0.0.1:8700")]
        shop_addr: SocketAddr,
    },
    /// Run a fake of every registered PG for your app to talk to.
    #[command(after_help = sandbox_help())]
    Sandbox {
        /// Where PROVIDER's fake listens, PROVIDER=ADDR (repeatable); a bare ADDR applies to
        /// every fake (127.0.0.1:0: each on a free port). Default: 127.0.0.1 and the fake's own
        /// port (listed below).
        #[arg(long = "addr", value_parser = parse_addr)]
        addrs: Vec<(Option<String>, SocketAddr)>,
        /// Deliver PROVIDER's webhooks to URL (repeatable), e.g.
        /// tosspayments=http://127.0.0.1:3000/webhooks/tosspayments
        #[arg(long = "webhook-url", value_parser = parse_webhook_url)]
        webhook_urls: Vec<(String, String)>,
        /// Redelivery speed-up: each of the PG's delays is divided by this (1 = real time).
        #[arg(long, default_value_t = 60)]
        time_scale: u32,
        /// A fake's own option, PROVIDER.NAME=VALUE (repeatable; listed below).
        #[arg(long = "option", value_parser = parse_option)]
        options: Vec<(String, String, String)>,
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
    /// Serve the payment API over HTTP for any language: REST under /v1 (HANPAY_API_KEYS
    /// bearer keys), POST /webhooks/{provider}, /healthz, /readyz, /metrics, /openapi.json.
    /// Reads the library's configuration (HANPAY_DATABASE_URL, default sqlite://hanpay.db).
    Serve(hanpay_server::Args),
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

fn sandbox_help() -> String {
    format!("Fakes and their options:\n{}", sandbox::Options::help())
}

fn send_help() -> String {
    format!("Events per PG: {}", webhook::events_help())
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Verify a webhook as the PG sent it and print the event, or why it is refused.
    Verify {
        /// The PG that sent it (any registered PG).
        #[arg(long)]
        provider: String,
        /// A webhook secret (repeatable, for rotation), as the PG's plugin reads it: PortOne a
        /// Standard Webhooks secret (whsec_…); Toss both the webhook secret and the security
        /// key, as `webhook send --secret` signs; NICEPAY the secret key. The webhook is
        /// verified exactly as the hanpay facade verifies it with the same settings.
        #[arg(long = "secret")]
        secrets: Vec<String>,
        /// One of the PG's own webhook settings, KEY=VALUE (repeatable): Toss webhook_secret=…
        /// or security_key=… (one kind of secret only); PortOne generation=v1|v2 (default:
        /// detected from the body).
        #[arg(long = "set", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
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
    #[command(after_help = send_help())]
    Send {
        /// The PG to imitate (any PG with a fake).
        #[arg(long)]
        provider: String,
        /// The event, in the PG's own terms (listed below).
        #[arg(long)]
        event: String,
        /// The URL to POST to.
        #[arg(long)]
        to: String,
        /// The signing secret (Toss: security key and webhook secret, or for a DEPOSIT_CALLBACK
        /// the payment's secret; PortOne: whsec_…; NICEPAY: the secret key).
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
    sandbox::check_provider(&provider, "--webhook-url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    Ok((provider, url.to_owned()))
}

fn parse_addr(text: &str) -> Result<(Option<String>, SocketAddr), String> {
    let (provider, addr) = match text.split_once('=') {
        Some((p, a)) => (Some(p.trim().to_ascii_lowercase()), a),
        None => (None, text),
    };
    if let Some(p) = &provider {
        sandbox::check_provider(p, "--addr")?;
    }
    let addr = addr
        .trim()
        .parse()
        .map_err(|_| format!("{addr:?} is not an address such as 127.0.0.1:8701"))?;
    Ok((provider, addr))
}

fn parse_option(text: &str) -> Result<(String, String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected PROVIDER.NAME=VALUE"))?;
    let (provider, name) = key
        .split_once('.')
        .ok_or_else(|| format!("{key:?}: expected PROVIDER.NAME"))?;
    Ok((
        provider.trim().to_ascii_lowercase(),
        name.trim().to_owned(),
        value.to_owned(),
    ))
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| {
        format!(
            "--set {key:?}: expected KEY=VALUE",
            key = text.split('=').next().unwrap_or("")
        )
    })?;
    Ok((key.trim().to_owned(), value.to_owned()))
}

fn emit(report: &webhook::Report) -> ExitCode {
    let _ = std::io::stdout().write_all(report.stdout.as_bytes());
    let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    ExitCode::from(u8::try_from(report.code).unwrap_or(1))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve(args) = cli.command {
        // serve installs its own subscriber: JSON logs and the metrics layer.
        return hanpay_server::run(args).await;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(_) => ExitCode::SUCCESS,
        Command::Demo {
            browser: true,
            shop_addr,
            ..
        } => ExitCode::from(u8::try_from(browser_demo::run(shop_addr).await).unwrap_or(1)),
        Command::Demo { provider, .. } => {
            let providers = match demo::providers(&provider) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let code = demo::run(
                &providers,
                Box::new(|line| {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                }),
            )
            .await;
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Sandbox {
            addrs,
            webhook_urls,
            time_scale,
            options,
        } => {
            let options = sandbox::Options {
                addrs,
                webhook_urls,
                time_scale,
                options,
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
                settings,
                peer,
                headers,
                body_file,
                now,
            } => emit(&webhook::verify(&webhook::VerifyInput {
                provider: provider.trim().to_ascii_lowercase(),
                secrets,
                settings,
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
                    provider: provider.trim().to_ascii_lowercase(),
                    sample: hanpay_fake::sandbox::SampleEvent {
                        event,
                        secret,
                        payment_id,
                        order_id,
                        status,
                        amount,
                    },
                    to,
                })
                .await,
            ),
        },
    }
}
