//! PortOne V2 wire types: exactly what goes over HTTP, in PortOne's own field names.
//!
//! These types follow the V2 OpenAPI (`https://api.portone.io`, camelCase JSON). They are
//! deliberately lenient, because PortOne's backward-compatibility policy says responses may gain
//! fields, enum values and `oneOf` cases without notice:
//!
//! * unknown fields are ignored;
//! * every enum has an `Unknown(String)` arm keeping the raw value;
//! * tagged unions ([`Payment`] by `status`, [`PaymentMethod`] by `type`) have an `Unknown` arm.
//!
//! Amounts are `i64` in the currency's minor unit; a fractional JSON number or a string where an
//! integer is due fails decoding instead of being rounded.
//!
//! Timestamps are kept as the RFC 3339 strings PortOne sent; [`crate::mapping`] parses them.
//! Conversions to the provider-neutral `hanpay-core` model live in [`crate::mapping`], not here.
// Parses untrusted input (wire JSON): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use serde::{Deserialize, Deserializer, Serialize};

/// Declares a string enum with a fallback arm that keeps unknown wire values.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("Wire value `", $wire, "`.")]
                $variant,
            )+
            /// A value this crate does not know yet, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value exactly as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(raw) => raw,
                }
            }

            /// Parses a wire value; a value this crate does not know becomes `Unknown`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// Whether this is the `Unknown` fallback.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from_wire(&raw))
            }
        }
    };
}

pub(crate) use open_enum;

open_enum! {
    /// `Payment.status`: the discriminator of the V2 payment union.
    ///
    /// Note that the *filter* enum of `GET /payments` says `PENDING` where responses say
    /// `PAY_PENDING`; this type is the response discriminator.
    pub enum PaymentStatus {
        /// 결제 준비.
        Ready = "READY",
        /// 결제 완료 대기.
        PayPending = "PAY_PENDING",
        /// 가상계좌 발급 완료.
        VirtualAccountIssued = "VIRTUAL_ACCOUNT_ISSUED",
        /// 결제 완료.
        Paid = "PAID",
        /// 결제 실패.
        Failed = "FAILED",
        /// 결제 부분 취소.
        PartialCancelled = "PARTIAL_CANCELLED",
        /// 결제 취소.
        Cancelled = "CANCELLED",
    }
}

open_enum! {
    /// `Payment.version`: whether the payment was made through the V1 or V2 module.
    pub enum PaymentVersion {
        /// iamport V1 payment (`transactionId` is the `imp_uid`).
        V1 = "V1",
        /// V2 payment.
        V2 = "V2",
    }
}

open_enum! {
    /// `SelectedChannel.type`: live or test channel.
    pub enum ChannelType {
        /// 실 연동.
        Live = "LIVE",
        /// 테스트.
        Test = "TEST",
    }
}

open_enum! {
    /// `PaymentCancellation.status`.
    pub enum CancellationStatus {
        /// Requested, processed asynchronously (the result arrives by webhook).
        Requested = "REQUESTED",
        /// Cancelled.
        Succeeded = "SUCCEEDED",
        /// The cancellation failed.
        Failed = "FAILED",
    }
}

open_enum! {
    /// `PaymentCancellation.trigger`: who started the cancellation.
    pub enum CancellationTrigger {
        /// Cancelled in the console.
        Console = "CONSOLE",
        /// Cancelled through the API.
        Api = "API",
        /// Cancelled by PortOne staff.
        PortoneAdmin = "PORTONE_ADMIN",
        /// Chargeback.
        Chargeback = "CHARGEBACK",
    }
}

open_enum! {
    /// `CancelPaymentBody.requester`.
    pub enum CancelRequester {
        /// The customer asked for the cancellation.
        Customer = "CUSTOMER",
        /// The merchant's admin cancelled.
        Admin = "ADMIN",
    }
}

open_enum! {
    /// `Card.brand`.
    pub enum CardBrand {
        /// Domestic brand.
        Local = "LOCAL",
        /// Mastercard.
        Master = "MASTER",
        /// UnionPay.
        Unionpay = "UNIONPAY",
        /// Visa.
        Visa = "VISA",
        /// JCB.
        Jcb = "JCB",
        /// American Express.
        Amex = "AMEX",
        /// Diners Club.
        Diners = "DINERS",
    }
}

open_enum! {
    /// `Card.type`.
    pub enum CardType {
        /// Credit card.
        Credit = "CREDIT",
        /// Debit (check) card.
        Debit = "DEBIT",
        /// Gift card.
        Gift = "GIFT",
    }
}

open_enum! {
    /// `Card.ownerType`.
    pub enum CardOwnerType {
        /// Personal card.
        Personal = "PERSONAL",
        /// Corporate card.
        Corporate = "CORPORATE",
    }
}

open_enum! {
    /// `PaymentMethodVirtualAccount.accountType`.
    pub enum VirtualAccountType {
        /// Fixed (reusable) account.
        Fixed = "FIXED",
        /// One-off account.
        Normal = "NORMAL",
    }
}

open_enum! {
    /// `PaymentMethodVirtualAccount.refundStatus`.
    pub enum VirtualAccountRefundStatus {
        /// Refund pending.
        Pending = "PENDING",
        /// Partial refund failed.
        PartialRefundFailed = "PARTIAL_REFUND_FAILED",
        /// Refund failed.
        Failed = "FAILED",
        /// Refund completed.
        Completed = "COMPLETED",
    }
}

open_enum! {
    /// `PaymentMethodGiftCertificate.giftCertificateType`.
    pub enum GiftCertificateType {
        /// 도서문화상품권.
        Booknlife = "BOOKNLIFE",
        /// 스마트문화상품권.
        SmartMunsang = "SMART_MUNSANG",
        /// 컬쳐랜드상품권.
        Cultureland = "CULTURELAND",
        /// 해피머니상품권.
        Happymoney = "HAPPYMONEY",
        /// 문화상품권.
        Culturegift = "CULTUREGIFT",
    }
}

