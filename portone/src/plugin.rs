//! PortOne as a hanpay plugin: [`PortOneSettings`] (the `[portone]` table and the `PORTONE_*`
//! variables), and [`PLUGIN`], which the `hanpay` facade registers.

use std::sync::Arc;

use hanpay_core::plugin::{
    self, de, Built, ConfigError, EnvVar, PgSettings, Plugin, SettingsInput, WebhookTool,
    WebhookToolInput,
};
use hanpay_core::Secret;
use ipnet::IpNet;
use serde::Deserialize;

use crate::{PortOne, PortOneWebhookVerifier, PortOneWebhookVerifierBuilder};

/// The provider id of PortOne in configuration, URLs and the registry.
pub const ID: &str = "portone";

/// `PORTONE_API_SECRET`: the V2 API secret.
pub const PORTONE_API_SECRET: &str = "PORTONE_API_SECRET";
/// `PORTONE_WEBHOOK_SECRET`: Standard Webhooks secret(s) (`whsec_…`, comma-separated).
pub const PORTONE_WEBHOOK_SECRET: &str = "PORTONE_WEBHOOK_SECRET";
/// `PORTONE_STORE_ID`: the store id (`store-…`).
pub const PORTONE_STORE_ID: &str = "PORTONE_STORE_ID";
/// `PORTONE_CHANNEL_KEY`: the channel used to issue virtual accounts by API.
pub const PORTONE_CHANNEL_KEY: &str = "PORTONE_CHANNEL_KEY";
/// `PORTONE_API_BASE_URL`: default `https://api.portone.io`.
pub const PORTONE_API_BASE_URL: &str = "PORTONE_API_BASE_URL";
/// `PORTONE_WEBHOOK_ALLOWLIST`: allowed sender networks (comma-separated).
pub const PORTONE_WEBHOOK_ALLOWLIST: &str = "PORTONE_WEBHOOK_ALLOWLIST";
/// `PORTONE_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed (comma-separated).
pub const PORTONE_TRUSTED_PROXIES: &str = "PORTONE_TRUSTED_PROXIES";

/// PortOne, for the facade's plugin list.
pub const PLUGIN: Plugin =
    Plugin::new(ID, "PortOne", PortOneSettings::ENV, parse).with_webhook_tool(webhook_tool);

/// `hanpay webhook verify`: `--secret` is a Standard Webhooks secret (`whsec_…`);
/// `--set generation=v1|v2` says which generation sent it (default: detected from the body).
fn webhook_tool(input: &WebhookToolInput<'_>) -> Result<WebhookTool, ConfigError> {
    use crate::webhook::payload::WebhookPayload;
    use crate::WebhookGeneration;

    input.only(ID, &["generation"])?;
    let generation = match input
        .values("generation")
        .last()
        .map(|v| v.trim().to_ascii_lowercase())
    {
        Some(v) if v == "v1" => WebhookGeneration::V1,
        Some(v) if v == "v2" => WebhookGeneration::V2,
        Some(_) => {
            return Err(ConfigError::invalid(
                format!("{ID}.generation"),
                "expected v1 (iamport) or v2",
            ))
        }
        None => {
            let content_type = input
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            match WebhookPayload::parse(input.body, content_type) {
                Ok(WebhookPayload::V1(_)) => WebhookGeneration::V1,
                _ => WebhookGeneration::V2,
            }
        }
    };
    let mut notes = Vec::new();
    let mut secrets = input.secrets.to_vec();
    if generation == WebhookGeneration::V1 {
        notes.push(
            "a PortOne V1 (iamport) webhook: checked against V1's sender addresses \
             (52.78.100.19, 52.78.48.223, 52.78.5.241)"
                .to_owned(),
        );
        if !secrets.is_empty() {
            notes.push("PortOne V1 webhooks are not signed, so --secret is not used".to_owned());
            secrets.clear();
        }
    }
    let settings = PortOneSettings::webhooks_only(secrets);
    let signed = !settings.webhook_secrets.is_empty();
    let mut builder = settings.webhook_verifier_builder().generation(generation);
    if !input.check_sender && signed {
        builder = builder.without_allowlist();
    }
    let verifier = PortOneSettings::build_verifier(builder)?;
    let secret = format!("the webhook secret ({PORTONE_WEBHOOK_SECRET}: --secret)");
    Ok(WebhookTool {
        verifier: Box::new(verifier),
        notes,
        signature_settings: ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .into_iter()
            .map(|h| (h, secret.clone()))
            .collect(),
    })
}

