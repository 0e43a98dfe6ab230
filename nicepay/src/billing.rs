//! Billing card data (`encData` of `POST /v1/subscribe/regist`, reference §3.6): the plaintext
//! `cardNo=…&expYear=YY&expMonth=MM&idNo=…&cardPw=NN`, encrypted with the secret key and
//! written in hex.
//!
//! - default: AES-128/ECB/PKCS5, key = the first 16 characters of the secret key;
//! - `encMode: "A2"`: AES-256/CBC/PKCS5, key = the 32-character secret key, IV = its first 16.

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyInit, KeyIvInit};
use hanpay_core::{PaymentError, Secret};

/// How `encData` was encrypted (reference §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncMode {
    /// The default: AES-128/ECB/PKCS5 with the first 16 characters of the secret key.
    Aes128Ecb,
    /// `encMode: "A2"`: AES-256/CBC/PKCS5 with the 32-character secret key, IV its first 16.
    A2Aes256Cbc,
}

/// A card to register for billing. `Debug` masks everything but the last 4 card digits.
#[derive(Clone)]
pub struct BillingCard {
    card_number: Secret,
    exp_year: String,
    exp_month: String,
    id_no: Secret,
    card_password: Secret,
}

impl std::fmt::Debug for BillingCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingCard")
            .field(
                "card_number",
                &hanpay_core::mask_tail(self.card_number.expose()),
            )
            .field("exp", &"**/**")
            .field("id_no", &self.id_no)
            .field("card_password", &self.card_password)
            .finish()
    }
}

fn digits(text: &str, lengths: &[usize]) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

impl BillingCard {
    /// A card: its number (digits), expiry year and month (`YY`, `MM`), the holder's birth date
    /// `YYMMDD` or 10-digit business number (`idNo`), and the first 2 digits of its password.
    /// Refused unless every part has NICEPAY's form.
    pub fn new(
        card_number: impl Into<Secret>,
        exp_year: &str,
        exp_month: &str,
        id_no: impl Into<Secret>,
        card_password: impl Into<Secret>,
    ) -> Result<BillingCard, PaymentError> {
        let card = BillingCard {
            card_number: card_number.into(),
            exp_year: exp_year.to_owned(),
            exp_month: exp_month.to_owned(),
            id_no: id_no.into(),
            card_password: card_password.into(),
        };
        if !digits(card.card_number.expose(), &[13, 14, 15, 16, 17, 18, 19]) {
            return Err(PaymentError::invalid(
                "the card number must be 13 to 19 digits",
            ));
        }
        if !digits(&card.exp_year, &[2]) {
            return Err(PaymentError::invalid(
                "the expiry year must be 2 digits (YY)",
            ));
        }
        if !digits(&card.exp_month, &[2]) || !matches!(card.exp_month.parse::<u8>(), Ok(1..=12)) {
            return Err(PaymentError::invalid(
                "the expiry month must be 01 to 12 (MM)",
            ));
        }
        if !digits(card.id_no.expose(), &[6, 10]) {
            return Err(PaymentError::invalid(
                "idNo must be the birth date YYMMDD or a 10-digit business number",
            ));
        }
        if !digits(card.card_password.expose(), &[2]) {
            return Err(PaymentError::invalid(
                "the card password part must be its first 2 digits",
            ));
        }
        Ok(card)
    }

    fn plaintext(&self) -> String {
        format!(
            "cardNo={}&expYear={}&expMonth={}&idNo={}&cardPw={}",
            self.card_number.expose(),
            self.exp_year,
            self.exp_month,
            self.id_no.expose(),
            self.card_password.expose()
        )
    }
}

/// Encrypts `plaintext` as NICEPAY's `encData` (lowercase hex).
pub fn encrypt_enc_data(
    plaintext: &str,
    secret_key: &str,
    mode: EncMode,
) -> Result<Secret, PaymentError> {
    let key = secret_key.as_bytes();
    let bytes = match mode {
        EncMode::Aes128Ecb => {
            let k = key.get(..16).ok_or_else(|| {
                PaymentError::invalid(
                    "AES-128 billing encryption needs a secret key of 16 or more characters",
                )
            })?;
            ecb::Encryptor::<aes::Aes128>::new_from_slice(k)
                .map_err(|_| PaymentError::invalid("unusable AES-128 key"))?
                .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes())
        }
        EncMode::A2Aes256Cbc => {
            if key.len() != 32 {
                return Err(PaymentError::invalid(
                    "encMode A2 (AES-256) needs the 32-character secret key",
                ));
            }
            cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &key[..16])
                .map_err(|_| PaymentError::invalid("unusable AES-256 key"))?
                .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes())
        }
    };
    Ok(Secret::new(hex::encode(bytes)))
}

/// `encData` for `card`.
pub(crate) fn enc_data(
    card: &BillingCard,
    secret_key: &str,
    mode: EncMode,
) -> Result<Secret, PaymentError> {
    encrypt_enc_data(&card.plaintext(), secret_key, mode)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PLAIN: &str = "cardNo=1234567890123456&expYear=25&expMonth=12&idNo=800101&cardPw=12";

    #[test]
    fn the_manuals_vectors() {
        // Reference §3.6 prints both ciphertexts abridged: their ends must match.
        let ecb = encrypt_enc_data(PLAIN, "2dcc2a0d63bf4694", EncMode::Aes128Ecb).unwrap();
        let ecb = ecb.expose();
        assert!(
            ecb.starts_with("7c4b12eb43324290") && ecb.ends_with("26468f4"),
            "{ecb}"
        );
        let cbc = encrypt_enc_data(
            PLAIN,
            "2dcc2a0d63bf469490bb19a201be3735",
            EncMode::A2Aes256Cbc,
        )
        .unwrap();
        let cbc = cbc.expose();
        assert!(
            cbc.starts_with("6ecfe97e521bc67c") && cbc.ends_with("545592d0"),
            "{cbc}"
        );
        // 69 bytes of plaintext pad to 80.
        assert_eq!(ecb.len(), 160);
    }

    #[test]
    fn card_rules_and_masking() {
        let card = BillingCard::new("1234567890123456", "25", "12", "800101", "12").unwrap();
        assert_eq!(card.plaintext(), PLAIN);
        let shown = format!("{card:?}");
        assert!(
            !shown.contains("1234567890123456") && !shown.contains("800101"),
            "{shown}"
        );
        assert!(BillingCard::new("1234-5678", "25", "12", "800101", "12").is_err());
        assert!(BillingCard::new("1234567890123456", "2025", "12", "800101", "12").is_err());
        assert!(BillingCard::new("1234567890123456", "25", "13", "800101", "12").is_err());
        assert!(BillingCard::new("1234567890123456", "25", "12", "8001011", "12").is_err());
        assert!(BillingCard::new("1234567890123456", "25", "12", "1234567890", "1").is_err());
        assert!(encrypt_enc_data(PLAIN, "short", EncMode::Aes128Ecb).is_err());
        assert!(encrypt_enc_data(PLAIN, "2dcc2a0d63bf4694", EncMode::A2Aes256Cbc).is_err());
    }
}
