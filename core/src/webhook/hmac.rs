//! HMAC-SHA256 over a message given in parts, checked against several secrets and several
//! candidate signatures in constant time — with no concatenated copy of the body.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::WebhookError;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenation of `parts`, computed without concatenating them.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// One or more HMAC-SHA256 keys, each precomputed once (the keyed inner/outer state), so that
/// a verification costs one MAC per key and nothing else. Several keys allow rotation: during
/// the overlap both the old and the new secret are accepted.
///
/// `Debug` shows only how many keys there are.
///
/// ```
/// use hanpay_core::webhook::{hmac_sha256, HmacKeys};
/// let keys = HmacKeys::new([b"old-secret".as_slice(), b"new-secret".as_slice()]).unwrap();
/// let sig = hmac_sha256(b"new-secret", &[b"body", b":", b"2024-09-05T12:19:21+09:00"]);
/// assert_eq!(keys.find_match(&[b"body", b":", b"2024-09-05T12:19:21+09:00"], &[sig]), Some(1));
/// ```
#[derive(Clone)]
pub struct HmacKeys {
    keys: Vec<HmacSha256>,
}

impl HmacKeys {
    /// Precomputes each key. Refuses an empty list and an empty key (reported by position, never
    /// by value).
    pub fn new<I, K>(keys: I) -> Result<HmacKeys, WebhookError>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let mut out = Vec::new();
        for (i, key) in keys.into_iter().enumerate() {
            let key = key.as_ref();
            if key.is_empty() {
                return Err(WebhookError::InvalidSecret(format!(
                    "secret #{} is empty",
                    i + 1
                )));
            }
            let mac = HmacSha256::new_from_slice(key).map_err(|_| {
                WebhookError::InvalidSecret(format!("secret #{} is unusable", i + 1))
            })?;
            out.push(mac);
        }
        if out.is_empty() {
            return Err(WebhookError::InvalidSecret("no secret configured".into()));
        }
        Ok(HmacKeys { keys: out })
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: construction refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The MAC of `parts` under key number `index`.
    pub fn sign(&self, index: usize, parts: &[&[u8]]) -> Option<[u8; 32]> {
        let mut mac = self.keys.get(index)?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// Computes the MAC of `parts` under every key and compares each with every candidate in
    /// constant time. Returns the index of the first key that matched any candidate.
    pub fn find_match(&self, parts: &[&[u8]], candidates: &[[u8; 32]]) -> Option<usize> {
        for (index, key) in self.keys.iter().enumerate() {
            let mut mac = key.clone();
            for part in parts {
                mac.update(part);
            }
            let expected: [u8; 32] = mac.finalize().into_bytes().into();
            let mut any = subtle::Choice::from(0u8);
            for candidate in candidates {
                any |= expected.ct_eq(candidate);
            }
            if bool::from(any) {
                return Some(index);
            }
        }
        None
    }

    /// [`HmacKeys::find_match`] as a `Result`: `NoMatchingSignature` naming `header` when
    /// nothing matched.
    pub fn verify(
        &self,
        header: &'static str,
        parts: &[&[u8]],
        candidates: &[[u8; 32]],
    ) -> Result<usize, WebhookError> {
        self.find_match(parts, candidates)
            .ok_or(WebhookError::NoMatchingSignature {
                header,
                candidates: candidates.len(),
                secrets: self.keys.len(),
            })
    }
}

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKeys({} key(s), redacted)", self.keys.len())
    }
}

/// Decodes a standard (padded) base64 HMAC-SHA256 signature. `None` unless it decodes to
/// exactly 32 bytes: empty, truncated, over-long and malformed values never match.
pub fn decode_base64_signature(text: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    // 32 bytes are 44 base64 characters; anything else cannot be a valid signature.
    if text.len() != 44 {
        return None;
    }
    let mut out = [0u8; 33];
    match base64::engine::general_purpose::STANDARD.decode_slice(text, &mut out) {
        Ok(32) => {
            let mut sig = [0u8; 32];
            sig.copy_from_slice(&out[..32]);
            Some(sig)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parts_equal_concatenation() {
        let whole = hmac_sha256(b"k", &[b"hello world"]);
        let parts = hmac_sha256(b"k", &[b"hello", b" ", b"world"]);
        assert_eq!(whole, parts);
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rotation_and_candidates() {
        let keys = HmacKeys::new([b"a".as_slice(), b"b".as_slice()]).unwrap();
        let good = hmac_sha256(b"b", &[b"msg"]);
        let bad = [7u8; 32];
        assert_eq!(keys.find_match(&[b"msg"], &[bad, good]), Some(1));
        assert_eq!(keys.find_match(&[b"msg"], &[bad]), None);
        assert_eq!(keys.find_match(&[b"msg"], &[]), None);
        assert_eq!(
            keys.verify("x-signature", &[b"msg"], &[bad]),
            Err(WebhookError::NoMatchingSignature {
                header: "x-signature",
                candidates: 1,
                secrets: 2
            })
        );
        assert!(HmacKeys::new(Vec::<Vec<u8>>::new()).is_err());
        assert!(HmacKeys::new([b"".as_slice()]).is_err());
        assert_eq!(format!("{keys:?}"), "HmacKeys(2 key(s), redacted)");
    }

    #[test]
    fn base64_signature_decoding() {
        use base64::Engine as _;
        let sig = [9u8; 32];
        let text = base64::engine::general_purpose::STANDARD.encode(sig);
        assert_eq!(decode_base64_signature(&text), Some(sig));
        assert_eq!(decode_base64_signature(""), None);
        assert_eq!(decode_base64_signature(&text[..8]), None);
        assert_eq!(decode_base64_signature(&format!("{text}AAAA")), None);
        assert_eq!(decode_base64_signature(&text.replace('=', "!")), None);
    }
}
