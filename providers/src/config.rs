//! Configuration: which PGs to use and with which keys, from a TOML file (with `${VAR}`
//! expansion) and from the environment variables users of these PGs already set.
//!
//! ```toml
//! default = "tosspayments"            # or HANPAY_PROVIDER
//! database_url = "sqlite://hanpay.db"  # or HANPAY_DATABASE_URL: memory:, sqlite://…, postgres://…
//!
//! [tosspayments]
//! secret_key = "${TOSS_SECRET_KEY}"
//! webhook_secret = "${TOSS_WEBHOOK_SECRET}"   # x-tosspayments-signature (optional)
//! security_key = "${TOSS_SECURITY_KEY}"       # tosspayments-webhook-signature (optional)
//! # api_base_url = "http://127.0.0.1:8701"   # e.g. `hanpay sandbox`
//! # allowlist = ["13.124.18.147"]            # default: Toss's published addresses
//! # trusted_proxies = ["10.0.0.0/8"]
//!
//! [portone]
//! api_secret = "${PORTONE_API_SECRET}"
//! webhook_secret = ["${PORTONE_WEBHOOK_SECRET}"]  # one or several (rotation)
//! store_id = "${PORTONE_STORE_ID}"
//! channel_key = "${PORTONE_CHANNEL_KEY}"      # to issue virtual accounts by API
//! ```
//!
//! A missing variable, an unknown key, or a malformed value fails at start-up with a
//! [`ConfigError`] naming the setting. `Debug` and `Display` of [`HanpayConfig`] print `***`
//! for every secret.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use hanpay_core::webhook::parse_network;
use hanpay_core::Secret;
use ipnet::IpNet;

use crate::store::DatabaseUrl;

fn database_url(text: &str) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(text).map_err(|e| ConfigError::invalid(DATABASE_URL_SETTING, e.to_string()))
}

/// Provider name of Toss Payments in configuration, URLs and the registry.
pub const TOSSPAYMENTS: &str = "tosspayments";
/// Provider name of PortOne in configuration, URLs and the registry.
pub const PORTONE: &str = "portone";

/// How errors name the database setting.
pub const DATABASE_URL_SETTING: &str = "database_url (HANPAY_DATABASE_URL)";

/// The environment variables read by [`HanpayConfig::from_env`].
pub mod env {
    /// Where webhook state is kept: `memory:`, `sqlite://hanpay.db` or
    /// `postgres://user:password@host/db` (see [`DatabaseUrl`](crate::store::DatabaseUrl)).
    pub const HANPAY_DATABASE_URL: &str = "HANPAY_DATABASE_URL";
    /// The default provider (`tosspayments` or `portone`).
    pub const HANPAY_PROVIDER: &str = "HANPAY_PROVIDER";
    /// Toss Payments secret key (`test_sk_…`, `live_sk_…`, `…_gsk_…`).
    pub const TOSS_SECRET_KEY: &str = "TOSS_SECRET_KEY";
    /// Secret of the `x-tosspayments-signature` header (comma-separated for rotation).
    pub const TOSS_WEBHOOK_SECRET: &str = "TOSS_WEBHOOK_SECRET";
    /// Toss security key for `tosspayments-webhook-signature` (comma-separated for rotation).
    pub const TOSS_SECURITY_KEY: &str = "TOSS_SECURITY_KEY";
    /// Toss API base URL (default `https://api.tosspayments.com`).
    pub const TOSS_API_BASE_URL: &str = "TOSS_API_BASE_URL";
    /// Allowed webhook sender addresses for Toss (comma-separated CIDRs).
    pub const TOSS_WEBHOOK_ALLOWLIST: &str = "TOSS_WEBHOOK_ALLOWLIST";
    /// Trusted proxies in front of the Toss webhook endpoint (comma-separated CIDRs).
    pub const TOSS_TRUSTED_PROXIES: &str = "TOSS_TRUSTED_PROXIES";
    /// PortOne V2 API secret.
    pub const PORTONE_API_SECRET: &str = "PORTONE_API_SECRET";
    /// PortOne Standard Webhooks secret(s) (`whsec_…`, comma-separated for rotation).
    pub const PORTONE_WEBHOOK_SECRET: &str = "PORTONE_WEBHOOK_SECRET";
    /// PortOne store id (`store-…`).
    pub const PORTONE_STORE_ID: &str = "PORTONE_STORE_ID";
    /// PortOne channel key (`channel-key-…`), needed to issue virtual accounts by API.
    pub const PORTONE_CHANNEL_KEY: &str = "PORTONE_CHANNEL_KEY";
    /// PortOne API base URL (default `https://api.portone.io`).
    pub const PORTONE_API_BASE_URL: &str = "PORTONE_API_BASE_URL";
    /// Allowed webhook sender addresses for PortOne (comma-separated CIDRs).
    pub const PORTONE_WEBHOOK_ALLOWLIST: &str = "PORTONE_WEBHOOK_ALLOWLIST";
    /// Trusted proxies in front of the PortOne webhook endpoint (comma-separated CIDRs).
    pub const PORTONE_TRUSTED_PROXIES: &str = "PORTONE_TRUSTED_PROXIES";
}

