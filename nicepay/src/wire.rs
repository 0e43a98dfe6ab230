//! NICEPAY wire types: serde structs for the JSON of the Start API `/v1` and its webhooks
//! (`shared/reference/nicepay.md` §3–§4, §6).
//!
//! - Every answer carries `resultCode`/`resultMsg` ([`ResultHeader`]); only `"0000"` is success,
//!   and business failures come with HTTP 200.
//! - Every enum off the wire keeps the raw value: statuses and pay methods are plain strings here
//!   and are interpreted in [`crate::mapping`].
//! - Unknown fields are ignored; almost everything is optional (the examples show `null` for
//!   absent objects and leave `bank` out altogether).
//! - Amounts are [`Amount`]: the JSON integer's text, read without any float.
//! - Known quirks: `cardQuota` is a string or a number, `canPartCancel` a string or a boolean
//!   ([`Lenient`]); the billing `regist` answer is camelCase in the table and PascalCase in the
//!   example (both read).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON integer exactly as it appeared on the wire (`1004`). NICEPAY amounts are integers of
/// at most 12 digits ("숫자만"); a fraction, an exponent or a string is refused at decode time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount(i64);

impl Amount {
    /// An amount of `units` (won).
    pub const fn new(units: i64) -> Amount {
        Amount(units)
    }

    /// The integer.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses the text of a JSON integer (`"1004"`, `"-5"`), refusing anything else and
    /// overflow.
    pub fn parse(text: &str) -> Option<Amount> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<i64>().ok().map(Amount)
    }
}

impl std::fmt::Debug for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl Amount {
    /// The amount a JSON value's raw text holds, or the decode error `Amount` reports.
    pub(crate) fn from_json_text<E: serde::de::Error>(raw: &str) -> Result<Amount, E> {
        let text = raw.trim();
        Amount::parse(text).ok_or_else(|| {
            let shown: String = text.chars().take(24).collect();
            E::custom(format!("amount must be a JSON integer, got {shown}"))
        })
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Amount::from_json_text(raw.get())
    }
}

/// A value NICEPAY sends as a string in one place and as a number or boolean in another
/// (`cardQuota`: `"0"` or `0`; `canPartCancel`: `"true"` or `true`). Kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lenient(pub String);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            Ok(Lenient(s))
        } else if text == "null" {
            Ok(Lenient(String::new()))
        } else if text.starts_with('{') || text.starts_with('[') {
            Err(D::Error::custom("expected a string, number or boolean"))
        } else {
            Ok(Lenient(text.to_owned()))
        }
    }
}

/// `resultCode` / `resultMsg` of any answer (PascalCase too, for the billing regist example).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ResultHeader {
    /// `"0000"` on success.
    #[serde(default, rename = "resultCode", alias = "ResultCode")]
    pub result_code: Option<String>,
    /// The message.
    #[serde(default, rename = "resultMsg", alias = "ResultMsg")]
    pub result_msg: Option<String>,
}

/// The Payment object (approve, lookup, cancel, net cancel, billing charge, webhook body).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Payment {
    /// `"0000"` on success.
    pub result_code: Option<String>,
    /// The message.
    pub result_msg: Option<String>,
    /// The key of the original approval.
    pub tid: Option<String>,
    /// The cancel's own tid, on cancel answers.
    pub cancelled_tid: Option<String>,
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// When the answer was made (`2021-11-05T17:14:35.150+0900`).
    pub edi_date: Option<String>,
    /// `hex(sha256(tid + amount + ediDate + SecretKey))`, for valid transactions only.
    pub signature: Option<String>,
    /// `paid`, `ready`, `failed`, `cancelled`, `partialCancelled`, `expired`, …
    pub status: Option<String>,
    /// When paid, or `"0"`.
    pub paid_at: Option<String>,
    /// When it failed, or `"0"`.
    pub failed_at: Option<String>,
    /// When last cancelled, or `"0"`.
    pub cancelled_at: Option<String>,
    /// `card`, `vbank`, `bank`, `cellphone`, `naverpay`, `kakaopay`, `payco`, `ssgpay`, …
    pub pay_method: Option<String>,
    /// The original amount.
    pub amount: Option<Amount>,
    /// The cancellable remainder.
    pub balance_amt: Option<Amount>,
    /// The goods name.
    pub goods_name: Option<String>,
    /// Echoed merchant data.
    pub mall_reserved: Option<String>,
    /// Escrow.
    pub use_escrow: Option<bool>,
    /// `KRW`, `USD`, `CNY`.
    pub currency: Option<String>,
    /// `pc`, `mobile`.
    pub channel: Option<String>,
    /// The issuer's approval number.
    pub approve_no: Option<String>,
    /// The receipt page.
    pub receipt_url: Option<String>,
    /// Card details.
    pub card: Option<Card>,
    /// Bank-transfer details.
    pub bank: Option<BankTransfer>,
    /// Virtual-account details.
    pub vbank: Option<Vbank>,
    /// Cancellations, oldest first.
    pub cancels: Option<Vec<Cancel>>,
    /// Whether the answer also has a `ResultCode` member (PascalCase, as the billing regist
    /// example writes it). [`ResultHeader`] reads it too, so the client leaves such an answer
    /// to [`ResultHeader`] instead of deciding from `result_code` alone.
    #[serde(rename = "ResultCode", deserialize_with = "present")]
    pub pascal_result_code: bool,
    /// Whether the answer also has a `ResultMsg` member (see `pascal_result_code`).
    #[serde(rename = "ResultMsg", deserialize_with = "present")]
    pub pascal_result_msg: bool,
}

