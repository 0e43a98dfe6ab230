//! Toss Payments wire types: serde structs for the JSON the `/v1` API and its webhooks speak.
//!
//! Everything here follows `shared/reference/tosspayments.md` §2–§5:
//!
//! * every enum that comes off the wire has an `Unknown(String)` fallback keeping the raw value
//!   (Toss adds enum values without a new API version);
//! * unknown fields are ignored (no `deny_unknown_fields` anywhere);
//! * everything except `paymentKey`, `orderId`, `status` is optional, because real payloads carry
//!   `method: null`, `method: ""`, `useEscrow: null`, `receipt: null`;
//! * amounts are kept as the exact decimal text of the JSON number ([`Amount`]); they are never
//!   read through a float. Conversion to [`hanpay_core::Money`] happens in [`crate::mapping`].
//!
//! These types are plain data; the conversions to the provider-neutral model live in
//! [`crate::mapping`], and request bodies are built there too.
// Parses untrusted input (wire JSON): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Declares a string enum with known variants and an `Unknown(String)` fallback.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value exactly as Toss spells it on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(raw) => raw.as_str(),
                }
            }

            /// Parses a wire value; unknown values are kept in `Unknown`.
            pub fn parse(raw: &str) -> Self {
                match raw {
                    $( $wire => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok(Self::parse(&raw))
            }
        }
    };
}

open_enum! {
    /// `Payment.status` (reference §3.1).
    PaymentStatus {
        /// Created, not yet authenticated.
        Ready => "READY",
        /// Authenticated; the confirm call completes it.
        InProgress => "IN_PROGRESS",
        /// Virtual account issued, not yet paid.
        WaitingForDeposit => "WAITING_FOR_DEPOSIT",
        /// Approved.
        Done => "DONE",
        /// Fully cancelled.
        Canceled => "CANCELED",
        /// Partially cancelled (also after partial cancels down to zero).
        PartialCanceled => "PARTIAL_CANCELED",
        /// Approval failed.
        Aborted => "ABORTED",
        /// The payment window or the confirm window expired.
        Expired => "EXPIRED",
    }
}

open_enum! {
    /// `Payment.type`.
    PaymentType {
        /// A normal one-off payment.
        Normal => "NORMAL",
        /// An automatic (billing-key) payment.
        Billing => "BILLING",
        /// A BrandPay payment.
        Brandpay => "BRANDPAY",
    }
}

open_enum! {
    /// `Payment.method`, Korean literals (reference §3).
    Method {
        /// 카드
        Card => "카드",
        /// 가상계좌
        VirtualAccount => "가상계좌",
        /// 간편결제
        EasyPay => "간편결제",
        /// 휴대폰
        MobilePhone => "휴대폰",
        /// 계좌이체
        Transfer => "계좌이체",
        /// 문화상품권
        CultureGiftCertificate => "문화상품권",
        /// 도서문화상품권
        BookGiftCertificate => "도서문화상품권",
        /// 게임문화상품권
        GameGiftCertificate => "게임문화상품권",
        /// 해외간편결제 (v1.4 era)
        ForeignEasyPay => "해외간편결제",
    }
}

open_enum! {
    /// `card.cardType`.
    CardType {
        /// 신용
        Credit => "신용",
        /// 체크
        Check => "체크",
        /// 기프트
        Gift => "기프트",
        /// 미확인
        Unconfirmed => "미확인",
    }
}

open_enum! {
    /// `card.ownerType`.
    OwnerType {
        /// 개인
        Personal => "개인",
        /// 법인
        Corporate => "법인",
        /// 미확인
        Unconfirmed => "미확인",
    }
}

open_enum! {
    /// `card.acquireStatus`.
    AcquireStatus {
        /// Not yet requested.
        Ready => "READY",
        /// Requested.
        Requested => "REQUESTED",
        /// Completed.
        Completed => "COMPLETED",
        /// Cancel requested.
        CancelRequested => "CANCEL_REQUESTED",
        /// Cancelled.
        Canceled => "CANCELED",
    }
}

open_enum! {
    /// `virtualAccount.accountType`.
    AccountType {
        /// 일반 (one-off)
        Normal => "일반",
        /// 고정 (fixed)
        Fixed => "고정",
    }
}

open_enum! {
    /// `virtualAccount.refundStatus`.
    RefundStatus {
        /// No refund.
        None => "NONE",
        /// Refund pending.
        Pending => "PENDING",
        /// Refund failed.
        Failed => "FAILED",
        /// Partial refund failed.
        PartialFailed => "PARTIAL_FAILED",
        /// Refund completed.
        Completed => "COMPLETED",
    }
}

open_enum! {
    /// `settlementStatus` of virtual accounts, transfers, mobile and gift certificates.
    SettlementStatus {
        /// Not settled.
        Incompleted => "INCOMPLETED",
        /// Settled.
        Completed => "COMPLETED",
    }
}

open_enum! {
    /// `cancels[].cancelStatus`.
    CancelStatus {
        /// Cancellation done.
        Done => "DONE",
        /// Async (overseas) cancellation in progress.
        InProgress => "IN_PROGRESS",
        /// Async cancellation aborted.
        Aborted => "ABORTED",
    }
}

/// A JSON number exactly as it appeared on the wire (e.g. `390000`, `726.24`, `5000.0`).
///
/// Toss types amounts as `number` (decimals exist for USD since v1.4), so the text is kept and
/// converted to integer minor units later, without ever going through a float. A JSON string
/// (`"374000.00"`) is refused at decode time: Toss itself never sends one, and accepting it is
/// how the merchant in seed 000 ended up sending one.
#[derive(Clone, PartialEq, Eq)]
pub struct Amount(String);

impl Amount {
    /// Builds an amount from integer units (used in request bodies).
    pub fn from_integer(units: i64) -> Self {
        Self(units.to_string())
    }

