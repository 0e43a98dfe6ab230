//! Integer money: [`Currency`] with its minor-unit exponent and [`Money`] in minor units.
//!
//! KRW has no minor unit, so `Money::krw(58_000)` is fifty-eight thousand won and serialises as
//! the JSON integer `58000`. Amounts read from a provider's JSON go through
//! [`Money::from_json`], which reads the number's **text** (never an `f64`): it accepts a
//! fractional number only where the currency has minor units (`726.24` USD → `72624`) and
//! refuses a KRW `374000.5` or `58000.0000000000001`, an exponent (`1e3`) and the string
//! `"374000.00"`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// An ISO 4217 currency. Codes hanpay does not know are kept as [`Currency::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Currency {
    /// Korean won (no minor unit).
    Krw,
    /// US dollar (cents).
    Usd,
    /// Japanese yen (no minor unit).
    Jpy,
    /// Any other ISO code, kept as sent (upper-cased). Assumed to have two minor digits.
    Other(String),
}

impl Currency {
    /// The three-letter ISO code.
    pub fn code(&self) -> &str {
        match self {
            Currency::Krw => "KRW",
            Currency::Usd => "USD",
            Currency::Jpy => "JPY",
            Currency::Other(code) => code,
        }
    }

    /// Number of decimal digits of the minor unit (KRW 0, USD 2, JPY 0).
    pub fn exponent(&self) -> u32 {
        match self {
            Currency::Krw | Currency::Jpy => 0,
            Currency::Usd => 2,
            Currency::Other(code) => match code.as_str() {
                // Zero-decimal currencies that Korean PGs can meet.
                "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "TWD" | "IDR" => 0,
                "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
                _ => 2,
            },
        }
    }

    /// Parses an ISO code, case-insensitively. Never fails: unknown codes become `Other`.
    pub fn from_code(code: &str) -> Currency {
        let upper = code.trim().to_ascii_uppercase();
        match upper.as_str() {
            "KRW" => Currency::Krw,
            "USD" => Currency::Usd,
            "JPY" => Currency::Jpy,
            _ => Currency::Other(upper),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Currency::from_code(s))
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Currency::from_code(&code))
    }
}

/// Why an amount could not be built or combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The result does not fit in an `i64` of minor units.
    #[error("amount overflows")]
    Overflow,
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// The value has more decimal digits than the currency's minor unit allows
    /// (any fraction at all for KRW).
    #[error("{value} has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        /// The value as received.
        value: String,
        /// The currency.
        currency: Currency,
        /// The currency's exponent.
        exponent: u32,
    },
    /// The value is not a JSON number (a string such as `"374000.00"`, null, …).
    #[error("expected a number of {currency}, got {found}")]
    NotANumber {
        /// A short description of what was found (never the full payload).
        found: String,
        /// The currency.
        currency: Currency,
    },
    /// The text is not a plain decimal number.
    #[error("not a decimal amount: {0:?}")]
    Malformed(String),
}

/// An amount of money: integer minor units plus a currency.
///
/// ```
/// use hanpay_core::{Currency, Money};
/// let price = Money::krw(58_000);
/// assert_eq!(price.to_string(), "58,000원");
/// assert_eq!(serde_json::to_value(&price).unwrap()["amount"], 58000);
/// let raw = |text| serde_json::from_str::<&serde_json::value::RawValue>(text).unwrap();
/// let usd = Money::from_json(raw("726.24"), Currency::Usd).unwrap();
/// assert_eq!(usd.minor_units(), 72624);
/// assert!(Money::from_json(raw("\"374000.00\""), Currency::Krw).is_err());
/// assert!(Money::from_json(raw("58000.0000000000001"), Currency::Krw).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: i64,
    currency: Currency,
}

impl Money {
    /// An amount in minor units of `currency` (won for KRW, cents for USD).
    pub const fn new(minor_units: i64, currency: Currency) -> Money {
        Money {
            amount: minor_units,
            currency,
        }
    }

    /// An amount in won.
    pub const fn krw(won: i64) -> Money {
        Money::new(won, Currency::Krw)
    }