/// A configuration problem, naming the setting (never its value when it is a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("missing setting {setting}: {hint}")]
    Missing {
        /// The setting (`tosspayments.secret_key` or `TOSS_SECRET_KEY`).
        setting: String,
        /// How to provide it.
        hint: String,
    },
    /// A setting is present but unusable.
    #[error("invalid setting {setting}: {reason}")]
    Invalid {
        /// The setting.
        setting: String,
        /// What is wrong (never the secret itself).
        reason: String,
    },
    /// `${VAR}` names an environment variable that is not set.
    #[error("setting {setting} refers to ${{{variable}}}, which is not set")]
    UnsetVariable {
        /// The setting containing the reference.
        setting: String,
        /// The variable.
        variable: String,
    },
    /// The file could not be read or is not TOML.
    #[error("configuration file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A provider is configured whose crate was not compiled in.
    #[error(
        "provider {provider} is configured but hanpay was built without the `{provider}` feature"
    )]
    NotCompiled {
        /// The provider.
        provider: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// The setting this error is about, when it is about one.
    pub fn setting(&self) -> Option<&str> {
        match self {
            ConfigError::Missing { setting, .. }
            | ConfigError::Invalid { setting, .. }
            | ConfigError::UnsetVariable { setting, .. } => Some(setting),
            ConfigError::File { .. } | ConfigError::NotCompiled { .. } => None,
        }
    }
}

/// Webhook sender checks for one provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderConfig {
    /// Allowed sender networks; `None` keeps the PG's published defaults.
    pub allowlist: Option<Vec<IpNet>>,
    /// Proxies whose `X-Forwarded-For` is believed (rightmost untrusted entry wins).
    pub trusted_proxies: Vec<IpNet>,
}

/// Toss Payments settings.
#[derive(Clone, PartialEq, Eq)]
pub struct TossConfig {
    /// `TOSS_SECRET_KEY`.
    pub secret_key: Secret,
    /// `TOSS_WEBHOOK_SECRET`: secrets of `x-tosspayments-signature` (several for rotation).
    pub webhook_secrets: Vec<Secret>,
    /// `TOSS_SECURITY_KEY`: keys of `tosspayments-webhook-signature` (several for rotation).
    pub security_keys: Vec<Secret>,
    /// `TOSS_API_BASE_URL`; `None` for Toss's production URL.
    pub api_base_url: Option<String>,
    /// Sender checks.
    pub sender: SenderConfig,
}

/// PortOne settings.
#[derive(Clone, PartialEq, Eq)]
pub struct PortOneConfig {
    /// `PORTONE_API_SECRET`.
    pub api_secret: Secret,
    /// `PORTONE_WEBHOOK_SECRET`: Standard Webhooks secrets (several for rotation). Empty: the
    /// allowlist alone admits events, which are then always reconciled with the API.
    pub webhook_secrets: Vec<Secret>,
    /// `PORTONE_STORE_ID`.
    pub store_id: Option<String>,
    /// `PORTONE_CHANNEL_KEY`: the channel used to issue virtual accounts by API.
    pub channel_key: Option<String>,
    /// `PORTONE_API_BASE_URL`; `None` for PortOne's production URL.
    pub api_base_url: Option<String>,
    /// Sender checks.
    pub sender: SenderConfig,
}

/// The whole configuration: the providers to register and the default one.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HanpayConfig {
    /// `HANPAY_PROVIDER` / `default`: the provider used when none is named. When absent and
    /// exactly one provider is configured, that one.
    pub default_provider: Option<String>,
    /// Toss Payments, if configured.
    pub tosspayments: Option<TossConfig>,
    /// PortOne, if configured.
    pub portone: Option<PortOneConfig>,
    /// Cap on webhook bodies, in bytes (`webhooks.max_body_bytes`); `None` uses each
    /// verifier's own limit.
    pub max_webhook_body_bytes: Option<usize>,
    /// `HANPAY_DATABASE_URL` / `database_url`: where webhook state is kept; `None` is memory
    /// (lost on restart). `Debug` and `Display` mask its password.
    pub database_url: Option<DatabaseUrl>,
}

