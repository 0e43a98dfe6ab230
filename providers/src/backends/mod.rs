//! The one place providers are registered: each PG's crate, behind its feature, turned from
//! its configuration into a [`PaymentProvider`] and a [`WebhookVerifier`]. Each PG's module
//! also offers the facade's webhook-verifier construction on its own
//! ([`tosspayments::webhook_verifier_builder`], [`portone::webhook_verifier_builder`]), so that
//! a tool verifies exactly as the facade does for the same settings.
//!
//! Adding a PG: create its crate (`hanpay-<pg>`, implementing both traits and passing
//! `hanpay_testkit::conformance::run_all` against its fake), add an optional dependency and a
//! feature to `providers/Cargo.toml`, a settings struct to [`crate::config`], and a module here
//! plus one line in `build_all`.

use std::sync::Arc;

use hanpay_core::{PaymentProvider, WebhookVerifier};

use crate::config::{ConfigError, HanpayConfig};

#[cfg(feature = "portone")]
pub mod portone;
#[cfg(feature = "tosspayments")]
pub mod tosspayments;

/// A built provider and its webhook verifier.
pub(crate) type Built = (Arc<dyn PaymentProvider>, Arc<dyn WebhookVerifier>);

/// Builds every provider configured in `config`, in registration order.
#[cfg_attr(
    not(any(feature = "tosspayments", feature = "portone")),
    allow(unused_mut)
)]
pub(crate) fn build_all(config: &HanpayConfig) -> Result<Vec<Built>, ConfigError> {
    let mut built = Vec::new();
    if let Some(toss) = &config.tosspayments {
        #[cfg(feature = "tosspayments")]
        built.push(tosspayments::build(toss)?);
        #[cfg(not(feature = "tosspayments"))]
        {
            let _ = toss;
            return Err(ConfigError::NotCompiled {
                provider: crate::config::TOSSPAYMENTS.into(),
            });
        }
    }
    if let Some(portone) = &config.portone {
        #[cfg(feature = "portone")]
        built.push(portone::build(portone)?);
        #[cfg(not(feature = "portone"))]
        {
            let _ = portone;
            return Err(ConfigError::NotCompiled {
                provider: crate::config::PORTONE.into(),
            });
        }
    }
    Ok(built)
}
