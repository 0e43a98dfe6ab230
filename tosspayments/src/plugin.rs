//! Toss Payments as a hanpay plugin: [`TossSettings`] (the `[tosspayments]` table and the
//! `TOSS_*` variables), and [`PLUGIN`], which the `hanpay` facade registers.

use std::sync::Arc;

use hanpay_core::plugin::{
    self, de, Built, ConfigError, EnvVar, PgSettings, Plugin, SettingsInput, WebhookTool,
    WebhookToolInput,
};
use hanpay_core::webhook::IpAllowlist;
use hanpay_core::Secret;
use ipnet::IpNet;
use serde::Deserialize;

use crate::{TossPayments, TossWebhookVerifier, TossWebhookVerifierBuilder};

/// The provider id of Toss Payments in configuration, URLs and the registry.
pub const ID: &str = "tosspayments";

/// `TOSS_SECRET_KEY`: the secret key (`test_sk_…`, `live_sk_…`, `…_gsk_…`).
pub const TOSS_SECRET_KEY: &str = "TOSS_SECRET_KEY";
/// `TOSS_WEBHOOK_SECRET`: secret(s) of `x-tosspayments-signature` (comma-separated).
pub const TOSS_WEBHOOK_SECRET: &str = "TOSS_WEBHOOK_SECRET";
/// `TOSS_SECURITY_KEY`: key(s) of `tosspayments-webhook-signature` (comma-separated).
pub const TOSS_SECURITY_KEY: &str = "TOSS_SECURITY_KEY";
/// `TOSS_API_BASE_URL`: default `https://api.tosspayments.com`.
pub const TOSS_API_BASE_URL: &str = "TOSS_API_BASE_URL";
/// `TOSS_WEBHOOK_ALLOWLIST`: allowed sender networks (comma-separated).
pub const TOSS_WEBHOOK_ALLOWLIST: &str = "TOSS_WEBHOOK_ALLOWLIST";
/// `TOSS_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed (comma-separated).
pub const TOSS_TRUSTED_PROXIES: &str = "TOSS_TRUSTED_PROXIES";

/// Toss Payments, for the facade's plugin list.
pub const PLUGIN: Plugin =
    Plugin::new(ID, "Toss Payments", TossSettings::ENV, parse).with_webhook_tool(webhook_tool);

/// `hanpay webhook verify`: each `--secret` is both a webhook secret and a security key (as
/// `hanpay webhook send --secret` signs with both); `--set webhook_secret=…` and
/// `--set security_key=…` give one of them only.
fn webhook_tool(input: &WebhookToolInput<'_>) -> Result<WebhookTool, ConfigError> {
    input.only(ID, &["webhook_secret", "security_key"])?;
    let with = |key: &str| -> Vec<Secret> {
        let mut all = input.secrets.to_vec();
        all.extend(input.values(key).into_iter().map(Secret::new));
        all
    };
    let settings = TossSettings::webhooks_only(with("webhook_secret"), with("security_key"));
    let mut builder = settings.webhook_verifier_builder();
    if !input.check_sender {
        builder = builder.without_allowlist();
    }
    let verifier = TossSettings::build_verifier(builder)?;
    let security_key =
        format!("the security key ({TOSS_SECURITY_KEY}: --secret or --set security_key=KEY)");
    Ok(WebhookTool {
        verifier: Box::new(verifier),
        notes: Vec::new(),
        signature_settings: vec![
            (
                crate::RELAY_SIGNATURE_HEADER,
                format!(
                    "the webhook secret ({TOSS_WEBHOOK_SECRET}: --secret or --set webhook_secret=SECRET)"
                ),
            ),
            (crate::SIGNATURE_HEADER, security_key.clone()),
            (crate::TRANSMISSION_TIME_HEADER, security_key),
        ],
    })
}

