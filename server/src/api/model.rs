//! The REST API's JSON bodies. Amounts are integers in the currency's minor unit (won for KRW)
//! with a `currency` (default `KRW`), read from the JSON text: a fraction, an exponent or a
//! string is refused, never rounded. A request body with a field it does not know (a typo such
//! as `amout`) is refused (422) naming the field, never silently ignored.

use hanpay::core::Currency;
use hanpay::{Bank, Money};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::ApiError;

/// An amount in minor units, parsed from the JSON number's text (digits, optional `-`): never
/// through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub i64);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            let shown = crate::error::quote_input(text);
            return Err(D::Error::custom(format!(
                "an amount is an integer in the currency's minor unit (won for KRW), got {shown}"
            )));
        }
        text.parse::<i64>()
            .map(Amount)
            .map_err(|_| D::Error::custom("the amount does not fit in 64 bits"))
    }
}

/// A currency code: three ASCII letters, default `KRW`.
fn currency_of(code: Option<&str>) -> Result<Currency, ApiError> {
    match code {
        None => Ok(Currency::Krw),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Currency::from_code(c))
        }
        Some(_) => Err(ApiError::invalid(
            "currency must be a three-letter ISO 4217 code (KRW)",
        )),
    }
}

fn money(amount: Amount, currency: &Currency) -> Money {
    Money::new(amount.0, currency.clone())
}

/// A bank by its KFTC code (`"088"`) or its name (`"SHINHAN"`, as PortOne V2 spells it).
fn bank_of(text: &str) -> Result<Bank, ApiError> {
    let text = text.trim();
    let bank = if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) {
        Bank::from_kftc_code(text)
    } else {
        hanpay::portone::mapping::bank_from_name(&text.to_ascii_uppercase())
    };
    match bank {
        Bank::Unknown { .. } => Err(ApiError::invalid(format!(
            "unknown bank {:?}: use its KFTC code (\"088\") or its name (\"SHINHAN\")",
            crate::error::quote_input(text)
        ))),
        known => Ok(known),
    }
}

/// `POST /v1/payments/confirm`: approve a payment the customer authenticated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The PG (one of the ids `GET /v1/providers` lists); default: the
    /// configured default PG.
    #[serde(default)]
    pub provider: Option<String>,
    /// The PG's payment key (Toss `paymentKey`, PortOne `paymentId`) from the success URL.
    #[schema(min_length = 1, max_length = 200, example = "tgen_20240903")]
    pub payment_key: String,
    /// Your order id (6 to 64 of `A-Z a-z 0-9 _ = -`).
    #[schema(pattern = "^[A-Za-z0-9_=-]{6,64}$", example = "order-0001")]
    pub order_id: String,
    /// The order's amount in minor units (won): must equal the authenticated amount.
    #[schema(value_type = i64, minimum = 1, example = 58000)]
    pub amount: Amount,
    /// ISO 4217 code (default `KRW`).
    #[serde(default)]
    #[schema(example = "KRW")]
    pub currency: Option<String>,
}

impl ConfirmBody {
    /// The amount with its currency.
    pub fn money(&self) -> Result<Money, ApiError> {
        Ok(money(self.amount, &currency_of(self.currency.as_deref())?))
    }
}

/// The customer's own account a deposited virtual-account payment is refunded to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundAccountBody {
    /// The bank: KFTC code (`"088"`) or name (`"SHINHAN"`).
    #[schema(example = "088")]
    pub bank: String,
    /// The account number, digits only.
    #[schema(pattern = "^[0-9]{1,20}$", example = "1102147270")]
    pub number: String,
    /// The account holder's name.
    #[schema(min_length = 1, max_length = 60, example = "윤한빈")]
    pub holder_name: String,
}

/// `POST /v1/payments/{provider}/{paymentKey}/cancel`: cancel in full (no `amount`) or in
/// part.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why (1 to 200 characters; shown to the customer).
    #[schema(min_length = 1, max_length = 200, example = "고객 요청")]
    pub reason: String,
    /// The amount to cancel in minor units; absent: everything that remains.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, example = 8000)]
    pub amount: Option<Amount>,
    /// Of which tax-free, in minor units.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub tax_free_amount: Option<Amount>,
    /// The balance you believe the payment has; PGs that support it refuse the cancel if it
    /// changed meanwhile.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub expected_balance: Option<Amount>,
    /// ISO 4217 code of the amounts (default `KRW`).
    #[serde(default)]
    pub currency: Option<String>,
    /// Required to refund a deposited virtual account: the customer's own account.
    #[serde(default)]
    pub refund_account: Option<RefundAccountBody>,
}

