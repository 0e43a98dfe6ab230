//! A PG as a plugin, sqlx-driver style: each PG crate exports one [`Plugin`] constant (its id,
//! display name, environment variables and how its settings are read and built), and the
//! `hanpay` facade lists them, one feature-gated line each.
//!
//! The facade reads the configuration file and the environment, expands `${VAR}`, and hands
//! each plugin its own table as a [`SettingsInput`]; the plugin deserializes its own settings
//! type (serde derive, unknown keys refused, secrets as [`Secret`](crate::Secret)) with
//! [`SettingsInput::deserialize`], whose errors name the setting (`tosspayments.allowlist`,
//! or the variable, `TOSS_WEBHOOK_ALLOWLIST`, when the value came from the environment) and
//! never print a value.
//!
//! ```
//! use hanpay_core::plugin::{Built, ConfigError, EnvVar, PgSettings, Plugin, SettingsInput};
//! use hanpay_core::Secret;
//!
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct DemoSettings {
//!     #[serde(deserialize_with = "hanpay_core::plugin::de::secret")]
//!     api_key: Secret,
//! }
//! impl PgSettings for DemoSettings {
//!     fn build(&self) -> Result<Built, ConfigError> {
//!         Err(ConfigError::invalid("demo.api_key", "this example builds nothing"))
//!     }
//!     fn as_any(&self) -> &dyn std::any::Any { self }
//! }
//! fn parse(input: &SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError> {
//!     Ok(Box::new(input.deserialize::<DemoSettings>()?))
//! }
//! pub const PLUGIN: Plugin =
//!     Plugin::new("demo", "Demo PG", &[EnvVar::activating("DEMO_API_KEY", "api_key")], parse);
//!
//! let mut table = serde_json::Map::new();
//! table.insert("api_kye".into(), "k".into());
//! let err = PLUGIN.parse(&SettingsInput::new(&PLUGIN, table, &[])).unwrap_err();
//! assert_eq!(err.setting(), Some("demo.api_kye"));
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::{PaymentProvider, WebhookVerifier};

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
    /// An [`Invalid`](ConfigError::Invalid) error.
    pub fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
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

/// An environment variable a plugin reads, and the key of its settings table it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    name: &'static str,
    key: &'static str,
    activates: bool,
}

impl EnvVar {
    /// `name` sets `key`, when the PG is configured (by its table or an activating variable).
    pub const fn new(name: &'static str, key: &'static str) -> EnvVar {
        EnvVar {
            name,
            key,
            activates: false,
        }
    }

    /// `name` sets `key`, and setting it configures the PG (its API key variable).
    pub const fn activating(name: &'static str, key: &'static str) -> EnvVar {
        EnvVar {
            name,
            key,
            activates: true,
        }
    }

    /// The variable's name (`TOSS_SECRET_KEY`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The settings key it sets (`secret_key`).
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// Whether setting it configures the PG.
    pub const fn activates(&self) -> bool {
        self.activates
    }
}

/// A built provider and its webhook verifier.
#[derive(Clone)]
pub struct Built {
    /// The provider.
    pub provider: Arc<dyn PaymentProvider>,
    /// Its webhook verifier.
    pub verifier: Arc<dyn WebhookVerifier>,
}

impl fmt::Debug for Built {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Built")
            .field("provider", self.provider.id())
            .finish_non_exhaustive()
    }
}

/// A PG's parsed settings. `Debug` must show every secret as `***` (hold them as [`Secret`](crate::Secret)).
pub trait PgSettings: fmt::Debug + Send + Sync + 'static {
    /// Builds the provider and its verifier; errors name the setting.
    fn build(&self) -> Result<Built, ConfigError>;

    /// For tools that need the concrete settings type (downcast).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Reads a PG's settings from its table.