open_enum! {
    /// `InstantPaymentMethodInputVirtualAccountOption.type`.
    pub enum VirtualAccountOptionType {
        /// One-off account.
        Normal = "NORMAL",
        /// Fixed account.
        Fixed = "FIXED",
    }
}

open_enum! {
    /// `CashReceiptInputType`: cash receipt requested when issuing a virtual account.
    pub enum CashReceiptInputType {
        /// 소득공제용.
        Personal = "PERSONAL",
        /// 지출증빙용.
        Corporate = "CORPORATE",
        /// No cash receipt.
        NoReceipt = "NO_RECEIPT",
    }
}

open_enum! {
    /// The `type` of a V2 error body. The spec's per-operation unions are closed, but new types
    /// appear without notice (e.g. `MAX_CANCEL_COUNT_REACHED`), so this is open.
    pub enum ErrorType {
        /// 400: invalid input.
        InvalidRequest = "INVALID_REQUEST",
        /// 401: bad credentials.
        Unauthorized = "UNAUTHORIZED",
        /// 403: refused.
        Forbidden = "FORBIDDEN",
        /// 404: no such payment.
        PaymentNotFound = "PAYMENT_NOT_FOUND",
        /// 409: payment not completed.
        PaymentNotPaid = "PAYMENT_NOT_PAID",
        /// 409: already cancelled.
        PaymentAlreadyCancelled = "PAYMENT_ALREADY_CANCELLED",
        /// 409: the `currentCancellableAmount` check failed.
        CancellableAmountConsistencyBroken = "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
        /// 409: cancel amount above the cancellable amount.
        CancelAmountExceedsCancellableAmount = "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
        /// 409: tax-free cancel amount above the cancellable tax-free amount.
        CancelTaxFreeAmountExceedsCancellableTaxFreeAmount =
            "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
        /// 409: taxable cancel amount above the cancellable taxable amount.
        CancelTaxAmountExceedsCancellableTaxAmount =
            "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT",
        /// 409: tax-free etc. above the cancel amount.
        SumOfPartsExceedsCancelAmount = "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
        /// 409: too many cancel attempts.
        MaxCancelCountReached = "MAX_CANCEL_COUNT_REACHED",
        /// 400.
        NegativePromotionAdjustedCancelAmount = "NEGATIVE_PROMOTION_ADJUSTED_CANCEL_AMOUNT",
        /// 400.
        PromotionDiscountRetainOptionShouldNotBeChanged =
            "PROMOTION_DISCOUNT_RETAIN_OPTION_SHOULD_NOT_BE_CHANGED",
        /// 502: the PG returned an error (`pgCode`, `pgMessage`).
        PgProvider = "PG_PROVIDER",
        /// 409: already paid.
        AlreadyPaid = "ALREADY_PAID",
        /// 409: already paid or waiting for a deposit.
        AlreadyPaidOrWaiting = "ALREADY_PAID_OR_WAITING",
        /// 409: confirm verification parameters do not match.
        InformationMismatch = "INFORMATION_MISMATCH",
        /// 400: bad `paymentToken`.
        InvalidPaymentToken = "INVALID_PAYMENT_TOKEN",
        /// 409.
        SumOfPartsExceedsTotalAmount = "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT",
        /// 404.
        BillingKeyNotFound = "BILLING_KEY_NOT_FOUND",
        /// 404.
        BillingKeyNotIssued = "BILLING_KEY_NOT_ISSUED",
        /// 409.
        BillingKeyAlreadyDeleted = "BILLING_KEY_ALREADY_DELETED",
        /// 409.
        BillingKeyAlreadyIssued = "BILLING_KEY_ALREADY_ISSUED",
        /// 404.
        ChannelNotFound = "CHANNEL_NOT_FOUND",
        /// 502: per-channel failures of a multi-channel request.
        ChannelSpecific = "CHANNEL_SPECIFIC",
        /// 409.
        PaymentScheduleAlreadyExists = "PAYMENT_SCHEDULE_ALREADY_EXISTS",
        /// 409: the virtual account is not waiting for a deposit.
        PaymentNotWaitingForDeposit = "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
        /// 404.
        PaymentCancellationNotFound = "PAYMENT_CANCELLATION_NOT_FOUND",
        /// 409.
        PaymentCancellationNotPending = "PAYMENT_CANCELLATION_NOT_PENDING",
        /// 400.
        MaxTransactionCountReached = "MAX_TRANSACTION_COUNT_REACHED",
        /// 409: a request with the same `Idempotency-Key` is still being processed.
        IdempotencyOutstandingRequest = "IDEMPOTENCY_OUTSTANDING_REQUEST",
    }
}

impl Default for ErrorType {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// The body of every non-2xx V2 response: `{type, message?, ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Error type (SCREAMING_SNAKE_CASE).
    #[serde(rename = "type", default)]
    pub kind: ErrorType,
    /// Human-readable message, when PortOne sends one.
    #[serde(default)]
    pub message: Option<String>,
    /// `PG_PROVIDER`: the PG's own error code.
    #[serde(default)]
    pub pg_code: Option<String>,
    /// `PG_PROVIDER`: the PG's own error message.
    #[serde(default)]
    pub pg_message: Option<String>,
}

/// `PaymentAmount`: every amount of a payment, `i64` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmount {
    /// 총 결제금액.
    pub total: i64,
    /// 면세액.
    #[serde(default)]
    pub tax_free: i64,
    /// 부가세액.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
    /// 공급가액.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply: Option<i64>,
    /// 총 할인금액.
    #[serde(default)]
    pub discount: i64,
    /// 실제 결제금액.
    #[serde(default)]
    pub paid: i64,
    /// 총 취소금액.
    #[serde(default)]
    pub cancelled: i64,
    /// 취소금액 중 면세액.
    #[serde(default)]
    pub cancelled_tax_free: i64,
}