impl Payment {
    /// Whether the answer spells a result member in PascalCase too (`ResultCode`,
    /// `ResultMsg`).
    pub fn has_pascal_result(&self) -> bool {
        self.pascal_result_code || self.pascal_result_msg
    }
}

/// `true` for a member that is there, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// `card{}`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Card {
    /// Issuer code (2 digits, `04` 삼성).
    pub card_code: Option<String>,
    /// Issuer name.
    pub card_name: Option<String>,
    /// Masked number (`123412******1234`).
    pub card_num: Option<String>,
    /// Installment months, `"0"`/`0` for 일시불.
    pub card_quota: Option<Lenient>,
    /// Interest-free installment.
    pub is_interest_free: Option<bool>,
    /// `credit` / `check`.
    pub card_type: Option<String>,
    /// Whether a partial cancel is possible.
    pub can_part_cancel: Option<Lenient>,
    /// Acquirer code.
    pub acqu_card_code: Option<String>,
    /// Acquirer name.
    pub acqu_card_name: Option<String>,
}

/// `bank{}` (real-time transfer).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct BankTransfer {
    /// 3-digit bank code.
    pub bank_code: Option<String>,
    /// Bank name.
    pub bank_name: Option<String>,
}

/// `vbank{}`: the keys are `vbankCode`/`vbankName`, not `vbankBankCode`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Vbank {
    /// 3-digit bank code.
    pub vbank_code: Option<String>,
    /// Bank name.
    pub vbank_name: Option<String>,
    /// The account number to deposit into.
    pub vbank_number: Option<String>,
    /// The deposit deadline.
    pub vbank_exp_date: Option<String>,
    /// The depositor name.
    pub vbank_holder: Option<String>,
}

/// One `cancels[]` entry.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Cancel {
    /// The cancel's tid (`cancelledTid` of the cancel answer).
    pub tid: Option<String>,
    /// The amount returned.
    pub amount: Option<Amount>,
    /// When.
    pub cancelled_at: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Its receipt.
    pub receipt_url: Option<String>,
    /// Coupon part.
    pub coupon_amt: Option<Amount>,
}

/// The answer of `POST /v1/subscribe/regist`, camelCase (table) or PascalCase (example).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct BillingRegistAnswer {
    /// The billing key.
    #[serde(rename = "bid", alias = "BID", alias = "Bid")]
    pub bid: Option<String>,
    /// The registration's tid.
    #[serde(rename = "tid", alias = "TID", alias = "Tid")]
    pub tid: Option<String>,
    /// The order id.
    #[serde(rename = "orderId", alias = "OrderId")]
    pub order_id: Option<String>,
    /// When (ISO 8601 in the table, `YYYYMMDD` in the example).
    #[serde(rename = "authDate", alias = "AuthDate")]
    pub auth_date: Option<String>,
    /// Card issuer code.
    #[serde(rename = "cardCode", alias = "CardCode")]
    pub card_code: Option<String>,
    /// Card issuer name.
    #[serde(rename = "cardName", alias = "CardName")]
    pub card_name: Option<String>,
}

/// `POST /v1/payments/{tid}` body.
#[derive(Debug, Serialize)]
pub struct ApproveBody {
    /// The amount the merchant's order says.
    pub amount: Amount,
}

/// `POST /v1/payments/{tid}/cancel` body (§3.4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody<'a> {
    /// 취소사유.
    pub reason: &'a str,
    /// A fresh order id for this cancel (a partial cancel cannot reuse one).
    pub order_id: &'a str,
    /// The amount; absent for a full cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amt: Option<Amount>,
    /// Tax-free part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free_amt: Option<Amount>,
    /// Refund account number (deposited virtual account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_account: Option<&'a str>,
    /// Refund bank, 3-digit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_bank_code: Option<&'a str>,
    /// Refund account holder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_holder: Option<&'a str>,
}

