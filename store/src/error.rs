//! [`StoreError`]: a store failed; the pipeline answers 5xx so that the PG redelivers.

/// A store failed. The pipeline answers 5xx so that the PG redelivers.
///
/// The message never carries a secret: database errors are wrapped with the password of the
/// URL removed.
#[derive(Debug, thiserror::Error)]
#[error("store error: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// A store error with a message (never a secret).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// A store error wrapping its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The message, without the `store error:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn poisoned() -> Self {
        StoreError::new("in-memory store lock poisoned")
    }

    /// A database error, as text only (`sqlx` errors may quote connection settings, so the
    /// text is scrubbed of `secret` and the error itself is not kept as the source).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn db(what: &str, error: &sqlx::Error, secret: Option<&str>) -> Self {
        let mut text = error.to_string();
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            text = text.replace(secret, "***");
        }
        StoreError::new(format!("{what}: {text}"))
    }
}
