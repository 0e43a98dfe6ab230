//! [`Secret`]: a string that never prints.

use std::fmt;

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

/// A secret value (API key, webhook secret, per-payment secret, billing key).
///
/// `Debug` and `Display` print `Secret(***)` / `***`; it does not implement `Serialize`, so it
/// cannot slip into a log line or a JSON dump by accident. Read it with [`Secret::expose`] only
/// where it is sent to the PG.
///
/// ```
/// use hanpay_core::Secret;
/// let key = Secret::new("test_sk_abc");
/// assert_eq!(format!("{key:?} {key}"), "Secret(***) ***");
/// assert!(key.ct_eq("test_sk_abc"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Send it to the PG; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `true` when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in constant time (with respect to the contents).
    pub fn ct_eq(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

/// Compares two byte strings in constant time with respect to their contents. A length
/// difference returns `false` (lengths are not secret here).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Masks all but the last four characters: `"1102147270"` → `"******7270"`. For logging
/// account and card numbers.
pub fn mask_tail(value: &str) -> String {
    let count = value.chars().count();
    let keep = if count > 4 { 4 } else { 0 };
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + keep < count { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("live_sk_very_secret");
        let shown = format!("{s:?} {s} {:?}", Some(&s));
        assert!(!shown.contains("very_secret"));
        assert!(s.ct_eq("live_sk_very_secret"));
        assert!(!s.ct_eq("live_sk_very_secreT"));
        assert!(!s.ct_eq(""));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_tail("1102147270"), "******7270");
        assert_eq!(mask_tail("123"), "***");
        assert_eq!(mask_tail(""), "");
    }
}