/// `SelectedChannel`: the channel (PG contract) a payment went through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedChannel {
    /// Live or test channel.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// Channel id.
    #[serde(default)]
    pub id: Option<String>,
    /// Channel key.
    #[serde(default)]
    pub key: Option<String>,
    /// Channel name.
    #[serde(default)]
    pub name: Option<String>,
    /// PG module (e.g. `TOSSPAYMENTS`, `INICIS_V2`); an open list, kept raw.
    #[serde(default)]
    pub pg_provider: Option<String>,
    /// PG merchant id.
    #[serde(default)]
    pub pg_merchant_id: Option<String>,
}

/// `Customer` (only the fields this crate uses).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Merchant's customer id.
    #[serde(default)]
    pub id: Option<String>,
    /// Customer name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
}

/// `Card`: card details of a card payment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// Publisher (발행사) code.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Issuer (발급사) code.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Card brand.
    #[serde(default)]
    pub brand: Option<CardBrand>,
    /// Credit / debit / gift.
    #[serde(rename = "type", default)]
    pub kind: Option<CardType>,
    /// Personal or corporate.
    #[serde(default)]
    pub owner_type: Option<CardOwnerType>,
    /// BIN.
    #[serde(default)]
    pub bin: Option<String>,
    /// Card product name.
    #[serde(default)]
    pub name: Option<String>,
    /// Masked card number.
    #[serde(default)]
    pub number: Option<String>,
}

/// `PaymentInstallment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Installment {
    /// Months (0 = lump sum).
    pub month: i32,
    /// Interest-free.
    #[serde(default)]
    pub is_interest_free: bool,
}

/// `PaymentMethodCard`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodCard {
    /// Card details.
    pub card: Option<Card>,
    /// Approval number.
    pub approval_number: Option<String>,
    /// Installment plan.
    pub installment: Option<Installment>,
    /// Card points used.
    pub point_used: Option<i64>,
}

/// `PaymentMethodTransfer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodTransfer {
    /// Bank (V2 `Bank` enum name, kept raw).
    pub bank: Option<String>,
    /// Account number, if PortOne reports it.
    pub account_number: Option<String>,
}

/// `PaymentMethodVirtualAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodVirtualAccount {
    /// Bank (V2 `Bank` enum name, kept raw).
    pub bank: Option<String>,
    /// Virtual account number the customer deposits into.
    pub account_number: String,
    /// Fixed or one-off.
    pub account_type: Option<VirtualAccountType>,
    /// Account holder (예금주).
    pub remittee_name: Option<String>,
    /// Depositor (송금인).
    pub remitter_name: Option<String>,
    /// Deposit deadline (RFC 3339).
    pub expired_at: Option<String>,
    /// Issue time (RFC 3339).
    pub issued_at: Option<String>,
    /// Refund status.
    pub refund_status: Option<VirtualAccountRefundStatus>,
}

/// `PaymentMethodEasyPay`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodEasyPay {
    /// Easy-pay provider (`KAKAOPAY`, `NAVERPAY`, `TOSSPAY`, …; open list, kept raw).
    pub provider: Option<String>,
    /// What the easy-pay charged.
    pub easy_pay_method: Option<EasyPayMethod>,
}

/// `PaymentMethodEasyPayMethod`: what an easy-pay payment was funded with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EasyPayMethod {
    /// A card.
    Card(MethodCard),
    /// Stored money (`PaymentMethodEasyPayMethodCharge`).
    Charge {
        /// Bank, if any.
        bank: Option<String>,
    },
    /// A bank transfer.
    Transfer(MethodTransfer),
    /// A type this crate does not know, kept raw.
    Unknown(String),
}

/// `PaymentMethodMobile`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodMobile {
    /// Phone number.
    pub phone_number: Option<String>,
}

/// `PaymentMethodGiftCertificate`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodGiftCertificate {
    /// Certificate type.
    pub gift_certificate_type: Option<GiftCertificateType>,
    /// Approval number.
    pub approval_number: Option<String>,
}

/// `PaymentMethodConvenienceStore`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodConvenienceStore {
    /// Brand (`LAWSON`, `FAMILY_MART`, …), kept raw.
    pub convenience_store_brand: Option<String>,
    /// Confirmation number.
    pub confirmation_number: Option<String>,
    /// Receipt number.
    pub receipt_number: Option<String>,
    /// Payment deadline (RFC 3339).
    pub payment_deadline: Option<String>,
}

/// `PaymentMethod`: a union discriminated by `type` (whose value is the schema name).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentMethod {
    /// `PaymentMethodCard`.
    Card(MethodCard),
    /// `PaymentMethodEasyPay`.
    EasyPay(MethodEasyPay),
    /// `PaymentMethodTransfer`.
    Transfer(MethodTransfer),
    /// `PaymentMethodVirtualAccount`.
    VirtualAccount(MethodVirtualAccount),
    /// `PaymentMethodMobile`.
    Mobile(MethodMobile),
    /// `PaymentMethodGiftCertificate`.
    GiftCertificate(MethodGiftCertificate),
    /// `PaymentMethodConvenienceStore`.
    ConvenienceStore(MethodConvenienceStore),
    /// `PaymentMethodCrypto`.
    Crypto,
    /// A method type this crate does not know, kept raw.
    Unknown(String),
}

/// Every field any method variant can carry; the `type` picks which ones are meaningful.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMethod {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    card: Option<Card>,
    #[serde(default)]
    approval_number: Option<String>,
    #[serde(default)]
    installment: Option<Installment>,
    #[serde(default)]
    point_used: Option<i64>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    easy_pay_method: Option<Box<RawMethod>>,
    #[serde(default)]
    bank: Option<String>,
    #[serde(default)]
    account_number: Option<String>,
    #[serde(default)]
    account_type: Option<VirtualAccountType>,
    #[serde(default)]
    remittee_name: Option<String>,
    #[serde(default)]
    remitter_name: Option<String>,
    #[serde(default)]
    expired_at: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    refund_status: Option<VirtualAccountRefundStatus>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    gift_certificate_type: Option<GiftCertificateType>,
    #[serde(default)]
    convenience_store_brand: Option<String>,
    #[serde(default)]
    confirmation_number: Option<String>,
    #[serde(default)]
    receipt_number: Option<String>,
    #[serde(default)]
    payment_deadline: Option<String>,
}

