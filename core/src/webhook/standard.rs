//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), HMAC-SHA256 `v1`.
//!
//! Signed content is `{id}.{timestamp}.{body}` over the exact body bytes, fed to the MAC in
//! parts. Secrets are `whsec_` + base64 (the prefix optional). The header is a space-separated
//! list of `version,base64` entries; only `v1` entries are checked, any one matching passes,
//! each compared as decoded bytes in constant time. Timestamps are bounded both ways (±300 s
//! by default) against the request's receive time, which tests can fix.
// Parses untrusted input (webhook headers): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use std::time::Duration;

use base64::Engine as _;
use http::HeaderMap;
use time::OffsetDateTime;

use super::hmac::{decode_base64_signature, HmacKeys};
use super::WebhookError;

/// Header carrying the message id (the same on every redelivery).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The default timestamp tolerance, both ways.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The most signature entries looked at in one header.
const MAX_CANDIDATES: usize = 16;

/// What a successful Standard Webhooks verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMessage {
    /// The `webhook-id`.
    pub id: String,
    /// The `webhook-timestamp`, Unix seconds.
    pub timestamp: i64,
    /// Which configured secret matched (0-based).
    pub secret_index: usize,
}

/// A Standard Webhooks verifier (and signer, for tests and senders) with one or more secrets.
///
/// ```
/// use hanpay_core::webhook::StandardWebhooks;
/// use http::HeaderMap;
/// use time::OffsetDateTime;
///
/// let sw = StandardWebhooks::new(["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]).unwrap();
/// let body = br#"{"email":"test@example.com","username":"test_user"}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".parse().unwrap());
/// headers.insert("webhook-timestamp", "1649367553".parse().unwrap());
/// headers.insert("webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=".parse().unwrap());
/// let now = OffsetDateTime::from_unix_timestamp(1649367553).unwrap();
/// assert!(sw.verify(&headers, body, now).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    keys: HmacKeys,
    tolerance: Duration,
}