impl HanpayConfig {
    /// Reads the process environment (see [`env`](mod@env)).
    pub fn from_env() -> Result<HanpayConfig, ConfigError> {
        HanpayConfig::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (a variable name → its value), as [`from_env`] does
    /// with the process environment. A provider is configured when its API key variable is set.
    ///
    /// [`from_env`]: HanpayConfig::from_env
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<HanpayConfig, ConfigError> {
        let mut config = HanpayConfig::default();
        config.apply_env(&lookup)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file, expanding `${VAR}` from the process environment, then lets set
    /// environment variables override it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<HanpayConfig, ConfigError> {
        HanpayConfig::from_file_with(path, |name| std::env::var(name).ok())
    }

    /// Like [`from_file`](HanpayConfig::from_file) with another variable source (tests, a
    /// secrets manager).
    pub fn from_file_with(
        path: impl AsRef<Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<HanpayConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut config = HanpayConfig::parse_toml(&text, &lookup).map_err(|e| match e {
            ConfigError::File { reason, .. } => ConfigError::File {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })?;
        config.apply_env(&lookup)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text, expanding `${VAR}` through `lookup`. Environment variables are not
    /// applied on top (use [`from_file`](HanpayConfig::from_file) for that).
    pub fn from_toml_str(
        text: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<HanpayConfig, ConfigError> {
        let config = HanpayConfig::parse_toml(text, &lookup)?;
        config.validate()?;
        Ok(config)
    }

    /// The configured provider names, in registration order.
    pub fn provider_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.tosspayments.is_some() {
            names.push(TOSSPAYMENTS);
        }
        if self.portone.is_some() {
            names.push(PORTONE);
        }
        names
    }

    /// The default provider's name: the configured one, or the only one configured.
    pub fn resolved_default(&self) -> Result<String, ConfigError> {
        if let Some(name) = &self.default_provider {
            return Ok(name.clone());
        }
        match self.provider_names().as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => Err(ConfigError::Missing {
                setting: "providers".into(),
                hint: format!(
                    "configure at least one provider: set {} or {} (or a [tosspayments] / \
                     [portone] table in the configuration file)",
                    env::TOSS_SECRET_KEY,
                    env::PORTONE_API_SECRET
                ),
            }),
            _ => Err(ConfigError::Missing {
                setting: format!("default ({})", env::HANPAY_PROVIDER),
                hint: "several providers are configured: name the default one".into(),
            }),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let default = self.resolved_default()?;
        if !self.provider_names().contains(&default.as_str()) {
            return Err(ConfigError::invalid(
                format!("default ({})", env::HANPAY_PROVIDER),
                format!(
                    "{default:?} is not a configured provider (configured: {})",
                    self.provider_names().join(", ")
                ),
            ));
        }
        if let Some(toss) = &self.tosspayments {
            if toss.secret_key.is_empty() {
                return Err(ConfigError::Missing {
                    setting: format!("tosspayments.secret_key ({})", env::TOSS_SECRET_KEY),
                    hint: "the Toss secret key (test_sk_… or live_sk_…)".into(),
                });
            }
            check_url("tosspayments.api_base_url", toss.api_base_url.as_deref())?;
        }
        if let Some(portone) = &self.portone {
            if portone.api_secret.is_empty() {
                return Err(ConfigError::Missing {
                    setting: format!("portone.api_secret ({})", env::PORTONE_API_SECRET),
                    hint: "the PortOne V2 API secret".into(),
                });
            }
            check_url("portone.api_base_url", portone.api_base_url.as_deref())?;
        }
        if self.max_webhook_body_bytes == Some(0) {
            return Err(ConfigError::invalid(
                "webhooks.max_body_bytes",
                "must be greater than 0",
            ));
        }
        Ok(())
    }

    fn apply_env(&mut self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(provider) = get(env::HANPAY_PROVIDER) {
            self.default_provider = Some(provider.trim().to_ascii_lowercase());
        }
        if let Some(url) = get(env::HANPAY_DATABASE_URL) {
            self.database_url = Some(database_url(&url)?);
        }

        if let Some(key) = get(env::TOSS_SECRET_KEY) {
            let toss = self.tosspayments.get_or_insert_with(|| TossConfig {
                secret_key: Secret::new(""),
                webhook_secrets: Vec::new(),
                security_keys: Vec::new(),
                api_base_url: None,
                sender: SenderConfig::default(),
            });
            toss.secret_key = Secret::new(key.trim());
        }
        if let Some(toss) = &mut self.tosspayments {
            if let Some(v) = get(env::TOSS_WEBHOOK_SECRET) {
                toss.webhook_secrets = split_secrets(&v);
            }
            if let Some(v) = get(env::TOSS_SECURITY_KEY) {
                toss.security_keys = split_secrets(&v);
            }
            if let Some(v) = get(env::TOSS_API_BASE_URL) {
                toss.api_base_url = Some(v.trim().to_owned());
            }
            if let Some(v) = get(env::TOSS_WEBHOOK_ALLOWLIST) {
                toss.sender.allowlist = Some(parse_networks(env::TOSS_WEBHOOK_ALLOWLIST, &v)?);
            }
            if let Some(v) = get(env::TOSS_TRUSTED_PROXIES) {
                toss.sender.trusted_proxies = parse_networks(env::TOSS_TRUSTED_PROXIES, &v)?;
            }
        }

        if let Some(secret) = get(env::PORTONE_API_SECRET) {
            let portone = self.portone.get_or_insert_with(|| PortOneConfig {
                api_secret: Secret::new(""),
                webhook_secrets: Vec::new(),
                store_id: None,
                channel_key: None,
                api_base_url: None,
                sender: SenderConfig::default(),
            });
            portone.api_secret = Secret::new(secret.trim());
        }
        if let Some(portone) = &mut self.portone {
            if let Some(v) = get(env::PORTONE_WEBHOOK_SECRET) {
                portone.webhook_secrets = split_secrets(&v);
            }
            if let Some(v) = get(env::PORTONE_STORE_ID) {
                portone.store_id = Some(v.trim().to_owned());
            }
            if let Some(v) = get(env::PORTONE_CHANNEL_KEY) {
                portone.channel_key = Some(v.trim().to_owned());
            }
            if let Some(v) = get(env::PORTONE_API_BASE_URL) {
                portone.api_base_url = Some(v.trim().to_owned());
            }
            if let Some(v) = get(env::PORTONE_WEBHOOK_ALLOWLIST) {
                portone.sender.allowlist =
                    Some(parse_networks(env::PORTONE_WEBHOOK_ALLOWLIST, &v)?);
            }
            if let Some(v) = get(env::PORTONE_TRUSTED_PROXIES) {
                portone.sender.trusted_proxies = parse_networks(env::PORTONE_TRUSTED_PROXIES, &v)?;
            }
        }
        Ok(())
    }

    fn parse_toml(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<HanpayConfig, ConfigError> {
        let value: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: "<text>".into(),
                reason: e.message().to_owned(),
            })?;
        let mut table = Table::new("", value, lookup);
        let mut config = HanpayConfig {
            default_provider: table
                .string("default")?
                .map(|s| s.trim().to_ascii_lowercase()),
            ..HanpayConfig::default()
        };
        if let Some(url) = table.string("database_url")? {
            config.database_url = Some(database_url(&url)?);
        }
        if let Some(mut toss) = table.table(TOSSPAYMENTS)? {
            config.tosspayments = Some(TossConfig {
                secret_key: Secret::new(toss.required_string("secret_key", env::TOSS_SECRET_KEY)?),
                webhook_secrets: toss.secrets("webhook_secret")?,
                security_keys: toss.secrets("security_key")?,
                api_base_url: toss.string("api_base_url")?,
                sender: toss.sender()?,
            });
            toss.finish()?;
        }
        if let Some(mut portone) = table.table(PORTONE)? {
            config.portone = Some(PortOneConfig {
                api_secret: Secret::new(
                    portone.required_string("api_secret", env::PORTONE_API_SECRET)?,
                ),
                webhook_secrets: portone.secrets("webhook_secret")?,
                store_id: portone.string("store_id")?,
                channel_key: portone.string("channel_key")?,
                api_base_url: portone.string("api_base_url")?,
                sender: portone.sender()?,
            });
            portone.finish()?;
        }
        if let Some(mut hooks) = table.table("webhooks")? {
            config.max_webhook_body_bytes = hooks.usize("max_body_bytes")?;
            hooks.finish()?;
        }
        table.finish()?;
        Ok(config)
    }
}

fn check_url(setting: &str, url: Option<&str>) -> Result<(), ConfigError> {
    match url {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(
            ConfigError::invalid(setting, format!("{url:?} is not an http(s) URL")),
        ),
        _ => Ok(()),
    }
}

fn split_secrets(value: &str) -> Vec<Secret> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Secret::new)
        .collect()
}