    /// Builds an amount from a decimal string such as `"726.24"`.
    ///
    /// Returns `None` when the text is not a plain decimal number.
    pub fn from_decimal_str(text: &str) -> Option<Self> {
        is_plain_decimal(text).then(|| Self(text.to_owned()))
    }

    /// The exact decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.map_or(true, |f| {
            !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())
        })
}

impl std::fmt::Debug for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written back as a JSON number token, never a string.
        match RawValue::from_string(self.0.clone()) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            return Err(D::Error::custom(format!(
                "amount must be a JSON number, got the string {text}"
            )));
        }
        if !is_plain_decimal(text) {
            return Err(D::Error::custom(format!(
                "amount must be a plain decimal number, got {text}"
            )));
        }
        Ok(Self(text.to_owned()))
    }
}

/// Deserializes `method`, turning `""` into `None` like `null`.
fn method_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Method>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw.filter(|s| !s.is_empty()).map(|s| Method::parse(&s)))
}

/// Deserializes `easyPay`, which is an object since v1.2 but a plain string in v1.4 examples,
/// in one pass (no raw capture and second parse).
fn easy_pay_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EasyPay>, D::Error> {
    struct EasyPayVisitor;

    impl EasyPayVisitor {
        fn provider_only(provider: String) -> Option<EasyPay> {
            Some(EasyPay {
                provider: Some(provider),
                amount: None,
                discount_amount: None,
            })
        }
    }

    impl<'de> Visitor<'de> for EasyPayVisitor {
        type Value = Option<EasyPay>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an easyPay object, a provider name or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Self::provider_only(v.to_owned()))
        }

        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Self::provider_only(v))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            EasyPay::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }

    d.deserialize_any(EasyPayVisitor)
}

/// The Toss `Payment` object (reference §3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Payment {
    /// API version of this object (`"2022-11-16"`, `"1.4"`, …).
    #[serde(default)]
    pub version: Option<String>,
    /// The payment key (primary key at Toss).
    pub payment_key: String,
    /// `NORMAL`, `BILLING`, `BRANDPAY`.
    #[serde(default, rename = "type")]
    pub payment_type: Option<PaymentType>,
    /// Merchant order id.
    pub order_id: String,
    /// Order name (may be `""`).
    #[serde(default)]
    pub order_name: Option<String>,
    /// Merchant id.
    #[serde(default, rename = "mId")]
    pub m_id: Option<String>,
    /// Currency code (`KRW`, `USD`, …).
    #[serde(default)]
    pub currency: Option<String>,
    /// Payment method in Korean; `null` and `""` both become `None`.
    #[serde(default, deserialize_with = "method_opt")]
    pub method: Option<Method>,
    /// Original amount.
    #[serde(default)]
    pub total_amount: Option<Amount>,
    /// Cancellable remainder.
    #[serde(default)]
    pub balance_amount: Option<Amount>,
    /// Status.
    pub status: PaymentStatus,
    /// When the payment was requested (`yyyy-MM-dd'T'HH:mm:ss±hh:mm`).
    #[serde(default)]
    pub requested_at: Option<String>,
    /// When it was approved; `null` until then.
    #[serde(default)]
    pub approved_at: Option<String>,
    /// Escrow flag.
    #[serde(default)]
    pub use_escrow: Option<bool>,
    /// Key of the last transaction (approval or last cancel).
    #[serde(default)]
    pub last_transaction_key: Option<String>,
    /// Supplied amount (excluding VAT).
    #[serde(default)]
    pub supplied_amount: Option<Amount>,
    /// VAT.
    #[serde(default)]
    pub vat: Option<Amount>,
    /// Culture-expense flag.
    #[serde(default)]
    pub culture_expense: Option<bool>,
    /// Tax-free amount.
    #[serde(default)]
    pub tax_free_amount: Option<Amount>,
    /// Tax-exemption amount.
    #[serde(default)]
    pub tax_exemption_amount: Option<Amount>,
    /// Cancellation history.
    #[serde(default)]
    pub cancels: Option<Vec<Cancel>>,
    /// `false` means only a full cancel is possible.
    #[serde(default)]
    pub is_partial_cancelable: Option<bool>,
    /// Card details.
    #[serde(default)]
    pub card: Option<Card>,
    /// Virtual-account details.
    #[serde(default)]
    pub virtual_account: Option<VirtualAccount>,
    /// Mobile-phone details.
    #[serde(default)]
    pub mobile_phone: Option<MobilePhone>,
    /// Gift-certificate details.
    #[serde(default)]
    pub gift_certificate: Option<GiftCertificate>,
    /// Bank-transfer details.
    #[serde(default)]
    pub transfer: Option<Transfer>,
    /// Receipt link.
    #[serde(default)]
    pub receipt: Option<Link>,
    /// Checkout link.
    #[serde(default)]
    pub checkout: Option<Link>,
    /// Easy-pay details (an object, or a bare provider string in old versions).
    #[serde(default, deserialize_with = "easy_pay_opt")]
    pub easy_pay: Option<EasyPay>,
    /// ISO-3166 alpha-2 country.
    #[serde(default)]
    pub country: Option<String>,
    /// Failure, filled for failed or expired payments.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// Cash receipt.
    #[serde(default)]
    pub cash_receipt: Option<CashReceipt>,
    /// Instant discount.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Webhook verification secret (`ps_…`), compared with the one a webhook carries.
    #[serde(default)]
    pub secret: Option<String>,
}

