//! Pure conversions between PortOne's wire types and the `hanpay-core` model, in both
//! directions. No HTTP here: everything is unit-tested on JSON fixtures.
//!
//! Identifiers: PortOne V2 looks payments up by the merchant-chosen `paymentId`, which is also
//! the merchant's order id. So a hanpay [`Payment`]'s `payment_key` and `order_id` are both the
//! `paymentId`; PortOne's `transactionId` (one per attempt) is kept in the raw JSON.
//!
//! | PortOne V2 `status` | hanpay |
//! |---|---|
//! | `READY` | `Ready` |
//! | `PAY_PENDING` | `Pending` |
//! | `VIRTUAL_ACCOUNT_ISSUED` | `WaitingForDeposit` |
//! | `PAID` | `Paid` |
//! | `FAILED` | `Failed` |
//! | `PARTIAL_CANCELLED` | `PartiallyCanceled` |
//! | `CANCELLED` | `Canceled` |
//! | anything else | `Unknown` (raw kept) |
// Parses untrusted input (wire values): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use hanpay_core::{
    Bank, BankCodeScheme, BankCodeTable, BillingChargeRequest, CardDetails, ConfirmRequest,
    Currency, ErrorKind, Failure, Money, Payment, PaymentError, PaymentMethod as CoreMethod,
    PaymentStatus, RawJson, VirtualAccountDetails, VirtualAccountRequest, VirtualAccountValidity,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::wire::{
    self, BillingKeyPaymentBody, CashReceiptInputType, ConfirmPaymentBody, CustomerInput,
    CustomerNameInput, InstantPaymentBody, InstantPaymentMethodInput, PaymentAmountInput,
    PaymentStatus as WireStatus, PreRegisterPaymentBody, VirtualAccountCashReceiptInput,
    VirtualAccountExpiryInput, VirtualAccountInput, VirtualAccountOptionInput,
    VirtualAccountOptionType,
};
use crate::PROVIDER_ID;

mod cancel;

pub use cancel::{after_cancel, cancel_body, cancellation, cancellation_status, check_refund_bank};

/// PortOne V2's `Bank` enum names (`"KOOKMIN"`, `"SHINHAN"`, …): the scheme an unknown name is
/// kept in.
pub const BANK_CODE_SCHEME: BankCodeScheme = BankCodeScheme::new("port_one_v2");

/// PortOne V2's bank names.
///
/// ```
/// use hanpay_core::Bank;
/// use hanpay_portone::mapping::{bank_from_name, bank_name};
/// assert_eq!(bank_from_name("KFCC"), Bank::Saemaul);
/// assert_eq!(bank_name(&Bank::Shinhan), Some("SHINHAN"));
/// ```
pub const BANK_NAMES: BankCodeTable = BankCodeTable::new(
    BANK_CODE_SCHEME,
    &[
        (Bank::Kookmin, "KOOKMIN"),
        (Bank::Shinhan, "SHINHAN"),
        (Bank::Woori, "WOORI"),
        (Bank::Hana, "HANA"),
        (Bank::Nonghyup, "NONGHYUP"),
        (Bank::LocalNonghyup, "LOCAL_NONGHYUP"),
        (Bank::Ibk, "IBK"),
        (Bank::KakaoBank, "KAKAO"),
        (Bank::TossBank, "TOSS"),
        (Bank::KBank, "K_BANK"),
        (Bank::Daegu, "DAEGU"),
        (Bank::Busan, "BUSAN"),
        (Bank::Kwangju, "KWANGJU"),
        (Bank::Jeju, "JEJU"),
        (Bank::Jeonbuk, "JEONBUK"),
        (Bank::Kyongnam, "KYONGNAM"),
        (Bank::Kdb, "KDB"),
        (Bank::Suhyup, "SUHYUP"),
        (Bank::StandardChartered, "STANDARD_CHARTERED"),
        (Bank::Citi, "CITI"),
        (Bank::Saemaul, "KFCC"),
        (Bank::Shinhyup, "SHINHYUP"),
        (Bank::SavingsBank, "SAVINGS_BANK"),
        (Bank::Sanlim, "NFCF"),
        (Bank::Post, "POST"),
        (Bank::Hsbc, "HSBC"),
    ],
);

