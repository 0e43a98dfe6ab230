//! hanpay's HTTP service (`hanpay serve`): every capability of the facade over HTTP, for
//! platforms not written in Rust.
//!
//! - `/v1/…` REST API ([`api`]), bearer keys ([`auth`]), `Idempotency-Key` ([`idempotency`]),
//!   errors ([`error`]);
//! - `POST /webhooks/{provider}` ([`webhooks`]);
//! - events out: with `HANPAY_EVENTS_URL`, every applied change (a webhook, or a confirm or
//!   cancel through the API) is written to the outbox in the state change's transaction and
//!   delivered signed with Standard Webhooks by [`hanpay::outbox::OutboxWorker`], spawned here;
//!   `POST /v1/events/{id}/redeliver` ([`api::events`]) re-sends a given-up event;
//! - `GET /healthz`, `GET /readyz` ([`ops`]), `GET /metrics` ([`metrics`]),
//!   `GET /openapi.json` ([`openapi`]);
//! - JSON logs with a request id ([`telemetry`]); graceful shutdown on SIGTERM or Ctrl-C:
//!   the listener closes, in-flight requests finish, background workers stop, the database
//!   pools close.
//!
//! Three ways in: [`run`] is the whole command (the `hanpay serve` subcommand of the `hanpay`
//! CLI and the `hanpay-server` binary of this crate both call it); [`Server::start`] serves a
//! [`ServeConfig`] on an address until [`Server::shutdown`]; [`app`] is
//! the bare [`Router`], to embed in an application's own axum server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! use hanpay_server::{config::ServeConfig, Server};
//!
//! let config = ServeConfig::load(None, |name| std::env::var(name).ok())?;
//! let server = Server::start(config, "127.0.0.1:8080".parse().map_err(|_| "address")?).await?;
//! println!("listening on http://{}", server.addr());
//! server.shutdown().await
//! # }
//! ```
//!
//! The crate's normal dependencies hold no test code: its tests (`tests/serve/`) run it against
//! the PG fakes of `hanpay-testkit`, a dev-dependency.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod telemetry;
pub mod webhooks;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hanpay::outbox::{OutboxWorker, OutboxWorkerBuilder};
use hanpay::{handler_fn, Hanpay, PaymentEvent, WebhookPipeline};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::util::MapRequestLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use self::config::ServeConfig;

/// The command's arguments (`hanpay serve`, `hanpay-server`): a `clap` argument group, to
/// flatten into a command.
#[derive(Clone, clap::Args)]
pub struct Args {
    /// Where to listen.
    #[arg(long, env = "HANPAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A TOML configuration file (environment variables override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the OpenAPI 3.1 document and exit.
    #[arg(long)]
    pub print_openapi: bool,
}

/// Runs `hanpay serve` until SIGTERM or Ctrl-C: installs its logging (JSON on standard output)
/// and metrics, reads the configuration (`config`, then the environment), starts the
/// [`Server`] and prints `hanpay serve listening on http://ADDR` to standard error. Exit
/// status 2 for a refused configuration or start, 1 for a failed shutdown.
pub async fn run(args: Args) -> ExitCode {
    if args.print_openapi {
        print!("{}", openapi::document());
        return ExitCode::SUCCESS;
    }
    telemetry::init(true);
    let config = match ServeConfig::load(args.config.as_deref(), |name| std::env::var(name).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(config, args.listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(addr = %server.addr(), "hanpay serve listening");
    eprintln!("hanpay serve listening on http://{}", server.addr());
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    hanpay: Hanpay,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The webhook handler: the pipeline has applied the move to the state store by the time it
/// runs. (The outbox turns these into the application's events.)
fn webhook_handler() -> impl hanpay::WebhookHandler {
    handler_fn(|event: PaymentEvent| async move {
        tracing::info!(
            provider = %event.provider,
            payment_key = %event.payment_key,
            new_status = %event.new_status,
            "payment event applied"
        );
        Ok(())
    })
}

/// The API's two checks as one middleware (one layer fewer to go through per request): the
/// key first ([`auth::require_key`]), then the idempotency key ([`idempotency::layer`]).
async fn guard_api(
    State((keys, store)): State<(auth::ApiKeys, idempotency::Store)>,
    request: Request,
    next: Next,
) -> Response {
    match keys.authorize(request.headers()) {
        Ok(()) => idempotency::layer(State(store), request, next).await,
        Err(refused) => refused.into_response(),
    }
}

/// The whole HTTP surface. `events` is the outbox worker, when events are delivered.
pub fn app(
    hanpay: &Hanpay,
    pipeline: WebhookPipeline,
    events: Option<OutboxWorker>,
    keys: auth::ApiKeys,
) -> Router {
    let store: idempotency::Store = Arc::clone(&hanpay.stores().idempotency);
    let outbox = pipeline.outbox();
    let api = api::router(api::ApiState {
        hanpay: hanpay.clone(),
        pipeline: pipeline.clone(),
        events: events.clone(),
    })
    .layer(from_fn_with_state((keys, store), guard_api));
    let ops = Router::from(ops::routes().with_state(hanpay.clone()));
    Router::new()
        .merge(api)
        .merge(webhooks::router(pipeline, events))
        .merge(ops)
        .route(
            "/metrics",
            get(move || {
                let outbox = Arc::clone(&outbox);
                async move {
                    metrics::outbox_depth(outbox.as_ref()).await;
                    metrics::render().await
                }
            }),
        )
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    openapi::document(),
                )
            }),
        )
        .route_layer(metrics::CountRequestsLayer)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(MapRequestLayer::new(
            telemetry::sanitized::<axum::body::Body>,
        ))
}