impl RawMethod {
    fn card(&mut self) -> MethodCard {
        MethodCard {
            card: self.card.take(),
            approval_number: self.approval_number.take(),
            installment: self.installment.take(),
            point_used: self.point_used.take(),
        }
    }

    fn transfer(&mut self) -> MethodTransfer {
        MethodTransfer {
            bank: self.bank.take(),
            account_number: self.account_number.take(),
        }
    }
}

impl From<RawMethod> for PaymentMethod {
    fn from(mut raw: RawMethod) -> Self {
        match raw.kind.as_str() {
            "PaymentMethodCard" => Self::Card(raw.card()),
            "PaymentMethodTransfer" => Self::Transfer(raw.transfer()),
            "PaymentMethodEasyPay" => Self::EasyPay(MethodEasyPay {
                provider: raw.provider.take(),
                easy_pay_method: raw.easy_pay_method.take().map(|inner| {
                    let mut inner = *inner;
                    match inner.kind.as_str() {
                        "PaymentMethodCard" => EasyPayMethod::Card(inner.card()),
                        "PaymentMethodTransfer" => EasyPayMethod::Transfer(inner.transfer()),
                        "PaymentMethodEasyPayMethodCharge" => {
                            EasyPayMethod::Charge { bank: inner.bank }
                        }
                        _ => EasyPayMethod::Unknown(inner.kind),
                    }
                }),
            }),
            // `accountNumber` is required by the spec; an absent one is kept as empty rather
            // than failing the whole payment.
            "PaymentMethodVirtualAccount" => Self::VirtualAccount(MethodVirtualAccount {
                bank: raw.bank,
                account_number: raw.account_number.unwrap_or_default(),
                account_type: raw.account_type,
                remittee_name: raw.remittee_name,
                remitter_name: raw.remitter_name,
                expired_at: raw.expired_at,
                issued_at: raw.issued_at,
                refund_status: raw.refund_status,
            }),
            "PaymentMethodMobile" => Self::Mobile(MethodMobile {
                phone_number: raw.phone_number,
            }),
            "PaymentMethodGiftCertificate" => Self::GiftCertificate(MethodGiftCertificate {
                gift_certificate_type: raw.gift_certificate_type,
                approval_number: raw.approval_number,
            }),
            "PaymentMethodConvenienceStore" => Self::ConvenienceStore(MethodConvenienceStore {
                convenience_store_brand: raw.convenience_store_brand,
                confirmation_number: raw.confirmation_number,
                receipt_number: raw.receipt_number,
                payment_deadline: raw.payment_deadline,
            }),
            "PaymentMethodCrypto" => Self::Crypto,
            _ => Self::Unknown(raw.kind),
        }
    }
}

impl<'de> Deserialize<'de> for PaymentMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawMethod::deserialize(deserializer).map(Self::from)
    }
}

/// `PaymentCancellation`: one cancellation of a payment. All `status` variants share these
/// fields (`SUCCEEDED` adds `receiptUrl`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancellation {
    /// `REQUESTED`, `SUCCEEDED`, `FAILED` or unknown.
    pub status: CancellationStatus,
    /// Cancellation id.
    pub id: String,
    /// PG's cancellation id.
    #[serde(default)]
    pub pg_cancellation_id: Option<String>,
    /// Cancelled amount.
    pub total_amount: i64,
    /// Tax-free part of it.
    #[serde(default)]
    pub tax_free_amount: i64,
    /// VAT part of it.
    #[serde(default)]
    pub vat_amount: i64,
    /// Easy-pay discount part of it.
    #[serde(default)]
    pub easy_pay_discount_amount: Option<i64>,
    /// Reason given.
    #[serde(default)]
    pub reason: String,
    /// Cancellation time (RFC 3339).
    #[serde(default)]
    pub cancelled_at: Option<String>,
    /// Request time (RFC 3339).
    #[serde(default)]
    pub requested_at: Option<String>,
    /// Who started it.
    #[serde(default)]
    pub trigger: Option<CancellationTrigger>,
    /// Cancellation receipt URL.
    #[serde(default)]
    pub receipt_url: Option<String>,
}

/// `PaymentFailure` of a `FAILED` payment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailure {
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// PG's error code.
    #[serde(default)]
    pub pg_code: Option<String>,
    /// PG's error message.
    #[serde(default)]
    pub pg_message: Option<String>,
}

/// Fields every payment variant carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCommon {
    /// The merchant-chosen payment id (`paymentId`).
    pub id: String,
    /// PortOne's attempt id (the `imp_uid` of V1 payments).
    pub transaction_id: Option<String>,
    /// Merchant id.
    pub merchant_id: Option<String>,
    /// Store id.
    pub store_id: Option<String>,
    /// Payment method, once chosen.
    pub method: Option<PaymentMethod>,
    /// Channel (optional in READY and FAILED).
    pub channel: Option<SelectedChannel>,
    /// V1 or V2.
    pub version: Option<PaymentVersion>,
    /// Billing key used, if any.
    pub billing_key: Option<String>,
    /// Request time (RFC 3339).
    pub requested_at: Option<String>,
    /// Last update (RFC 3339).
    pub updated_at: Option<String>,
    /// Last status change (RFC 3339).
    pub status_changed_at: Option<String>,
    /// Order name.
    pub order_name: Option<String>,
    /// Amounts.
    pub amount: PaymentAmount,
    /// ISO 4217 currency code (e.g. `KRW`).
    pub currency: String,
    /// Customer.
    pub customer: Option<Customer>,
    /// Merchant's custom data (a string).
    pub custom_data: Option<String>,
    /// PG transaction id.
    pub pg_tx_id: Option<String>,
}