pub type ParseFn = fn(&SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError>;

/// One PG, as the facade registers it. Built only by [`Plugin::new`] (a `const fn`).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Plugin {
    id: &'static str,
    name: &'static str,
    env: &'static [EnvVar],
    parse: ParseFn,
    webhook_tool: Option<WebhookToolFn>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// A plugin: its id (the configuration table, URL segment and [`ProviderId`](crate::ProviderId)),
    /// display name, environment variables and settings reader.
    pub const fn new(
        id: &'static str,
        name: &'static str,
        env: &'static [EnvVar],
        parse: ParseFn,
    ) -> Plugin {
        Plugin {
            id,
            name,
            env,
            parse,
            webhook_tool: None,
        }
    }

    /// The same plugin, able to build a webhook verifier from webhook settings alone (for
    /// `hanpay webhook verify`: no API key needed).
    pub const fn with_webhook_tool(mut self, tool: WebhookToolFn) -> Plugin {
        self.webhook_tool = Some(tool);
        self
    }

    /// A verifier built from webhook settings alone, exactly as the plugin builds it for the
    /// facade; `None` when the plugin has no webhook tool.
    pub fn webhook_tool(
        &self,
        input: &WebhookToolInput<'_>,
    ) -> Option<Result<WebhookTool, ConfigError>> {
        self.webhook_tool.map(|tool| tool(input))
    }

    /// The id (`tosspayments`).
    pub const fn id(&self) -> &'static str {
        self.id
    }

    /// The display name (`Toss Payments`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The environment variables it reads.
    pub const fn env(&self) -> &'static [EnvVar] {
        self.env
    }

    /// The variable that sets `key`, if any.
    pub fn env_for(&self, key: &str) -> Option<&'static str> {
        self.env.iter().find(|v| v.key == key).map(|v| v.name)
    }

    /// Reads the settings from `input`.
    pub fn parse(&self, input: &SettingsInput<'_>) -> Result<Box<dyn PgSettings>, ConfigError> {
        (self.parse)(input)
    }
}

/// What `hanpay webhook verify` hands a plugin's webhook tool.
#[non_exhaustive]
pub struct WebhookToolInput<'a> {
    /// The `--secret` values: every webhook secret the PG signs with (the plugin says which of
    /// its settings they are).
    pub secrets: &'a [crate::Secret],
    /// `--set key=value` pairs: the plugin's own webhook settings (unknown keys are refused).
    pub settings: &'a [(String, String)],
    /// Whether the sender's address is checked (`false`: no `--peer` was given).
    pub check_sender: bool,
    /// The request's headers.
    pub headers: &'a http::HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
}

impl<'a> WebhookToolInput<'a> {
    /// An input; see the fields.
    pub fn new(
        secrets: &'a [crate::Secret],
        settings: &'a [(String, String)],
        check_sender: bool,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> WebhookToolInput<'a> {
        WebhookToolInput {
            secrets,
            settings,
            check_sender,
            headers,
            body,
        }
    }

    /// The values given for `key`, in order.
    pub fn values(&self, key: &str) -> Vec<&'a str> {
        self.settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Refuses any `--set` key not in `known`, naming the known ones.
    pub fn only(&self, plugin: &str, known: &[&str]) -> Result<(), ConfigError> {
        match self
            .settings
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((key, _)) => Err(ConfigError::invalid(
                format!("{plugin}.{key}"),
                if known.is_empty() {
                    "this PG takes no webhook setting but --secret".to_owned()
                } else {
                    format!("unknown webhook setting; known: {}", known.join(", "))
                },
            )),
        }
    }
}