/// One entry of `Payment.cancels` (reference §3.3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cancel {
    /// Amount of this cancellation.
    #[serde(default)]
    pub cancel_amount: Option<Amount>,
    /// Reason given.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// Tax-free part.
    #[serde(default)]
    pub tax_free_amount: Option<Amount>,
    /// Tax-exemption part.
    #[serde(default)]
    pub tax_exemption_amount: Option<Amount>,
    /// Refundable amount left after this cancellation.
    #[serde(default)]
    pub refundable_amount: Option<Amount>,
    /// Card discount cancelled.
    #[serde(default)]
    pub card_discount_amount: Option<Amount>,
    /// Transfer discount cancelled.
    #[serde(default)]
    pub transfer_discount_amount: Option<Amount>,
    /// Easy-pay discount cancelled.
    #[serde(default)]
    pub easy_pay_discount_amount: Option<Amount>,
    /// When it was cancelled.
    #[serde(default)]
    pub canceled_at: Option<String>,
    /// Transaction key identifying this cancellation.
    #[serde(default)]
    pub transaction_key: Option<String>,
    /// Cash-receipt key of the cancellation.
    #[serde(default)]
    pub receipt_key: Option<String>,
    /// `DONE`, or `IN_PROGRESS`/`ABORTED` for async overseas payments.
    #[serde(default)]
    pub cancel_status: Option<CancelStatus>,
    /// Async cancel request id (overseas only).
    #[serde(default)]
    pub cancel_request_id: Option<String>,
}

/// `Payment.card` (reference §3.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Card {
    /// Card amount (includes the instant discount).
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Issuer code (2 chars).
    #[serde(default)]
    pub issuer_code: Option<String>,
    /// Acquirer code.
    #[serde(default)]
    pub acquirer_code: Option<String>,
    /// Masked card number.
    #[serde(default)]
    pub number: Option<String>,
    /// Installment months (0 = lump sum).
    #[serde(default)]
    pub installment_plan_months: Option<u32>,
    /// Approval number.
    #[serde(default)]
    pub approve_no: Option<String>,
    /// Card points used.
    #[serde(default)]
    pub use_card_point: Option<bool>,
    /// 신용/체크/기프트/미확인.
    #[serde(default)]
    pub card_type: Option<CardType>,
    /// 개인/법인/미확인.
    #[serde(default)]
    pub owner_type: Option<OwnerType>,
    /// Acquisition status.
    #[serde(default)]
    pub acquire_status: Option<AcquireStatus>,
    /// Interest-free flag.
    #[serde(default)]
    pub is_interest_free: Option<bool>,
    /// `BUYER`, `CARD_COMPANY`, `MERCHANT`.
    #[serde(default)]
    pub interest_payer: Option<String>,
}

/// `Payment.virtualAccount` (reference §3.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualAccount {
    /// 일반/고정.
    #[serde(default)]
    pub account_type: Option<AccountType>,
    /// The account the customer pays INTO (test accounts start with `X`). Never a refund target.
    #[serde(default)]
    pub account_number: Option<String>,
    /// Bank code (2 chars).
    #[serde(default)]
    pub bank_code: Option<String>,
    /// Customer name.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// Deposit deadline.
    #[serde(default)]
    pub due_date: Option<String>,
    /// Refund status.
    #[serde(default)]
    pub refund_status: Option<RefundStatus>,
    /// Whether the account expired.
    #[serde(default)]
    pub expired: Option<bool>,
    /// Settlement status.
    #[serde(default)]
    pub settlement_status: Option<SettlementStatus>,
    /// The refund account typed by the buyer in the widget (visible for 30 min only).
    #[serde(default)]
    pub refund_receive_account: Option<RefundReceiveAccountOut>,
    /// Depositor name.
    #[serde(default)]
    pub depositor_name: Option<String>,
}

/// A refund account as Toss returns it (`bankCode`; the request side uses `bank`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RefundReceiveAccountOut {
    /// Bank code.
    #[serde(default)]
    pub bank_code: Option<String>,
    /// Account number (often masked).
    #[serde(default)]
    pub account_number: Option<String>,
    /// Holder name.
    #[serde(default)]
    pub holder_name: Option<String>,
}

/// `Payment.easyPay`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EasyPay {
    /// Provider name (`토스페이`, `네이버페이`, …).
    #[serde(default)]
    pub provider: Option<String>,
    /// Amount paid with the easy-pay balance.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Discount.
    #[serde(default)]
    pub discount_amount: Option<Amount>,
}

/// `Payment.mobilePhone`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MobilePhone {
    /// Customer's phone number.
    #[serde(default)]
    pub customer_mobile_phone: Option<String>,
    /// Settlement status.
    #[serde(default)]
    pub settlement_status: Option<SettlementStatus>,
    /// Receipt URL.
    #[serde(default)]
    pub receipt_url: Option<String>,
}

/// `Payment.giftCertificate`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GiftCertificate {
    /// Approval number.
    #[serde(default)]
    pub approve_no: Option<String>,
    /// Settlement status.
    #[serde(default)]
    pub settlement_status: Option<SettlementStatus>,
}

/// `Payment.transfer`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Transfer {
    /// Bank code.
    #[serde(default)]
    pub bank_code: Option<String>,
    /// Settlement status.
    #[serde(default)]
    pub settlement_status: Option<SettlementStatus>,
}

/// `{url}` objects (`receipt`, `checkout`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// The URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// `Payment.failure` and the API error body share this shape.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Toss error code.
    #[serde(default)]
    pub code: String,
    /// Message (Korean unless `Accept-Language: en-US`).
    #[serde(default)]
    pub message: String,
}

/// The body of every Toss error response: `{code, message}`.
pub type ErrorBody = Failure;

/// `Payment.cashReceipt`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CashReceipt {
    /// 소득공제/지출증빙.
    #[serde(default, rename = "type")]
    pub receipt_type: Option<String>,
    /// Receipt key.
    #[serde(default)]
    pub receipt_key: Option<String>,
    /// Issue number.
    #[serde(default)]
    pub issue_number: Option<String>,
    /// Receipt URL.
    #[serde(default)]
    pub receipt_url: Option<String>,
    /// Amount.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Tax-free amount.
    #[serde(default)]
    pub tax_free_amount: Option<Amount>,
}

