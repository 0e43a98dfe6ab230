//! [`DatabaseUrl`]: the `HANPAY_DATABASE_URL` / `database_url` setting, which picks the
//! backend by scheme. Its `Debug`, `Display` and errors never show the password.

use std::fmt;

/// The backend a [`DatabaseUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `memory:` — in this process only, lost on restart.
    Memory,
    /// `sqlite://path` — one file, one instance.
    Sqlite,
    /// `postgres://…` — one database shared by several instances.
    Postgres,
}

impl Backend {
    /// `memory`, `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Whether this build of hanpay has the backend (features `sqlite`, `postgres`).
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Memory => true,
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A database URL that is not usable; the message shows the URL with its password masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UrlError {
    reason: String,
}

/// A parsed database URL: `memory:`, `sqlite://hanpay.db` (created if absent),
/// `sqlite::memory:`, or `postgres://user:password@host:5432/db` (also `postgresql://`).
///
/// ```
/// use hanpay_store::{Backend, DatabaseUrl};
/// let url: DatabaseUrl = "postgres://shop:hunter2@db:5432/shop".parse().unwrap();
/// assert_eq!(url.backend(), Backend::Postgres);
/// assert_eq!(url.to_string(), "postgres://shop:***@db:5432/shop");
/// assert!(!format!("{url:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    raw: String,
}

impl DatabaseUrl {
    /// Parses a URL, choosing the backend by its scheme.
    pub fn parse(text: &str) -> Result<DatabaseUrl, UrlError> {
        let raw = text.trim().to_owned();
        let lower = raw.to_ascii_lowercase();
        let backend = if matches!(lower.as_str(), "memory" | "memory:" | "memory://") {
            Backend::Memory
        } else if lower.starts_with("sqlite:") {
            Backend::Sqlite
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            let shown = redact(&raw);
            return Err(UrlError {
                reason: format!(
                    "{shown:?} is not a database URL hanpay knows: use memory:, \
                     sqlite://FILE or postgres://USER:PASSWORD@HOST/DB"
                ),
            });
        };
        if backend == Backend::Sqlite && raw.len() <= "sqlite:".len() {
            return Err(UrlError {
                reason: "sqlite: needs a file, e.g. sqlite://hanpay.db".into(),
            });
        }
        if !backend.is_compiled() {
            return Err(UrlError {
                reason: format!(
                    "{} is a {backend} URL but hanpay was built without the `{backend}` feature",
                    redact(&raw)
                ),
            });
        }
        Ok(DatabaseUrl { backend, raw })
    }

    /// The in-memory backend.
    pub fn memory() -> DatabaseUrl {
        DatabaseUrl {
            backend: Backend::Memory,
            raw: "memory:".into(),
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// The URL as given, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    #[cfg(feature = "postgres")]
    /// The password in the URL, if any (to scrub it from driver errors).
    pub(crate) fn password(&self) -> Option<String> {
        password_span(&self.raw).map(|(start, end)| self.raw[start..end].to_owned())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Byte range of the password: `scheme://user:PASSWORD@host`, or a `password=` query value.
fn password_span(url: &str) -> Option<(usize, usize)> {
    if let Some(scheme_end) = url.find("://") {
        let authority_start = scheme_end + 3;
        let rest = &url[authority_start..];
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                return Some((authority_start + colon + 1, authority_start + at));
            }
        }
    }
    let query_start = url.find('?')? + 1;
    let mut offset = query_start;
    for pair in url[query_start..].split('&') {
        if let Some(value) = pair.strip_prefix("password=") {
            let start = offset + "password=".len();
            return Some((start, start + value.len()));
        }
        offset += pair.len() + 1;
    }
    None
}

fn redact(url: &str) -> String {
    match password_span(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_password_never_shows() {
        for (text, shown) in [
            (
                "postgres://shop:s3cr%40t@db.internal:5432/shop?sslmode=require",
                "postgres://shop:***@db.internal:5432/shop?sslmode=require",
            ),
            (
                "postgresql://db/shop?user=shop&password=s3cr%40t",
                "postgresql://db/shop?user=shop&password=***",
            ),
            ("postgres://db/shop", "postgres://db/shop"),
        ] {
            if !Backend::Postgres.is_compiled() {
                break;
            }
            let url = DatabaseUrl::parse(text).unwrap();
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains("s3cr"));
        }
        let err = DatabaseUrl::parse("mysql://root:s3cr3t@db/shop").unwrap_err();
        assert!(
            err.to_string().contains("mysql://root:***@db/shop"),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cr3t"));
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("memory:").unwrap().backend(),
            Backend::Memory
        );
        let sqlite = DatabaseUrl::parse("sqlite://hanpay.db");
        assert_eq!(sqlite.is_ok(), Backend::Sqlite.is_compiled());
        assert!(DatabaseUrl::parse("sqlite:").is_err());
        assert!(DatabaseUrl::parse("hanpay.db").is_err());
    }
}