    /// Zero of `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> i64 {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// `true` when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// `true` when the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.amount > 0
    }

    /// The same currency with another amount.
    pub fn with_minor_units(&self, minor_units: i64) -> Money {
        Money::new(minor_units, self.currency.clone())
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency.clone(),
                right: other.currency.clone(),
            })
        }
    }

    /// `self + other`, refusing overflow and mixed currencies.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|a| self.with_minor_units(a))
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, refusing overflow and mixed currencies.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|a| self.with_minor_units(a))
            .ok_or(MoneyError::Overflow)
    }

    /// Parses a plain decimal string (`"726.24"`, `"58000"`) in major units. A fraction longer
    /// than the currency's exponent is an error, never rounded (trailing zeros are not
    /// significant: KRW `"58000.00"` is 58,000원). Thousands separators, signs other than a
    /// leading `-`, and exponents are refused. No unchecked arithmetic: any text is safe.
    #[deny(clippy::arithmetic_side_effects)]
    pub fn from_decimal_str(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.chars().take(40).collect());
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && frac_part.is_empty())
        {
            return Err(malformed());
        }
        let exponent = currency.exponent();
        let width = usize::try_from(exponent).map_err(|_| MoneyError::Overflow)?;
        let significant = frac_part.trim_end_matches('0');
        if significant.len() > width {
            return Err(MoneyError::TooManyDecimals {
                value: text.chars().take(40).collect(),
                currency,
                exponent,
            });
        }
        let scale = 10i64.checked_pow(exponent).ok_or(MoneyError::Overflow)?;
        let whole: i64 = int_part.parse().map_err(|_| MoneyError::Overflow)?;
        // The fraction padded to the minor unit's width: USD "5" → "50" cents.
        let frac: i64 = if width == 0 {
            0
        } else {
            format!("{significant:0<width$}")
                .parse()
                .map_err(|_| MoneyError::Overflow)?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac))
            .ok_or(MoneyError::Overflow)?;
        let minor = if negative {
            minor.checked_neg().ok_or(MoneyError::Overflow)?
        } else {
            minor
        };
        Ok(Money::new(minor, currency))
    }

    /// Reads an amount a provider sent as a JSON number, in major units, from the number's
    /// text as it appeared on the wire (a [`RawValue`]) — never through an `f64`.
    ///
    /// The rules are [`Money::from_decimal_str`]'s: integers are always accepted; a fraction
    /// only when the currency has minor units and it fits them (USD `726.24` → 72624 cents);
    /// an exponent (`1e3`) is refused. A string — even `"374000.00"` —, `null`, a KRW
    /// `374000.5` and a KRW `58000.0000000000001` are errors: never silently rounded.
    ///
    /// A `serde_json::Value` cannot be read exactly (its numbers are already `f64` or
    /// integers), which is why this takes the raw text: deserialize the field as
    /// `Box<RawValue>` (or `&RawValue`).
    #[deny(clippy::arithmetic_side_effects)]
    pub fn from_json(raw: &RawValue, currency: Currency) -> Result<Money, MoneyError> {
        let text = raw.get().trim();
        match text.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Money::from_decimal_str(text, currency),
            _ => Err(MoneyError::NotANumber {
                found: describe_json(text),
                currency,
            }),
        }
    }

    /// Writes the amount as a JSON number token in major units, the form most PG APIs expect:
    /// an integer for KRW/JPY, a decimal for USD (`726.24`). Never a string, and never an
    /// `f64` on the way: the token is the exact decimal text.
    pub fn to_json_major(&self) -> Box<RawValue> {
        let text = self.major_decimal_string();
        // A plain decimal is always a valid JSON number; the fallback is unreachable.
        RawValue::from_string(text)
            .unwrap_or_else(|_| RawValue::from_string(self.amount.to_string()).unwrap_or_default())
    }

    /// The amount in major units as a plain decimal string (`"726.24"`, `"58000"`).
    pub fn major_decimal_string(&self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return self.amount.to_string();
        }
        let scale = 10u64.pow(exponent);
        let abs = self.amount.unsigned_abs();
        let sign = if self.amount < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exponent as usize
        )
    }
}

