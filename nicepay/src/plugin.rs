//! NICEPAY as a hanpay plugin: [`PLUGIN`], which the `hanpay` facade registers, reading
//! [`NicePaySettings`] from the `[nicepay]` table or the `NICEPAY_*` variables.

use std::sync::Arc;

use hanpay_core::plugin::{
    self, Built, ConfigError, EnvVar, PgSettings, Plugin, SettingsInput, WebhookTool,
    WebhookToolInput,
};

use crate::settings::{
    NicePaySettings, NICEPAY_API_BASE_URL, NICEPAY_CLIENT_ID, NICEPAY_SECRET_KEY,
    NICEPAY_TRUSTED_PROXIES, NICEPAY_WEBHOOK_ALLOWLIST,
};

/// The provider id of NICEPAY in configuration, URLs and the registry.
pub const ID: &str = "nicepay";

/// NICEPAY, for the facade's plugin list.
pub const PLUGIN: Plugin =
    Plugin::new(ID, "NICEPAY", NicePaySettings::ENV, parse).with_webhook_tool(webhook_tool);

/// `hanpay webhook verify`: `--secret` is the API secret key (NICEPAY signs notifications
/// with it; there is no separate webhook secret).
fn webhook_tool(input: &WebhookToolInput<'_>) -> Result<WebhookTool, ConfigError> {
    input.only(ID, &[])?;
    let setting = format!("{ID}.secret_key ({NICEPAY_SECRET_KEY})");
    let Some((first, rest)) = input.secrets.split_first() else {
        return Err(ConfigError::Missing {
            setting,
            hint: "NICEPAY signs each notification with the secret key: give it with --secret"
                .into(),
        });
    };
    let mut builder = crate::NicePayWebhookVerifier::builder(first.clone());
    for key in rest {
        builder = builder.secret_key(key.clone());
    }
    if !input.check_sender {
        builder = builder.without_allowlist();
    }
    let verifier = builder
        .build()
        .map_err(|e| ConfigError::invalid(setting.clone(), e.to_string()))?;
    Ok(WebhookTool {
        verifier: Box::new(verifier),
        notes: vec![
            "NICEPAY's signature covers tid, amount and ediDate, not the status: the event is \
             fetched from the API before it moves anything"
                .to_owned(),
        ],
        signature_settings: vec![(
            "signature (body field)",
            format!("the secret key ({NICEPAY_SECRET_KEY}: --secret)"),
        )],
    })
}

fn parse(input: &SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError> {
    let settings: NicePaySettings = input.deserialize()?;
    if settings.client_id.is_empty() {
        return Err(ConfigError::Missing {
            setting: input.setting_and_env("client_id"),
            hint: "the NICEPAY client key (개발정보 > KEY정보)".into(),
        });
    }
    if settings.secret_key.is_empty() {
        return Err(ConfigError::Missing {
            setting: input.setting_and_env("secret_key"),
            hint: "the NICEPAY secret key".into(),
        });
    }
    plugin::check_url(
        &input.setting("api_base_url"),
        settings.api_base_url.as_deref(),
    )?;
    Ok(Box::new(settings))
}

impl NicePaySettings {
    /// The variables, and the keys they set.
    pub const ENV: &'static [EnvVar] = &[
        EnvVar::activating(NICEPAY_CLIENT_ID, "client_id"),
        EnvVar::activating(NICEPAY_SECRET_KEY, "secret_key"),
        EnvVar::new(NICEPAY_API_BASE_URL, "api_base_url"),
        EnvVar::new(NICEPAY_WEBHOOK_ALLOWLIST, "allowlist"),
        EnvVar::new(NICEPAY_TRUSTED_PROXIES, "trusted_proxies"),
    ];
}

impl PgSettings for NicePaySettings {
    fn build(&self) -> Result<Built, ConfigError> {
        let provider = self.build_provider().map_err(|e| {
            let setting = match e {
                crate::ConfigError::InvalidClientId(_) => {
                    format!("{ID}.client_id ({NICEPAY_CLIENT_ID})")
                }
                crate::ConfigError::InvalidSecretKey(_) => {
                    format!("{ID}.secret_key ({NICEPAY_SECRET_KEY})")
                }
                crate::ConfigError::InvalidBaseUrl(_) => {
                    format!("{ID}.api_base_url ({NICEPAY_API_BASE_URL})")
                }
                _ => ID.to_owned(),
            };
            ConfigError::invalid(setting, e.to_string())
        })?;
        let verifier = self.build_verifier().map_err(|e| {
            ConfigError::invalid(
                format!("{ID}.secret_key / allowlist / trusted_proxies ({NICEPAY_SECRET_KEY})"),
                e.to_string(),
            )
        })?;
        Ok(Built {
            provider: Arc::new(provider),
            verifier: Arc::new(verifier),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(
        pairs: &[(&str, &str)],
        from_env: &[&str],
    ) -> Result<Box<dyn PgSettings>, ConfigError> {
        let table = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect();
        PLUGIN.parse(&SettingsInput::new(&PLUGIN, table, from_env))
    }

    #[test]
    fn settings_errors_name_the_setting_and_hide_the_key() {
        let ok = input(
            &[("client_id", "S2_x"), ("secret_key", "topsecret007")],
            &[],
        )
        .unwrap();
        assert!(!format!("{ok:?}").contains("topsecret007"));
        assert!(ok.build().is_ok());
        let err = input(&[("client_id", "S2_x")], &[]).unwrap_err();
        assert_eq!(err.setting(), Some("nicepay.secret_key"));
        let err = input(
            &[("client_id", "S2_x"), ("secret_key", "k"), ("secrte", "x")],
            &[],
        )
        .unwrap_err();
        assert_eq!(err.setting(), Some("nicepay.secrte"));
        let err = input(
            &[
                ("client_id", "S2_x"),
                ("secret_key", "k"),
                ("trusted_proxies", "nope"),
            ],
            &["trusted_proxies"],
        )
        .unwrap_err();
        assert_eq!(err.setting(), Some(NICEPAY_TRUSTED_PROXIES));
    }
}