/// `Payment.discount`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Discount {
    /// Discount amount.
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// The `Billing` object returned by `POST /v1/billing/authorizations/issue`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Billing {
    /// Merchant id.
    #[serde(default, rename = "mId")]
    pub m_id: Option<String>,
    /// Customer key the billing key is bound to.
    #[serde(default)]
    pub customer_key: Option<String>,
    /// When it was authenticated.
    #[serde(default)]
    pub authenticated_at: Option<String>,
    /// `카드` or `계좌이체`.
    #[serde(default, deserialize_with = "method_opt")]
    pub method: Option<Method>,
    /// The billing key.
    pub billing_key: String,
    /// Card details.
    #[serde(default)]
    pub card: Option<Card>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// `POST /v1/payments/confirm` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmBody<'a> {
    /// Payment key from the success URL.
    pub payment_key: &'a str,
    /// Merchant order id.
    pub order_id: &'a str,
    /// Amount (JSON integer for KRW).
    pub amount: Amount,
}

/// `POST /v1/payments/{paymentKey}/cancel` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody<'a> {
    /// Required reason (≤ 200 chars).
    pub cancel_reason: &'a str,
    /// Only for a partial cancel; omitted for a full cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amount: Option<Amount>,
    /// Only for a deposited virtual-account payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_receive_account: Option<RefundReceiveAccountIn<'a>>,
    /// Tax-free part of the cancellation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<Amount>,
    /// Currency (must equal the approved one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `refundReceiveAccount` in a cancel request: the CUSTOMER's own account (`bank`, not `bankCode`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReceiveAccountIn<'a> {
    /// Toss bank code (e.g. `"88"`).
    pub bank: &'a str,
    /// Digits only.
    pub account_number: &'a str,
    /// Holder name (≤ 60).
    pub holder_name: &'a str,
}

/// `POST /v1/virtual-accounts` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountBody<'a> {
    /// Amount.
    pub amount: Amount,
    /// Merchant order id.
    pub order_id: &'a str,
    /// Order name.
    pub order_name: &'a str,
    /// Customer name.
    pub customer_name: &'a str,
    /// Bank code.
    pub bank: &'a str,
    /// Validity in hours (≤ 720); exclusive with `due_date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<u32>,
    /// Deadline (ISO-8601); exclusive with `valid_hours`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
}

/// `POST /v1/billing/authorizations/issue` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingIssueBody<'a> {
    /// One-time auth key from the success URL.
    pub auth_key: &'a str,
    /// Customer key.
    pub customer_key: &'a str,
}

/// `POST /v1/billing/{billingKey}` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingChargeBody<'a> {
    /// Amount.
    pub amount: Amount,
    /// Customer key (must equal the one used at issue).
    pub customer_key: &'a str,
    /// Merchant order id.
    pub order_id: &'a str,
    /// Order name.
    pub order_name: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Webhook payloads (reference §5.2–§5.3)
// ---------------------------------------------------------------------------------------------

open_enum! {
    /// Webhook `eventType`.
    EventType {
        /// `{eventType, createdAt, data: Payment}`.
        PaymentStatusChanged => "PAYMENT_STATUS_CHANGED",
        /// Virtual-account deposit (normally flat, without `eventType`).
        DepositCallback => "DEPOSIT_CALLBACK",
        /// Overseas easy-pay cancel status.
        CancelStatusChanged => "CANCEL_STATUS_CHANGED",
        /// Billing key deleted.
        BillingDeleted => "BILLING_DELETED",
        /// BrandPay method changed.
        MethodUpdated => "METHOD_UPDATED",
        /// BrandPay customer changed.
        CustomerStatusChanged => "CUSTOMER_STATUS_CHANGED",
        /// Payout v2 status (HMAC-signed).
        PayoutChanged => "payout.changed",
        /// Seller status (HMAC-signed).
        SellerChanged => "seller.changed",
    }
}

/// The outer shape every Toss webhook body is read as, in one pass.
///
/// `data` and `entityBody` are decoded straight into the type the event type asks for when
/// `eventType` comes first (as in every body Toss sends); only in a body where they come
/// before it are they kept borrowed ([`Part::Raw`]) and decoded at the end.
#[derive(Debug, Default)]
struct Envelope<'a> {
    /// `None`: no `eventType` member (yet); `Some(None)`: `eventType: null`.
    event_type: Option<Option<EventType>>,
    created_at: Option<String>,
    data: Part<'a, Data>,
    event_id: Option<String>,
    entity_body: Part<'a, EntityBody>,
    // DEPOSIT_CALLBACK's flat fields:
    secret: Option<String>,
    status: Option<PaymentStatus>,
    transaction_key: Option<String>,
    order_id: Option<String>,
}

/// A member whose type depends on the event type.
#[derive(Debug, Default)]
enum Part<'a, T> {
    /// Absent or `null`.
    #[default]
    Absent,
    /// Seen before `eventType`: kept borrowed, decoded at the end.
    Raw(&'a RawValue),
    /// Decoded as the event type says.
    Decoded(T),
    /// Present, but this event type does not read it.
    Skipped,
}

impl<'a, T> Part<'a, T> {
    fn from_option(value: Option<T>) -> Self {
        value.map_or(Part::Absent, Part::Decoded)
    }

    /// Skips a member this event type does not read (`null` still counts as absent).
    fn skip<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<IgnoredAny>::deserialize(d)? {
            Some(_) => Part::Skipped,
            None => Part::Absent,
        })
    }

    /// The decoded value: `pick` takes it out of a decoded member, a borrowed one is decoded
    /// now; `None` when absent.
    fn resolve<U: serde::de::DeserializeOwned>(
        self,
        pick: impl FnOnce(T) -> Option<U>,
    ) -> Result<Option<U>, serde_json::Error> {
        match self {
            Part::Decoded(value) => Ok(pick(value)),
            Part::Raw(raw) => serde_json::from_str::<U>(raw.get()).map(Some),
            Part::Absent | Part::Skipped => Ok(None),
        }
    }
}

/// `data`, decoded as the event type says.
#[derive(Debug)]
enum Data {
    Payment(Box<Payment>),
    CancelStatus(CancelStatusData),
    BillingDeleted(BillingDeletedData),
}

