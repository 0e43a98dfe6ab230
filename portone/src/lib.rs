//! # hanpay-portone
//!
//! [PortOne](https://developers.portone.io) (포트원, formerly iamport) for hanpay:
//!
//! - [`PortOne`]: the V2 API (`https://api.portone.io`) as a
//!   [`PaymentProvider`](hanpay_core::PaymentProvider) — lookups, confirm (the amount check
//!   PortOne's guide asks for, or the manual-confirm endpoint with a `paymentToken`), full and
//!   partial cancels with `currentCancellableAmount`, virtual accounts through `/instant`,
//!   billing-key payments, and [`PortOne::pre_register`].
//! - [`PortOneWebhookVerifier`]: V2 (`2024-04-25`, `2024-01-01`) and V1 webhooks, checked
//!   against PortOne's source IPs and Standard Webhooks signatures, with dedupe ids that
//!   survive redeliveries.
//!
//! Layout: [`wire`] holds PortOne's JSON exactly as sent, [`mapping`] converts it to and from
//! the `hanpay-core` model (pure, unit-tested), [`errors`] classifies PortOne's error `type`s,
//! `client` is the HTTP transport (timeouts, idempotency keys, retries), `provider` the
//! [`PaymentProvider`](hanpay_core::PaymentProvider) implementation.
//!
//! ```
//! use hanpay_portone::{PortOne, PortOneWebhookVerifier};
//!
//! let portone = PortOne::builder("api-secret").store_id("store-1").build().unwrap();
//! let webhooks = PortOneWebhookVerifier::builder()
//!     .secret("whsec_pzQGE83cSIRKM4/WH5QY+g==")
//!     .build()
//!     .unwrap();
//! # let _ = (portone, webhooks);
//! ```
#![forbid(unsafe_code)]

mod client;
pub mod errors;
pub mod mapping;
pub mod plugin;
mod provider;
pub mod webhook;
pub mod wire;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod robustness_tests;

use hanpay_core::ProviderId;

pub use client::{Timeouts, DEFAULT_BASE_URL};
pub use plugin::{PortOneSettings, ID, PLUGIN};
pub use provider::{PortOne, PortOneBuilder};
pub use webhook::{PortOneWebhookVerifier, PortOneWebhookVerifierBuilder, WebhookGeneration};

/// The provider id of every payment, error and event from this crate: `portone`.
pub const PROVIDER_ID: ProviderId = ProviderId::from_static(crate::ID);

/// The PG's fake server (its own crate, `fake/`, written from the PG's documentation), for the
/// facade's sandbox (`hanpay` feature `sandbox`).
#[cfg(feature = "fake")]
#[doc(inline)]
pub use hanpay_portone_fake as fake;
