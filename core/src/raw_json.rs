//! [`RawJson`]: a PG's JSON body kept as the bytes received and parsed only when asked for.

use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The JSON a PG sent, kept as received (the response's own bytes: no copy, no second parse)
/// and parsed only when asked for, as an escape hatch for fields hanpay does not model.
///
/// Some top-level members can be *redacted* (Toss's per-payment `secret`): they are removed
/// from every view this type gives ([`RawJson::value`], [`RawJson::parse`], `Serialize`).
/// `Debug` shows only the size. An empty `RawJson` (the default) reads as `null`.
///
/// ```
/// use hanpay_core::RawJson;
/// let raw = RawJson::new(&br#"{"storeId":"store-1","secret":"ps_x"}"#[..]).redacting(&["secret"]);
/// assert_eq!(raw.value()["storeId"], "store-1");
/// assert!(raw.value().get("secret").is_none());
/// assert!(RawJson::default().value().is_null());
/// ```
#[derive(Clone, Default)]
pub struct RawJson {
    bytes: Bytes,
    redacted: &'static [&'static str],
}

impl RawJson {
    /// Keeps `bytes` (a JSON text) as they are. A `Bytes` is kept without copying.
    pub fn new(bytes: impl Into<Bytes>) -> RawJson {
        RawJson {
            bytes: bytes.into(),
            redacted: &[],
        }
    }

    /// Encodes `value` (for providers that build their JSON, such as the mock).
    pub fn from_value(value: &Value) -> RawJson {
        RawJson::new(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Removes these top-level members from every view of the JSON.
    pub fn redacting(mut self, members: &'static [&'static str]) -> RawJson {
        self.redacted = members;
        self
    }

    /// `true` when no JSON is kept (it reads as `null`).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// How many bytes are kept.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The JSON as a [`Value`], parsed now (every call parses again: keep the result). `null`
    /// when nothing is kept or the text is not JSON; redacted members are left out.
    pub fn value(&self) -> Value {
        if self.bytes.is_empty() {
            return Value::Null;
        }
        let mut value = serde_json::from_slice(&self.bytes).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            for member in self.redacted {
                object.remove(*member);
            }
        }
        value
    }

    /// The JSON parsed now into a type of your own, for the fields hanpay does not model.
    /// Redacted members are left out.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        if self.redacted.is_empty() && !self.bytes.is_empty() {
            serde_json::from_slice(&self.bytes)
        } else {
            serde_json::from_value(self.value())
        }
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({} bytes)", self.bytes.len())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redacted_members_never_show() {
        let raw = RawJson::new(Bytes::from_static(
            br#"{"paymentKey":"pk","secret":"ps_secret","nested":{"secret":"kept"}}"#,
        ))
        .redacting(&["secret"]);
        assert!(raw.value().get("secret").is_none());
        assert_eq!(raw.value()["nested"]["secret"], "kept");
        let serialised = serde_json::to_string(&raw).unwrap();
        assert!(!serialised.contains("ps_secret"));
        let typed: std::collections::BTreeMap<String, Value> = raw.parse().unwrap();
        assert!(!typed.contains_key("secret"));
        assert!(!format!("{raw:?}").contains("ps_secret"));
    }

    #[test]
    fn empty_and_unreadable_read_as_null() {
        assert!(RawJson::default().value().is_null());
        assert!(RawJson::default().is_empty());
        assert!(RawJson::new(&b"{not json"[..]).value().is_null());
        let v = serde_json::json!({"a": [1, 2]});
        assert_eq!(RawJson::from_value(&v).value(), v);
        let n: u32 = RawJson::new(&b"7"[..]).parse().unwrap();
        assert_eq!(n, 7);
    }
}