/// Decodes `data` for a known event type.
struct DataSeed<'t>(Option<&'t EventType>);

impl<'de> serde::de::DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Part<'de, Data>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Ok(match self.0 {
            Some(EventType::PaymentStatusChanged) => Part::from_option(
                Option::<Payment>::deserialize(d)?.map(|p| Data::Payment(Box::new(p))),
            ),
            Some(EventType::CancelStatusChanged) => Part::from_option(
                Option::<CancelStatusData>::deserialize(d)?.map(Data::CancelStatus),
            ),
            Some(EventType::BillingDeleted) => Part::from_option(
                Option::<BillingDeletedData>::deserialize(d)?.map(Data::BillingDeleted),
            ),
            _ => Part::skip(d)?,
        })
    }
}

/// Decodes `entityBody` for a known event type.
struct EntitySeed<'t>(Option<&'t EventType>);

impl<'de> serde::de::DeserializeSeed<'de> for EntitySeed<'_> {
    type Value = Part<'de, EntityBody>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.0 {
            Some(EventType::PayoutChanged | EventType::SellerChanged) => {
                Ok(Part::from_option(Option::<EntityBody>::deserialize(d)?))
            }
            _ => Part::skip(d),
        }
    }
}

/// The envelope's members.
#[derive(Clone, Copy)]
enum Field {
    EventType,
    CreatedAt,
    Data,
    EventId,
    EntityBody,
    Secret,
    Status,
    TransactionKey,
    OrderId,
    Other,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::EventType => "eventType",
            Field::CreatedAt => "createdAt",
            Field::Data => "data",
            Field::EventId => "eventId",
            Field::EntityBody => "entityBody",
            Field::Secret => "secret",
            Field::Status => "status",
            Field::TransactionKey => "transactionKey",
            Field::OrderId => "orderId",
            Field::Other => "",
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;

        impl Visitor<'_> for FieldVisitor {
            type Value = Field;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "eventType" => Field::EventType,
                    "createdAt" => Field::CreatedAt,
                    "data" => Field::Data,
                    "eventId" => Field::EventId,
                    "entityBody" => Field::EntityBody,
                    "secret" => Field::Secret,
                    "status" => Field::Status,
                    "transactionKey" => Field::TransactionKey,
                    "orderId" => Field::OrderId,
                    _ => Field::Other,
                })
            }
        }

        d.deserialize_identifier(FieldVisitor)
    }
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;

        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a Toss webhook body (a JSON object)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
                let mut env = Envelope::default();
                let mut seen = 0u16;
                while let Some(field) = map.next_key::<Field>()? {
                    if !matches!(field, Field::Other) {
                        let bit = 1u16 << (field as u16);
                        if seen & bit != 0 {
                            return Err(A::Error::duplicate_field(field.name()));
                        }
                        seen |= bit;
                    }
                    match field {
                        Field::EventType => env.event_type = Some(map.next_value()?),
                        Field::CreatedAt => env.created_at = map.next_value()?,
                        Field::Data => {
                            env.data = match &env.event_type {
                                Some(t) => map.next_value_seed(DataSeed(t.as_ref()))?,
                                None => borrowed(map.next_value()?),
                            }
                        }
                        Field::EventId => env.event_id = map.next_value()?,
                        Field::EntityBody => {
                            env.entity_body = match &env.event_type {
                                Some(t) => map.next_value_seed(EntitySeed(t.as_ref()))?,
                                None => borrowed(map.next_value()?),
                            }
                        }
                        Field::Secret => env.secret = map.next_value()?,
                        Field::Status => env.status = map.next_value()?,
                        Field::TransactionKey => env.transaction_key = map.next_value()?,
                        Field::OrderId => env.order_id = map.next_value()?,
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }

        d.deserialize_map(EnvelopeVisitor)
    }
}

fn borrowed<T>(raw: Option<&RawValue>) -> Part<'_, T> {
    raw.map_or(Part::Absent, Part::Raw)
}

/// Flat `DEPOSIT_CALLBACK` body: `{createdAt, secret, status, transactionKey, orderId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DepositCallback {
    /// Creation time (often without offset: KST implied).
    pub created_at: Option<String>,
    /// Secret to compare with the one returned at confirm / virtual-account issue.
    pub secret: Option<String>,
    /// New status.
    pub status: Option<PaymentStatus>,
    /// Transaction key.
    pub transaction_key: Option<String>,
    /// Merchant order id (no payment key is sent).
    pub order_id: Option<String>,
}

/// `CANCEL_STATUS_CHANGED` data (a cancel entry plus, sometimes, the payment key).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CancelStatusData {
    /// Payment key, when present.
    #[serde(default)]
    pub payment_key: Option<String>,
    /// Order id, when present.
    #[serde(default)]
    pub order_id: Option<String>,
    /// Transaction key of the cancel.
    #[serde(default)]
    pub transaction_key: Option<String>,
    /// Cancel status.
    #[serde(default)]
    pub cancel_status: Option<CancelStatus>,
}

/// `BILLING_DELETED` data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BillingDeletedData {
    /// The deleted billing key.
    pub billing_key: String,
    /// Reason (nullable).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `entityBody` of `payout.changed` / `seller.changed` (only the fields hanpay reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EntityBody {
    /// Payout or seller id.
    #[serde(default)]
    pub id: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
}