/// Reads a PortOne V2 bank name (`"KOOKMIN"`). Unknown names are kept.
pub fn bank_from_name(name: &str) -> Bank {
    BANK_NAMES.bank(name)
}

/// The bank's PortOne V2 name; `None` when PortOne has none for it.
pub fn bank_name(bank: &Bank) -> Option<&str> {
    BANK_NAMES.code(bank)
}

/// The largest amount hanpay sends PortOne, in minor units: `i64::MAX`. PortOne documents no
/// upper limit; its V2 amounts are `int64` (reference: `PaymentAmount`, all int64), which carries
/// every amount a [`Money`] holds, so no amount is refused for its size
/// (PortOne and the PG still apply their own business limits).
pub const MAX_AMOUNT: i64 = i64::MAX;

/// PortOne V2 `status` → hanpay status.
pub fn status(status: &WireStatus) -> PaymentStatus {
    match status {
        WireStatus::Ready => PaymentStatus::Ready,
        WireStatus::PayPending => PaymentStatus::Pending,
        WireStatus::VirtualAccountIssued => PaymentStatus::WaitingForDeposit,
        WireStatus::Paid => PaymentStatus::Paid,
        WireStatus::Failed => PaymentStatus::Failed,
        WireStatus::PartialCancelled => PaymentStatus::PartiallyCanceled,
        WireStatus::Cancelled => PaymentStatus::Canceled,
        WireStatus::Unknown(_) => PaymentStatus::Unknown,
    }
}

