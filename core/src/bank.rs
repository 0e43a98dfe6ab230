//! Korean banks with their 금융결제원 (KFTC) codes and Korean names, a [`BankCodeTable`] for a
//! PG's own code scheme (each PG crate declares its table), and the customer's
//! [`RefundAccount`].
// Parses untrusted input (bank codes and refund accounts): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::secret::mask_tail;

/// The code scheme a bank code was written in: [`BankCodeScheme::KFTC`], or a PG's own scheme,
/// named by the PG crate that declares its [`BankCodeTable`]. Serialized as its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BankCodeScheme(Cow<'static, str>);

impl BankCodeScheme {
    /// The 금융결제원 (KFTC) three-digit codes (`"004"` KB국민, `"088"` 신한, …).
    pub const KFTC: BankCodeScheme = BankCodeScheme::new("kftc");

    /// A scheme named `name` (a PG crate declares its own, e.g. `"toss"`).
    pub const fn new(name: &'static str) -> Self {
        BankCodeScheme(Cow::Borrowed(name))
    }

    /// The scheme's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BankCodeScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! banks {
    ($( $(#[$doc:meta])* $variant:ident => $kftc:expr, $korean:expr; )*) => {
        /// A Korean bank. A code hanpay does not know is kept in [`Bank::Unknown`] with its
        /// scheme. Core knows the KFTC codes ([`Bank::from_kftc_code`]); a PG's own codes are
        /// read and written with the [`BankCodeTable`] its crate declares.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Bank {
            $( $(#[$doc])* $variant, )*
            /// A code hanpay does not know, kept as sent.
            Unknown {
                /// The scheme the code was read in.
                scheme: BankCodeScheme,
                /// The raw code.
                code: String,
            },
        }

        /// (bank, KFTC code, Korean name)
        const KNOWN: &[(Bank, &str, &str)] = &[
            $( (Bank::$variant, $kftc, $korean), )*
        ];

        const KFTC_ROWS: &[(Bank, &str)] = &[
            $( (Bank::$variant, $kftc), )*
        ];
    };
}

banks! {
    /// KB국민은행.
    Kookmin => "004", "KB국민은행";
    /// 신한은행.
    Shinhan => "088", "신한은행";
    /// 우리은행.
    Woori => "020", "우리은행";
    /// 하나은행.
    Hana => "081", "하나은행";
    /// NH농협은행.
    Nonghyup => "011", "NH농협은행";
    /// 단위농협 (지역농축협).
    LocalNonghyup => "012", "단위농협";
    /// IBK기업은행.
    Ibk => "003", "IBK기업은행";
    /// 카카오뱅크.
    KakaoBank => "090", "카카오뱅크";
    /// 토스뱅크.
    TossBank => "092", "토스뱅크";
    /// 케이뱅크.
    KBank => "089", "케이뱅크";
    /// iM뱅크 (DGB대구은행).
    Daegu => "031", "iM뱅크(대구)";
    /// 부산은행.
    Busan => "032", "부산은행";
    /// 광주은행.
    Kwangju => "034", "광주은행";
    /// 제주은행.
    Jeju => "035", "제주은행";
    /// 전북은행.
    Jeonbuk => "037", "전북은행";
    /// 경남은행.
    Kyongnam => "039", "경남은행";
    /// KDB산업은행.
    Kdb => "002", "KDB산업은행";
    /// Sh수협은행.
    Suhyup => "007", "Sh수협은행";
    /// SC제일은행.
    StandardChartered => "023", "SC제일은행";
    /// 한국씨티은행.
    Citi => "027", "씨티은행";
    /// 새마을금고.
    Saemaul => "045", "새마을금고";
    /// 신협.
    Shinhyup => "048", "신협";
    /// 저축은행.
    SavingsBank => "050", "저축은행";
    /// 산림조합.
    Sanlim => "064", "산림조합";
    /// 우체국.
    Post => "071", "우체국";
    /// HSBC은행.
    Hsbc => "054", "HSBC은행";
}

/// One code scheme's table: each known bank's code in that scheme. Core declares
/// [`BankCodeTable::KFTC`]; a PG crate declares its own (Toss's two-digit codes, PortOne's
/// enum names) in its `mapping` module.
///
/// ```
/// use hanpay_core::{Bank, BankCodeScheme, BankCodeTable};
/// const MINE: BankCodeTable =
///     BankCodeTable::new(BankCodeScheme::new("mine"), &[(Bank::Shinhan, "S")]);
/// assert_eq!(MINE.bank("S"), Bank::Shinhan);
/// assert_eq!(MINE.code(&Bank::Shinhan), Some("S"));
/// assert_eq!(MINE.code(&MINE.bank("Z")), Some("Z"));
/// assert_eq!(MINE.code(&Bank::Hana), None);
/// ```
#[derive(Debug, Clone)]
pub struct BankCodeTable {
    scheme: BankCodeScheme,
    rows: &'static [(Bank, &'static str)],
}

impl BankCodeTable {
    /// The KFTC three-digit codes.
    pub const KFTC: BankCodeTable = BankCodeTable::new(BankCodeScheme::KFTC, KFTC_ROWS);

