//! PortOne from [`PortOneConfig`].

use std::sync::Arc;

use hanpay_portone::{PortOne, PortOneWebhookVerifier, PortOneWebhookVerifierBuilder};

use super::Built;
use crate::config::{env, ConfigError, PortOneConfig};

pub(super) fn build(config: &PortOneConfig) -> Result<Built, ConfigError> {
    let mut client = PortOne::builder(config.api_secret.clone());
    if let Some(store_id) = &config.store_id {
        client = client.store_id(store_id.clone());
    }
    if let Some(channel_key) = &config.channel_key {
        client = client.channel_key(channel_key.clone());
    }
    if let Some(url) = &config.api_base_url {
        client = client.base_url(url.clone());
    }
    let client = client.build().map_err(|e| {
        ConfigError::invalid(
            format!(
                "portone.api_secret / api_base_url ({} / {})",
                env::PORTONE_API_SECRET,
                env::PORTONE_API_BASE_URL
            ),
            e.message().to_owned(),
        )
    })?;

    let verifier = build_verifier(webhook_verifier_builder(config))?;
    Ok((Arc::new(client), Arc::new(verifier)))
}

/// The webhook verifier the facade uses for `config`'s webhook settings (webhook secrets,
/// sender allowlist and trusted proxies), not yet built: tools that must verify exactly as the
/// facade does (`hanpay webhook verify`) start from it. The API secret is not used.
pub fn webhook_verifier_builder(config: &PortOneConfig) -> PortOneWebhookVerifierBuilder {
    let verifier = PortOneWebhookVerifier::builder()
        .secrets(config.webhook_secrets.iter().map(|s| s.expose().to_owned()))
        .trusted_proxies(
            config
                .sender
                .trusted_proxies
                .iter()
                .map(ToString::to_string),
        );
    match &config.sender.allowlist {
        Some(list) => verifier.allowlist(list.iter().map(ToString::to_string)),
        None => verifier,
    }
}

/// Builds a verifier started from [`webhook_verifier_builder`]; the error names the settings.
pub fn build_verifier(
    builder: PortOneWebhookVerifierBuilder,
) -> Result<PortOneWebhookVerifier, ConfigError> {
    builder.build().map_err(|e| {
        ConfigError::invalid(
            format!(
                "portone.webhook_secret / allowlist / trusted_proxies ({})",
                env::PORTONE_WEBHOOK_SECRET
            ),
            e.to_string(),
        )
    })
}
