//! Korean banks under each PG's code scheme, and the customer's [`RefundAccount`].
// Parses untrusted input (bank codes and refund accounts): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::secret::mask_tail;

/// The code scheme a bank code was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankCodeScheme {
    /// Toss Payments' two-digit codes (`"06"` KB국민, `"88"` 신한, …).
    Toss,
    /// PortOne V2 `Bank` enum names (`"KOOKMIN"`, `"SHINHAN"`, …).
    PortOneV2,
    /// The 금융결제원 (KFTC) three-digit codes (`"004"` KB국민, `"088"` 신한, …).
    Kftc,
}

macro_rules! banks {
    ($( $(#[$doc:meta])* $variant:ident => $toss:expr, $portone:expr, $kftc:expr, $korean:expr; )*) => {
        /// A Korean bank, convertible to and from every scheme's code. A code hanpay does not
        /// know is kept in [`Bank::Unknown`] with its scheme.
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

        /// (bank, Toss code, PortOne V2 name, KFTC code, Korean name)
        type BankRow = (Bank, Option<&'static str>, Option<&'static str>, Option<&'static str>, &'static str);

        const KNOWN: &[BankRow] = &[
            $( (Bank::$variant, $toss, $portone, $kftc, $korean), )*
        ];
    };
}

banks! {
    /// KB국민은행.
    Kookmin => Some("06"), Some("KOOKMIN"), Some("004"), "KB국민은행";
    /// 신한은행.
    Shinhan => Some("88"), Some("SHINHAN"), Some("088"), "신한은행";
    /// 우리은행.
    Woori => Some("20"), Some("WOORI"), Some("020"), "우리은행";
    /// 하나은행.
    Hana => Some("81"), Some("HANA"), Some("081"), "하나은행";
    /// NH농협은행.
    Nonghyup => Some("11"), Some("NONGHYUP"), Some("011"), "NH농협은행";
    /// 단위농협 (지역농축협).
    LocalNonghyup => Some("12"), Some("LOCAL_NONGHYUP"), Some("012"), "단위농협";
    /// IBK기업은행.
    Ibk => Some("03"), Some("IBK"), Some("003"), "IBK기업은행";
    /// 카카오뱅크.
    KakaoBank => Some("90"), Some("KAKAO"), Some("090"), "카카오뱅크";
    /// 토스뱅크.
    TossBank => Some("92"), Some("TOSS"), Some("092"), "토스뱅크";
    /// 케이뱅크.
    KBank => Some("89"), Some("K_BANK"), Some("089"), "케이뱅크";
    /// iM뱅크 (DGB대구은행).
    Daegu => Some("31"), Some("DAEGU"), Some("031"), "iM뱅크(대구)";
    /// 부산은행.
    Busan => Some("32"), Some("BUSAN"), Some("032"), "부산은행";
    /// 광주은행.
    Kwangju => Some("34"), Some("KWANGJU"), Some("034"), "광주은행";
    /// 제주은행.
    Jeju => Some("35"), Some("JEJU"), Some("035"), "제주은행";
    /// 전북은행.
    Jeonbuk => Some("37"), Some("JEONBUK"), Some("037"), "전북은행";
    /// 경남은행.
    Kyongnam => Some("39"), Some("KYONGNAM"), Some("039"), "경남은행";
    /// KDB산업은행.
    Kdb => Some("02"), Some("KDB"), Some("002"), "KDB산업은행";
    /// Sh수협은행.
    Suhyup => Some("07"), Some("SUHYUP"), Some("007"), "Sh수협은행";
    /// SC제일은행.
    StandardChartered => Some("23"), Some("STANDARD_CHARTERED"), Some("023"), "SC제일은행";
    /// 한국씨티은행.
    Citi => Some("27"), Some("CITI"), Some("027"), "씨티은행";
    /// 새마을금고.
    Saemaul => Some("45"), Some("KFCC"), Some("045"), "새마을금고";
    /// 신협.
    Shinhyup => Some("48"), Some("SHINHYUP"), Some("048"), "신협";
    /// 저축은행.
    SavingsBank => Some("50"), Some("SAVINGS_BANK"), Some("050"), "저축은행";
    /// 산림조합.
    Sanlim => Some("64"), Some("NFCF"), Some("064"), "산림조합";
    /// 우체국.
    Post => Some("71"), Some("POST"), Some("071"), "우체국";
    /// HSBC은행.
    Hsbc => Some("54"), Some("HSBC"), Some("054"), "HSBC은행";
}

impl Bank {
    fn entry(&self) -> Option<&'static BankRow> {
        KNOWN.iter().find(|(bank, ..)| bank == self)
    }

    fn lookup(scheme: BankCodeScheme, code: &str) -> Bank {
        let code = code.trim();
        KNOWN
            .iter()
            .find(|(_, toss, portone, kftc, _)| {
                let candidate = match scheme {
                    BankCodeScheme::Toss => toss,
                    BankCodeScheme::PortOneV2 => portone,
                    BankCodeScheme::Kftc => kftc,
                };
                candidate.is_some_and(|c| c == code)
            })
            .map(|(bank, ..)| bank.clone())
            .unwrap_or_else(|| Bank::Unknown {
                scheme,
                code: code.to_owned(),
            })
    }

    /// Reads a Toss two-digit code (`"06"` → KB국민). Unknown codes are kept.
    pub fn from_toss_code(code: &str) -> Bank {
        Bank::lookup(BankCodeScheme::Toss, code)
    }

    /// Reads a PortOne V2 enum name (`"KOOKMIN"`). Unknown names are kept.
    pub fn from_portone_v2(name: &str) -> Bank {
        Bank::lookup(BankCodeScheme::PortOneV2, name)
    }

    /// Reads a KFTC three-digit code (`"004"` → KB국민). Unknown codes are kept.
    pub fn from_kftc_code(code: &str) -> Bank {
        Bank::lookup(BankCodeScheme::Kftc, code)
    }

    /// Reads a code in `scheme`.
    pub fn from_code(scheme: BankCodeScheme, code: &str) -> Bank {
        Bank::lookup(scheme, code)
    }

    /// The code in `scheme`: the table's value for a known bank, or the raw code of an
    /// `Unknown` bank read in that same scheme; `None` when the bank has no code there.
    pub fn code(&self, scheme: BankCodeScheme) -> Option<&str> {
        if let Bank::Unknown { scheme: s, code } = self {
            return (*s == scheme).then_some(code.as_str());
        }
        let (_, toss, portone, kftc, _) = self.entry()?;
        match scheme {
            BankCodeScheme::Toss => *toss,
            BankCodeScheme::PortOneV2 => *portone,
            BankCodeScheme::Kftc => *kftc,
        }
    }

    /// Toss Payments' two-digit code.
    pub fn toss_code(&self) -> Option<&str> {
        self.code(BankCodeScheme::Toss)
    }

    /// PortOne V2 enum name.
    pub fn portone_v2_name(&self) -> Option<&str> {
        self.code(BankCodeScheme::PortOneV2)
    }

    /// KFTC three-digit code.
    pub fn kftc_code(&self) -> Option<&str> {
        self.code(BankCodeScheme::Kftc)
    }

    /// The bank's Korean name (`"KB국민은행"`), or the raw code for an unknown bank.
    pub fn korean_name(&self) -> &str {
        match self {
            Bank::Unknown { code, .. } => code,
            _ => self.entry().map(|e| e.4).unwrap_or("?"),
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
    fn toss_codes() {
        assert_eq!(Bank::from_toss_code("06"), Bank::Kookmin);
        assert_eq!(Bank::from_toss_code("88"), Bank::Shinhan);
        assert_eq!(Bank::from_toss_code("20"), Bank::Woori);
        assert_eq!(Bank::from_toss_code("81"), Bank::Hana);
        assert_eq!(Bank::from_toss_code("11"), Bank::Nonghyup);
        assert_eq!(Bank::from_toss_code("03"), Bank::Ibk);
        assert_eq!(Bank::from_toss_code("90"), Bank::KakaoBank);
        assert_eq!(Bank::from_toss_code("92"), Bank::TossBank);
        assert_eq!(Bank::from_toss_code("89"), Bank::KBank);
        assert_eq!(Bank::from_toss_code("31"), Bank::Daegu);
        assert_eq!(Bank::from_toss_code("45"), Bank::Saemaul);
        assert_eq!(Bank::Kookmin.toss_code(), Some("06"));
        // KB is the one bank whose Toss code is not the KFTC code minus its leading zero.
        assert_eq!(Bank::Kookmin.kftc_code(), Some("004"));
        let unknown = Bank::from_toss_code("S8");
        assert_eq!(
            unknown,
            Bank::Unknown {
                scheme: BankCodeScheme::Toss,
                code: "S8".into()
            }
        );
        assert_eq!(unknown.toss_code(), Some("S8"));
        assert_eq!(unknown.portone_v2_name(), None);
    }

    #[test]
    fn conversions_between_schemes() {
        for bank in Bank::known() {
            let toss = bank.toss_code().unwrap();
            let portone = bank.portone_v2_name().unwrap();
            let kftc = bank.kftc_code().unwrap();
            assert_eq!(&Bank::from_toss_code(toss), bank);
            assert_eq!(&Bank::from_portone_v2(portone), bank);
            assert_eq!(&Bank::from_kftc_code(kftc), bank);
            assert_eq!(kftc.len(), 3);
        }
        assert_eq!(Bank::from_portone_v2("KOOKMIN").toss_code(), Some("06"));
        assert_eq!(
            Bank::from_kftc_code("088").portone_v2_name(),
            Some("SHINHAN")
        );
        assert_eq!(Bank::from_portone_v2("KFCC"), Bank::Saemaul);
        assert!(matches!(
            Bank::from_portone_v2("MIZUHO"),
            Bank::Unknown { .. }
        ));
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