    /// A table of `rows` (bank, code) in `scheme`.
    pub const fn new(scheme: BankCodeScheme, rows: &'static [(Bank, &'static str)]) -> Self {
        BankCodeTable { scheme, rows }
    }

    /// The table's scheme.
    pub fn scheme(&self) -> &BankCodeScheme {
        &self.scheme
    }

    /// Reads a code (surrounding spaces ignored). An unknown code is kept, with the scheme.
    pub fn bank(&self, code: &str) -> Bank {
        let code = code.trim();
        self.rows
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(bank, _)| bank.clone())
            .unwrap_or_else(|| Bank::Unknown {
                scheme: self.scheme.clone(),
                code: code.to_owned(),
            })
    }

    /// The bank's code in this scheme: the table's value for a known bank, or the raw code of
    /// an `Unknown` bank read in this same scheme; `None` when the bank has no code here.
    pub fn code<'a>(&self, bank: &'a Bank) -> Option<&'a str> {
        if let Bank::Unknown { scheme, code } = bank {
            return (*scheme == self.scheme).then_some(code.as_str());
        }
        self.rows.iter().find(|(b, _)| b == bank).map(|(_, c)| *c)
    }
}

impl Bank {
    /// Reads a KFTC three-digit code (`"004"` → KB국민). Unknown codes are kept.
    pub fn from_kftc_code(code: &str) -> Bank {
        BankCodeTable::KFTC.bank(code)
    }

    /// KFTC three-digit code.
    pub fn kftc_code(&self) -> Option<&str> {
        BankCodeTable::KFTC.code(self)
    }

    /// The bank's Korean name (`"KB국민은행"`), or the raw code for an unknown bank.
    pub fn korean_name(&self) -> &str {
        match self {
            Bank::Unknown { code, .. } => code,
            _ => KNOWN
                .iter()
                .find(|(bank, ..)| bank == self)
                .map_or("?", |e| e.2),
        }
    }

    /// Every bank hanpay knows.
    pub fn known() -> impl Iterator<Item = &'static Bank> {
        KNOWN.iter().map(|(bank, ..)| bank)
    }
}

impl fmt::Display for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.korean_name())
    }
}

/// Why a refund account was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundAccountError {
    /// The account number is empty.
    #[error("the refund account number is empty; {HINT}")]
    EmptyNumber,
    /// The account number has something other than digits (hyphens, spaces, the `X` of a
    /// test virtual account, …).
    #[error(
        "the refund account number must be digits only, without hyphens (found {found:?}); {HINT}"
    )]
    NotDigits {
        /// The offending character.
        found: char,
    },
    /// More than 20 digits.
    #[error("the refund account number has {len} digits, more than the 20 PGs accept")]
    TooLong {
        /// The number of characters.
        len: usize,
    },
    /// The holder name is empty.
    #[error("the refund account holder name is empty")]
    EmptyHolder,
    /// The holder name is longer than 60 characters.
    #[error("the refund account holder name has {len} characters, more than 60")]
    HolderTooLong {
        /// The number of characters.
        len: usize,
    },
    /// The number is the virtual account the customer paid into.
    #[error("the refund account is the virtual account the customer paid into; {HINT}")]
    IsTheVirtualAccount,
    /// The bank is not one the PG can refund to.
    #[error("the refund bank {0} has no code for this PG")]
    UnsupportedBank(String),
}

const HINT: &str = "a refund goes to the customer's own bank account (ask the customer for it), \
                    not to the virtual account they paid into";

/// The customer's own bank account that a virtual-account payment is refunded to.
///
/// The constructor refuses what the PGs refuse, before any network call: a number that is not
/// all digits (hyphens, or the `X…` of a test virtual account), empty, longer than 20 digits;
/// a holder name that is empty or longer than 60 characters. `Debug` masks the number.
///
/// ```
/// use hanpay_core::{Bank, RefundAccount};
/// let ok = RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").unwrap();
/// assert_eq!(ok.number(), "1102147270");
/// let err = RefundAccount::new(Bank::Daegu, "X600802567548", "Pankaj").unwrap_err();
/// assert!(err.to_string().contains("customer's own bank account"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RefundAccount {
    bank: Bank,
    number: String,
    holder_name: String,
}

