//! `hanpay serve`'s settings: the library's configuration (file + environment) plus the REST
//! API keys and the events target. Every error names the setting; no secret reaches `Debug`,
//! a log line or an error message.

use std::fmt;
use std::path::Path;

use hanpay::core::webhook::StandardWebhooks;
use hanpay::store::DatabaseUrl;
use hanpay::{HanpayConfig, Secret};

use super::auth::ApiKeys;

/// `HANPAY_API_KEYS`: comma-separated bearer keys for the REST API (several for rotation).
pub const API_KEYS: &str = "HANPAY_API_KEYS";
/// `HANPAY_EVENTS_URL`: where the application receives hanpay's events.
pub const EVENTS_URL: &str = "HANPAY_EVENTS_URL";
/// `HANPAY_EVENTS_SECRET`: the `whsec_…` secret the events are signed with.
pub const EVENTS_SECRET: &str = "HANPAY_EVENTS_SECRET";
/// The database `serve` uses when `HANPAY_DATABASE_URL` is unset: one SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://hanpay.db";

/// Where events go and how they are signed (used by the outbox worker).
#[derive(Clone)]
pub struct EventsTarget {
    /// The receiver's URL.
    pub url: String,
    /// The Standard Webhooks secret (`whsec_…`), validated at start-up.
    pub secret: Secret,
}

impl fmt::Debug for EventsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventsTarget")
            .field("url", &self.url)
            .field("secret", &"***")
            .finish()
    }
}

/// Everything `serve` reads at start-up.
#[derive(Clone)]
pub struct ServeConfig {
    /// The library's configuration: the PGs, the default one, the database.
    pub hanpay: HanpayConfig,
    /// The REST API's bearer keys.
    pub api_keys: ApiKeys,
    /// The events target, when configured.
    pub events: Option<EventsTarget>,
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("hanpay", &self.hanpay)
            .field("api_keys", &self.api_keys)
            .field("events", &self.events)
            .finish()
    }
}

impl ServeConfig {
    /// Reads the configuration file (if any) and the variables through `lookup`. Fails naming
    /// the setting: no API key, a malformed events URL or secret, a refused PG key.
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, String> {
        let mut hanpay = match file {
            Some(path) => HanpayConfig::from_file_with(path, &lookup),
            None => HanpayConfig::from_env_with(&lookup),
        }
        .map_err(|e| e.to_string())?;
        if hanpay.database_url.is_none() {
            let url: DatabaseUrl = DEFAULT_DATABASE_URL
                .parse()
                .map_err(|e| format!("{}: {e}", hanpay::config::DATABASE_URL_SETTING))?;
            hanpay.database_url = Some(url);
        }
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_keys = ApiKeys::parse(set(API_KEYS).as_deref().unwrap_or(""))
            .map_err(|reason| format!("{API_KEYS}: {reason}"))?;
        let events = match (set(EVENTS_URL), set(EVENTS_SECRET)) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(format!(
                    "{EVENTS_SECRET} is not set: {EVENTS_URL} needs a whsec_… secret to sign the \
                     events with"
                ))
            }
            (None, Some(_)) => {
                return Err(format!(
                    "{EVENTS_URL} is not set: {EVENTS_SECRET} is only used to sign events sent \
                     there"
                ))
            }
            (Some(url), Some(secret)) => {
                let url = url.trim().to_owned();
                let parsed = reqwest::Url::parse(&url)
                    .map_err(|e| format!("{EVENTS_URL}: {url:?} is not a URL ({e})"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!("{EVENTS_URL}: {url:?} is not an http(s) URL"));
                }
                if !secret.trim().starts_with("whsec_") {
                    return Err(format!(
                        "{EVENTS_SECRET}: expected a Standard Webhooks secret, whsec_ followed \
                         by base64"
                    ));
                }
                StandardWebhooks::new([secret.trim()])
                    .map_err(|e| format!("{EVENTS_SECRET}: {e}"))?;
                Some(EventsTarget {
                    url,
                    secret: Secret::new(secret.trim()),
                })
            }
        };
        Ok(ServeConfig {
            hanpay,
            api_keys,
            events,
        })
    }
}