/// An RFC 3339 timestamp; an unparsable one is dropped (the raw JSON keeps it).
pub fn timestamp(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

fn decode_error(message: String) -> PaymentError {
    PaymentError::new(ErrorKind::Decode, message).with_provider(PROVIDER_ID)
}

/// The payment method. `now` decides whether a virtual account's deadline has passed.
pub fn method(m: &wire::PaymentMethod, status: &WireStatus, now: OffsetDateTime) -> CoreMethod {
    match m {
        wire::PaymentMethod::Card(card) => CoreMethod::Card(card_details(card)),
        wire::PaymentMethod::VirtualAccount(va) => {
            let due = timestamp(va.expired_at.as_deref());
            CoreMethod::VirtualAccount(VirtualAccountDetails {
                bank: va.bank.as_deref().map(bank_from_name),
                account_number: va.account_number.clone(),
                customer_name: va.remitter_name.clone(),
                due_date: due,
                expired: *status == WireStatus::VirtualAccountIssued
                    && due.is_some_and(|d| d < now),
                refund_status: va.refund_status.as_ref().map(|s| s.as_str().to_owned()),
            })
        }
        wire::PaymentMethod::Transfer(t) => CoreMethod::Transfer {
            bank: t.bank.as_deref().map(bank_from_name),
        },
        wire::PaymentMethod::EasyPay(e) => CoreMethod::EasyPay {
            provider: e.provider.clone().unwrap_or_default(),
        },
        wire::PaymentMethod::Mobile(_) => CoreMethod::MobilePhone,
        wire::PaymentMethod::GiftCertificate(_) => CoreMethod::GiftCertificate,
        wire::PaymentMethod::ConvenienceStore(_) => CoreMethod::Other {
            raw: "PaymentMethodConvenienceStore".into(),
        },
        wire::PaymentMethod::Crypto => CoreMethod::Other {
            raw: "PaymentMethodCrypto".into(),
        },
        wire::PaymentMethod::Unknown(raw) => CoreMethod::Other { raw: raw.clone() },
        // `PaymentMethod` is non-exhaustive for users, not for this crate.
    }
}

fn card_details(card: &wire::MethodCard) -> CardDetails {
    let c = card.card.as_ref();
    CardDetails {
        issuer_code: c.and_then(|c| c.issuer.clone()),
        acquirer_code: None,
        masked_number: c.and_then(|c| c.number.clone()),
        installment_months: card
            .installment
            .map(|i| u32::try_from(i.month).unwrap_or(0))
            .unwrap_or(0),
        approval_number: card.approval_number.clone(),
        card_type: c
            .and_then(|c| c.kind.as_ref())
            .map(|t| t.as_str().to_owned()),
    }
}

/// The whole payment. `raw` is the JSON it was decoded from (kept as the escape hatch, parsed
/// only on demand); `now` decides whether a virtual account's deadline has passed.
pub fn payment(
    p: &wire::Payment,
    raw: RawJson,
    now: OffsetDateTime,
) -> Result<Payment, PaymentError> {
    let common = p.common();
    let wire_status = p.status();
    let currency = Currency::from_code(&common.currency);
    let amount = &common.amount;
    if amount.total < 0 || amount.cancelled < 0 || amount.cancelled > amount.total {
        return Err(decode_error(format!(
            "PortOne payment {} has inconsistent amounts (total {}, cancelled {})",
            common.id, amount.total, amount.cancelled
        )));
    }
    let paid = p.paid_details();
    let failure = match p {
        wire::Payment::Failed { failure, .. } => Some(Failure {
            code: failure
                .pg_code
                .clone()
                .unwrap_or_else(|| "FAILED".to_owned()),
            message: failure
                .pg_message
                .clone()
                .or_else(|| failure.reason.clone())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Payment {
        provider: PROVIDER_ID,
        payment_key: common.id.clone(),
        order_id: common.id.clone(),
        order_name: common.order_name.clone(),
        status: status(&wire_status),
        raw_status: wire_status.as_str().to_owned(),
        method: common.method.as_ref().map(|m| method(m, &wire_status, now)),
        total: Money::new(amount.total, currency.clone()),
        // 0 ≤ cancelled ≤ total was checked above, so this never saturates.
        balance: Money::new(
            amount.total.saturating_sub(amount.cancelled),
            currency.clone(),
        ),
        canceled: Money::new(amount.cancelled, currency.clone()),
        cancellations: paid
            .map(|d| {
                d.cancellations
                    .iter()
                    .map(|c| cancellation(c, &currency))
                    .collect()
            })
            .unwrap_or_default(),
        requested_at: timestamp(common.requested_at.as_deref()),
        approved_at: paid.and_then(|d| timestamp(d.paid_at.as_deref())),
        failure,
        receipt_url: paid.and_then(|d| d.receipt_url.clone()),
        secret: None,
        raw,
    })
}

/// The manual-confirm body (수동 승인), with the verification fields PortOne checks.
pub fn confirm_body(
    request: &ConfirmRequest,
    payment_token: &str,
    store_id: Option<&str>,
) -> ConfirmPaymentBody {
    ConfirmPaymentBody {
        payment_token: payment_token.to_owned(),
        store_id: store_id.map(str::to_owned),
        tx_id: None,
        currency: Some(request.amount.currency().code().to_owned()),
        total_amount: Some(request.amount.minor_units()),
        tax_free_amount: None,
    }
}

/// The pre-registration body.
pub fn pre_register_body(amount: &Money, store_id: Option<&str>) -> PreRegisterPaymentBody {
    PreRegisterPaymentBody {
        store_id: store_id.map(str::to_owned),
        total_amount: Some(amount.minor_units()),
        tax_free_amount: None,
        currency: Some(amount.currency().code().to_owned()),
    }
}

/// The billing-key payment body.
pub fn billing_key_body(
    request: &BillingChargeRequest,
    store_id: Option<&str>,
    channel_key: Option<&str>,
) -> BillingKeyPaymentBody {
    BillingKeyPaymentBody {
        store_id: store_id.map(str::to_owned),
        billing_key: request.billing_key.expose().to_owned(),
        channel_key: channel_key.map(str::to_owned),
        order_name: request.order_name.clone(),
        customer: Some(CustomerInput {
            id: Some(request.customer_key.clone()),
            name: None,
        }),
        amount: PaymentAmountInput {
            total: request.amount.minor_units(),
            tax_free: None,
            vat: None,
        },
        currency: request.amount.currency().code().to_owned(),
    }
}

/// The `/instant` body issuing a virtual account; fails before any call when the bank has no
/// PortOne V2 name.
pub fn virtual_account_body(
    request: &VirtualAccountRequest,
    store_id: Option<&str>,
    channel_key: Option<&str>,
) -> Result<InstantPaymentBody, PaymentError> {
    let bank = bank_name(&request.bank).ok_or_else(|| {
        PaymentError::invalid(format!(
            "PortOne has no bank code for {}: choose another bank",
            request.bank
        ))
        .with_provider(PROVIDER_ID)
    })?;
    let expiry = match &request.validity {
        VirtualAccountValidity::Hours(h) => VirtualAccountExpiryInput {
            valid_hours: Some(*h),
            due_date: None,
        },
        VirtualAccountValidity::Until(due) => VirtualAccountExpiryInput {
            valid_hours: None,
            due_date: Some(due.format(&Rfc3339).map_err(|e| {
                PaymentError::invalid(format!("due date cannot be formatted: {e}"))
            })?),
        },
    };
    Ok(InstantPaymentBody {
        store_id: store_id.map(str::to_owned),
        channel_key: channel_key.map(str::to_owned),
        method: InstantPaymentMethodInput {
            virtual_account: VirtualAccountInput {
                bank: bank.to_owned(),
                expiry,
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
        order_name: request.order_name.clone(),
        customer: Some(CustomerInput {
            id: None,
            name: Some(CustomerNameInput {
                full: request.customer_name.clone(),
            }),
        }),
        amount: PaymentAmountInput {
            total: request.amount.minor_units(),
            tax_free: None,
            vat: None,
        },
        currency: request.amount.currency().code().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::wire::CancellationStatus;
    use hanpay_core::{CancelRequest, CancellationStatus as CoreCancelStatus};

    #[test]
    fn bank_names() {
        for bank in Bank::known() {
            let name = bank_name(bank).unwrap();
            assert_eq!(&bank_from_name(name), bank);
        }
        assert_eq!(bank_name(&bank_from_name("KOOKMIN")), Some("KOOKMIN"));
        assert_eq!(bank_name(&Bank::from_kftc_code("088")), Some("SHINHAN"));
        assert_eq!(bank_from_name("KFCC"), Bank::Saemaul);
        let unknown = bank_from_name("MIZUHO");
        assert!(matches!(unknown, Bank::Unknown { .. }));
        assert_eq!(bank_name(&unknown), Some("MIZUHO"));
        assert_eq!(unknown.kftc_code(), None);
    }
    use crate::fixtures;
    use hanpay_core::RefundAccount;

    fn decode(json: &str) -> Payment {
        let now = OffsetDateTime::parse("2024-04-26T00:00:00Z", &Rfc3339).unwrap();
        decode_at(json, now).unwrap()
    }

    fn decode_at(json: &str, now: OffsetDateTime) -> Result<Payment, PaymentError> {
        let wire: wire::Payment = serde_json::from_str(json).unwrap();
        payment(&wire, RawJson::new(json.as_bytes().to_vec()), now)
    }

    #[test]
    fn every_status_maps() {
        for (wire, core) in [
            ("READY", PaymentStatus::Ready),
            ("PAY_PENDING", PaymentStatus::Pending),
            ("VIRTUAL_ACCOUNT_ISSUED", PaymentStatus::WaitingForDeposit),
            ("PAID", PaymentStatus::Paid),
            ("FAILED", PaymentStatus::Failed),
            ("PARTIAL_CANCELLED", PaymentStatus::PartiallyCanceled),
            ("CANCELLED", PaymentStatus::Canceled),
            ("PENDING", PaymentStatus::Unknown),
        ] {
            let p = decode(&fixtures::minimal_payment(wire));
            assert_eq!(p.status, core, "{wire}");
            assert_eq!(p.raw_status, wire);
        }
    }

    #[test]
    fn paid_card_payment_maps() {
        let p = decode(fixtures::PAID_CARD);
        assert_eq!(p.provider.as_str(), "portone");
        assert_eq!(p.payment_key, "order-20240425-0001");
        assert_eq!(p.order_id, "order-20240425-0001");
        assert_eq!(p.order_name.as_deref(), Some("나이키 와플 트레이너 2 SD"));
        assert_eq!(p.total, Money::krw(1000));
        assert_eq!(p.balance, Money::krw(1000));
        assert!(p.canceled.is_zero());
        assert_eq!(p.approved_at, timestamp(Some("2024-04-25T10:00:00Z")));
        assert!(p.requested_at.is_some());
        assert_eq!(p.receipt_url.as_deref(), Some("https://receipt.example/1"));
        let Some(CoreMethod::Card(card)) = &p.method else {
            panic!("{:?}", p.method)
        };
        assert_eq!(card.approval_number.as_deref(), Some("12345678"));
        assert_eq!(card.installment_months, 0);
        assert_eq!(card.issuer_code.as_deref(), Some("KOOKMIN"));
        assert_eq!(card.card_type.as_deref(), Some("CREDIT"));
        assert_eq!(card.masked_number.as_deref(), Some("5365********1234"));
        assert_eq!(
            p.raw.value()["transactionId"],
            "55451513-9763-4a7a-bb43-78a4c65be843"
        );
    }

    #[test]
    fn partial_cancel_maps_balance_and_cancellations() {
        let p = decode(fixtures::PARTIAL_CANCELLED);
        assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
        assert_eq!(p.total, Money::krw(10_000));
        assert_eq!(p.balance, Money::krw(7_000));
        assert_eq!(p.canceled, Money::krw(3_000));
        assert_eq!(p.cancellations.len(), 1);
        let c = &p.cancellations[0];
        assert_eq!(c.amount, Money::krw(3_000));
        assert_eq!(c.status, CoreCancelStatus::Done);
        assert_eq!(c.reason.as_deref(), Some("고객 요청"));
        assert_eq!(c.transaction_key.as_deref(), Some("cancel-1"));
        assert!(c.canceled_at.is_some());
    }

    #[test]
    fn virtual_account_maps_bank_and_expiry() {
        let p = decode(fixtures::VIRTUAL_ACCOUNT_ISSUED);
        assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
        let va = p.virtual_account().unwrap();
        assert_eq!(va.bank, Some(Bank::Shinhan));
        assert_eq!(va.account_number, "56211105948400");
        assert_eq!(va.customer_name.as_deref(), Some("홍길동"));
        assert!(!va.expired, "due 2024-04-28, now 2024-04-26");
        let later = OffsetDateTime::parse("2024-05-01T00:00:00Z", &Rfc3339).unwrap();
        let expired = decode_at(fixtures::VIRTUAL_ACCOUNT_ISSUED, later).unwrap();
        assert!(expired.virtual_account().unwrap().expired);
    }

    #[test]
    fn failed_payment_keeps_pg_code() {
        let p = decode(fixtures::FAILED);
        assert_eq!(p.status, PaymentStatus::Failed);
        let f = p.failure.unwrap();
        assert_eq!(f.code, "CARD_LIMIT");
        assert_eq!(f.message, "한도초과 거절");
    }

    #[test]
    fn other_methods_map() {
        let now = OffsetDateTime::now_utc();
        let m = |json: &str| {
            let w: wire::PaymentMethod = serde_json::from_str(json).unwrap();
            method(&w, &WireStatus::Paid, now)
        };
        assert_eq!(
            m(r#"{"type":"PaymentMethodEasyPay","provider":"KAKAOPAY"}"#),
            CoreMethod::EasyPay {
                provider: "KAKAOPAY".into()
            }
        );
        assert_eq!(
            m(r#"{"type":"PaymentMethodTransfer","bank":"KOOKMIN"}"#),
            CoreMethod::Transfer {
                bank: Some(Bank::Kookmin)
            }
        );
        assert_eq!(
            m(r#"{"type":"PaymentMethodMobile"}"#),
            CoreMethod::MobilePhone
        );
        assert_eq!(
            m(r#"{"type":"PaymentMethodGiftCertificate","approvalNumber":"1"}"#),
            CoreMethod::GiftCertificate
        );
        assert_eq!(
            m(r#"{"type":"PaymentMethodWhatever"}"#),
            CoreMethod::Other {
                raw: "PaymentMethodWhatever".into()
            }
        );
        assert_eq!(
            m(r#"{"type":"PaymentMethodCrypto"}"#),
            CoreMethod::Other {
                raw: "PaymentMethodCrypto".into()
            }
        );
    }

    #[test]
    fn cancellation_statuses_map() {
        assert_eq!(
            cancellation_status(&CancellationStatus::Requested),
            CoreCancelStatus::Pending
        );
        assert_eq!(
            cancellation_status(&CancellationStatus::Failed),
            CoreCancelStatus::Failed
        );
        assert_eq!(
            cancellation_status(&CancellationStatus::Unknown("X".into())),
            CoreCancelStatus::Other("X".into())
        );
    }

    #[test]
    fn inconsistent_amounts_are_a_decode_error() {
        let json =
            fixtures::minimal_payment("PAID").replace("\"cancelled\":0", "\"cancelled\":9000");
        let err = decode_at(&json, OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
    }

    #[test]
    fn usd_amounts_stay_in_minor_units() {
        let json = fixtures::minimal_payment("PAID").replace("\"KRW\"", "\"USD\"");
        let p = decode(&json);
        assert_eq!(p.total, Money::new(5000, Currency::from_code("USD")));
        assert_eq!(p.total.to_string(), "$50.00");
    }

    #[test]
    fn cancel_body_maps_amount_balance_and_refund_account() {
        let account = RefundAccount::new(Bank::Shinhan, "1102147270", "홍길동").unwrap();
        let req = CancelRequest::partial("order-1", "고객 요청", Money::krw(3_000))
            .expected_balance(Money::krw(10_000))
            .refund_to(account);
        let body = cancel_body(&req, Some("store-1"));
        assert_eq!(body.amount, Some(3_000));
        assert_eq!(body.current_cancellable_amount, Some(10_000));
        assert_eq!(body.store_id.as_deref(), Some("store-1"));
        let ra = body.refund_account.unwrap();
        assert_eq!(ra.bank, "SHINHAN");
        assert_eq!(ra.number, "1102147270");
        assert_eq!(ra.holder_name, "홍길동");
        let full = cancel_body(&CancelRequest::full("order-1", "전액"), None);
        assert_eq!(full.amount, None);
        assert_eq!(full.current_cancellable_amount, None);
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            serde_json::json!({"reason": "전액"})
        );
    }

    #[test]
    fn confirm_and_pre_register_bodies_carry_verification_fields() {
        let req = ConfirmRequest::new("order-1", "order-1", Money::krw(15_000));
        let body = confirm_body(&req, "tok", None);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"paymentToken": "tok", "currency": "KRW", "totalAmount": 15000})
        );
        let pre = pre_register_body(&Money::krw(15_000), Some("s"));
        assert_eq!(
            serde_json::to_value(&pre).unwrap(),
            serde_json::json!({"storeId": "s", "totalAmount": 15000, "currency": "KRW"})
        );
    }

    #[test]
    fn virtual_account_and_billing_bodies() {
        let req = VirtualAccountRequest::new(
            Money::krw(15_000),
            "order-va-1",
            "책",
            "홍길동",
            Bank::Kookmin,
        )
        .valid_hours(24);
        let body = virtual_account_body(&req, None, Some("ck")).unwrap();
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["method"]["virtualAccount"]["bank"], "KOOKMIN");
        assert_eq!(v["method"]["virtualAccount"]["expiry"]["validHours"], 24);
        assert_eq!(v["customer"]["name"]["full"], "홍길동");
        assert_eq!(v["amount"]["total"], 15000);
        assert_eq!(v["channelKey"], "ck");

        let charge = BillingChargeRequest::new(
            "billing-key-1",
            "cust-1",
            Money::krw(9_900),
            "order-b-1",
            "정기결제",
        );
        let b = serde_json::to_value(billing_key_body(&charge, None, None)).unwrap();
        assert_eq!(b["billingKey"], "billing-key-1");
        assert_eq!(b["customer"]["id"], "cust-1");
        assert_eq!(b["amount"]["total"], 9900);
        assert_eq!(b["currency"], "KRW");
    }
}
