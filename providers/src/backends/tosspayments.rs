//! Toss Payments from [`TossConfig`].

use std::sync::Arc;

use hanpay_core::webhook::IpAllowlist;
use hanpay_tosspayments::{TossPayments, TossWebhookVerifier, TossWebhookVerifierBuilder};

use super::Built;
use crate::config::{env, ConfigError, TossConfig};

pub(super) fn build(config: &TossConfig) -> Result<Built, ConfigError> {
    let mut client = TossPayments::builder(config.secret_key.clone());
    if let Some(url) = &config.api_base_url {
        client = client.base_url(url.clone());
    }
    let client = client.build().map_err(|e| {
        let setting = match e {
            hanpay_tosspayments::ConfigError::InvalidBaseUrl(_) => {
                format!("tosspayments.api_base_url ({})", env::TOSS_API_BASE_URL)
            }
            _ => format!("tosspayments.secret_key ({})", env::TOSS_SECRET_KEY),
        };
        ConfigError::invalid(setting, e.to_string())
    })?;

    let verifier = webhook_verifier(config)?;
    Ok((Arc::new(client), Arc::new(verifier)))
}

/// The webhook verifier the facade uses for `config`'s webhook settings (security keys,
/// webhook secrets, sender allowlist and trusted proxies), not yet built: tools that must
/// verify exactly as the facade does (`hanpay webhook verify`) start from it. The API secret
/// key is not used.
pub fn webhook_verifier_builder(config: &TossConfig) -> TossWebhookVerifierBuilder {
    let mut verifier = TossWebhookVerifier::builder();
    for key in &config.security_keys {
        verifier = verifier.security_key(key.clone());
    }
    for secret in &config.webhook_secrets {
        verifier = verifier.webhook_secret(secret.clone());
    }
    match &config.sender.allowlist {
        Some(list) => verifier.allowlist(
            IpAllowlist::new(list.iter().copied())
                .with_trusted_proxies(config.sender.trusted_proxies.iter().copied()),
        ),
        None => verifier.trusted_proxies(config.sender.trusted_proxies.iter().copied()),
    }
}

/// [`webhook_verifier_builder`], built; the error names the settings.
pub fn webhook_verifier(config: &TossConfig) -> Result<TossWebhookVerifier, ConfigError> {
    build_verifier(webhook_verifier_builder(config))
}

/// Builds a verifier started from [`webhook_verifier_builder`]; the error names the settings.
pub fn build_verifier(
    builder: TossWebhookVerifierBuilder,
) -> Result<TossWebhookVerifier, ConfigError> {
    builder.build().map_err(|e| {
        ConfigError::invalid(
            format!(
                "tosspayments.webhook_secret / security_key ({} / {})",
                env::TOSS_WEBHOOK_SECRET,
                env::TOSS_SECURITY_KEY
            ),
            e.to_string(),
        )
    })
}
