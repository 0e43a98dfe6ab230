//! # hanpay-core
//!
//! The domain and the contracts shared by every hanpay provider:
//!
//! - [`Money`] / [`Currency`]: integer minor units (KRW has none), never a float.
//! - [`PaymentStatus`]: one status set for every PG, with [`PaymentStatus::can_move_to`].
//! - [`Payment`], [`PaymentMethod`], [`Cancellation`], [`Bank`], [`RefundAccount`].
//! - Requests ([`ConfirmRequest`], [`CancelRequest`], [`VirtualAccountRequest`],
//!   [`BillingChargeRequest`]) validated before any network call.
//! - [`PaymentProvider`] (async) and [`WebhookVerifier`] (sync), with [`PaymentError`] and
//!   [`WebhookError`].
//! - [`webhook`]: HMAC in parts, Standard Webhooks, IP allowlists, redelivery schedules.
//! - [`plugin`]: a PG as a plugin ([`plugin::Plugin`]), its settings and [`plugin::ConfigError`].
//! - [`RetryPolicy`], [`Secret`], and the [`observe`] conventions.
//! - `transport` (feature `transport`): the one HTTP send loop of the PG crates.
//!
//! Provider crates (`hanpay-tosspayments`, `hanpay-portone`) implement the traits; the
//! `hanpay` facade picks them by configuration.
#![forbid(unsafe_code)]
// CORE-API-READY

mod bank;
mod error;
mod money;
pub mod observe;
mod payment;
pub mod plugin;
mod provider;
mod raw_json;
mod request;
mod retry;
mod secret;
mod status;
#[cfg(feature = "transport")]
pub mod transport;
pub mod webhook;

pub use bank::{Bank, BankCodeScheme, BankCodeTable, RefundAccount, RefundAccountError};
pub use error::{ErrorKind, PaymentError, PgError};
pub use money::{Currency, Money, MoneyError};
pub use payment::{
    Cancellation, CancellationStatus, CardDetails, Failure, Payment, PaymentMethod, ProviderId,
    VirtualAccountDetails,
};
pub use provider::{Capabilities, Capability, PaymentProvider, UnknownName};
pub use raw_json::RawJson;
pub use request::{
    validate_order_id, validate_payment_key, BillingChargeRequest, CancelRequest, ConfirmRequest,
    VirtualAccountRequest, VirtualAccountValidity,
};
pub use retry::RetryPolicy;
pub use secret::{constant_time_eq, mask_tail, Secret};
pub use status::PaymentStatus;
pub use webhook::{
    Trust, WebhookError, WebhookEvent, WebhookEventKind, WebhookRequest, WebhookVerifier,
};

/// Re-exported so provider crates and users name the same `async_trait`.
pub use async_trait::async_trait;