/// A parsed Toss webhook body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WebhookPayload {
    /// `PAYMENT_STATUS_CHANGED` with the full payment.
    PaymentStatusChanged {
        /// `createdAt`.
        created_at: Option<String>,
        /// The payment.
        data: Box<Payment>,
    },
    /// `DEPOSIT_CALLBACK` (flat body).
    DepositCallback(DepositCallback),
    /// `CANCEL_STATUS_CHANGED`.
    CancelStatusChanged {
        /// `createdAt`.
        created_at: Option<String>,
        /// The cancel data.
        data: CancelStatusData,
    },
    /// `BILLING_DELETED`.
    BillingDeleted {
        /// `createdAt`.
        created_at: Option<String>,
        /// The data.
        data: BillingDeletedData,
    },
    /// `payout.changed` or `seller.changed`.
    Entity {
        /// The event type.
        event_type: EventType,
        /// `createdAt`.
        created_at: Option<String>,
        /// `eventId` (dedupe id for these events).
        event_id: Option<String>,
        /// The entity body.
        body: EntityBody,
    },
    /// Any other event type; not an error.
    Other {
        /// The raw event type.
        event_type: String,
        /// `createdAt`.
        created_at: Option<String>,
        /// `eventId`, when the body carries one (as the v2 envelope of `payout.changed` and
        /// `seller.changed` does).
        event_id: Option<String>,
    },
}

