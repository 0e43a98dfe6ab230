//! [`NicePaySettings`]: what a deployment configures for NICEPAY, read from a config file
//! section (serde) or from the environment ([`NicePaySettings::from_env_with`]).

use hanpay_core::plugin::de;
use hanpay_core::webhook::IpAllowlist;
use hanpay_core::{Secret, WebhookError};
use ipnet::IpNet;
use serde::Deserialize;

use crate::errors::ConfigError;
use crate::provider::{NicePay, DEFAULT_BASE_URL};
use crate::webhook::{NicePayWebhookVerifier, NICEPAY_WEBHOOK_IPS};

/// `NICEPAY_CLIENT_ID`: the client key (`clientId`, 개발정보 > KEY정보).
pub const NICEPAY_CLIENT_ID: &str = "NICEPAY_CLIENT_ID";
/// `NICEPAY_SECRET_KEY`: the secret key (API auth and webhook signatures).
pub const NICEPAY_SECRET_KEY: &str = "NICEPAY_SECRET_KEY";
/// `NICEPAY_API_BASE_URL`: default the live API; the sandbox is
/// `https://sandbox-api.nicepay.co.kr`.
pub const NICEPAY_API_BASE_URL: &str = "NICEPAY_API_BASE_URL";
/// `NICEPAY_WEBHOOK_ALLOWLIST`: comma-separated sender networks; default NICEPAY's published
/// senders.
pub const NICEPAY_WEBHOOK_ALLOWLIST: &str = "NICEPAY_WEBHOOK_ALLOWLIST";
/// `NICEPAY_TRUSTED_PROXIES`: comma-separated proxies whose `X-Forwarded-For` is believed.
pub const NICEPAY_TRUSTED_PROXIES: &str = "NICEPAY_TRUSTED_PROXIES";

/// NICEPAY settings. `Debug` shows the secret key as `Secret(***)`.
///
/// ```
/// use hanpay_nicepay::NicePaySettings;
/// let s: NicePaySettings = serde_json::from_str(
///     r#"{"client_id":"S2_af4543a0be4d49a98122e01ec2059a56","secret_key":"9eb85607103646da9f9c02b128f2e5ee"}"#,
/// ).unwrap();
/// assert!(!format!("{s:?}").contains("9eb85607"));
/// assert!(s.build_provider().is_ok());
/// assert!(serde_json::from_str::<NicePaySettings>(r#"{"client_id":"a","secret_key":"b","oops":1}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicePaySettings {
    /// `NICEPAY_CLIENT_ID`.
    #[serde(deserialize_with = "de::string")]
    pub client_id: String,
    /// `NICEPAY_SECRET_KEY`.
    #[serde(deserialize_with = "de::secret")]
    pub secret_key: Secret,
    /// `NICEPAY_API_BASE_URL`; `None` for the live API.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub api_base_url: Option<String>,
    /// `NICEPAY_WEBHOOK_ALLOWLIST`; `None` keeps NICEPAY's published senders.
    #[serde(default, deserialize_with = "de::opt_networks")]
    pub allowlist: Option<Vec<IpNet>>,
    /// `NICEPAY_TRUSTED_PROXIES`.
    #[serde(default, deserialize_with = "de::networks")]
    pub trusted_proxies: Vec<IpNet>,
}

fn networks(setting: &'static str, text: &str) -> Result<Vec<IpNet>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            hanpay_core::webhook::parse_network(s).map_err(|e| ConfigError::InvalidNetwork {
                setting,
                reason: e.to_string(),
            })
        })
        .collect()
}

impl NicePaySettings {
    /// Reads the `NICEPAY_*` variables through `lookup`. `Ok(None)` when neither key variable is
    /// set; an error when only one is.
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<NicePaySettings>, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (client_id, secret_key) = match (get(NICEPAY_CLIENT_ID), get(NICEPAY_SECRET_KEY)) {
            (None, None) => return Ok(None),
            (Some(id), Some(key)) => (id, Secret::new(key)),
            (None, Some(_)) => {
                return Err(ConfigError::InvalidClientId(format!(
                    "{NICEPAY_SECRET_KEY} is set but {NICEPAY_CLIENT_ID} is not"
                )))
            }
            (Some(_), None) => {
                return Err(ConfigError::InvalidSecretKey(format!(
                    "{NICEPAY_CLIENT_ID} is set but {NICEPAY_SECRET_KEY} is not"
                )))
            }
        };
        Ok(Some(NicePaySettings {
            client_id,
            secret_key,
            api_base_url: get(NICEPAY_API_BASE_URL),
            allowlist: get(NICEPAY_WEBHOOK_ALLOWLIST)
                .map(|v| networks(NICEPAY_WEBHOOK_ALLOWLIST, &v))
                .transpose()?,
            trusted_proxies: get(NICEPAY_TRUSTED_PROXIES)
                .map(|v| networks(NICEPAY_TRUSTED_PROXIES, &v))
                .transpose()?
                .unwrap_or_default(),
        }))
    }

    /// The provider these settings describe.
    pub fn build_provider(&self) -> Result<NicePay, ConfigError> {
        NicePay::builder(self.client_id.clone(), self.secret_key.clone())
            .base_url(self.api_base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
            .build()
    }

    /// The webhook verifier these settings describe.
    pub fn build_verifier(&self) -> Result<NicePayWebhookVerifier, WebhookError> {
        let builder = NicePayWebhookVerifier::builder(self.secret_key.clone());
        let builder = match &self.allowlist {
            Some(list) => builder.allowlist(
                IpAllowlist::new(list.iter().copied())
                    .with_trusted_proxies(self.trusted_proxies.iter().copied()),
            ),
            None => builder.trusted_proxies(self.trusted_proxies.iter().copied()),
        };
        builder.build()
    }

    /// NICEPAY's published webhook senders, the default allowlist.
    pub fn default_allowlist() -> &'static [&'static str] {
        &NICEPAY_WEBHOOK_IPS
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(NicePaySettings::from_env_with(env(&[])).unwrap(), None);
        assert!(NicePaySettings::from_env_with(env(&[(NICEPAY_SECRET_KEY, "k")])).is_err());
        let s = NicePaySettings::from_env_with(env(&[
            (NICEPAY_CLIENT_ID, "S2_x"),
            (NICEPAY_SECRET_KEY, "topsecretkey"),
            (NICEPAY_API_BASE_URL, "https://sandbox-api.nicepay.co.kr"),
            (NICEPAY_WEBHOOK_ALLOWLIST, "121.133.126.64/27, 10.0.0.1"),
            (NICEPAY_TRUSTED_PROXIES, "10.1.0.0/16"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.allowlist.as_ref().map(Vec::len), Some(2));
        assert_eq!(s.trusted_proxies.len(), 1);
        assert!(!format!("{s:?}").contains("topsecretkey"));
        assert!(s.build_provider().is_ok());
        assert!(s.build_verifier().is_ok());
        let bad = NicePaySettings::from_env_with(env(&[
            (NICEPAY_CLIENT_ID, "S2_x"),
            (NICEPAY_SECRET_KEY, "k"),
            (NICEPAY_TRUSTED_PROXIES, "not-a-net"),
        ]));
        assert!(matches!(bad, Err(ConfigError::InvalidNetwork { .. })));
    }
}
