//! # hanpay-tosspayments
//!
//! [Toss Payments](https://docs.tosspayments.com) for hanpay: [`TossPayments`] implements
//! [`hanpay_core::PaymentProvider`] over the `/v1` server API, and [`TossWebhookVerifier`]
//! implements [`hanpay_core::WebhookVerifier`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hanpay_core::{ConfirmRequest, Money, PaymentProvider};
//! use hanpay_tosspayments::TossPayments;
//!
//! let toss = TossPayments::builder("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R").build()?;
//! // paymentKey, orderId and amount come from the widget's successUrl; the amount is the one
//! // your order says, not the query string's.
//! let payment = toss
//!     .confirm(&ConfirmRequest::new("tgen_20240903…", "order-0001", Money::krw(58_000)))
//!     .await?;
//! println!("{} {}", payment.status, payment.total);
//! # Ok(()) }
//! ```
//!
//! Layout: [`wire`] (serde types of the JSON), [`mapping`] (pure wire ↔ core conversions; the
//! cancel mapping is [`mapping::cancel`]), [`errors`] (code → kind table), `client` (HTTP
//! transport and retries), `provider` ([`TossPayments`]), `webhook` ([`TossWebhookVerifier`]).
#![forbid(unsafe_code)]

mod client;
pub mod errors;
pub mod mapping;
pub mod plugin;
mod provider;
mod webhook;
pub mod wire;

pub use client::Timeouts;
pub use errors::ConfigError;
pub use plugin::{TossSettings, ID, PLUGIN};
pub use provider::{IssuedBillingKey, TossPayments, TossPaymentsBuilder, DEFAULT_BASE_URL};
pub use webhook::{
    redelivery_schedule, TossWebhookVerifier, TossWebhookVerifierBuilder, RELAY_SIGNATURE_HEADER,
    SIGNATURE_HEADER, TOSS_WEBHOOK_IPS, TRANSMISSION_ID_HEADER, TRANSMISSION_TIME_HEADER,
};

/// The PG's fake server (its own crate, `fake/`, written from the PG's documentation), for the
/// facade's sandbox (`hanpay` feature `sandbox`).
#[cfg(feature = "fake")]
#[doc(inline)]
pub use hanpay_tosspayments_fake as fake;
