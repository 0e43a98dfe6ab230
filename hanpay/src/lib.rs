//! # hanpay
//!
//! One Rust API for Korean payment gateways — Toss Payments and PortOne — chosen by
//! configuration.
//!
//! - [`HanpayConfig`]: a TOML file with `${VAR}` expansion and the environment variables users
//!   of these PGs already set (`HANPAY_PROVIDER`, `TOSS_SECRET_KEY`, `PORTONE_API_SECRET`, …).
//! - [`Hanpay`]: the configured providers by name, with a default; [`Gateway`]: one provider
//!   through the facade (confirm and virtual-account issue save the payment's secret).
//! - [`WebhookPipeline`]: verify → dedupe → reconcile with the PG → apply legal status moves →
//!   your [`WebhookHandler`] → the answer the PG expects.
//! - [`checkout`]: confirm errors a storefront can act on; [`event`]: the PG event → order
//!   action table.
//! - [`outbox`]: every applied change as an event (`payment.paid`, …) in a durable outbox,
//!   written with the change ([`WebhookPipelineBuilder::outbox`]) and delivered signed with
//!   Standard Webhooks by an [`OutboxWorker`].
//! - `axum` feature: [`axum::webhook_router`] serving `POST /webhooks/{provider}`.
//!
//! - [`plugins()`]: the PGs compiled in, one feature-gated line each; each PG crate owns its
//!   settings, variables and build code ([`core::plugin::Plugin`]).
//! - [`store`]: where webhook state lives, chosen by `HANPAY_DATABASE_URL`: `memory:`
//!   (default of the library, lost on restart), `sqlite://hanpay.db` (one instance) or
//!   `postgres://…` (several instances); open it with [`Hanpay::open`].
//!
//! Features: `tosspayments`, `portone` and `nicepay` (default) compile each PG's crate; `sqlite`
//! (default) and `postgres` each compile a store backend and its driver; `axum` adds the
//! router.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use hanpay::{CancelRequest, Hanpay, Money, PaymentProvider};
//! let hanpay = Hanpay::from_env()?; // HANPAY_PROVIDER=portone PORTONE_API_SECRET=…
//! let gateway = hanpay.gateway();
//! let payment = gateway.payment("payment-0001").await?;
//! gateway
//!     .cancel(&CancelRequest::partial(&payment.payment_key, "고객 요청", Money::krw(8_000)))
//!     .await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod checkout;
pub mod config;
pub mod event;
pub mod observe;
pub mod outbox;
pub mod pipeline;
pub mod plugins;
pub mod reconcile;
mod registry;
pub mod replay;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secrets;
pub mod store;

pub use checkout::CheckoutError;
pub use config::{ConfigError, HanpayConfig, ProviderSettings};
pub use event::{EventType, OrderAction, PaymentEvent};
pub use observe::{LookedUp, LookupError, ObserveError};
pub use outbox::{OutboxWorker, OutboxWorkerBuilder};
pub use pipeline::{
    handler_fn, Endpoint, HandlerError, WebhookAnswer, WebhookHandler, WebhookOutcome,
    WebhookPipeline, WebhookPipelineBuilder,
};
pub use plugins::{plugin, plugins};
pub use reconcile::{ReconcileReport, Reconciler};
pub use registry::{Gateway, Hanpay, HanpayBuilder, UnknownProvider};
pub use replay::ReplayError;
pub use secrets::{InMemoryPaymentSecrets, PaymentSecrets};
pub use store::{
    DatabaseUrl, DedupeStore, InMemoryDedupeStore, InMemoryPaymentStates, PaymentStateStore,
    StoreError, Stores,
};

/// The core crate, for everything not re-exported here.
pub use hanpay_core as core;
pub use hanpay_core::{
    Bank, CancelRequest, ConfirmRequest, ErrorKind, Money, Payment, PaymentError, PaymentProvider,
    PaymentStatus, ProviderId, RefundAccount, Secret, VirtualAccountRequest, WebhookEvent,
    WebhookRequest, WebhookVerifier,
};

/// Each compiled-in PG crate under its feature's name: `hanpay::tosspayments`,
/// `hanpay::portone`, `hanpay::nicepay`, … (registered in `plugins.rs`).
#[doc(inline)]
pub use plugins::crates::*;