impl RefundAccount {
    /// Validates and builds a refund account.
    pub fn new(
        bank: Bank,
        number: impl Into<String>,
        holder_name: impl Into<String>,
    ) -> Result<RefundAccount, RefundAccountError> {
        let number = number.into();
        let holder_name = holder_name.into();
        if number.is_empty() {
            return Err(RefundAccountError::EmptyNumber);
        }
        if let Some(found) = number.chars().find(|c| !c.is_ascii_digit()) {
            return Err(RefundAccountError::NotDigits { found });
        }
        if number.len() > 20 {
            return Err(RefundAccountError::TooLong { len: number.len() });
        }
        let holder_len = holder_name.trim().chars().count();
        if holder_len == 0 {
            return Err(RefundAccountError::EmptyHolder);
        }
        let holder_len = holder_name.chars().count();
        if holder_len > 60 {
            return Err(RefundAccountError::HolderTooLong { len: holder_len });
        }
        Ok(RefundAccount {
            bank,
            number,
            holder_name,
        })
    }

    /// The bank.
    pub fn bank(&self) -> &Bank {
        &self.bank
    }

    /// The account number, digits only.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The account holder's name.
    pub fn holder_name(&self) -> &str {
        &self.holder_name
    }
}

impl fmt::Debug for RefundAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefundAccount")
            .field("bank", &self.bank)
            .field("number", &mask_tail(&self.number))
            .field("holder_name", &self.holder_name)
            .finish()
    }
}

impl<'de> Deserialize<'de> for RefundAccount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            bank: Bank,
            number: String,
            holder_name: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        RefundAccount::new(raw.bank, raw.number, raw.holder_name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn kftc_codes() {
        for bank in Bank::known() {
            let kftc = bank.kftc_code().unwrap();
            assert_eq!(&Bank::from_kftc_code(kftc), bank);
            assert_eq!(kftc.len(), 3);
            assert_ne!(bank.korean_name(), "?");
        }
        assert_eq!(Bank::Kookmin.kftc_code(), Some("004"));
        assert_eq!(Bank::from_kftc_code(" 088 "), Bank::Shinhan);
        let unknown = Bank::from_kftc_code("026");
        assert_eq!(
            unknown,
            Bank::Unknown {
                scheme: BankCodeScheme::KFTC,
                code: "026".into()
            }
        );
        assert_eq!(unknown.kftc_code(), Some("026"));
        let other = BankCodeTable::new(BankCodeScheme::new("other"), &[]);
        assert_eq!(other.code(&unknown), None);
        // The scheme serializes as its name, as the enum it replaced did.
        assert_eq!(
            serde_json::to_string(&unknown).unwrap(),
            r#"{"Unknown":{"scheme":"kftc","code":"026"}}"#
        );
        let back: Bank =
            serde_json::from_str(r#"{"Unknown":{"scheme":"toss","code":"S8"}}"#).unwrap();
        assert_eq!(
            back,
            Bank::Unknown {
                scheme: BankCodeScheme::new("toss"),
                code: "S8".into()
            }
        );
    }

    #[test]
    fn refund_account_rules() {
        assert!(RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").is_ok());
        assert_eq!(
            RefundAccount::new(Bank::Daegu, "X600802567548", "Pankaj").unwrap_err(),
            RefundAccountError::NotDigits { found: 'X' }
        );
        assert_eq!(
            RefundAccount::new(Bank::Shinhan, "110-214-7270", "윤한빈").unwrap_err(),
            RefundAccountError::NotDigits { found: '-' }
        );
        assert_eq!(
            RefundAccount::new(Bank::Shinhan, "", "윤한빈").unwrap_err(),
            RefundAccountError::EmptyNumber
        );
        assert!(RefundAccount::new(Bank::Shinhan, "1".repeat(20), "a").is_ok());
        assert_eq!(
            RefundAccount::new(Bank::Shinhan, "1".repeat(21), "a").unwrap_err(),
            RefundAccountError::TooLong { len: 21 }
        );
        assert_eq!(
            RefundAccount::new(Bank::Shinhan, "123", "  ").unwrap_err(),
            RefundAccountError::EmptyHolder
        );
        assert!(RefundAccount::new(Bank::Shinhan, "123", "가".repeat(60)).is_ok());
        assert_eq!(
            RefundAccount::new(Bank::Shinhan, "123", "가".repeat(61)).unwrap_err(),
            RefundAccountError::HolderTooLong { len: 61 }
        );
        let msg = RefundAccountError::NotDigits { found: 'X' }.to_string();
        assert!(msg.contains("not to the virtual account they paid into"));
    }

    #[test]
    fn refund_account_debug_masks_number() {
        let acct = RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").unwrap();
        let shown = format!("{acct:?}");
        assert!(!shown.contains("1102147270"));
        assert!(shown.contains("7270"));
        let parsed: Result<RefundAccount, _> =
            serde_json::from_str(r#"{"bank":"Daegu","number":"X600802567548","holder_name":"P"}"#);
        assert!(parsed.is_err());
    }
}