/// Fields of a paid (or once-paid) payment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaidDetails {
    /// Payment time (RFC 3339).
    pub paid_at: Option<String>,
    /// Receipt URL.
    pub receipt_url: Option<String>,
    /// Cancellations so far (a `PAID` payment can carry failed or requested ones).
    pub cancellations: Vec<PaymentCancellation>,
}

/// `Payment`: the V2 payment, a union discriminated by `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payment {
    /// `READY`.
    Ready(PaymentCommon),
    /// `PAY_PENDING`.
    PayPending(PaymentCommon),
    /// `VIRTUAL_ACCOUNT_ISSUED` (the account lives in `method`).
    VirtualAccountIssued(PaymentCommon),
    /// `PAID`.
    Paid(PaymentCommon, PaidDetails),
    /// `FAILED`.
    Failed {
        /// Common fields.
        common: PaymentCommon,
        /// Failure time (RFC 3339).
        failed_at: Option<String>,
        /// Failure details.
        failure: PaymentFailure,
    },
    /// `PARTIAL_CANCELLED`.
    PartialCancelled {
        /// Common fields.
        common: PaymentCommon,
        /// Payment details and cancellations.
        paid: PaidDetails,
        /// Last cancellation time (RFC 3339).
        cancelled_at: Option<String>,
    },
    /// `CANCELLED`.
    Cancelled {
        /// Common fields.
        common: PaymentCommon,
        /// Payment details and cancellations.
        paid: PaidDetails,
        /// Cancellation time (RFC 3339).
        cancelled_at: Option<String>,
    },
    /// A status this crate does not know; the common fields are still read.
    Unknown {
        /// The raw `status`.
        status: String,
        /// Common fields.
        common: PaymentCommon,
        /// Any payment/cancellation details that came with it.
        paid: PaidDetails,
    },
}

impl Payment {
    /// Fields every variant carries.
    pub fn common(&self) -> &PaymentCommon {
        match self {
            Self::Ready(c) | Self::PayPending(c) | Self::VirtualAccountIssued(c) => c,
            Self::Paid(c, _) => c,
            Self::Failed { common, .. }
            | Self::PartialCancelled { common, .. }
            | Self::Cancelled { common, .. }
            | Self::Unknown { common, .. } => common,
        }
    }

    /// The discriminator.
    pub fn status(&self) -> PaymentStatus {
        match self {
            Self::Ready(_) => PaymentStatus::Ready,
            Self::PayPending(_) => PaymentStatus::PayPending,
            Self::VirtualAccountIssued(_) => PaymentStatus::VirtualAccountIssued,
            Self::Paid(..) => PaymentStatus::Paid,
            Self::Failed { .. } => PaymentStatus::Failed,
            Self::PartialCancelled { .. } => PaymentStatus::PartialCancelled,
            Self::Cancelled { .. } => PaymentStatus::Cancelled,
            Self::Unknown { status, .. } => PaymentStatus::Unknown(status.clone()),
        }
    }

    /// Payment time, receipt and cancellations, for variants that have them.
    pub fn paid_details(&self) -> Option<&PaidDetails> {
        match self {
            Self::Paid(_, p)
            | Self::PartialCancelled { paid: p, .. }
            | Self::Cancelled { paid: p, .. }
            | Self::Unknown { paid: p, .. } => Some(p),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPayment {
    status: PaymentStatus,
    id: String,
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    merchant_id: Option<String>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    method: Option<PaymentMethod>,
    #[serde(default)]
    channel: Option<SelectedChannel>,
    #[serde(default)]
    version: Option<PaymentVersion>,
    #[serde(default)]
    billing_key: Option<String>,
    #[serde(default)]
    requested_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    status_changed_at: Option<String>,
    #[serde(default)]
    order_name: Option<String>,
    amount: PaymentAmount,
    currency: String,
    #[serde(default)]
    customer: Option<Customer>,
    #[serde(default)]
    custom_data: Option<String>,
    #[serde(default)]
    pg_tx_id: Option<String>,
    #[serde(default)]
    paid_at: Option<String>,
    #[serde(default)]
    receipt_url: Option<String>,
    #[serde(default)]
    cancellations: Option<Vec<PaymentCancellation>>,
    #[serde(default)]
    cancelled_at: Option<String>,
    #[serde(default)]
    failed_at: Option<String>,
    #[serde(default)]
    failure: Option<PaymentFailure>,
}

impl From<RawPayment> for Payment {
    fn from(raw: RawPayment) -> Self {
        let common = PaymentCommon {
            id: raw.id,
            transaction_id: raw.transaction_id,
            merchant_id: raw.merchant_id,
            store_id: raw.store_id,
            method: raw.method,
            channel: raw.channel,
            version: raw.version,
            billing_key: raw.billing_key,
            requested_at: raw.requested_at,
            updated_at: raw.updated_at,
            status_changed_at: raw.status_changed_at,
            order_name: raw.order_name,
            amount: raw.amount,
            currency: raw.currency,
            customer: raw.customer,
            custom_data: raw.custom_data,
            pg_tx_id: raw.pg_tx_id,
        };
        let paid = PaidDetails {
            paid_at: raw.paid_at,
            receipt_url: raw.receipt_url,
            cancellations: raw.cancellations.unwrap_or_default(),
        };
        match raw.status {
            PaymentStatus::Ready => Self::Ready(common),
            PaymentStatus::PayPending => Self::PayPending(common),
            PaymentStatus::VirtualAccountIssued => Self::VirtualAccountIssued(common),
            PaymentStatus::Paid => Self::Paid(common, paid),
            PaymentStatus::Failed => Self::Failed {
                common,
                failed_at: raw.failed_at,
                failure: raw.failure.unwrap_or_default(),
            },
            PaymentStatus::PartialCancelled => Self::PartialCancelled {
                common,
                paid,
                cancelled_at: raw.cancelled_at,
            },
            PaymentStatus::Cancelled => Self::Cancelled {
                common,
                paid,
                cancelled_at: raw.cancelled_at,
            },
            PaymentStatus::Unknown(status) => Self::Unknown {
                status,
                common,
                paid,
            },
        }
    }
}

impl<'de> Deserialize<'de> for Payment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawPayment::deserialize(deserializer).map(Self::from)
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// `CancelPaymentBodyRefundAccount`: the customer's own account a virtual-account refund goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAccountBody {
    /// V2 `Bank` enum name (e.g. `SHINHAN`).
    pub bank: String,
    /// Account number, digits only.
    pub number: String,
    /// Account holder.
    pub holder_name: String,
}

/// `CancelPaymentBody` of `POST /payments/{paymentId}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentBody {
    /// Store id (sub-stores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Amount to cancel; absent = the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Tax-free part of the cancel amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    /// Reason (required).
    pub reason: String,
    /// Who asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<CancelRequester>,
    /// The balance the caller believes in; PortOne refuses if it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_cancellable_amount: Option<i64>,
    /// Refund account (virtual-account refunds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_account: Option<RefundAccountBody>,
}

/// `CancelPaymentResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CancelPaymentResponse {
    /// The cancellation created (possibly `REQUESTED` or `FAILED`).
    pub cancellation: PaymentCancellation,
}

