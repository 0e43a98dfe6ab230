//! Configuration: which PGs to use and with which keys, from a TOML file (with `${VAR}`
//! expansion) and from the environment variables users of these PGs already set.
//!
//! The facade knows only what is shared (`default`, `[webhooks]`); each `[<pg>]` table goes to
//! that PG's [plugin](crate::plugins()), which owns its settings type and its variables
//! (`hanpay_tosspayments::TossSettings`, `hanpay_portone::PortOneSettings`, …).
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
//!
//! [webhooks]
//! max_body_bytes = 65536
//! ```
//!
//! The file is parsed with `toml`, `${VAR}` expanded over every string, the environment laid
//! over it (each PG's variables set its keys), then the shared part and each PG's table are
//! deserialized with serde (`deny_unknown_fields`). A missing variable, an unknown key, or a
//! malformed value fails at start-up with a [`ConfigError`] naming the setting (or the variable
//! it came from), never its value. `Debug` and `Display` of [`HanpayConfig`] print `***` for
//! every secret.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use hanpay_core::plugin::{deserialize_named, PgSettings, Plugin, SettingsInput};
use serde::Deserialize;

pub use hanpay_core::plugin::ConfigError;

use crate::store::DatabaseUrl;

/// How errors name the database setting.
pub const DATABASE_URL_SETTING: &str = "database_url (HANPAY_DATABASE_URL)";

fn database_url(text: &str) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(text).map_err(|e| ConfigError::invalid(DATABASE_URL_SETTING, e.to_string()))
}

/// The shared environment variables (each PG's are its plugin's: [`Plugin::env`]).
pub mod env {
    /// The default provider (`tosspayments`, `portone`, …).
    pub const HANPAY_PROVIDER: &str = "HANPAY_PROVIDER";
    /// Where webhook state is kept: `memory:`, `sqlite://hanpay.db` or
    /// `postgres://user:password@host/db` (see [`DatabaseUrl`](crate::store::DatabaseUrl)).
    pub const HANPAY_DATABASE_URL: &str = "HANPAY_DATABASE_URL";
}

/// One configured PG: its plugin and its parsed settings.
#[derive(Clone)]
pub struct ProviderSettings {
    plugin: Plugin,
    settings: Arc<dyn PgSettings>,
}

impl ProviderSettings {
    /// The PG's id.
    pub fn id(&self) -> &'static str {
        self.plugin.id()
    }

    /// The PG's plugin.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The settings.
    pub fn settings(&self) -> &dyn PgSettings {
        self.settings.as_ref()
    }
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.settings, f)
    }
}

/// The whole configuration: the providers to register and the default one.
#[derive(Clone, Default)]
pub struct HanpayConfig {
    /// `HANPAY_PROVIDER` / `default`: the provider used when none is named. When absent and
    /// exactly one provider is configured, that one.
    pub default_provider: Option<String>,
    /// The configured PGs, in registration order.
    providers: Vec<ProviderSettings>,
    /// Cap on webhook bodies, in bytes (`webhooks.max_body_bytes`); `None` uses each
    /// verifier's own limit.
    pub max_webhook_body_bytes: Option<usize>,
    /// `HANPAY_DATABASE_URL` / `database_url`: where webhook state is kept; `None` is memory
    /// (lost on restart). `Debug` and `Display` mask its password.
    pub database_url: Option<DatabaseUrl>,
}