impl WebhookPayload {
    /// Parses a raw webhook body. A flat body without `eventType` that carries `secret` or
    /// `transactionKey` is a `DEPOSIT_CALLBACK`.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        let env: Envelope<'_> = serde_json::from_slice(body)?;
        let created_at = env.created_at;
        let event_type = match env.event_type.flatten() {
            Some(t) => t,
            None if env.secret.is_some() || env.transaction_key.is_some() => {
                EventType::DepositCallback
            }
            None => return Err(serde_json::Error::custom("webhook body has no eventType")),
        };
        let no_data = || serde_json::Error::custom("webhook body has no data");
        Ok(match event_type {
            EventType::DepositCallback if matches!(env.data, Part::Absent) => {
                Self::DepositCallback(DepositCallback {
                    created_at,
                    secret: env.secret,
                    status: env.status,
                    transaction_key: env.transaction_key,
                    order_id: env.order_id,
                })
            }
            EventType::PaymentStatusChanged => Self::PaymentStatusChanged {
                created_at,
                data: env
                    .data
                    .resolve(|d| match d {
                        Data::Payment(p) => Some(p),
                        _ => None,
                    })?
                    .ok_or_else(no_data)?,
            },
            EventType::CancelStatusChanged => Self::CancelStatusChanged {
                created_at,
                data: env
                    .data
                    .resolve(|d| match d {
                        Data::CancelStatus(c) => Some(c),
                        _ => None,
                    })?
                    .ok_or_else(no_data)?,
            },
            EventType::BillingDeleted => Self::BillingDeleted {
                created_at,
                data: env
                    .data
                    .resolve(|d| match d {
                        Data::BillingDeleted(b) => Some(b),
                        _ => None,
                    })?
                    .ok_or_else(no_data)?,
            },
            t @ (EventType::PayoutChanged | EventType::SellerChanged) => Self::Entity {
                event_type: t,
                created_at,
                event_id: env.event_id,
                body: env.entity_body.resolve(Some)?.unwrap_or(EntityBody {
                    id: None,
                    status: None,
                }),
            },
            other => Self::Other {
                event_type: other.as_str().to_owned(),
                created_at,
                event_id: env.event_id,
            },
        })
    }

    /// The event's `createdAt` text.
    pub fn created_at(&self) -> Option<&str> {
        match self {
            Self::PaymentStatusChanged { created_at, .. }
            | Self::CancelStatusChanged { created_at, .. }
            | Self::BillingDeleted { created_at, .. }
            | Self::Entity { created_at, .. }
            | Self::Other { created_at, .. } => created_at.as_deref(),
            Self::DepositCallback(d) => d.created_at.as_deref(),
        }
    }

    /// The event's `eventId`: Toss's id of the event (the same on every redelivery), carried
    /// by the v2 envelope (`payout.changed`, `seller.changed`); `None` for the events without
    /// one (`PAYMENT_STATUS_CHANGED`, `DEPOSIT_CALLBACK`, …).
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::Entity { event_id, .. } | Self::Other { event_id, .. } => event_id.as_deref(),
            Self::PaymentStatusChanged { .. }
            | Self::DepositCallback(_)
            | Self::CancelStatusChanged { .. }
            | Self::BillingDeleted { .. } => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SEED000: &str =
        include_str!("../tests/fixtures/confirm_waiting_for_deposit_seed000.json");
    const VA_REF: &str = include_str!("../tests/fixtures/virtual_account_reference.json");
    const EXPIRED: &str = include_str!("../tests/fixtures/expired_with_failure.json");
    const PAYPAL: &str = include_str!("../tests/fixtures/paypal_usd_partial_cancel.json");
    const TWO_CANCELS: &str = include_str!("../tests/fixtures/card_two_partial_cancels.json");

    #[test]
    fn seed000_confirm_response_parses() {
        let p: Payment = serde_json::from_str(SEED000).unwrap();
        assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(p.method, Some(Method::VirtualAccount));
        let va = p.virtual_account.unwrap();
        assert_eq!(va.account_number.as_deref(), Some("X600802567548"));
        assert_eq!(va.account_type, Some(AccountType::Normal));
        assert_eq!(va.refund_status, Some(RefundStatus::None));
        assert_eq!(va.expired, Some(false));
        assert_eq!(p.total_amount.unwrap().as_str(), "390000");
        assert_eq!(p.secret.as_deref(), Some("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD"));
        assert_eq!(
            p.cash_receipt.unwrap().receipt_type.as_deref(),
            Some("소득공제")
        );
    }

    #[test]
    fn reference_examples_parse() {
        let va: Payment = serde_json::from_str(VA_REF).unwrap();
        assert_eq!(
            va.virtual_account.unwrap().account_type,
            Some(AccountType::Fixed)
        );
        let exp: Payment = serde_json::from_str(EXPIRED).unwrap();
        assert_eq!(exp.status, PaymentStatus::Expired);
        assert_eq!(exp.method, None);
        assert_eq!(exp.failure.unwrap().code, "EXPIRED_PAYMENT");
        let pp: Payment = serde_json::from_str(PAYPAL).unwrap();
        assert_eq!(pp.total_amount.unwrap().as_str(), "726.24");
        assert_eq!(
            pp.cancels.unwrap()[0]
                .cancel_amount
                .as_ref()
                .unwrap()
                .as_str(),
            "181.56"
        );
        let two: Payment = serde_json::from_str(TWO_CANCELS).unwrap();
        let cancels = two.cancels.unwrap();
        assert_eq!(cancels.len(), 2);
        assert_eq!(cancels[1].cancel_status, Some(CancelStatus::Done));
        assert_eq!(two.card.unwrap().card_type, Some(CardType::Credit));
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let json = r#"{"paymentKey":"k","orderId":"o","status":"SOMETHING_NEW","method":"신규결제",
            "card":{"cardType":"선불","ownerType":"외국인","acquireStatus":"WHATEVER"}}"#;
        let p: Payment = serde_json::from_str(json).unwrap();
        assert_eq!(p.status, PaymentStatus::Unknown("SOMETHING_NEW".into()));
        assert_eq!(p.method, Some(Method::Unknown("신규결제".into())));
        let card = p.card.unwrap();
        assert_eq!(card.card_type, Some(CardType::Unknown("선불".into())));
        assert_eq!(card.owner_type.unwrap().as_str(), "외국인");
    }

    #[test]
    fn empty_method_and_string_easy_pay() {
        let json =
            r#"{"paymentKey":"k","orderId":"o","status":"DONE","method":"","easyPay":"페이마야"}"#;
        let p: Payment = serde_json::from_str(json).unwrap();
        assert_eq!(p.method, None);
        assert_eq!(p.easy_pay.unwrap().provider.as_deref(), Some("페이마야"));
        let json = r#"{"paymentKey":"k","orderId":"o","status":"DONE","easyPay":null}"#;
        let p: Payment = serde_json::from_str(json).unwrap();
        assert!(p.easy_pay.is_none());
        let json = r#"{"paymentKey":"k","orderId":"o","status":"DONE","easyPay":{"provider":"토스페이","amount":1000,"discountAmount":0,"x":[]}}"#;
        let p: Payment = serde_json::from_slice(json.as_bytes()).unwrap();
        let easy = p.easy_pay.unwrap();
        assert_eq!(easy.provider.as_deref(), Some("토스페이"));
        assert_eq!(easy.amount.unwrap().as_str(), "1000");
        let json = r#"{"paymentKey":"k","orderId":"o","status":"DONE","easyPay":"\uD1A0\uC2A4\uD398\uC774"}"#;
        let p: Payment = serde_json::from_str(json).unwrap();
        assert_eq!(p.easy_pay.unwrap().provider.as_deref(), Some("토스페이"));
        for bad in ["5", "[]", "true", r#"{"amount":1.5e3}"#] {
            let json =
                format!(r#"{{"paymentKey":"k","orderId":"o","status":"DONE","easyPay":{bad}}}"#);
            assert!(serde_json::from_str::<Payment>(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_amount_is_refused() {
        let json = r#"{"paymentKey":"k","orderId":"o","status":"DONE","totalAmount":"374000.00"}"#;
        assert!(serde_json::from_str::<Payment>(json).is_err());
        let json = r#"{"paymentKey":"k","orderId":"o","status":"DONE","totalAmount":1e5}"#;
        assert!(serde_json::from_str::<Payment>(json).is_err());
    }

    #[test]
    fn amounts_serialize_as_json_numbers() {
        let body = CancelBody {
            cancel_reason: "r",
            cancel_amount: Some(Amount::from_integer(374000)),
            refund_receive_account: None,
            tax_free_amount: None,
            currency: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"cancelReason":"r","cancelAmount":374000}"#
        );
        let usd = Amount::from_decimal_str("181.56").unwrap();
        assert_eq!(serde_json::to_string(&usd).unwrap(), "181.56");
        assert!(Amount::from_decimal_str("1.").is_none());
        assert!(Amount::from_decimal_str("abc").is_none());
    }

    #[test]
    fn webhook_payloads_parse() {
        let p = WebhookPayload::parse(include_bytes!(
            "../tests/fixtures/webhook_payment_status_changed.json"
        ))
        .unwrap();
        match p {
            WebhookPayload::PaymentStatusChanged { created_at, data } => {
                assert_eq!(created_at.as_deref(), Some("2022-01-01T00:00:00.000000"));
                assert_eq!(data.status, PaymentStatus::Done);
            }
            other => panic!("{other:?}"),
        }
        let d = WebhookPayload::parse(include_bytes!(
            "../tests/fixtures/webhook_deposit_callback.json"
        ))
        .unwrap();
        match d {
            WebhookPayload::DepositCallback(d) => {
                assert_eq!(d.order_id.as_deref(), Some("00001503"));
                assert_eq!(d.status, Some(PaymentStatus::Done));
            }
            other => panic!("{other:?}"),
        }
        let b = WebhookPayload::parse(include_bytes!(
            "../tests/fixtures/webhook_billing_deleted.json"
        ))
        .unwrap();
        assert!(matches!(b, WebhookPayload::BillingDeleted { .. }));
        let po = WebhookPayload::parse(include_bytes!(
            "../tests/fixtures/webhook_payout_changed.json"
        ))
        .unwrap();
        match po {
            WebhookPayload::Entity {
                event_type,
                event_id,
                body,
                ..
            } => {
                assert_eq!(event_type, EventType::PayoutChanged);
                assert_eq!(event_id.as_deref(), Some("evt_payout_0001"));
                assert_eq!(body.status.as_deref(), Some("COMPLETED"));
            }
            other => panic!("{other:?}"),
        }
        let other = WebhookPayload::parse(
            br#"{"eventType":"METHOD_UPDATED","createdAt":"2022-05-12T00:00:00.000000","data":{}}"#,
        )
        .unwrap();
        assert!(
            matches!(other, WebhookPayload::Other { ref event_type, .. } if event_type == "METHOD_UPDATED")
        );
        let brand_new =
            WebhookPayload::parse(br#"{"eventType":"SOMETHING_NEW","data":1}"#).unwrap();
        assert!(matches!(brand_new, WebhookPayload::Other { .. }));
    }

    #[test]
    fn event_id_is_read_where_the_body_carries_one() {
        let payout = WebhookPayload::parse(include_bytes!(
            "../tests/fixtures/webhook_payout_changed.json"
        ))
        .unwrap();
        assert_eq!(payout.event_id(), Some("evt_payout_0001"));
        // A newer event type in the v2 envelope keeps its eventId too.
        let v2 = WebhookPayload::parse(
            br#"{"eventType":"ars-reservation.changed","createdAt":"2024-08-08T10:00:00+09:00","version":"2022-11-16","eventId":"evt_ars_1","entityType":"ars-reservation","entityBody":{}}"#,
        )
        .unwrap();
        assert!(matches!(v2, WebhookPayload::Other { .. }));
        assert_eq!(v2.event_id(), Some("evt_ars_1"));
        for body in [
            &include_bytes!("../tests/fixtures/webhook_payment_status_changed.json")[..],
            &include_bytes!("../tests/fixtures/webhook_deposit_callback.json")[..],
            &include_bytes!("../tests/fixtures/webhook_billing_deleted.json")[..],
        ] {
            assert_eq!(WebhookPayload::parse(body).unwrap().event_id(), None);
        }
    }

    #[test]
    fn webhook_members_in_any_order() {
        // `data` / `entityBody` before `eventType` are kept borrowed and decoded at the end.
        let p = WebhookPayload::parse(
            br#"{"data":{"paymentKey":"k","orderId":"o","status":"CANCELED"},"createdAt":"c","eventType":"PAYMENT_STATUS_CHANGED"}"#,
        )
        .unwrap();
        assert!(
            matches!(p, WebhookPayload::PaymentStatusChanged { ref data, .. } if data.status == PaymentStatus::Canceled)
        );
        assert_eq!(p.created_at(), Some("c"));
        let e = WebhookPayload::parse(
            br#"{"entityBody":{"id":"FPA_1","status":"FAILED","extra":[1,{"a":null}]},"eventType":"seller.changed","eventId":"evt"}"#,
        )
        .unwrap();
        assert!(matches!(
            e,
            WebhookPayload::Entity { ref body, ref event_id, .. }
                if body.status.as_deref() == Some("FAILED") && event_id.as_deref() == Some("evt")
        ));
        let b = WebhookPayload::parse(
            br#"{"data":{"billingKey":"bk","reason":null},"eventType":"BILLING_DELETED"}"#,
        )
        .unwrap();
        assert!(
            matches!(b, WebhookPayload::BillingDeleted { ref data, .. } if data.billing_key == "bk")
        );
        let c = WebhookPayload::parse(
            br#"{"eventType":"CANCEL_STATUS_CHANGED","data":{"transactionKey":"t","cancelStatus":"DONE"}}"#,
        )
        .unwrap();
        assert!(
            matches!(c, WebhookPayload::CancelStatusChanged { ref data, .. } if data.cancel_status == Some(CancelStatus::Done))
        );
    }

    #[test]
    fn webhook_envelope_edge_cases() {
        // A member given twice is refused, as serde's derive refuses it.
        for body in [
            &br#"{"eventType":"PAYMENT_STATUS_CHANGED","eventType":"BILLING_DELETED","data":{}}"#[..],
            br#"{"eventType":"BILLING_DELETED","data":{"billingKey":"a"},"data":{"billingKey":"b"}}"#,
            br#"{"secret":"a","secret":"b"}"#,
        ] {
            assert!(WebhookPayload::parse(body).is_err());
        }
        // `data: null` counts as absent: a DEPOSIT_CALLBACK stays flat, others have no data.
        let d = WebhookPayload::parse(
            br#"{"eventType":"DEPOSIT_CALLBACK","data":null,"secret":"ps_1","status":"DONE"}"#,
        )
        .unwrap();
        assert!(
            matches!(d, WebhookPayload::DepositCallback(ref d) if d.secret.as_deref() == Some("ps_1"))
        );
        assert!(
            WebhookPayload::parse(br#"{"eventType":"PAYMENT_STATUS_CHANGED","data":null}"#)
                .is_err()
        );
        assert!(WebhookPayload::parse(br#"{"eventType":"BILLING_DELETED"}"#).is_err());
        // `eventType: null` with the flat fields is a DEPOSIT_CALLBACK; without them an error.
        let d = WebhookPayload::parse(br#"{"eventType":null,"transactionKey":"t"}"#).unwrap();
        assert!(matches!(d, WebhookPayload::DepositCallback(_)));
        assert!(WebhookPayload::parse(br#"{"eventType":null}"#).is_err());
        // Unread members are still checked: broken JSON anywhere is refused.
        assert!(WebhookPayload::parse(br#"{"eventType":"METHOD_UPDATED","data":{"a":}}"#).is_err());
        assert!(WebhookPayload::parse(br#"{"eventType":"payout.changed","x":[1,}"#).is_err());
        // An escaped member name is still recognised.
        let e = WebhookPayload::parse(
            br#"{"event\u0054ype":"payout.changed","entityBody":{"status":"S"}}"#,
        )
        .unwrap();
        assert!(
            matches!(e, WebhookPayload::Entity { ref body, .. } if body.status.as_deref() == Some("S"))
        );
        // A wrongly typed `data` for the event is a decode error, not a panic.
        assert!(
            WebhookPayload::parse(br#"{"eventType":"PAYMENT_STATUS_CHANGED","data":[1]}"#).is_err()
        );
        assert!(WebhookPayload::parse(br#"{"data":5,"eventType":"BILLING_DELETED"}"#).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"{\"eventType\":5}",
            &[0xff, 0xfe],
        ] {
            let _ = WebhookPayload::parse(body);
            let _ = serde_json::from_slice::<Payment>(body);
        }
    }
}
