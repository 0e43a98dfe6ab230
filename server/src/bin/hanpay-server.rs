//! `hanpay-server [--listen ADDR] [--config FILE] [--print-openapi]`: the payment API over
//! HTTP, as `hanpay serve` (the same [`hanpay_server::run`]), without the CLI's sandbox and
//! demo tools.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// Serve the payment API over HTTP for any language: REST under /v1 (HANPAY_API_KEYS bearer
/// keys), POST /webhooks/{provider}, /healthz, /readyz, /metrics, /openapi.json. Reads the
/// library's configuration (HANPAY_DATABASE_URL, default sqlite://hanpay.db).
#[derive(Parser)]
#[command(name = "hanpay-server", version)]
struct Cli {
    #[command(flatten)]
    args: hanpay_server::Args,
}

#[tokio::main]
async fn main() -> ExitCode {
    hanpay_server::run(Cli::parse().args).await
}