/// Decodes a `whsec_…` (or bare base64) secret. The error names the position, never the value.
fn decode_secret(index: usize, secret: &str) -> Result<Vec<u8>, WebhookError> {
    let trimmed = secret.trim();
    let b64 = trimmed.strip_prefix("whsec_").unwrap_or(trimmed);
    if b64.is_empty() {
        return Err(WebhookError::InvalidSecret(format!(
            "Standard Webhooks secret #{} is empty",
            index.saturating_add(1)
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            WebhookError::InvalidSecret(format!(
                "Standard Webhooks secret #{} is not base64 (expected whsec_ followed by base64)",
                index.saturating_add(1)
            ))
        })?;
    if bytes.is_empty() {
        return Err(WebhookError::InvalidSecret(format!(
            "Standard Webhooks secret #{} decodes to nothing",
            index.saturating_add(1)
        )));
    }
    Ok(bytes)
}

impl StandardWebhooks {
    /// A verifier accepting any of `secrets` (`whsec_` + base64, the prefix optional).
    pub fn new<I, S>(secrets: I) -> Result<StandardWebhooks, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let decoded = secrets
            .into_iter()
            .enumerate()
            .map(|(i, s)| decode_secret(i, s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StandardWebhooks {
            keys: HmacKeys::new(decoded)?,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// A verifier from raw key bytes.
    pub fn from_raw_keys<I, K>(keys: I) -> Result<StandardWebhooks, WebhookError>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        Ok(StandardWebhooks {
            keys: HmacKeys::new(keys)?,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets the timestamp tolerance (both ways).
    pub fn with_tolerance(mut self, tolerance: Duration) -> StandardWebhooks {
        self.tolerance = tolerance;
        self
    }

    /// The timestamp tolerance.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets are configured.
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// Verifies `body` against the three headers at time `now`.
    ///
    /// Order of checks: headers present and readable, timestamp within tolerance, then the
    /// signatures. Errors say which header is missing and how far the timestamp is off.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<VerifiedMessage, WebhookError> {
        let id = required(headers, HEADER_ID)?;
        let timestamp_text = required(headers, HEADER_TIMESTAMP)?;
        let signature = required(headers, HEADER_SIGNATURE)?;

        let timestamp = parse_timestamp(timestamp_text)?;
        self.check_timestamp(timestamp, now)?;

        let mut candidates = [[0u8; 32]; MAX_CANDIDATES];
        let mut count = 0usize;
        let mut seen_v1 = 0usize;
        for entry in signature.split_ascii_whitespace() {
            let Some((version, sig)) = entry.split_once(',') else {
                continue;
            };
            if version != "v1" {
                continue;
            }
            if seen_v1 == MAX_CANDIDATES {
                break;
            }
            seen_v1 = seen_v1.saturating_add(1);
            if let Some(decoded) = decode_base64_signature(sig) {
                if let Some(slot) = candidates.get_mut(count) {
                    *slot = decoded;
                }
                count = count.saturating_add(1);
            }
        }
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body];
        match self.keys.find_match(&parts, &candidates[..count]) {
            Some(secret_index) => Ok(VerifiedMessage {
                id: id.to_owned(),
                timestamp,
                secret_index,
            }),
            None => Err(WebhookError::NoMatchingSignature {
                header: HEADER_SIGNATURE,
                candidates: seen_v1,
                secrets: self.keys.len(),
            }),
        }
    }

    fn check_timestamp(&self, timestamp: i64, now: OffsetDateTime) -> Result<(), WebhookError> {
        let tolerance = self.tolerance.as_secs();
        let tolerance_i = i64::try_from(tolerance).unwrap_or(i64::MAX);
        let diff = now.unix_timestamp().saturating_sub(timestamp);
        if diff > tolerance_i {
            return Err(WebhookError::TimestampTooOld {
                age_secs: diff,
                tolerance_secs: tolerance,
            });
        }
        if diff < tolerance_i.saturating_neg() {
            return Err(WebhookError::TimestampTooNew {
                ahead_secs: diff.saturating_neg(),
                tolerance_secs: tolerance,
            });
        }
        Ok(())
    }

    /// The `v1,<base64>` signature of a message under secret number `index` (0 = the first).
    pub fn sign_with(&self, index: usize, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
        let ts = timestamp.to_string();
        let mac = self
            .keys
            .sign(index, &[id.as_bytes(), b".", ts.as_bytes(), b".", body])?;
        Some(format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac)
        ))
    }

    /// The full `webhook-signature` header value: one `v1` entry per configured secret, as a
    /// sender rotating secrets would send.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        (0..self.keys.len())
            .filter_map(|i| self.sign_with(i, id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn required<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, WebhookError> {
    let text = super::single_header(headers, name)?.ok_or(WebhookError::MissingHeader(name))?;
    if text.trim().is_empty() {
        return Err(WebhookError::MalformedHeader {
            name,
            reason: "empty".into(),
        });
    }
    Ok(text)
}

fn parse_timestamp(text: &str) -> Result<i64, WebhookError> {
    let malformed = |reason: &str| WebhookError::MalformedHeader {
        name: HEADER_TIMESTAMP,
        reason: reason.into(),
    };
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("expected integer Unix seconds"));
    }
    text.parse::<i64>()
        .map_err(|_| malformed("expected integer Unix seconds"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(id: &str, ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER_ID, id.parse().unwrap());
        h.insert(HEADER_TIMESTAMP, ts.parse().unwrap());
        h.insert(HEADER_SIGNATURE, sig.parse().unwrap());
        h
    }

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    const SW1_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW1_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SW1_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SW1_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn published_vectors_verify() {
        let sw = StandardWebhooks::new([SW1_SECRET]).unwrap();
        let ok = sw
            .verify(
                &headers(SW1_ID, "1614265330", SW1_SIG),
                SW1_BODY,
                at(1614265330),
            )
            .unwrap();
        assert_eq!(ok.id, SW1_ID);
        assert_eq!(ok.timestamp, 1614265330);
        assert_eq!(sw.sign(SW1_ID, 1614265330, SW1_BODY), SW1_SIG);

        let sw2 = StandardWebhooks::new(["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]).unwrap();
        let body2 = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert!(sw2
            .verify(
                &headers(
                    "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                    "1649367553",
                    "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
                ),
                body2,
                at(1649367553)
            )
            .is_ok());

        // The PortOne-shaped vector, with and without the whsec_ prefix.
        let body3 = br#"{"type":"Transaction.Paid","timestamp":"2024-04-25T10:00:00.000Z","data":{"paymentId":"example-payment-id","storeId":"store-ae356798-3d20-4969-b739-14c6b0e1a667","transactionId":"55451513-9763-4a7a-bb43-78a4c65be843"}}"#;
        for secret in ["pzQGE83cSIRKM4/WH5QY+g==", "whsec_pzQGE83cSIRKM4/WH5QY+g=="] {
            let sw3 = StandardWebhooks::new([secret]).unwrap();
            let h = headers(
                "dummy-webhook-id",
                "1714039200",
                "v1,qmNcYHU8w9hP22fshTiuuIP9XZrhl6h0hjCr1zh7DRs=",
            );
            assert!(sw3.verify(&h, body3, at(1714039200)).is_ok());
            let spaced =
                String::from_utf8(body3.to_vec())
                    .unwrap()
                    .replacen(",\"data\"", ", \"data\"", 1);
            assert!(matches!(
                sw3.verify(&h, spaced.as_bytes(), at(1714039200)),
                Err(WebhookError::NoMatchingSignature { .. })
            ));
        }
    }

    #[test]
    fn tampering_and_malformed_signatures_fail() {
        let sw = StandardWebhooks::new([SW1_SECRET]).unwrap();
        let now = at(1614265330);
        let mut body = SW1_BODY.to_vec();
        body[3] ^= 1;
        assert!(matches!(
            sw.verify(&headers(SW1_ID, "1614265330", SW1_SIG), &body, now),
            Err(WebhookError::NoMatchingSignature { .. })
        ));
        for bad in [
            "v1,",
            "v1,g0hM9SsE",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
            "v1,dawfeoifkpqwoekfpqoekf",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            assert!(
                matches!(
                    sw.verify(&headers(SW1_ID, "1614265330", bad), SW1_BODY, now),
                    Err(WebhookError::NoMatchingSignature { .. })
                ),
                "{bad} must not verify"
            );
        }
        // A valid v1 among a v2 and bogus v1 entries passes.
        let mixed = format!("v2,abc v1,Zm9vYmFy {SW1_SIG} v1,dawfeoifkpqwoekfpqoekf");
        assert!(sw
            .verify(&headers(SW1_ID, "1614265330", &mixed), SW1_BODY, now)
            .is_ok());
    }

    #[test]
    fn candidates_reported_are_the_ones_checked() {
        let sw = StandardWebhooks::new([SW1_SECRET]).unwrap();
        let junk = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        // 17 entries: only the first 16 are looked at (a valid one after them is ignored).
        let mut entries = vec![junk; 17];
        entries.push(SW1_SIG);
        let h = headers(SW1_ID, "1614265330", &entries.join(" "));
        assert_eq!(
            sw.verify(&h, SW1_BODY, at(1614265330)),
            Err(WebhookError::NoMatchingSignature {
                header: HEADER_SIGNATURE,
                candidates: 16,
                secrets: 1
            })
        );
        let err = sw.verify(&h, SW1_BODY, at(1614265330)).unwrap_err();
        assert!(err.to_string().contains("16 candidate(s)"), "{err}");
    }

    #[test]
    fn timestamps_are_bounded_both_ways() {
        let sw = StandardWebhooks::new([SW1_SECRET]).unwrap();
        let h = headers(SW1_ID, "1614265330", SW1_SIG);
        assert!(sw.verify(&h, SW1_BODY, at(1614265330 + 300)).is_ok());
        assert!(sw.verify(&h, SW1_BODY, at(1614265330 - 300)).is_ok());
        assert_eq!(
            sw.verify(&h, SW1_BODY, at(1614265330 + 301)),
            Err(WebhookError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            sw.verify(&h, SW1_BODY, at(1614265330 - 301)),
            Err(WebhookError::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
        let err = sw.verify(&h, SW1_BODY, at(1614265330 + 5301)).unwrap_err();
        assert!(err.to_string().contains("by 5001 s"), "{err}");
        assert!(matches!(
            sw.verify(&headers(SW1_ID, "hello", SW1_SIG), SW1_BODY, at(0)),
            Err(WebhookError::MalformedHeader {
                name: "webhook-timestamp",
                ..
            })
        ));
        assert!(matches!(
            sw.verify(&headers(SW1_ID, "-5", SW1_SIG), SW1_BODY, at(0)),
            Err(WebhookError::MalformedHeader { .. })
        ));
    }

    #[test]
    fn missing_headers_are_named() {
        let sw = StandardWebhooks::new([SW1_SECRET]).unwrap();
        for missing in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            let mut h = headers(SW1_ID, "1614265330", SW1_SIG);
            h.remove(missing);
            assert_eq!(
                sw.verify(&h, SW1_BODY, at(1614265330)),
                Err(WebhookError::MissingHeader(missing))
            );
        }
    }

    #[test]
    fn rotation_accepts_either_secret() {
        let sw =
            StandardWebhooks::new(["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", SW1_SECRET]).unwrap();
        let ok = sw
            .verify(
                &headers(SW1_ID, "1614265330", SW1_SIG),
                SW1_BODY,
                at(1614265330),
            )
            .unwrap();
        assert_eq!(ok.secret_index, 1);
        assert_eq!(sw.sign(SW1_ID, 1, b"x").split(' ').count(), 2);
    }

    #[test]
    fn bad_secrets_are_refused_without_echo() {
        let err = StandardWebhooks::new(["whsec_not*base64"]).unwrap_err();
        assert!(!err.to_string().contains("not*base64"));
        assert!(StandardWebhooks::new(["whsec_"]).is_err());
        assert!(StandardWebhooks::new(Vec::<String>::new()).is_err());
    }
}