/// The shared part of the file, after the PG tables are taken out.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Shared {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    webhooks: Option<Webhooks>,
    #[serde(default)]
    database_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Webhooks {
    #[serde(default)]
    max_body_bytes: Option<usize>,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl HanpayConfig {
    /// Reads the process environment (`HANPAY_PROVIDER` and each registered PG's variables).
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
        HanpayConfig::load(None, &lookup, true, crate::plugins())
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
        let file_error = |reason: String| ConfigError::File {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        HanpayConfig::load(Some(&text), &lookup, true, crate::plugins()).map_err(|e| match e {
            ConfigError::File { reason, .. } => file_error(reason),
            other => other,
        })
    }

    /// Parses TOML text, expanding `${VAR}` through `lookup`. Environment variables are not
    /// applied on top (use [`from_file`](HanpayConfig::from_file) for that).
    pub fn from_toml_str(
        text: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<HanpayConfig, ConfigError> {
        HanpayConfig::load(Some(text), &lookup, false, crate::plugins())
    }

    /// The general form: optional TOML text, variables through `lookup` (`${VAR}` and, with
    /// `apply_env`, each PG's variables laid over the file), for the PGs of `plugins`.
    pub fn load(
        text: Option<&str>,
        lookup: Lookup<'_>,
        apply_env: bool,
        plugins: &[Plugin],
    ) -> Result<HanpayConfig, ConfigError> {
        let mut root = match text {
            Some(text) => {
                let table: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| ConfigError::File {
                            path: "<text>".into(),
                            reason: e.message().to_owned(),
                        })?;
                let mut value = toml::Value::Table(table);
                expand_all("", &mut value, lookup)?;
                match serde_json::to_value(value) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => {
                        return Err(ConfigError::File {
                            path: "<text>".into(),
                            reason: "not a table of settings".into(),
                        })
                    }
                }
            }
            None => serde_json::Map::new(),
        };

        let mut providers = Vec::new();
        for plugin in plugins {
            let table = match root.remove(plugin.id()) {
                None => None,
                Some(serde_json::Value::Object(t)) => Some(t),
                Some(_) => {
                    return Err(ConfigError::invalid(plugin.id(), "expected a table"));
                }
            };
            let mut from_env = Vec::new();
            let table = if apply_env {
                let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
                let activated = plugin
                    .env()
                    .iter()
                    .any(|v| v.activates() && set(v.name()).is_some());
                match table {
                    Some(t) => Some(t),
                    None if activated => Some(serde_json::Map::new()),
                    None => None,
                }
                .map(|mut t| {
                    for var in plugin.env() {
                        if let Some(value) = set(var.name()) {
                            t.insert(var.key().to_owned(), serde_json::Value::String(value));
                            from_env.push(var.key());
                        }
                    }
                    t
                })
            } else {
                table
            };
            if let Some(table) = table {
                let settings = plugin.parse(&SettingsInput::new(plugin, table, &from_env))?;
                providers.push(ProviderSettings {
                    plugin: *plugin,
                    settings: Arc::from(settings),
                });
            }
        }
        for (id, vars) in crate::plugins::KNOWN_PGS {
            if plugins.iter().any(|p| p.id() == *id) {
                continue;
            }
            let by_env = apply_env
                && vars
                    .iter()
                    .any(|v| lookup(v).is_some_and(|value| !value.trim().is_empty()));
            if root.contains_key(*id) || by_env {
                return Err(ConfigError::NotCompiled {
                    provider: (*id).to_owned(),
                });
            }
        }

        let shared: Shared =
            deserialize_named(serde_json::Value::Object(root), &|path| path.to_owned())?;
        let mut default_provider = shared.default.map(|s| s.trim().to_ascii_lowercase());
        if apply_env {
            if let Some(provider) = lookup(env::HANPAY_PROVIDER).filter(|v| !v.trim().is_empty()) {
                default_provider = Some(provider.trim().to_ascii_lowercase());
            }
        }
        let mut database_url_text = shared.database_url;
        if apply_env {
            if let Some(url) = lookup(env::HANPAY_DATABASE_URL).filter(|v| !v.trim().is_empty()) {
                database_url_text = Some(url);
            }
        }
        let config = HanpayConfig {
            default_provider,
            providers,
            max_webhook_body_bytes: shared.webhooks.and_then(|w| w.max_body_bytes),
            database_url: database_url_text
                .as_deref()
                .map(|url| database_url(url.trim()))
                .transpose()?,
        };
        config.validate(plugins)?;
        Ok(config)
    }

    /// The configured PGs, in registration order.
    pub fn providers(&self) -> &[ProviderSettings] {
        &self.providers
    }

    /// The settings of `id`, as its concrete type (`TossSettings`, …).
    pub fn settings<T: 'static>(&self, id: &str) -> Option<&T> {
        self.providers
            .iter()
            .find(|p| p.id() == id)
            .and_then(|p| p.settings().as_any().downcast_ref::<T>())
    }

    /// The configured provider names, in registration order.
    pub fn provider_names(&self) -> Vec<&'static str> {
        self.providers.iter().map(ProviderSettings::id).collect()
    }

    /// The default provider's name: the configured one, or the only one configured.
    pub fn resolved_default(&self) -> Result<String, ConfigError> {
        self.resolved_default_among(crate::plugins())
    }

    fn resolved_default_among(&self, plugins: &[Plugin]) -> Result<String, ConfigError> {
        if let Some(name) = &self.default_provider {
            return Ok(name.clone());
        }
        match self.provider_names().as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => {
                let vars: Vec<&str> = plugins
                    .iter()
                    .flat_map(|p| p.env().iter().filter(|v| v.activates()).map(|v| v.name()))
                    .collect();
                let tables: Vec<String> = plugins.iter().map(|p| format!("[{}]", p.id())).collect();
                Err(ConfigError::Missing {
                    setting: "providers".into(),
                    hint: format!(
                        "configure at least one provider: set {} (or a {} table in the \
                         configuration file)",
                        vars.join(" or "),
                        tables.join(" / ")
                    ),
                })
            }
            _ => Err(ConfigError::Missing {
                setting: format!("default ({})", env::HANPAY_PROVIDER),
                hint: "several providers are configured: name the default one".into(),
            }),
        }
    }

    fn validate(&self, plugins: &[Plugin]) -> Result<(), ConfigError> {
        let default = self.resolved_default_among(plugins)?;
        if !self.provider_names().contains(&default.as_str()) {
            return Err(ConfigError::invalid(
                format!("default ({})", env::HANPAY_PROVIDER),
                format!(
                    "{default:?} is not a configured provider (configured: {})",
                    self.provider_names().join(", ")
                ),
            ));
        }
        if self.max_webhook_body_bytes == Some(0) {
            return Err(ConfigError::invalid(
                "webhooks.max_body_bytes",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// Expands `${VAR}` in every string of `value`; errors name the setting by its path.
fn expand_all(path: &str, value: &mut toml::Value, lookup: Lookup<'_>) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) => *s = expand(path, s, lookup)?,
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_all(&format!("{path}[{i}]"), item, lookup)?;
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                expand_all(&path, item, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands `${VAR}` in `text`; `$$` is a literal `$`.
pub(crate) fn expand(setting: &str, text: &str, lookup: Lookup<'_>) -> Result<String, ConfigError> {
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

impl fmt::Debug for HanpayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HanpayConfig")
            .field("default_provider", &self.default_provider)
            .field("providers", &self.providers)
            .field("max_webhook_body_bytes", &self.max_webhook_body_bytes)
            .field("database_url", &self.database_url)
            .finish()
    }
}

/// A summary with every secret shown as `***`.
impl fmt::Display for HanpayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = self.resolved_default().unwrap_or_else(|_| "(unset)".into());
        writeln!(f, "default = {default}")?;
        for provider in &self.providers {
            writeln!(f, "[{}]  # {}", provider.id(), provider.plugin.name())?;
            writeln!(f, "{:#?}", provider.settings)?;
        }
        match &self.database_url {
            Some(url) => writeln!(f, "database_url = {url}")?,
            None => writeln!(f, "database_url = memory: (lost on restart)")?,
        }
        if let Some(limit) = self.max_webhook_body_bytes {
            writeln!(f, "[webhooks]\nmax_body_bytes = {limit}")?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "tosspayments", feature = "portone"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::collections::BTreeMap;

    use hanpay_portone::PortOneSettings;
    use hanpay_tosspayments::TossSettings;

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
        let toss = config
            .settings::<TossSettings>(hanpay_tosspayments::ID)
            .unwrap();
        assert!(toss.secret_key.ct_eq("test_sk_abc"));
        assert_eq!(toss.security_keys.len(), 2);
        assert_eq!(toss.allowlist.as_ref().unwrap().len(), 2);
        assert_eq!(toss.trusted_proxies.len(), 2);
        let portone = config
            .settings::<PortOneSettings>(hanpay_portone::ID)
            .unwrap();
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
            config
                .settings::<TossSettings>(hanpay_tosspayments::ID)
                .unwrap()
                .webhook_secrets
                .len(),
            2
        );
        let portone = config
            .settings::<PortOneSettings>(hanpay_portone::ID)
            .unwrap();
        assert_eq!(portone.api_base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(portone.trusted_proxies.len(), 1);
        assert!(portone.allowlist.is_none());
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

    #[test]
    fn env_values_stay_strings_and_errors_never_quote_values() {
        // figment's env parsing would turn 007 into 7; the PGs' variables stay text.
        let config = HanpayConfig::from_env_with(vars(&[("PORTONE_API_SECRET", "007")])).unwrap();
        let portone = config
            .settings::<PortOneSettings>(hanpay_portone::ID)
            .unwrap();
        assert!(portone.api_secret.ct_eq("007"));

        let err = HanpayConfig::from_toml_str(
            "[portone]\napi_secret = \"x\"\n[webhooks]\nmax_body_bytes = \"sekrit-value\"",
            vars(&[]),
        )
        .unwrap_err();
        assert_eq!(err.setting(), Some("webhooks.max_body_bytes"), "{err}");
        assert!(!err.to_string().contains("sekrit"), "{err}");

        let err = HanpayConfig::from_toml_str("[kakaopay]\nkey = \"x\"", vars(&[])).unwrap_err();
        assert_eq!(err.setting(), Some("kakaopay"), "{err}");
        let err = HanpayConfig::from_toml_str(
            "[tosspayments]\nsecret_key = \"test_sk_x\"\n[webhooks]\nmax_body = 1",
            vars(&[]),
        )
        .unwrap_err();
        assert_eq!(err.setting(), Some("webhooks.max_body"), "{err}");
    }

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
            let err = crate::Hanpay::from_config(&config).unwrap_err();
            assert_eq!(err.setting(), Some(DATABASE_URL_SETTING));
        }
    }
}