fn parse_networks(setting: &str, value: &str) -> Result<Vec<IpNet>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| parse_network(entry).map_err(|e| ConfigError::invalid(setting, e.to_string())))
        .collect()
}

/// Expands `${VAR}` in `text`; `$$` is a literal `$`.
pub(crate) fn expand(
    setting: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(|| {
                ConfigError::invalid(setting, "unterminated ${ (write $$ for a literal $)")
            })?;
            let name = &inner[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ConfigError::invalid(
                    setting,
                    format!("${{{name}}} is not a valid variable name"),
                ));
            }
            let value = lookup(name).ok_or_else(|| ConfigError::UnsetVariable {
                setting: setting.to_owned(),
                variable: name.to_owned(),
            })?;
            out.push_str(&value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A TOML table being read: expands variables, names settings by their path, refuses unknown
/// keys (a typo must not silently drop a setting).
struct Table<'a> {
    prefix: String,
    values: BTreeMap<String, toml::Value>,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Table<'a> {
    fn new(prefix: &str, table: toml::Table, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Table {
            prefix: prefix.to_owned(),
            values: table.into_iter().collect(),
            lookup,
        }
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        let setting = self.path(key);
        match self.values.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => {
                let expanded = expand(&setting, &s, self.lookup)?;
                Ok(Some(expanded.trim().to_owned()).filter(|s| !s.is_empty()))
            }
            Some(other) => Err(ConfigError::invalid(
                setting,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    fn required_string(&mut self, key: &str, variable: &str) -> Result<String, ConfigError> {
        let setting = self.path(key);
        self.string(key)?.ok_or_else(|| ConfigError::Missing {
            setting,
            hint: format!("set it, e.g. {key} = \"${{{variable}}}\""),
        })
    }

    fn strings(&mut self, key: &str) -> Result<Vec<String>, ConfigError> {
        let setting = self.path(key);
        match self.values.remove(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::String(s)) => {
                let expanded = expand(&setting, &s, self.lookup)?;
                Ok(expanded
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect())
            }
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    let item_setting = format!("{setting}[{i}]");
                    match item {
                        toml::Value::String(s) => {
                            let expanded = expand(&item_setting, &s, self.lookup)?;
                            let trimmed = expanded.trim();
                            if !trimmed.is_empty() {
                                out.push(trimmed.to_owned());
                            }
                        }
                        other => {
                            return Err(ConfigError::invalid(
                                item_setting,
                                format!("expected a string, found {}", other.type_str()),
                            ))
                        }
                    }
                }
                Ok(out)
            }
            Some(other) => Err(ConfigError::invalid(
                setting,
                format!(
                    "expected a string or an array of strings, found {}",
                    other.type_str()
                ),
            )),
        }
    }

    fn secrets(&mut self, key: &str) -> Result<Vec<Secret>, ConfigError> {
        Ok(self.strings(key)?.into_iter().map(Secret::new).collect())
    }

    fn networks(&mut self, key: &str) -> Result<Option<Vec<IpNet>>, ConfigError> {
        let setting = self.path(key);
        if !self.values.contains_key(key) {
            return Ok(None);
        }
        self.strings(key)?
            .iter()
            .map(|e| {
                parse_network(e).map_err(|err| ConfigError::invalid(&setting, err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn sender(&mut self) -> Result<SenderConfig, ConfigError> {
        Ok(SenderConfig {
            allowlist: self.networks("allowlist")?,
            trusted_proxies: self.networks("trusted_proxies")?.unwrap_or_default(),
        })
    }

    fn usize(&mut self, key: &str) -> Result<Option<usize>, ConfigError> {
        let setting = self.path(key);
        match self.values.remove(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => usize::try_from(n)
                .map(Some)
                .map_err(|_| ConfigError::invalid(setting, "must not be negative")),
            Some(other) => Err(ConfigError::invalid(
                setting,
                format!("expected an integer, found {}", other.type_str()),
            )),
        }
    }

    fn table(&mut self, key: &str) -> Result<Option<Table<'a>>, ConfigError> {
        let setting = self.path(key);
        match self.values.remove(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(Table::new(&setting, t, self.lookup))),
            Some(other) => Err(ConfigError::invalid(
                setting,
                format!("expected a table, found {}", other.type_str()),
            )),
        }
    }

    fn finish(self) -> Result<(), ConfigError> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(key) => Err(ConfigError::invalid(self.path(key), "unknown setting")),
        }
    }
}

fn redacted(secrets: &[Secret]) -> String {
    match secrets.len() {
        0 => "(none)".into(),
        1 => "***".into(),
        n => format!("*** ({n} secrets)"),
    }
}

fn networks(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Debug for SenderConfigDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.allowlist {
            Some(list) => write!(f, "allowlist = [{}]", networks(list))?,
            None => f.write_str("allowlist = (the PG's published addresses)")?,
        }
        write!(
            f,
            ", trusted_proxies = [{}]",
            networks(&self.0.trusted_proxies)
        )
    }
}