fn parse(input: &SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError> {
    let settings: PortOneSettings = input.deserialize()?;
    if settings.api_secret.is_empty() {
        return Err(ConfigError::Missing {
            setting: input.setting_and_env("api_secret"),
            hint: "the PortOne V2 API secret".into(),
        });
    }
    plugin::check_url(
        &input.setting("api_base_url"),
        settings.api_base_url.as_deref(),
    )?;
    Ok(Box::new(settings))
}

/// PortOne settings: the `[portone]` table, or the `PORTONE_*` variables.
///
/// ```toml
/// [portone]
/// api_secret = "${PORTONE_API_SECRET}"
/// webhook_secret = ["${PORTONE_WEBHOOK_SECRET}"]  # one or several (rotation)
/// store_id = "${PORTONE_STORE_ID}"
/// channel_key = "${PORTONE_CHANNEL_KEY}"      # to issue virtual accounts by API
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortOneSettings {
    /// `PORTONE_API_SECRET`.
    #[serde(deserialize_with = "de::secret")]
    pub api_secret: Secret,
    /// `PORTONE_WEBHOOK_SECRET`: Standard Webhooks secrets (several for rotation). Empty: the
    /// allowlist alone admits events, which are then always reconciled with the API.
    #[serde(default, rename = "webhook_secret", deserialize_with = "de::secrets")]
    pub webhook_secrets: Vec<Secret>,
    /// `PORTONE_STORE_ID`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub store_id: Option<String>,
    /// `PORTONE_CHANNEL_KEY`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub channel_key: Option<String>,
    /// `PORTONE_API_BASE_URL`; `None` for PortOne's production URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub api_base_url: Option<String>,
    /// `PORTONE_WEBHOOK_ALLOWLIST`; `None` keeps PortOne's published addresses.
    #[serde(default, deserialize_with = "de::opt_networks")]
    pub allowlist: Option<Vec<IpNet>>,
    /// `PORTONE_TRUSTED_PROXIES`.
    #[serde(default, deserialize_with = "de::networks")]
    pub trusted_proxies: Vec<IpNet>,
}

impl PortOneSettings {
    /// The variables, and the keys they set.
    pub const ENV: &'static [EnvVar] = &[
        EnvVar::activating(PORTONE_API_SECRET, "api_secret"),
        EnvVar::new(PORTONE_WEBHOOK_SECRET, "webhook_secret"),
        EnvVar::new(PORTONE_STORE_ID, "store_id"),
        EnvVar::new(PORTONE_CHANNEL_KEY, "channel_key"),
        EnvVar::new(PORTONE_API_BASE_URL, "api_base_url"),
        EnvVar::new(PORTONE_WEBHOOK_ALLOWLIST, "allowlist"),
        EnvVar::new(PORTONE_TRUSTED_PROXIES, "trusted_proxies"),
    ];

    /// Settings for webhooks only (`hanpay webhook verify`): no API secret.
    pub fn webhooks_only(webhook_secrets: Vec<Secret>) -> PortOneSettings {
        PortOneSettings {
            api_secret: Secret::new(""),
            webhook_secrets,
            store_id: None,
            channel_key: None,
            api_base_url: None,
            allowlist: None,
            trusted_proxies: Vec::new(),
        }
    }

    /// The client these settings describe; errors name the setting.
    pub fn build_provider(&self) -> Result<PortOne, ConfigError> {
        let mut client = PortOne::builder(self.api_secret.clone());
        if let Some(store_id) = &self.store_id {
            client = client.store_id(store_id.clone());
        }
        if let Some(channel_key) = &self.channel_key {
            client = client.channel_key(channel_key.clone());
        }
        if let Some(url) = &self.api_base_url {
            client = client.base_url(url.clone());
        }
        client.build().map_err(|e| {
            ConfigError::invalid(
                format!(
                    "{ID}.api_secret / api_base_url ({PORTONE_API_SECRET} / {PORTONE_API_BASE_URL})"
                ),
                e.message().to_owned(),
            )
        })
    }

    /// The webhook verifier these settings describe (webhook secrets, sender allowlist and
    /// trusted proxies), not yet built: tools that must verify exactly as the facade does
    /// start from it. The API secret is not used.
    pub fn webhook_verifier_builder(&self) -> PortOneWebhookVerifierBuilder {
        let verifier = PortOneWebhookVerifier::builder()
            .secrets(self.webhook_secrets.iter().map(|s| s.expose().to_owned()))
            .trusted_proxies(self.trusted_proxies.iter().map(ToString::to_string));
        match &self.allowlist {
            Some(list) => verifier.allowlist(list.iter().map(ToString::to_string)),
            None => verifier,
        }
    }

    /// Builds a verifier started from [`webhook_verifier_builder`](Self::webhook_verifier_builder);
    /// the error names the settings.
    pub fn build_verifier(
        builder: PortOneWebhookVerifierBuilder,
    ) -> Result<PortOneWebhookVerifier, ConfigError> {
        builder.build().map_err(|e| {
            ConfigError::invalid(
                format!(
                    "{ID}.webhook_secret / allowlist / trusted_proxies ({PORTONE_WEBHOOK_SECRET})"
                ),
                e.to_string(),
            )
        })
    }
}

impl PgSettings for PortOneSettings {
    fn build(&self) -> Result<Built, ConfigError> {
        let provider = self.build_provider()?;
        let verifier = PortOneSettings::build_verifier(self.webhook_verifier_builder())?;
        Ok(Built {
            provider: Arc::new(provider),
            verifier: Arc::new(verifier),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