/// A verifier built by a plugin's webhook tool, with notes for the user and, per header, the
/// setting its secret comes from.
pub struct WebhookTool {
    /// The verifier.
    pub verifier: Box<dyn WebhookVerifier>,
    /// Notes printed before the verdict (what was and was not checked).
    pub notes: Vec<String>,
    /// `(header, setting)`: which setting verifies which signature header (for "failed check").
    pub signature_settings: Vec<(&'static str, String)>,
}

impl fmt::Debug for WebhookTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTool")
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

/// Builds a webhook verifier from webhook settings alone.
pub type WebhookToolFn = fn(&WebhookToolInput<'_>) -> Result<WebhookTool, ConfigError>;

/// A plugin's table, `${VAR}` already expanded, with the keys that came from the environment.
#[derive(Debug)]
pub struct SettingsInput<'a> {
    plugin: &'a Plugin,
    table: serde_json::Map<String, serde_json::Value>,
    from_env: BTreeSet<String>,
}

impl<'a> SettingsInput<'a> {
    /// `table` for `plugin`; `from_env` are the keys set by environment variables.
    pub fn new(
        plugin: &'a Plugin,
        table: serde_json::Map<String, serde_json::Value>,
        from_env: &[&str],
    ) -> SettingsInput<'a> {
        SettingsInput {
            plugin,
            table,
            from_env: from_env.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    /// The plugin.
    pub fn plugin(&self) -> &Plugin {
        self.plugin
    }

    /// How errors name `key`: its variable when the value came from the environment,
    /// `id.key` otherwise.
    pub fn setting(&self, key: &str) -> String {
        match self.plugin.env_for(key) {
            Some(var) if self.from_env.contains(key) => var.to_owned(),
            _ => format!("{}.{key}", self.plugin.id),
        }
    }

    /// `id.key (VARIABLE)`, for errors about a setting whichever its source.
    pub fn setting_and_env(&self, key: &str) -> String {
        match self.plugin.env_for(key) {
            Some(var) => format!("{}.{key} ({var})", self.plugin.id),
            None => format!("{}.{key}", self.plugin.id),
        }
    }

    /// Deserializes the table into `T`. Errors name the setting and never quote a value.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let value = serde_json::Value::Object(self.table.clone());
        deserialize_named(value, &|path| {
            self.setting(path.split(['.', '[']).next().unwrap_or(path))
        })
        .map_err(|e| match e {
            ConfigError::Missing { setting, .. } => {
                let key = setting.rsplit('.').next().unwrap_or(&setting).to_owned();
                let hint = match self.plugin.env_for(&key) {
                    Some(var) => format!("set it, e.g. {key} = \"${{{var}}}\", or set {var}"),
                    None => format!("set {key}"),
                };
                ConfigError::Missing { setting, hint }
            }
            other => other,
        })
    }
}

/// Deserializes `value` into `T`; errors name the setting through `name` (given the dotted
/// path of keys, e.g. `webhooks.max_body_bytes`) and never quote a value.
pub fn deserialize_named<T: DeserializeOwned>(
    value: serde_json::Value,
    name: &dyn Fn(&str) -> String,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        let missing = message.starts_with("missing field");
        let unknown = message.starts_with("unknown field");
        if missing || unknown {
            if let Some(field) = quoted_field(&message) {
                if path.last() != Some(&field) {
                    path.push(field);
                }
            }
        }
        let setting = name(&path.join("."));
        if missing {
            ConfigError::Missing {
                hint: format!("set {setting}"),
                setting,
            }
        } else if unknown {
            ConfigError::invalid(setting, "unknown setting")
        } else {
            ConfigError::invalid(setting, redact(&message))
        }
    })
}

/// The field named in serde's `unknown field `x`` / `missing field `x`` messages.
fn quoted_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// serde's `invalid type: string "…", expected …` quotes the value: keep only what was expected.
fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if message.starts_with(prefix) {
            if let Some(pos) = message.find(", expected ") {
                return format!("expected {}", &message[pos + ", expected ".len()..]);
            }
        }
    }
    message.to_owned()
}

/// `deserialize_with` helpers for PG settings: trimmed strings, secrets as one or several
/// (an array, or a comma-separated string), networks as bare IPs or CIDRs.
pub mod de {
    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer};

    use crate::Secret;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    fn items<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let raw = match OneOrMany::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a string or an array of strings"))?
        {
            OneOrMany::One(s) => s.split(',').map(str::to_owned).collect(),
            OneOrMany::Many(v) => v,
        };
        Ok(raw
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// A required secret, trimmed (an empty one is a missing one: check with `is_empty`).
    pub fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let s =
            String::deserialize(d).map_err(|_| serde::de::Error::custom("expected a string"))?;
        Ok(Secret::new(s.trim()))
    }

    /// Secrets: one string (comma-separated for rotation) or an array.
    pub fn secrets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
        Ok(items(d)?.into_iter().map(Secret::new).collect())
    }

    /// A required string, trimmed.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s =
            String::deserialize(d).map_err(|_| serde::de::Error::custom("expected a string"))?;
        Ok(s.trim().to_owned())
    }

    /// An optional string, trimmed; empty is absent.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let s =
            String::deserialize(d).map_err(|_| serde::de::Error::custom("expected a string"))?;
        let s = s.trim();
        Ok((!s.is_empty()).then(|| s.to_owned()))
    }

    /// Networks (bare IPs or CIDRs; a comma-separated string or an array).
    pub fn networks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        items(d)?
            .iter()
            .map(|e| crate::webhook::parse_network(e).map_err(serde::de::Error::custom))
            .collect()
    }

    /// Optional networks: absent keeps the PG's defaults.
    pub fn opt_networks<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<IpNet>>, D::Error> {
        networks(d).map(Some)
    }
}

/// Checks that `url`, when set, is an http(s) URL; the error names `setting`.
pub fn check_url(setting: &str, url: Option<&str>) -> Result<(), ConfigError> {
    match url {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(
            ConfigError::invalid(setting, format!("{url:?} is not an http(s) URL")),
        ),
        _ => Ok(()),
    }
}