struct SenderConfigDisplay<'a>(&'a SenderConfig);

impl fmt::Debug for TossConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TossConfig")
            .field("secret_key", &self.secret_key)
            .field("webhook_secrets", &redacted(&self.webhook_secrets))
            .field("security_keys", &redacted(&self.security_keys))
            .field("api_base_url", &self.api_base_url)
            .field("sender", &SenderConfigDisplay(&self.sender))
            .finish()
    }
}

impl fmt::Debug for PortOneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortOneConfig")
            .field("api_secret", &self.api_secret)
            .field("webhook_secrets", &redacted(&self.webhook_secrets))
            .field("store_id", &self.store_id)
            .field("channel_key", &self.channel_key)
            .field("api_base_url", &self.api_base_url)
            .field("sender", &SenderConfigDisplay(&self.sender))
            .finish()
    }
}

impl fmt::Debug for HanpayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HanpayConfig")
            .field("default_provider", &self.default_provider)
            .field("tosspayments", &self.tosspayments)
            .field("portone", &self.portone)
            .field("max_webhook_body_bytes", &self.max_webhook_body_bytes)
            .field("database_url", &self.database_url)
            .finish()
    }
}

/// A TOML-like summary with every secret shown as `***`.
impl fmt::Display for HanpayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = self.resolved_default().unwrap_or_else(|_| "(unset)".into());
        writeln!(f, "default = {default}")?;
        match &self.database_url {
            Some(url) => writeln!(f, "database_url = {url}")?,
            None => writeln!(f, "database_url = memory: (lost on restart)")?,
        }
        if let Some(toss) = &self.tosspayments {
            writeln!(f, "[tosspayments]")?;
            writeln!(f, "secret_key = ***")?;
            writeln!(f, "webhook_secret = {}", redacted(&toss.webhook_secrets))?;
            writeln!(f, "security_key = {}", redacted(&toss.security_keys))?;
            writeln!(
                f,
                "api_base_url = {}",
                toss.api_base_url.as_deref().unwrap_or("(Toss production)")
            )?;
            writeln!(f, "{:?}", SenderConfigDisplay(&toss.sender))?;
        }
        if let Some(portone) = &self.portone {
            writeln!(f, "[portone]")?;
            writeln!(f, "api_secret = ***")?;
            writeln!(f, "webhook_secret = {}", redacted(&portone.webhook_secrets))?;
            writeln!(
                f,
                "store_id = {}",
                portone.store_id.as_deref().unwrap_or("(none)")
            )?;
            writeln!(
                f,
                "channel_key = {}",
                portone.channel_key.as_deref().unwrap_or("(none)")
            )?;
            writeln!(
                f,
                "api_base_url = {}",
                portone
                    .api_base_url
                    .as_deref()
                    .unwrap_or("(PortOne production)")
            )?;
            writeln!(f, "{:?}", SenderConfigDisplay(&portone.sender))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const FILE: &str = r#"
default = "portone"

[tosspayments]
secret_key = "${TOSS_SECRET_KEY}"
webhook_secret = "${TOSS_WEBHOOK_SECRET}"
security_key = ["${TOSS_SECURITY_KEY}", "old-key"]
allowlist = ["13.124.18.147", "115.92.221.0/24"]
trusted_proxies = "10.0.0.0/8, 192.168.0.1"

[portone]
api_secret = "${PORTONE_API_SECRET}"
webhook_secret = "${PORTONE_WEBHOOK_SECRET}"
store_id = "store-${STORE_SUFFIX}"
api_base_url = "http://127.0.0.1:8702"

[webhooks]
max_body_bytes = 65536
"#;

    #[test]
    fn toml_with_expansion() {
        let lookup = vars(&[
            ("TOSS_SECRET_KEY", "test_sk_abc"),
            ("TOSS_WEBHOOK_SECRET", "whsec_relay"),
            ("TOSS_SECURITY_KEY", "sec-new"),
            ("PORTONE_API_SECRET", "po_secret"),
            ("PORTONE_WEBHOOK_SECRET", "whsec_po"),
            ("STORE_SUFFIX", "1234"),
        ]);
        let config = HanpayConfig::from_toml_str(FILE, lookup).unwrap();
        assert_eq!(config.resolved_default().unwrap(), "portone");
        let toss = config.tosspayments.as_ref().unwrap();
        assert!(toss.secret_key.ct_eq("test_sk_abc"));
        assert_eq!(toss.security_keys.len(), 2);
        assert_eq!(toss.sender.allowlist.as_ref().unwrap().len(), 2);
        assert_eq!(toss.sender.trusted_proxies.len(), 2);
        let portone = config.portone.as_ref().unwrap();
        assert_eq!(portone.store_id.as_deref(), Some("store-1234"));
        assert_eq!(config.max_webhook_body_bytes, Some(65536));

        for shown in [format!("{config:?}"), config.to_string()] {
            for secret in [
                "test_sk_abc",
                "whsec_relay",
                "sec-new",
                "po_secret",
                "whsec_po",
            ] {
                assert!(!shown.contains(secret), "{secret} leaked in {shown}");
            }
            assert!(shown.contains("store-1234"));
        }
    }

    #[test]
    fn unset_variable_names_the_setting() {
        let err = HanpayConfig::from_toml_str(FILE, vars(&[])).unwrap_err();
        assert_eq!(
            err,
            ConfigError::UnsetVariable {
                setting: "tosspayments.secret_key".into(),
                variable: "TOSS_SECRET_KEY".into()
            }
        );
        assert!(err.to_string().contains("tosspayments.secret_key"));
        assert!(err.to_string().contains("TOSS_SECRET_KEY"));
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let cases = [
            (
                "[tosspayments]\nsecret_key = \"test_sk_x\"\nallowlist = [\"1.2.3.999\"]",
                "tosspayments.allowlist",
            ),
            (
                "[tosspayments]\nsecret_key = \"test_sk_x\"\nsecrte_key = \"typo\"",
                "tosspayments.secrte_key",
            ),
            (
                "[portone]\nwebhook_secret = \"whsec_x\"",
                "portone.api_secret",
            ),
            (
                "[portone]\napi_secret = \"x\"\napi_base_url = \"api.portone.io\"",
                "portone.api_base_url",
            ),
            (
                "default = \"kakaopay\"\n[portone]\napi_secret = \"x\"",
                "default (HANPAY_PROVIDER)",
            ),
            ("[tosspayments]\nsecret_key = 5", "tosspayments.secret_key"),
            (
                "[tosspayments]\nsecret_key = \"${TOSS\"",
                "tosspayments.secret_key",
            ),
            (
                "[webhooks]\nmax_body_bytes = 0\n[portone]\napi_secret = \"x\"",
                "webhooks.max_body_bytes",
            ),
        ];
        for (text, setting) in cases {
            let err = HanpayConfig::from_toml_str(text, vars(&[])).unwrap_err();
            assert_eq!(err.setting(), Some(setting), "{text}: {err}");
            assert!(err.to_string().contains(setting));
        }
    }

    #[test]
    fn env_only() {
        let config = HanpayConfig::from_env_with(vars(&[
            ("HANPAY_PROVIDER", "PortOne"),
            ("TOSS_SECRET_KEY", "test_sk_1"),
            ("TOSS_WEBHOOK_SECRET", "a, b"),
            ("PORTONE_API_SECRET", "po"),
            ("PORTONE_WEBHOOK_SECRET", "whsec_x"),
            ("PORTONE_STORE_ID", "store-1"),
            ("PORTONE_API_BASE_URL", "http://127.0.0.1:9"),
            ("PORTONE_TRUSTED_PROXIES", "10.0.0.1"),
        ]))
        .unwrap();
        assert_eq!(config.resolved_default().unwrap(), "portone");
        assert_eq!(
            config.tosspayments.as_ref().unwrap().webhook_secrets.len(),
            2
        );
        let portone = config.portone.unwrap();
        assert_eq!(portone.api_base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(portone.sender.trusted_proxies.len(), 1);
        assert!(portone.sender.allowlist.is_none());
    }

    #[test]
    fn env_missing_everything_or_the_default() {
        let err = HanpayConfig::from_env_with(vars(&[])).unwrap_err();
        assert!(err.to_string().contains("TOSS_SECRET_KEY"), "{err}");
        let err = HanpayConfig::from_env_with(vars(&[
            ("TOSS_SECRET_KEY", "test_sk_1"),
            ("PORTONE_API_SECRET", "po"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("HANPAY_PROVIDER"), "{err}");
        let err = HanpayConfig::from_env_with(vars(&[
            ("TOSS_SECRET_KEY", "test_sk_1"),
            ("TOSS_WEBHOOK_ALLOWLIST", "nope"),
        ]))
        .unwrap_err();
        assert_eq!(err.setting(), Some("TOSS_WEBHOOK_ALLOWLIST"));
        // One provider: it is the default.
        let config =
            HanpayConfig::from_env_with(vars(&[("TOSS_SECRET_KEY", "test_sk_1")])).unwrap();
        assert_eq!(config.resolved_default().unwrap(), "tosspayments");
    }

    #[test]
    fn expansion_rules() {
        let lookup = vars(&[("A", "x")]);
        assert_eq!(expand("s", "${A}-$${A}-$5", &lookup).unwrap(), "x-${A}-$5");
        assert!(expand("s", "${}", &lookup).is_err());
        assert!(expand("s", "${A-B}", &lookup).is_err());
    }

    #[test]
    fn file_on_disk_with_expansion_and_env_override() {
        let dir = std::env::temp_dir().join(format!("hanpay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hanpay.toml");
        std::fs::write(
            &path,
            "default = \"portone\"\n\n[tosspayments]\nsecret_key = \"${MY_TOSS_KEY}\"\n\n[portone]\napi_secret = \"${MY_PORTONE}\"\n",
        )
        .unwrap();
        let vars = |name: &str| match name {
            "MY_TOSS_KEY" => Some("test_sk_fromFile".to_owned()),
            "MY_PORTONE" => Some("portone-file-secret".to_owned()),
            "HANPAY_PROVIDER" => Some("tosspayments".to_owned()),
            _ => None,
        };
        let config = HanpayConfig::from_file_with(&path, vars).unwrap();
        // The environment overrides the file's default.
        assert_eq!(config.resolved_default().unwrap(), "tosspayments");
        let shown = format!("{config:?} {config}");
        assert!(!shown.contains("test_sk_fromFile") && !shown.contains("portone-file-secret"));

        let missing = HanpayConfig::from_file_with(dir.join("absent.toml"), vars).unwrap_err();
        assert!(missing.to_string().contains("absent.toml"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }

    use crate::Hanpay;

    #[test]
    fn the_database_url_picks_the_backend_and_hides_the_password() {
        let config = HanpayConfig::from_env_with(vars(&[
            ("TOSS_SECRET_KEY", "test_sk_x"),
            ("HANPAY_DATABASE_URL", "sqlite://hanpay.db"),
        ]));
        match config {
            Ok(c) => assert_eq!(
                c.database_url.map(|u| u.backend()),
                Some(crate::store::Backend::Sqlite)
            ),
            // Without the sqlite feature the URL is refused, naming the setting.
            Err(e) => assert_eq!(e.setting(), Some(DATABASE_URL_SETTING), "{e}"),
        }
        let bad = HanpayConfig::from_env_with(vars(&[
            ("TOSS_SECRET_KEY", "test_sk_x"),
            ("HANPAY_DATABASE_URL", "mysql://shop:hunter2@db/shop"),
        ]))
        .unwrap_err();
        assert_eq!(bad.setting(), Some(DATABASE_URL_SETTING));
        assert!(!format!("{bad} {bad:?}").contains("hunter2"), "{bad}");
        let text = "database_url = \"${DB}\"\n[tosspayments]\nsecret_key = \"test_sk_x\"\n";
        let config = HanpayConfig::from_toml_str(text, vars(&[("DB", "memory:")])).unwrap();
        assert_eq!(
            config.database_url.map(|u| u.backend()),
            Some(crate::store::Backend::Memory)
        );
        if crate::store::Backend::Postgres.is_compiled() {
            let config = HanpayConfig::from_env_with(vars(&[
                ("TOSS_SECRET_KEY", "test_sk_x"),
                ("HANPAY_DATABASE_URL", "postgres://shop:hunter2@db/shop"),
            ]))
            .unwrap();
            let shown = format!("{config} {config:?}");
            assert!(shown.contains("postgres://shop:***@db/shop"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            let err = Hanpay::from_config(&config).unwrap_err();
            assert_eq!(err.setting(), Some(DATABASE_URL_SETTING));
        }
    }
}
