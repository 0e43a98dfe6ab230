//! # hanpay-nicepay
//!
//! [NICEPAY](https://start.nicepay.co.kr) (나이스페이먼츠) Start API for hanpay: [`NicePay`]
//! implements [`hanpay_core::PaymentProvider`] over `/v1` (Server 승인 model), and
//! [`NicePayWebhookVerifier`] implements [`hanpay_core::WebhookVerifier`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hanpay_core::{ConfirmRequest, Money, PaymentProvider};
//! use hanpay_nicepay::{NicePay, SANDBOX_BASE_URL};
//!
//! let nice = NicePay::builder("S2_af4543a0be4d49a98122e01ec2059a56", "9eb85607103646da9f9c02b128f2e5ee")
//!     .base_url(SANDBOX_BASE_URL)
//!     .build()?;
//! // tid and orderId come from the returnUrl POST; the amount is the one your order says.
//! let payment = nice
//!     .confirm(&ConfirmRequest::new("UT0000113m01012111051714341073", "order-0001", Money::krw(1004)))
//!     .await?;
//! println!("{} {}", payment.status, payment.total);
//! # Ok(()) }
//! ```
//!
//! What is particular to NICEPAY:
//!
//! - **Auth** is `Basic base64("{clientId}:{secretKey}")`, both parts (Toss sends the secret
//!   alone). Settings: [`NicePaySettings`] (`NICEPAY_CLIENT_ID`, `NICEPAY_SECRET_KEY`,
//!   `NICEPAY_API_BASE_URL`, `NICEPAY_WEBHOOK_ALLOWLIST`, `NICEPAY_TRUSTED_PROXIES`).
//! - **Errors** come as HTTP 200 with `resultCode != "0000"`; [`errors::classify`] maps the
//!   codes, keeping NICEPAY's code and message.
//! - **No idempotency key**: an approve or cancel with an unknown outcome is settled by a
//!   lookup, with a net cancel (망취소) for an approve the merchant cannot use, and a cancel is
//!   never re-sent blindly (see [`NicePay`]).
//! - **No server API issues a virtual account**: it is a payment-window method (`vbank`) that
//!   an approve turns into `ready`; deposits arrive by webhook. So the
//!   [`Capability::VirtualAccounts`](hanpay_core::Capability::VirtualAccounts) capability is
//!   absent.
//! - **Webhooks** carry `signature = hex(sha256(tid ‖ amount ‖ ediDate ‖ SecretKey))` in the
//!   body, which does **not** cover the status: events always need reconciliation. The
//!   receiver must answer **HTTP 200 with body `OK`** ([`WEBHOOK_ACK_BODY`]); NICEPAY counts
//!   anything else as a failed delivery and does not retry by itself. Console TEST payloads
//!   (`UTWEBHOOK…`) are acknowledged without being trusted (see [`NicePayWebhookVerifier`]).
//!
//! Layout: [`wire`] (serde types), [`mapping`] (pure wire ↔ core; the cancel mapping is
//! [`mapping::cancel`]), [`errors`] (result code → kind), `client` (HTTP transport),
//! `billing` (card data → `encData`),
//! `provider` ([`NicePay`]), `webhook` ([`NicePayWebhookVerifier`]), `settings`
//! ([`NicePaySettings`]).
#![forbid(unsafe_code)]

mod billing;
mod client;
pub mod errors;
pub mod mapping;
pub mod plugin;
mod provider;
mod settings;
mod webhook;
pub mod wire;

pub use billing::{encrypt_enc_data, BillingCard, EncMode};
pub use client::{payment_from_answer, Timeouts};
pub use errors::ConfigError;
pub use plugin::{ID, PLUGIN};
pub use provider::{
    NicePay, NicePayBuilder, RegisteredBillingKey, DEFAULT_BASE_URL, MAX_AMOUNT, SANDBOX_BASE_URL,
};
pub use settings::{
    NicePaySettings, NICEPAY_API_BASE_URL, NICEPAY_CLIENT_ID, NICEPAY_SECRET_KEY,
    NICEPAY_TRUSTED_PROXIES, NICEPAY_WEBHOOK_ALLOWLIST,
};
pub use webhook::{
    webhook_signature, NicePayWebhookVerifier, NicePayWebhookVerifierBuilder, CONSOLE_TEST_EVENT,
    CONSOLE_TEST_TID_PREFIX, NICEPAY_WEBHOOK_IPS, WEBHOOK_ACK_BODY,
};

/// The PG's fake server (its own crate, `fake/`, written from the PG's documentation), for the
/// facade's sandbox (`hanpay` feature `sandbox`).
#[cfg(feature = "fake")]
#[doc(inline)]
pub use hanpay_nicepay_fake as fake;