/// `PreRegisterPaymentBody` of `POST /payments/{paymentId}/pre-register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreRegisterPaymentBody {
    /// Store id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Expected total amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    /// Expected tax-free amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    /// Expected currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `ConfirmPaymentBody` of `POST /payments/{paymentId}/confirm` (수동 승인).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPaymentBody {
    /// Token the browser SDK returned.
    pub payment_token: String,
    /// Store id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Verification: transaction id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// Verification: currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Verification: total amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    /// Verification: tax-free amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
}

/// `PaymentAmountInput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmountInput {
    /// Total.
    pub total: i64,
    /// Tax-free part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_free: Option<i64>,
    /// VAT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
}

/// `CustomerNameInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerNameInput {
    /// Full name.
    pub full: String,
}

/// `CustomerInput` (only the fields this crate sends).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInput {
    /// Merchant's customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<CustomerNameInput>,
}

/// `BillingKeyPaymentInput` of `POST /payments/{paymentId}/billing-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyPaymentBody {
    /// Store id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Billing key.
    pub billing_key: String,
    /// Channel key (optional; the billing key's channel otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// Order name.
    pub order_name: String,
    /// Customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    /// Amount.
    pub amount: PaymentAmountInput,
    /// ISO 4217 currency.
    pub currency: String,
}

/// `{payment: {pgTxId, paidAt}}`: the summary answered by billing-key and instant payments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSummary {
    /// PG transaction id.
    #[serde(default)]
    pub pg_tx_id: Option<String>,
    /// Payment time (RFC 3339).
    #[serde(default)]
    pub paid_at: Option<String>,
}

/// `PayWithBillingKeyResponse` / `PayInstantlyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct PaymentSummaryResponse {
    /// Summary.
    #[serde(default)]
    pub payment: PaymentSummary,
}

/// `InstantPaymentMethodInputVirtualAccountExpiry`: give one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountExpiryInput {
    /// Valid for this many hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<u32>,
    /// Due date (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
}

/// `InstantPaymentMethodInputVirtualAccountOption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAccountOptionInput {
    /// `NORMAL` or `FIXED`.
    #[serde(rename = "type")]
    pub kind: VirtualAccountOptionType,
}

/// `InstantPaymentMethodInputVirtualAccountCashReceiptInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountCashReceiptInput {
    /// Receipt type.
    #[serde(rename = "type")]
    pub kind: CashReceiptInputType,
    /// Customer identity number (empty with `NO_RECEIPT`).
    pub customer_identity_number: String,
}

/// `InstantPaymentMethodInputVirtualAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountInput {
    /// V2 `Bank` enum name.
    pub bank: String,
    /// Deposit deadline.
    pub expiry: VirtualAccountExpiryInput,
    /// Account type.
    pub option: VirtualAccountOptionInput,
    /// Cash receipt.
    pub cash_receipt: VirtualAccountCashReceiptInput,
    /// Account holder name shown to the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittee_name: Option<String>,
}

/// `InstantPaymentMethodInput` (only the virtual-account arm is sent by this crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentMethodInput {
    /// Virtual account.
    pub virtual_account: VirtualAccountInput,
}

