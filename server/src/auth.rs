//! The REST API's bearer keys (`HANPAY_API_KEYS`), compared in constant time, and the
//! middleware refusing a request without a valid one (401, before any PG call).

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The accepted keys. `Debug` shows how many, never a key.
#[derive(Clone)]
pub struct ApiKeys(Arc<Vec<Vec<u8>>>);

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} keys)", self.0.len())
    }
}

/// The shortest key accepted: a guessable key is refused at start-up.
pub const MIN_KEY_LEN: usize = 16;

impl ApiKeys {
    /// Parses a comma-separated list. At least one key; each at least [`MIN_KEY_LEN`]
    /// visible ASCII characters. The reason never quotes a key.
    pub fn parse(text: &str) -> Result<ApiKeys, String> {
        let mut keys = Vec::new();
        for (i, key) in text.split(',').map(str::trim).enumerate() {
            if key.is_empty() {
                continue;
            }
            if key.len() < MIN_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "key #{} must be at least {MIN_KEY_LEN} visible ASCII characters",
                    i + 1
                ));
            }
            keys.push(key.as_bytes().to_vec());
        }
        if keys.is_empty() {
            return Err(
                "no API key: set one or more comma-separated bearer keys for the REST API \
                 (e.g. `openssl rand -hex 32`)"
                    .to_owned(),
            );
        }
        Ok(ApiKeys(Arc::new(keys)))
    }

    /// Whether `candidate` is one of the keys. Every key is compared, each in constant time,
    /// so neither which key matched nor where a near miss differs shows in the timing.
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0);
        for key in self.0.iter() {
            found |= key.as_slice().ct_eq(candidate);
        }
        found.into()
    }
}

/// Refuses a request without `Authorization: Bearer <a configured key>`.
///
/// More than one `Authorization` header is refused whatever they hold: which one a proxy or a
/// framework would read differs, so none is trusted.
pub async fn require_key(State(keys): State<ApiKeys>, request: Request, next: Next) -> Response {
    match keys.authorize(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

impl ApiKeys {
    /// [`require_key`]'s check of a request's headers: `Ok` for exactly one `Authorization:
    /// Bearer <a configured key>`, else the 401 to answer.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .nth(1)
            .is_some()
        {
            return Err(ApiError::unauthorized(
                "send one Authorization header, not several",
            ));
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().as_bytes())
            });
        match presented {
            Some(token) if self.accepts(token) => Ok(()),
            Some(_) => Err(ApiError::unauthorized("the API key is not valid")),
            None => Err(ApiError::unauthorized(
                "missing API key: send `Authorization: Bearer <key>` (a key of HANPAY_API_KEYS)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_parsed_and_compared() {
        let keys = ApiKeys::parse(" key-one-0123456789 , key-two-0123456789,").unwrap();
        assert!(keys.accepts(b"key-one-0123456789"));
        assert!(keys.accepts(b"key-two-0123456789"));
        assert!(!keys.accepts(b"key-one-012345678"));
        assert!(!keys.accepts(b""));
        assert_eq!(format!("{keys:?}"), "ApiKeys(2 keys)");
        assert!(ApiKeys::parse("").unwrap_err().contains("no API key"));
        let short = ApiKeys::parse("abc").unwrap_err();
        assert!(short.contains("#1") && !short.contains("abc"));
    }
}