fn parse(input: &SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError> {
    let settings: TossSettings = input.deserialize()?;
    if settings.secret_key.is_empty() {
        return Err(ConfigError::Missing {
            setting: input.setting_and_env("secret_key"),
            hint: "the Toss secret key (test_sk_… or live_sk_…)".into(),
        });
    }
    plugin::check_url(
        &input.setting("api_base_url"),
        settings.api_base_url.as_deref(),
    )?;
    Ok(Box::new(settings))
}

/// Toss Payments settings: the `[tosspayments]` table, or the `TOSS_*` variables.
///
/// ```toml
/// [tosspayments]
/// secret_key = "${TOSS_SECRET_KEY}"
/// webhook_secret = "${TOSS_WEBHOOK_SECRET}"   # x-tosspayments-signature (optional)
/// security_key = "${TOSS_SECURITY_KEY}"       # tosspayments-webhook-signature (optional)
/// # api_base_url = "http://127.0.0.1:8701"   # e.g. `hanpay sandbox`
/// # allowlist = ["13.124.18.147"]            # default: Toss's published addresses
/// # trusted_proxies = ["10.0.0.0/8"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TossSettings {
    /// `TOSS_SECRET_KEY`.
    #[serde(deserialize_with = "de::secret")]
    pub secret_key: Secret,
    /// `TOSS_WEBHOOK_SECRET`: secrets of `x-tosspayments-signature` (several for rotation).
    #[serde(default, rename = "webhook_secret", deserialize_with = "de::secrets")]
    pub webhook_secrets: Vec<Secret>,
    /// `TOSS_SECURITY_KEY`: keys of `tosspayments-webhook-signature` (several for rotation).
    #[serde(default, rename = "security_key", deserialize_with = "de::secrets")]
    pub security_keys: Vec<Secret>,
    /// `TOSS_API_BASE_URL`; `None` for Toss's production URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub api_base_url: Option<String>,
    /// `TOSS_WEBHOOK_ALLOWLIST`; `None` keeps Toss's published addresses.
    #[serde(default, deserialize_with = "de::opt_networks")]
    pub allowlist: Option<Vec<IpNet>>,
    /// `TOSS_TRUSTED_PROXIES`.
    #[serde(default, deserialize_with = "de::networks")]
    pub trusted_proxies: Vec<IpNet>,
}

impl TossSettings {
    /// The variables, and the keys they set.
    pub const ENV: &'static [EnvVar] = &[
        EnvVar::activating(TOSS_SECRET_KEY, "secret_key"),
        EnvVar::new(TOSS_WEBHOOK_SECRET, "webhook_secret"),
        EnvVar::new(TOSS_SECURITY_KEY, "security_key"),
        EnvVar::new(TOSS_API_BASE_URL, "api_base_url"),
        EnvVar::new(TOSS_WEBHOOK_ALLOWLIST, "allowlist"),
        EnvVar::new(TOSS_TRUSTED_PROXIES, "trusted_proxies"),
    ];

    /// Settings for webhooks only (`hanpay webhook verify`): no API key.
    pub fn webhooks_only(webhook_secrets: Vec<Secret>, security_keys: Vec<Secret>) -> TossSettings {
        TossSettings {
            secret_key: Secret::new(""),
            webhook_secrets,
            security_keys,
            api_base_url: None,
            allowlist: None,
            trusted_proxies: Vec::new(),
        }
    }

    /// The client these settings describe; errors name the setting.
    pub fn build_provider(&self) -> Result<TossPayments, ConfigError> {
        let mut client = TossPayments::builder(self.secret_key.clone());
        if let Some(url) = &self.api_base_url {
            client = client.base_url(url.clone());
        }
        client.build().map_err(|e| {
            let setting = match e {
                crate::ConfigError::InvalidBaseUrl(_) => {
                    format!("{ID}.api_base_url ({TOSS_API_BASE_URL})")
                }
                _ => format!("{ID}.secret_key ({TOSS_SECRET_KEY})"),
            };
            ConfigError::invalid(setting, e.to_string())
        })
    }

    /// The webhook verifier these settings describe (security keys, webhook secrets, sender
    /// allowlist and trusted proxies), not yet built: tools that must verify exactly as the
    /// facade does start from it. The API secret key is not used.
    pub fn webhook_verifier_builder(&self) -> TossWebhookVerifierBuilder {
        let mut verifier = TossWebhookVerifier::builder();
        for key in &self.security_keys {
            verifier = verifier.security_key(key.clone());
        }
        for secret in &self.webhook_secrets {
            verifier = verifier.webhook_secret(secret.clone());
        }
        match &self.allowlist {
            Some(list) => verifier.allowlist(
                IpAllowlist::new(list.iter().copied())
                    .with_trusted_proxies(self.trusted_proxies.iter().copied()),
            ),
            None => verifier.trusted_proxies(self.trusted_proxies.iter().copied()),
        }
    }

    /// Builds a verifier started from [`webhook_verifier_builder`](Self::webhook_verifier_builder);
    /// the error names the settings.
    pub fn build_verifier(
        builder: TossWebhookVerifierBuilder,
    ) -> Result<TossWebhookVerifier, ConfigError> {
        builder.build().map_err(|e| {
            ConfigError::invalid(
                format!("{ID}.webhook_secret / security_key ({TOSS_WEBHOOK_SECRET} / {TOSS_SECURITY_KEY})"),
                e.to_string(),
            )
        })
    }
}

impl PgSettings for TossSettings {
    fn build(&self) -> Result<Built, ConfigError> {
        let provider = self.build_provider()?;
        let verifier = TossSettings::build_verifier(self.webhook_verifier_builder())?;
        Ok(Built {
            provider: Arc::new(provider),
            verifier: Arc::new(verifier),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