impl CancelBody {
    /// The library's request for `payment_key`, validated (422 before any PG call).
    pub fn request(
        &self,
        payment_key: &str,
        idempotency_key: Option<&str>,
    ) -> Result<hanpay::CancelRequest, ApiError> {
        let currency = currency_of(self.currency.as_deref())?;
        let mut request = hanpay::CancelRequest::full(payment_key, self.reason.clone());
        request.amount = self.amount.map(|a| money(a, &currency));
        request.tax_free_amount = self.tax_free_amount.map(|a| money(a, &currency));
        request.expected_balance = self.expected_balance.map(|a| money(a, &currency));
        if let Some(account) = &self.refund_account {
            let account = hanpay::RefundAccount::new(
                bank_of(&account.bank)?,
                &account.number,
                &account.holder_name,
            )
            .map_err(|e| ApiError::invalid(e.to_string()))?;
            request.refund_account = Some(account);
        }
        if let Some(key) = idempotency_key {
            request.idempotency_key = Some(key.to_owned());
        }
        request.validate().map_err(ApiError::from)?;
        Ok(request)
    }
}

/// `POST /v1/virtual-accounts`: issue a virtual account (가상계좌) for an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VirtualAccountBody {
    /// The PG; default: the configured default PG.
    #[serde(default)]
    pub provider: Option<String>,
    /// Your order id (6 to 64 of `A-Z a-z 0-9 _ = -`).
    #[schema(pattern = "^[A-Za-z0-9_=-]{6,64}$", example = "order-0002")]
    pub order_id: String,
    /// The order name.
    #[schema(min_length = 1, max_length = 100, example = "티셔츠 외 1건")]
    pub order_name: String,
    /// The depositor's name (입금자명).
    #[schema(min_length = 1, max_length = 100, example = "윤한빈")]
    pub customer_name: String,
    /// The amount to deposit, in minor units.
    #[schema(value_type = i64, minimum = 1, example = 390000)]
    pub amount: Amount,
    /// ISO 4217 code (default `KRW`).
    #[serde(default)]
    pub currency: Option<String>,
    /// The bank: KFTC code (`"004"`) or name (`"KOOKMIN"`).
    #[schema(example = "004")]
    pub bank: String,
    /// Open this many hours (1 to 720; default 72).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 720)]
    pub valid_hours: Option<u32>,
    /// Or open until this moment (RFC 3339).
    #[serde(default)]
    pub due_date: Option<String>,
    /// The customer's e-mail, for the PG's notice.
    #[serde(default)]
    pub customer_email: Option<String>,
}

impl VirtualAccountBody {
    /// The library's request, validated (422 before any PG call).
    pub fn request(
        &self,
        idempotency_key: Option<&str>,
    ) -> Result<hanpay::VirtualAccountRequest, ApiError> {
        let currency = currency_of(self.currency.as_deref())?;
        let mut request = hanpay::VirtualAccountRequest::new(
            money(self.amount, &currency),
            self.order_id.clone(),
            self.order_name.clone(),
            self.customer_name.clone(),
            bank_of(&self.bank)?,
        );
        match (&self.due_date, self.valid_hours) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid("give valid_hours or due_date, not both"))
            }
            (Some(due), None) => {
                let due = OffsetDateTime::parse(due, &Rfc3339)
                    .map_err(|_| ApiError::invalid("due_date must be RFC 3339"))?;
                request = request.due_date(due);
            }
            (None, Some(hours)) => request = request.valid_hours(hours),
            (None, None) => {}
        }
        if let Some(email) = &self.customer_email {
            request = request.customer_email(email.clone());
        }
        if let Some(key) = idempotency_key {
            request = request.idempotency_key(key);
        }
        request.validate().map_err(ApiError::from)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_are_integers_from_the_text() {
        let parse = |text: &str| {
            serde_json::from_str::<ConfirmBody>(&format!(
                r#"{{"payment_key":"pk","order_id":"order-1","amount":{text}}}"#
            ))
        };
        assert_eq!(parse("58000").unwrap().amount, Amount(58_000));
        for bad in [
            "58000.5",
            "58000.0",
            "5.8e4",
            "\"58000\"",
            "null",
            "99999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(parse("58000").unwrap().money().unwrap(), Money::krw(58_000));
    }

    #[test]
    fn banks_by_code_or_name() {
        assert_eq!(bank_of("088").unwrap(), Bank::Shinhan);
        assert_eq!(bank_of("shinhan").unwrap(), Bank::Shinhan);
        assert!(bank_of("999").is_err());
    }
}
