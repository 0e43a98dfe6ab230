//! [`IdempotencyStore`]: the answers of `POST` requests by their `Idempotency-Key`, so that a
//! retried request gets the first answer back and the PG is not called twice — across
//! instances and restarts when the store is a database.
//!
//! A caller [`begin`](IdempotencyStore::begin)s with the key and a fingerprint of the request
//! (method, path, body), runs the request only on [`Begin::Started`], then either
//! [`complete`](IdempotencyStore::complete)s with the answer or
//! [`release`](IdempotencyStore::release)s the key (the outcome is unknown and a retry must run
//! again). A started key whose lease lapses (its instance crashed) may be started again.

use std::time::Duration;

use hanpay_core::async_trait;

use crate::StoreError;

/// A stored answer: HTTP status and body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body as sent.
    pub body: Vec<u8>,
}

/// The answer to [`IdempotencyStore::begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use of the key (or its lease lapsed, or it expired): run the request, then
    /// complete or release.
    Started,
    /// The request already ran with this key and the same fingerprint: send this back.
    Completed(StoredResponse),
    /// The key was used for a different request (another body or path).
    Mismatch,
    /// The same request with this key is running right now (here or in another instance).
    InProgress,
}

/// Remembers request answers by idempotency key. Every backend implements it; entries expire
/// after the `ttl` given at completion, through an index or an amortised sweep.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Starts `key` for a request with `fingerprint`, held for `lease`, unless it is already
    /// started or completed (see [`Begin`]).
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
    ) -> Result<Begin, StoreError>;

    /// Stores the answer of a started key, remembered for `ttl`.
    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Forgets a started key (not a completed one), so that a retry runs the request again.
    async fn release(&self, key: &str, fingerprint: &str) -> Result<(), StoreError>;
}
