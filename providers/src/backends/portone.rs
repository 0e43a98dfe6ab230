//! PortOne from [`PortOneConfig`].

use std::sync::Arc;

use hanpay_portone::{PortOne, PortOneWebhookVerifier};

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

    let mut verifier = PortOneWebhookVerifier::builder()
        .secrets(config.webhook_secrets.iter().map(|s| s.expose().to_owned()))
        .trusted_proxies(
            config
                .sender
                .trusted_proxies
                .iter()
                .map(ToString::to_string),
        );
    if let Some(list) = &config.sender.allowlist {
        verifier = verifier.allowlist(list.iter().map(ToString::to_string));
    }
    let verifier = verifier.build().map_err(|e| {
        ConfigError::invalid(
            format!(
                "portone.webhook_secret / allowlist / trusted_proxies ({})",
                env::PORTONE_WEBHOOK_SECRET
            ),
            e.to_string(),
        )
    })?;
    Ok((Arc::new(client), Arc::new(verifier)))
}