/// A short description of a JSON value's text that is not a number (never the full payload).
fn describe_json(text: &str) -> String {
    match text.as_bytes().first() {
        Some(b'n') => "null".to_owned(),
        Some(b't' | b'f') => "a boolean".to_owned(),
        Some(b'"') => {
            let inner: String = serde_json::from_str(text).unwrap_or_default();
            format!(
                "the string {:?}",
                inner.chars().take(24).collect::<String>()
            )
        }
        Some(b'[') => "an array".to_owned(),
        Some(b'{') => "an object".to_owned(),
        _ => "nothing readable".to_owned(),
    }
}

fn group_thousands(digits: u64) -> String {
    let raw = digits.to_string();
    let mut out = String::with_capacity(raw.len() + raw.len() / 3);
    for (i, ch) in raw.chars().enumerate() {
        if i > 0 && (raw.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for Money {
    /// `58,000원`, `$726.24`, `¥1,200`, `12.50 EUR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let exponent = self.currency.exponent();
        let abs = self.amount.unsigned_abs();
        let scale = 10u64.pow(exponent);
        let whole = group_thousands(abs / scale);
        let number = if exponent == 0 {
            whole
        } else {
            format!("{whole}.{:0width$}", abs % scale, width = exponent as usize)
        };
        match &self.currency {
            Currency::Krw => write!(f, "{sign}{number}원"),
            Currency::Usd => write!(f, "{sign}${number}"),
            Currency::Jpy => write!(f, "{sign}¥{number}"),
            Currency::Other(code) => write!(f, "{sign}{number} {code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn display_formats() {
        assert_eq!(Money::krw(58_000).to_string(), "58,000원");
        assert_eq!(Money::krw(1_234_567).to_string(), "1,234,567원");
        assert_eq!(Money::krw(0).to_string(), "0원");
        assert_eq!(Money::krw(-500).to_string(), "-500원");
        assert_eq!(Money::new(72_624, Currency::Usd).to_string(), "$726.24");
        assert_eq!(Money::new(5, Currency::Usd).to_string(), "$0.05");
        assert_eq!(Money::new(1200, Currency::Jpy).to_string(), "¥1,200");
        assert_eq!(
            Money::new(1250, Currency::from_code("eur")).to_string(),
            "12.50 EUR"
        );
    }

    #[test]
    fn krw_serialises_as_integer() {
        let v = serde_json::to_value(Money::krw(374_000)).unwrap();
        assert_eq!(v, json!({"amount": 374000, "currency": "KRW"}));
        assert!(v["amount"].is_i64());
        let back: Money = serde_json::from_value(v).unwrap();
        assert_eq!(back, Money::krw(374_000));
        assert_eq!(Money::krw(374_000).to_json_major().get(), "374000");
        assert_eq!(
            Money::new(72_624, Currency::Usd).to_json_major().get(),
            "726.24"
        );
        // Beyond f64's 15–17 significant digits the token is still exact.
        let big = Money::new(192_227_032_337_026_370, Currency::Usd);
        assert_eq!(big.to_json_major().get(), "1922270323370263.70");
        assert_eq!(
            Money::from_json(&big.to_json_major(), Currency::Usd).unwrap(),
            big
        );
    }

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    fn from_json(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_json(raw(text), currency)
    }

    #[test]
    fn json_amounts_are_strict() {
        assert_eq!(
            from_json("374000", Currency::Krw).unwrap(),
            Money::krw(374_000)
        );
        assert_eq!(
            from_json("726.24", Currency::Usd).unwrap().minor_units(),
            72_624
        );
        assert_eq!(
            from_json("726.2", Currency::Usd).unwrap().minor_units(),
            72_620
        );
        assert_eq!(from_json("12", Currency::Usd).unwrap().minor_units(), 1_200);
        assert_eq!(from_json(" -5 ", Currency::Krw).unwrap(), Money::krw(-5));
        assert!(matches!(
            from_json("374000.5", Currency::Krw),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            from_json(r#""374000.00""#, Currency::Krw),
            Err(MoneyError::NotANumber { .. })
        ));
        assert!(matches!(
            from_json(r#""390000""#, Currency::Krw),
            Err(MoneyError::NotANumber { .. })
        ));
        for other in ["null", "true", "[1]", r#"{"a":1}"#] {
            assert!(matches!(
                from_json(other, Currency::Krw),
                Err(MoneyError::NotANumber { .. })
            ));
        }
        assert!(matches!(
            from_json("1.005", Currency::Usd),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        // A JSON 374000.0 is an integral value; accepting it loses nothing.
        assert_eq!(
            from_json("374000.0", Currency::Krw).unwrap(),
            Money::krw(374_000)
        );
    }

    /// These used to go through `f64`: the fraction vanished, the exponent was applied, and
    /// the 17th significant digit was rounded.
    #[test]
    fn json_amounts_are_read_from_their_text_not_a_float() {
        assert!(matches!(
            from_json("58000.0000000000001", Currency::Krw),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        for exponent in ["1e3", "1E3", "1.0e3", "1e-2", "5800e1"] {
            assert!(
                matches!(
                    from_json(exponent, Currency::Krw),
                    Err(MoneyError::Malformed(_))
                ),
                "{exponent}"
            );
        }
        assert_eq!(
            from_json("1922270323370263.70", Currency::Usd)
                .unwrap()
                .minor_units(),
            192_227_032_337_026_370
        );
        assert_eq!(
            from_json("9007199254740993", Currency::Krw).unwrap(),
            Money::krw(9_007_199_254_740_993)
        );
        assert!(matches!(
            from_json("9223372036854775808", Currency::Krw),
            Err(MoneyError::Overflow)
        ));
        assert!(matches!(
            from_json("92233720368547758.08", Currency::Usd),
            Err(MoneyError::Overflow)
        ));
        assert_eq!(
            from_json("-92233720368547758.07", Currency::Usd)
                .unwrap()
                .minor_units(),
            -i64::MAX
        );
    }

    #[test]
    fn decimal_strings() {
        assert_eq!(
            Money::from_decimal_str("726.24", Currency::Usd)
                .unwrap()
                .minor_units(),
            72_624
        );
        assert_eq!(
            Money::from_decimal_str("-1.5", Currency::Usd)
                .unwrap()
                .minor_units(),
            -150
        );
        for bad in ["", ".5", "5.", "1,000", "1e5", "+5", " 5", "0x10", "--1"] {
            assert!(
                Money::from_decimal_str(bad, Currency::Krw).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(matches!(
            Money::from_decimal_str("99999999999999999999", Currency::Krw),
            Err(MoneyError::Overflow)
        ));
        assert_eq!(
            Money::new(72_624, Currency::Usd).major_decimal_string(),
            "726.24"
        );
        assert_eq!(
            Money::new(-5, Currency::Usd).major_decimal_string(),
            "-0.05"
        );
    }

    #[test]
    fn checked_arithmetic() {
        let a = Money::krw(10_000);
        assert_eq!(
            a.checked_sub(&Money::krw(3_000)).unwrap(),
            Money::krw(7_000)
        );
        assert_eq!(a.checked_add(&Money::krw(1)).unwrap(), Money::krw(10_001));
        assert!(matches!(
            a.checked_add(&Money::new(1, Currency::Usd)),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            Money::krw(i64::MAX).checked_add(&Money::krw(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::krw(i64::MIN).checked_sub(&Money::krw(1)),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::from_code("krw"), Currency::Krw);
        assert_eq!(Currency::from_code("XYZ"), Currency::Other("XYZ".into()));
        assert_eq!(Currency::Krw.exponent(), 0);
        assert_eq!(Currency::Usd.exponent(), 2);
        assert_eq!(Currency::Jpy.exponent(), 0);
        let c: Currency = serde_json::from_value(json!("usd")).unwrap();
        assert_eq!(c, Currency::Usd);
        assert_eq!(
            serde_json::to_value(Currency::Other("EUR".into())).unwrap(),
            json!("EUR")
        );
    }
}