impl Server {
    /// Opens the database (migrating it), builds every configured PG, binds `listen` and
    /// serves. Fails naming the setting: an unreachable database, a refused PG key, an address
    /// in use.
    pub async fn start(config: ServeConfig, listen: SocketAddr) -> Result<Server, String> {
        Server::start_tuned(config, listen, |worker| worker).await
    }

    /// [`start`](Server::start), with the outbox worker's builder passed through `tune` (tests
    /// shorten its backoff).
    pub async fn start_tuned(
        config: ServeConfig,
        listen: SocketAddr,
        tune: impl FnOnce(OutboxWorkerBuilder) -> OutboxWorkerBuilder,
    ) -> Result<Server, String> {
        let hanpay = Hanpay::open(&config.hanpay)
            .await
            .map_err(|e| e.to_string())?;
        // Events are written only when they are delivered somewhere.
        let pipeline = WebhookPipeline::builder(hanpay.clone(), webhook_handler())
            .outbox(config.events.is_some())
            .build();
        let worker = match &config.events {
            Some(target) => Some(
                tune(
                    OutboxWorker::builder(
                        pipeline.outbox(),
                        target.url.clone(),
                        target.secret.clone(),
                    )
                    .on_report(metrics::delivery_report),
                )
                .build()
                .map_err(|e| format!("{}: {e}", config::EVENTS_URL))?,
            ),
            None => None,
        };
        let app = app(&hanpay, pipeline, worker.clone(), config.api_keys.clone());
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        let (stop, stopped) = watch::channel(false);

        // ---- Background workers ----------------------------------------------------------
        // Each is spawned here with `stopped.clone()` and must return once it reads `true`;
        // `shutdown` waits for them after the HTTP server has drained.
        let mut workers: Vec<JoinHandle<()>> = Vec::new();
        if let Some(worker) = worker {
            let mut stop = stopped.clone();
            workers.push(tokio::spawn(async move {
                // Stops between rounds: an in-flight delivery finishes and is recorded.
                worker
                    .run(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    })
                    .await;
            }));
        }

        let mut until = stopped;
        let http = tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = until.wait_for(|stop| *stop).await;
            })
            .into_future(),
        );
        Ok(Server {
            addr,
            hanpay,
            stop,
            http,
            workers,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The facade the server serves: its PGs and its stores (the webhook state, the outbox),
    /// e.g. to read what a request applied.
    pub fn hanpay(&self) -> &Hanpay {
        &self.hanpay
    }

    /// Stops accepting, lets in-flight requests finish, stops the workers, closes the
    /// database.
    pub async fn shutdown(self) -> Result<(), String> {
        let _ = self.stop.send(true);
        let served = self
            .http
            .await
            .map_err(|e| format!("the HTTP server task failed: {e}"))?;
        for worker in self.workers {
            let _ = worker.await;
        }
        self.hanpay.stores().close().await;
        served.map_err(|e| format!("the HTTP server failed: {e}"))
    }
}