/// `InstantPaymentInput` of `POST /payments/{paymentId}/instant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentBody {
    /// Store id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Channel key (a channel key or channel group id is required by PortOne).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// Method.
    pub method: InstantPaymentMethodInput,
    /// Order name.
    pub order_name: String,
    /// Customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    /// Amount.
    pub amount: PaymentAmountInput,
    /// ISO 4217 currency.
    pub currency: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::fixtures;

    #[test]
    fn paid_card_payment_decodes() {
        let p: Payment = serde_json::from_str(fixtures::PAID_CARD).unwrap();
        let Payment::Paid(common, paid) = &p else {
            panic!("expected PAID, got {p:?}")
        };
        assert_eq!(common.id, "order-20240425-0001");
        assert_eq!(common.amount.total, 1000);
        assert_eq!(common.amount.vat, Some(91));
        assert_eq!(common.currency, "KRW");
        assert_eq!(paid.paid_at.as_deref(), Some("2024-04-25T10:00:00Z"));
        let Some(PaymentMethod::Card(card)) = &common.method else {
            panic!("expected card")
        };
        assert_eq!(card.approval_number.as_deref(), Some("12345678"));
        let c = card.card.as_ref().unwrap();
        assert_eq!(c.brand, Some(CardBrand::Local));
        assert_eq!(c.kind, Some(CardType::Credit));
        assert_eq!(card.installment.map(|i| i.month), Some(0));
        let channel = common.channel.as_ref().unwrap();
        assert_eq!(channel.kind, ChannelType::Live);
        assert_eq!(channel.pg_provider.as_deref(), Some("TOSSPAYMENTS"));
        assert_eq!(p.status(), PaymentStatus::Paid);
    }

    #[test]
    fn every_status_decodes_to_its_variant() {
        for (status, expected) in [
            ("READY", PaymentStatus::Ready),
            ("PAY_PENDING", PaymentStatus::PayPending),
            (
                "VIRTUAL_ACCOUNT_ISSUED",
                PaymentStatus::VirtualAccountIssued,
            ),
            ("PAID", PaymentStatus::Paid),
            ("FAILED", PaymentStatus::Failed),
            ("PARTIAL_CANCELLED", PaymentStatus::PartialCancelled),
            ("CANCELLED", PaymentStatus::Cancelled),
            ("ON_HOLD", PaymentStatus::Unknown("ON_HOLD".into())),
        ] {
            let json = fixtures::minimal_payment(status);
            let p: Payment = serde_json::from_str(&json).unwrap();
            assert_eq!(p.status(), expected, "{status}");
            assert_eq!(p.common().amount.total, 5000);
        }
    }

    #[test]
    fn unknown_fields_and_method_types_are_kept_not_fatal() {
        let json = r#"{"status":"PAID","id":"p-1","amount":{"total":10,"taxFree":0,"discount":0,
            "paid":10,"cancelled":0,"cancelledTaxFree":0,"brandNew":1},"currency":"KRW",
            "method":{"type":"PaymentMethodTeleport","beam":true},"somethingNew":{"a":[1,2]},
            "channel":{"type":"SANDBOX","pgProvider":"NEW_PG","pgMerchantId":"m"}}"#;
        let p: Payment = serde_json::from_str(json).unwrap();
        let c = p.common();
        assert_eq!(
            c.method,
            Some(PaymentMethod::Unknown("PaymentMethodTeleport".into()))
        );
        assert_eq!(
            c.channel.as_ref().unwrap().kind,
            ChannelType::Unknown("SANDBOX".into())
        );
    }

    #[test]
    fn fractional_or_string_amounts_are_refused() {
        let frac = fixtures::minimal_payment("PAID").replace("5000", "5000.5");
        assert!(serde_json::from_str::<Payment>(&frac).is_err());
        let text = fixtures::minimal_payment("PAID").replace("5000", "\"5000.00\"");
        assert!(serde_json::from_str::<Payment>(&text).is_err());
    }

    #[test]
    fn virtual_account_method_decodes() {
        let p: Payment = serde_json::from_str(fixtures::VIRTUAL_ACCOUNT_ISSUED).unwrap();
        let Payment::VirtualAccountIssued(c) = &p else {
            panic!("{p:?}")
        };
        let Some(PaymentMethod::VirtualAccount(va)) = &c.method else {
            panic!("{:?}", c.method)
        };
        assert_eq!(va.bank.as_deref(), Some("SHINHAN"));
        assert_eq!(va.account_number, "56211105948400");
        assert_eq!(va.account_type, Some(VirtualAccountType::Normal));
        assert_eq!(va.expired_at.as_deref(), Some("2024-04-28T23:59:59+09:00"));
    }

    #[test]
    fn easy_pay_and_other_methods_decode() {
        let method = |json: &str| serde_json::from_str::<PaymentMethod>(json).unwrap();
        assert_eq!(
            method(
                r#"{"type":"PaymentMethodEasyPay","provider":"KAKAOPAY",
                "easyPayMethod":{"type":"PaymentMethodEasyPayMethodCharge","bank":"KAKAO"}}"#
            ),
            PaymentMethod::EasyPay(MethodEasyPay {
                provider: Some("KAKAOPAY".into()),
                easy_pay_method: Some(EasyPayMethod::Charge {
                    bank: Some("KAKAO".into())
                }),
            })
        );
        let PaymentMethod::EasyPay(e) = method(
            r#"{"type":"PaymentMethodEasyPay","provider":"NAVERPAY",
            "easyPayMethod":{"type":"PaymentMethodCard","approvalNumber":"1","card":{}}}"#,
        ) else {
            panic!()
        };
        assert!(matches!(e.easy_pay_method, Some(EasyPayMethod::Card(_))));
        assert_eq!(
            method(r#"{"type":"PaymentMethodTransfer","bank":"KOOKMIN"}"#),
            PaymentMethod::Transfer(MethodTransfer {
                bank: Some("KOOKMIN".into()),
                account_number: None
            })
        );
        assert_eq!(
            method(r#"{"type":"PaymentMethodMobile","phoneNumber":"01012345678"}"#),
            PaymentMethod::Mobile(MethodMobile {
                phone_number: Some("01012345678".into())
            })
        );
        assert_eq!(
            method(
                r#"{"type":"PaymentMethodGiftCertificate","giftCertificateType":"CULTURELAND",
                "approvalNumber":"9"}"#
            ),
            PaymentMethod::GiftCertificate(MethodGiftCertificate {
                gift_certificate_type: Some(GiftCertificateType::Cultureland),
                approval_number: Some("9".into())
            })
        );
        assert_eq!(
            method(r#"{"type":"PaymentMethodCrypto"}"#),
            PaymentMethod::Crypto
        );
        assert!(matches!(
            method(r#"{"type":"PaymentMethodConvenienceStore","convenienceStoreBrand":"LAWSON"}"#),
            PaymentMethod::ConvenienceStore(_)
        ));
    }

    #[test]
    fn cancelled_payment_with_cancellations_decodes() {
        let p: Payment = serde_json::from_str(fixtures::PARTIAL_CANCELLED).unwrap();
        let Payment::PartialCancelled {
            common,
            paid,
            cancelled_at,
        } = &p
        else {
            panic!("{p:?}")
        };
        assert_eq!(common.amount.cancelled, 3000);
        assert_eq!(paid.cancellations.len(), 1);
        let c = &paid.cancellations[0];
        assert_eq!(c.status, CancellationStatus::Succeeded);
        assert_eq!(c.total_amount, 3000);
        assert_eq!(c.reason, "고객 요청");
        assert_eq!(c.trigger, Some(CancellationTrigger::Api));
        assert!(cancelled_at.is_some());
    }

    #[test]
    fn failed_payment_decodes() {
        let p: Payment = serde_json::from_str(fixtures::FAILED).unwrap();
        let Payment::Failed { failure, .. } = &p else {
            panic!("{p:?}")
        };
        assert_eq!(failure.pg_code.as_deref(), Some("CARD_LIMIT"));
        assert_eq!(failure.reason.as_deref(), Some("한도 초과"));
    }

    #[test]
    fn error_bodies_decode_with_open_type() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"type":"PG_PROVIDER","message":"PG 오류","pgCode":"E01","pgMessage":"거절"}"#,
        )
        .unwrap();
        assert_eq!(e.kind, ErrorType::PgProvider);
        assert_eq!(e.pg_code.as_deref(), Some("E01"));
        assert_eq!(e.pg_message.as_deref(), Some("거절"));
        let e: ErrorBody = serde_json::from_str(r#"{"type":"BRAND_NEW_ERROR"}"#).unwrap();
        assert_eq!(e.kind, ErrorType::Unknown("BRAND_NEW_ERROR".into()));
        assert_eq!(e.message, None);
        let e: ErrorBody = serde_json::from_str(r#"{"message":"no type"}"#).unwrap();
        assert_eq!(e.kind, ErrorType::Unknown(String::new()));
    }

    #[test]
    fn open_enum_round_trips() {
        for raw in [
            "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
            "IDEMPOTENCY_OUTSTANDING_REQUEST",
            "MAX_CANCEL_COUNT_REACHED",
            "SOMETHING_ELSE",
        ] {
            let t = ErrorType::from_wire(raw);
            assert_eq!(t.as_str(), raw);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{raw}\""));
        }
        assert!(ErrorType::from_wire("X").is_unknown());
        assert_eq!(CancelRequester::Admin.to_string(), "ADMIN");
    }

    #[test]
    fn cancel_body_serialises_camel_case_and_omits_absent_fields() {
        let body = CancelPaymentBody {
            store_id: None,
            amount: Some(3000),
            tax_free_amount: None,
            reason: "고객 요청".into(),
            requester: Some(CancelRequester::Customer),
            current_cancellable_amount: Some(10000),
            refund_account: Some(RefundAccountBody {
                bank: "SHINHAN".into(),
                number: "110123456789".into(),
                holder_name: "홍길동".into(),
            }),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "amount": 3000, "reason": "고객 요청", "requester": "CUSTOMER",
                "currentCancellableAmount": 10000,
                "refundAccount": {"bank": "SHINHAN", "number": "110123456789", "holderName": "홍길동"}
            })
        );
        let full = CancelPaymentBody {
            store_id: Some("store-1".into()),
            amount: None,
            tax_free_amount: None,
            reason: "r".into(),
            requester: None,
            current_cancellable_amount: None,
            refund_account: None,
        };
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            serde_json::json!({"storeId": "store-1", "reason": "r"})
        );
    }

    #[test]
    fn cancel_response_with_each_cancellation_status() {
        for (s, expected) in [
            ("SUCCEEDED", CancellationStatus::Succeeded),
            ("REQUESTED", CancellationStatus::Requested),
            ("FAILED", CancellationStatus::Failed),
            ("PAUSED", CancellationStatus::Unknown("PAUSED".into())),
        ] {
            let json = format!(
                r#"{{"cancellation":{{"status":"{s}","id":"c-1","totalAmount":3000,
                "taxFreeAmount":0,"vatAmount":273,"reason":"x","requestedAt":"2024-04-25T10:00:00Z"}}}}"#
            );
            let r: CancelPaymentResponse = serde_json::from_str(&json).unwrap();
            assert_eq!(r.cancellation.status, expected);
            assert_eq!(r.cancellation.total_amount, 3000);
        }
    }

    #[test]
    fn instant_and_billing_bodies_serialise() {
        let body = InstantPaymentBody {
            store_id: None,
            channel_key: Some("channel-key-1".into()),
            method: InstantPaymentMethodInput {
                virtual_account: VirtualAccountInput {
                    bank: "KOOKMIN".into(),
                    expiry: VirtualAccountExpiryInput {
                        valid_hours: Some(72),
                        due_date: None,
                    },
                    option: VirtualAccountOptionInput {
                        kind: VirtualAccountOptionType::Normal,
                    },
                    cash_receipt: VirtualAccountCashReceiptInput {
                        kind: CashReceiptInputType::NoReceipt,
                        customer_identity_number: String::new(),
                    },
                    remittee_name: None,
                },
            },
            order_name: "주문".into(),
            customer: None,
            amount: PaymentAmountInput {
                total: 15000,
                tax_free: None,
                vat: None,
            },
            currency: "KRW".into(),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["method"]["virtualAccount"]["expiry"]["validHours"], 72);
        assert_eq!(v["method"]["virtualAccount"]["option"]["type"], "NORMAL");
        assert_eq!(
            v["method"]["virtualAccount"]["cashReceipt"]["type"],
            "NO_RECEIPT"
        );
        assert_eq!(v["amount"], serde_json::json!({"total": 15000}));
        assert_eq!(v["channelKey"], "channel-key-1");
        assert_eq!(v["orderName"], "주문");

        let b = BillingKeyPaymentBody {
            store_id: None,
            billing_key: "billing-key-1".into(),
            channel_key: None,
            order_name: "정기결제".into(),
            customer: Some(CustomerInput {
                id: Some("cust-1".into()),
                name: None,
            }),
            amount: PaymentAmountInput {
                total: 9900,
                tax_free: None,
                vat: None,
            },
            currency: "KRW".into(),
        };
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({"billingKey": "billing-key-1", "orderName": "정기결제",
                "customer": {"id": "cust-1"}, "amount": {"total": 9900}, "currency": "KRW"})
        );
        let r: PaymentSummaryResponse =
            serde_json::from_str(r#"{"payment":{"pgTxId":"t","paidAt":"2024-04-25T10:00:00Z"}}"#)
                .unwrap();
        assert_eq!(r.payment.pg_tx_id.as_deref(), Some("t"));
    }
}