/// `POST /v1/payments/netcancel` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetCancelBody<'a> {
    /// The order whose approval is undone.
    pub order_id: &'a str,
}

/// `POST /v1/subscribe/regist` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingRegistBody<'a> {
    /// The encrypted card data (hex).
    pub enc_data: &'a str,
    /// The order id.
    pub order_id: &'a str,
    /// `"A2"` for AES-256-CBC; absent for the default AES-128-ECB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enc_mode: Option<&'a str>,
}

/// `POST /v1/subscribe/{bid}/payments` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingChargeBody<'a> {
    /// A fresh, unique order id.
    pub order_id: &'a str,
    /// The amount.
    pub amount: Amount,
    /// The goods name.
    pub goods_name: &'a str,
    /// `"0"` = 일시불.
    pub card_quota: &'a str,
    /// Only `false` is allowed.
    pub use_shop_interest: bool,
}

/// `POST /v1/subscribe/{bid}/expire` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpireBody<'a> {
    /// The order id.
    pub order_id: &'a str,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_integers_only() {
        let ok: Payment = serde_json::from_str(r#"{"amount":1004,"balanceAmt":0}"#).unwrap();
        assert_eq!(ok.amount, Some(Amount::new(1004)));
        for bad in [
            r#"{"amount":"1004"}"#,
            r#"{"amount":1004.5}"#,
            r#"{"amount":1e3}"#,
            r#"{"amount":99999999999999999999}"#,
        ] {
            assert!(serde_json::from_str::<Payment>(bad).is_err(), "{bad}");
        }
        assert_eq!(Amount::parse("-5"), Some(Amount::new(-5)));
        assert_eq!(Amount::parse("-"), None);
        assert_eq!(Amount::parse("9223372036854775808"), None);
    }

    #[test]
    fn lenient_quirks() {
        let c: Card = serde_json::from_str(r#"{"cardQuota":0,"canPartCancel":true}"#).unwrap();
        assert_eq!(c.card_quota, Some(Lenient("0".into())));
        assert_eq!(c.can_part_cancel, Some(Lenient("true".into())));
        let c: Card =
            serde_json::from_str(r#"{"cardQuota":"03","canPartCancel":"false"}"#).unwrap();
        assert_eq!(c.card_quota, Some(Lenient("03".into())));
        assert!(serde_json::from_str::<Card>(r#"{"cardQuota":{}}"#).is_err());
    }

    #[test]
    fn billing_regist_both_casings() {
        let camel: BillingRegistAnswer =
            serde_json::from_str(r#"{"resultCode":"0000","bid":"BIKY1","tid":"T","authDate":"2023-02-14T00:00:00.000+0900"}"#).unwrap();
        assert_eq!(camel.bid.as_deref(), Some("BIKY1"));
        let pascal: BillingRegistAnswer = serde_json::from_str(
            r#"{"ResultCode":"0000","ResultMsg":"빌키가 정상적으로 생성되었습니다.","BID":"BIKY2","AuthDate":"20230214","CardCode":"06","CardName":"[신한]","TID":"T2"}"#,
        )
        .unwrap();
        assert_eq!(pascal.bid.as_deref(), Some("BIKY2"));
        assert_eq!(pascal.card_code.as_deref(), Some("06"));
        let header: ResultHeader = serde_json::from_str(r#"{"ResultCode":"0000"}"#).unwrap();
        assert_eq!(header.result_code.as_deref(), Some("0000"));
    }

    #[test]
    fn pascal_result_members_are_noted_not_read_as_the_result() {
        let p: Payment = serde_json::from_str(
            r#"{"ResultCode":"0000","ResultMsg":null,"tid":"T","amount":1004,"balanceAmt":1004}"#,
        )
        .unwrap();
        assert!(p.pascal_result_code && p.pascal_result_msg && p.has_pascal_result());
        // Still only the camelCase members are the Payment's result, as before.
        assert_eq!((p.result_code, p.result_msg), (None, None));
        let p: Payment = serde_json::from_str(r#"{"resultCode":"0000","ResultMsg":"m"}"#).unwrap();
        assert!(!p.pascal_result_code && p.pascal_result_msg);
        assert_eq!(p.result_code.as_deref(), Some("0000"));
        let p: Payment = serde_json::from_str(r#"{"resultCode":"0000","resultMsg":"m"}"#).unwrap();
        assert!(!p.has_pascal_result());
    }

    #[test]
    fn cancel_body_leaves_out_absent_fields() {
        let body = CancelBody {
            reason: "고객 변심",
            order_id: "cancel-1",
            cancel_amt: None,
            tax_free_amt: None,
            refund_account: None,
            refund_bank_code: None,
            refund_holder: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"reason":"고객 변심","orderId":"cancel-1"}"#
        );
    }
}
