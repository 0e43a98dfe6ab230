//! Pure conversions between Toss's wire types ([`crate::wire`]) and the provider-neutral model
//! of `hanpay-core`. No HTTP here: everything is unit-tested on fixtures.
//!
//! - [`payment_from_bytes`] / [`payment_from_wire`]: Toss `Payment` → core [`Payment`] (status, Korean method strings,
//!   card, virtual account, easy pay, cancels, failure, secret; amounts read exactly).
//! - [`map_status`]: Toss status → [`PaymentStatus`], with `balanceAmount` 0 meaning fully
//!   refunded even while Toss still says `PARTIAL_CANCELED`.
//! - [`cancel`]: the cancel mapping (request body and `cancels[]`), in one place.
//! - Request bodies for confirm, virtual accounts and billing charges.
// Parses untrusted input (wire values): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

pub mod cancel;
mod time;

pub use self::time::{parse_toss_time, KST};

use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;
use bytes::Bytes;
use hanpay_core::{
    Bank, BankCodeScheme, BankCodeTable, BillingChargeRequest, CardDetails, ConfirmRequest,
    Currency, ErrorKind, Failure, Money, Payment, PaymentError, PaymentMethod, PaymentStatus,
    ProviderId, RawJson, Secret, VirtualAccountDetails, VirtualAccountRequest,
    VirtualAccountValidity,
};

use crate::wire::{self, Amount, BillingChargeBody, ConfirmBody, Method, VirtualAccountBody};

/// The provider id of Toss Payments: `"tosspayments"`.
pub const PROVIDER_ID: ProviderId = ProviderId::from_static(crate::ID);

/// Toss Payments' two-digit bank codes (`"06"` KB국민, `"88"` 신한, …): the scheme an unknown
/// code is kept in.
pub const BANK_CODE_SCHEME: BankCodeScheme = BankCodeScheme::new("toss");

/// Toss Payments' bank codes. KB is the one bank whose Toss code is not its KFTC code minus the
/// leading zero.
///
/// ```
/// use hanpay_core::Bank;
/// use hanpay_tosspayments::mapping::{bank_code, bank_from_code};
/// assert_eq!(bank_from_code("06"), Bank::Kookmin);
/// assert_eq!(bank_code(&Bank::Shinhan), Some("88"));
/// ```
pub const BANK_CODES: BankCodeTable = BankCodeTable::new(
    BANK_CODE_SCHEME,
    &[
        (Bank::Kookmin, "06"),
        (Bank::Shinhan, "88"),
        (Bank::Woori, "20"),
        (Bank::Hana, "81"),
        (Bank::Nonghyup, "11"),
        (Bank::LocalNonghyup, "12"),
        (Bank::Ibk, "03"),
        (Bank::KakaoBank, "90"),
        (Bank::TossBank, "92"),
        (Bank::KBank, "89"),
        (Bank::Daegu, "31"),
        (Bank::Busan, "32"),
        (Bank::Kwangju, "34"),
        (Bank::Jeju, "35"),
        (Bank::Jeonbuk, "37"),
        (Bank::Kyongnam, "39"),
        (Bank::Kdb, "02"),
        (Bank::Suhyup, "07"),
        (Bank::StandardChartered, "23"),
        (Bank::Citi, "27"),
        (Bank::Saemaul, "45"),
        (Bank::Shinhyup, "48"),
        (Bank::SavingsBank, "50"),
        (Bank::Sanlim, "64"),
        (Bank::Post, "71"),
        (Bank::Hsbc, "54"),
    ],
);

/// Reads a Toss two-digit bank code (`"06"` → KB국민). Unknown codes are kept.
pub fn bank_from_code(code: &str) -> Bank {
    BANK_CODES.bank(code)
}

/// The bank's Toss two-digit code; `None` when Toss has none for it.
pub fn bank_code(bank: &Bank) -> Option<&str> {
    BANK_CODES.code(bank)
}

/// [`PROVIDER_ID`] with a `'static` address, for `fn id(&self) -> &ProviderId`.
pub(crate) static PROVIDER: ProviderId = PROVIDER_ID;

fn decode_error(what: &str, detail: impl std::fmt::Display) -> PaymentError {
    PaymentError::new(
        ErrorKind::Decode,
        format!("Toss sent an unreadable {what}: {detail}"),
    )
    .with_provider(PROVIDER_ID)
}

/// Reads a wire amount exactly into `currency`'s minor units (USD `726.24` → 72624 cents; a
/// KRW `374000.5` is an error, never rounded).
pub(crate) fn money(
    amount: &Amount,
    currency: &Currency,
    what: &str,
) -> Result<Money, PaymentError> {
    Money::from_decimal_str(amount.as_str(), currency.clone()).map_err(|e| decode_error(what, e))
}

/// The largest amount hanpay sends Toss, in minor units (won for KRW): 2^53 − 1. Toss documents
/// no upper limit (only per-method business limits such as `EXCEED_MAX_AMOUNT`); its amounts
/// are JSON numbers, floating since v1.4, which carry whole numbers exactly only up to
/// 2^53 − 1. So this is the largest value the wire type carries safely.
pub const MAX_AMOUNT: i64 = 9_007_199_254_740_991;

/// Refuses (as [`ErrorKind::InvalidRequest`], before
/// any call) an amount above [`MAX_AMOUNT`].
pub fn check_amount(what: &str, money: &Money) -> Result<(), PaymentError> {
    if money.minor_units() > MAX_AMOUNT {
        return Err(PaymentError::invalid(format!(
            "Toss carries amounts up to {MAX_AMOUNT} exactly, the {what} amount is {money}"
        ))
        .with_provider(PROVIDER_ID));
    }
    Ok(())
}

/// Writes a core amount as a wire amount (JSON integer for KRW).
pub(crate) fn amount_of(money: &Money) -> Amount {
    Amount::from_decimal_str(&money.major_decimal_string())
        .unwrap_or_else(|| Amount::from_integer(money.minor_units()))
}

pub(crate) fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(parse_toss_time)
}

/// Toss status → unified status. `balance_is_zero` turns `PARTIAL_CANCELED` into `Canceled`
/// (Toss keeps `PARTIAL_CANCELED` after partial cancels down to zero).
pub fn map_status(status: &wire::PaymentStatus, balance_is_zero: bool) -> PaymentStatus {
    use wire::PaymentStatus as W;
    match status {
        W::Ready => PaymentStatus::Ready,
        W::InProgress => PaymentStatus::Pending,
        W::WaitingForDeposit => PaymentStatus::WaitingForDeposit,
        W::Done => PaymentStatus::Paid,
        W::Canceled => PaymentStatus::Canceled,
        W::PartialCanceled if balance_is_zero => PaymentStatus::Canceled,
        W::PartialCanceled => PaymentStatus::PartiallyCanceled,
        W::Aborted => PaymentStatus::Failed,
        W::Expired => PaymentStatus::Expired,
        _ => PaymentStatus::Unknown,
    }
}

/// Toss method (Korean string) and its detail objects → core [`PaymentMethod`].
pub fn map_method(p: &wire::Payment) -> Option<PaymentMethod> {
    let method = p.method.as_ref();
    // A virtual account object identifies the method even when `method` is null.
    if matches!(method, Some(Method::VirtualAccount))
        || (method.is_none() && p.virtual_account.is_some())
    {
        let va = p.virtual_account.as_ref();
        return Some(PaymentMethod::VirtualAccount(VirtualAccountDetails {
            bank: va.and_then(|v| v.bank_code.as_deref()).map(bank_from_code),
            account_number: va
                .and_then(|v| v.account_number.clone())
                .unwrap_or_default(),
            customer_name: va.and_then(|v| v.customer_name.clone()),
            due_date: parse_time(va.and_then(|v| v.due_date.as_deref())),
            expired: va.and_then(|v| v.expired).unwrap_or(false),
            refund_status: va
                .and_then(|v| v.refund_status.as_ref())
                .map(|s| s.as_str().to_owned()),
        }));
    }
    let method = method?;
    Some(match method {
        Method::Card => {
            let card = p.card.as_ref();
            PaymentMethod::Card(CardDetails {
                issuer_code: card.and_then(|c| c.issuer_code.clone()),
                acquirer_code: card.and_then(|c| c.acquirer_code.clone()),
                masked_number: card.and_then(|c| c.number.clone()),
                installment_months: card.and_then(|c| c.installment_plan_months).unwrap_or(0),
                approval_number: card.and_then(|c| c.approve_no.clone()),
                card_type: card
                    .and_then(|c| c.card_type.as_ref())
                    .map(|t| t.as_str().to_owned()),
            })
        }
        Method::EasyPay | Method::ForeignEasyPay => PaymentMethod::EasyPay {
            provider: p
                .easy_pay
                .as_ref()
                .and_then(|e| e.provider.clone())
                .unwrap_or_else(|| method.as_str().to_owned()),
        },
        Method::Transfer => PaymentMethod::Transfer {
            bank: p
                .transfer
                .as_ref()
                .and_then(|t| t.bank_code.as_deref())
                .map(bank_from_code),
        },
        Method::MobilePhone => PaymentMethod::MobilePhone,
        Method::CultureGiftCertificate
        | Method::BookGiftCertificate
        | Method::GameGiftCertificate => PaymentMethod::GiftCertificate,
        Method::VirtualAccount => PaymentMethod::Other {
            raw: method.as_str().to_owned(),
        },
        other => PaymentMethod::Other {
            raw: other.as_str().to_owned(),
        },
    })
}

/// Toss `Payment` → core [`Payment`]. `raw` is the JSON as received (kept as the escape hatch,
/// parsed only on demand), with `secret` redacted from it: the secret moves to
/// [`Payment::secret`] so that it never reaches `Debug` or logs.
pub fn payment_from_wire(p: &wire::Payment, raw: RawJson) -> Result<Payment, PaymentError> {
    let raw = raw.redacting(&["secret"]);
    let currency = Currency::from_code(p.currency.as_deref().unwrap_or("KRW"));
    let total = match &p.total_amount {
        Some(a) => money(a, &currency, "totalAmount")?,
        None => Money::zero(currency.clone()),
    };
    let balance = match &p.balance_amount {
        Some(a) => money(a, &currency, "balanceAmount")?,
        None => total.clone(),
    };
    let canceled = total
        .checked_sub(&balance)
        .map_err(|e| decode_error("balanceAmount", e))?;
    let cancellations = p
        .cancels
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| cancel::cancellation_from_wire(c, &currency))
        .collect::<Result<Vec<_>, _>>()?;
    let status = map_status(&p.status, balance.is_zero() && !canceled.is_zero());
    Ok(Payment {
        provider: PROVIDER_ID,
        payment_key: p.payment_key.clone(),
        order_id: p.order_id.clone(),
        order_name: p.order_name.clone(),
        status,
        raw_status: p.status.as_str().to_owned(),
        method: map_method(p),
        total,
        balance,
        canceled,
        cancellations,
        requested_at: parse_time(p.requested_at.as_deref()),
        approved_at: parse_time(p.approved_at.as_deref()),
        failure: p.failure.as_ref().map(|f| Failure {
            code: f.code.clone(),
            message: f.message.clone(),
        }),
        receipt_url: p.receipt.as_ref().and_then(|r| r.url.clone()),
        secret: p.secret.clone().filter(|s| !s.is_empty()).map(Secret::new),
        raw,
    })
}

/// Decodes a Toss `Payment` body and maps it: one parse, straight into the wire types; the
/// body itself is kept (not copied) as [`Payment::raw`].
pub fn payment_from_bytes(body: Bytes) -> Result<Payment, PaymentError> {
    let wire: wire::Payment =
        serde_json::from_slice(&body).map_err(|e| decode_error("Payment", e))?;
    payment_from_wire(&wire, RawJson::new(body))
}

/// [`payment_from_bytes`] for a borrowed body (copied once, to be kept as [`Payment::raw`]).
pub fn payment_from_slice(body: &[u8]) -> Result<Payment, PaymentError> {
    payment_from_bytes(Bytes::copy_from_slice(body))
}

/// `POST /v1/payments/confirm` body (validated).
pub fn confirm_body(request: &ConfirmRequest) -> Result<ConfirmBody<'_>, PaymentError> {
    request.validate()?;
    check_amount("confirm", &request.amount)?;
    Ok(ConfirmBody {
        payment_key: &request.payment_key,
        order_id: &request.order_id,
        amount: amount_of(&request.amount),
    })
}

/// `POST /v1/virtual-accounts` body (validated; the bank must have a Toss code).
pub fn virtual_account_body(
    request: &VirtualAccountRequest,
) -> Result<VirtualAccountBody<'_>, PaymentError> {
    request.validate()?;
    check_amount("virtual account", &request.amount)?;
    let bank = bank_code(&request.bank).ok_or_else(|| {
        PaymentError::invalid(format!(
            "bank {} has no Toss bank code",
            request.bank.korean_name()
        ))
    })?;
    let (valid_hours, due_date) = match &request.validity {
        VirtualAccountValidity::Hours(h) => (Some(*h), None),
        VirtualAccountValidity::Until(at) => (
            None,
            Some(
                at.to_offset(KST)
                    .format(&Rfc3339)
                    .map_err(|e| PaymentError::invalid(format!("unusable due date: {e}")))?,
            ),
        ),
    };
    Ok(VirtualAccountBody {
        amount: amount_of(&request.amount),
        order_id: &request.order_id,
        order_name: &request.order_name,
        customer_name: &request.customer_name,
        bank,
        valid_hours,
        due_date,
    })
}

/// `POST /v1/billing/{billingKey}` body (validated).
pub fn billing_charge_body(
    request: &BillingChargeRequest,
) -> Result<BillingChargeBody<'_>, PaymentError> {
    request.validate()?;
    check_amount("charge", &request.amount)?;
    Ok(BillingChargeBody {
        amount: amount_of(&request.amount),
        customer_key: &request.customer_key,
        order_id: &request.order_id,
        order_name: &request.order_name,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn bank_codes() {
        assert_eq!(bank_from_code("06"), Bank::Kookmin);
        assert_eq!(bank_from_code("88"), Bank::Shinhan);
        assert_eq!(bank_from_code("20"), Bank::Woori);
        assert_eq!(bank_from_code("81"), Bank::Hana);
        assert_eq!(bank_from_code("11"), Bank::Nonghyup);
        assert_eq!(bank_from_code("03"), Bank::Ibk);
        assert_eq!(bank_from_code("90"), Bank::KakaoBank);
        assert_eq!(bank_from_code("92"), Bank::TossBank);
        assert_eq!(bank_from_code("89"), Bank::KBank);
        assert_eq!(bank_from_code("31"), Bank::Daegu);
        assert_eq!(bank_from_code("45"), Bank::Saemaul);
        assert_eq!(bank_code(&Bank::Kookmin), Some("06"));
        // KB is the one bank whose Toss code is not the KFTC code minus its leading zero.
        assert_eq!(Bank::Kookmin.kftc_code(), Some("004"));
        let unknown = bank_from_code("S8");
        assert_eq!(
            unknown,
            Bank::Unknown {
                scheme: BANK_CODE_SCHEME,
                code: "S8".into()
            }
        );
        assert_eq!(bank_code(&unknown), Some("S8"));
        assert_eq!(unknown.kftc_code(), None);
        for bank in Bank::known() {
            let code = bank_code(bank).unwrap();
            assert_eq!(&bank_from_code(code), bank);
        }
        // The fuzz target lists the tables this way.
        const TABLES: [&BankCodeTable; 2] = [&BANK_CODES, &BankCodeTable::KFTC];
        assert_eq!(TABLES[1].bank("004"), Bank::Kookmin);
    }

    const SEED000: &[u8] =
        include_bytes!("../../tests/fixtures/confirm_waiting_for_deposit_seed000.json");
    const VA_REF: &[u8] = include_bytes!("../../tests/fixtures/virtual_account_reference.json");
    const EXPIRED: &[u8] = include_bytes!("../../tests/fixtures/expired_with_failure.json");
    const PAYPAL: &[u8] = include_bytes!("../../tests/fixtures/paypal_usd_partial_cancel.json");
    const CARD: &[u8] = include_bytes!("../../tests/fixtures/card_two_partial_cancels.json");

    #[test]
    fn every_status() {
        use wire::PaymentStatus as W;
        let cases = [
            (W::Ready, PaymentStatus::Ready),
            (W::InProgress, PaymentStatus::Pending),
            (W::WaitingForDeposit, PaymentStatus::WaitingForDeposit),
            (W::Done, PaymentStatus::Paid),
            (W::Canceled, PaymentStatus::Canceled),
            (W::PartialCanceled, PaymentStatus::PartiallyCanceled),
            (W::Aborted, PaymentStatus::Failed),
            (W::Expired, PaymentStatus::Expired),
            (W::Unknown("NEW".into()), PaymentStatus::Unknown),
        ];
        for (w, core) in cases {
            assert_eq!(map_status(&w, false), core, "{w}");
        }
        assert_eq!(
            map_status(&W::PartialCanceled, true),
            PaymentStatus::Canceled
        );
    }

    #[test]
    fn every_method_string() {
        let base = |m: &str| -> wire::Payment {
            serde_json::from_str(&format!(
                r#"{{"paymentKey":"k","orderId":"o","status":"DONE","method":{m}}}"#
            ))
            .unwrap()
        };
        assert!(matches!(
            map_method(&base(r#""카드""#)),
            Some(PaymentMethod::Card(_))
        ));
        assert!(matches!(
            map_method(&base(r#""가상계좌""#)),
            Some(PaymentMethod::VirtualAccount(_))
        ));
        assert_eq!(
            map_method(&base(r#""간편결제""#)),
            Some(PaymentMethod::EasyPay {
                provider: "간편결제".into()
            })
        );
        assert_eq!(
            map_method(&base(r#""휴대폰""#)),
            Some(PaymentMethod::MobilePhone)
        );
        assert_eq!(
            map_method(&base(r#""계좌이체""#)),
            Some(PaymentMethod::Transfer { bank: None })
        );
        for gift in ["문화상품권", "도서문화상품권", "게임문화상품권"] {
            assert_eq!(
                map_method(&base(&format!("\"{gift}\""))),
                Some(PaymentMethod::GiftCertificate)
            );
        }
        assert_eq!(map_method(&base("null")), None);
        assert_eq!(map_method(&base(r#""""#)), None);
        assert_eq!(
            map_method(&base(r#""새결제수단""#)),
            Some(PaymentMethod::Other {
                raw: "새결제수단".into()
            })
        );
    }

    #[test]
    fn seed000_virtual_account() {
        let p = payment_from_slice(SEED000).unwrap();
        assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
        assert_eq!(p.raw_status, "WAITING_FOR_DEPOSIT");
        assert_eq!(p.total, Money::krw(390_000));
        assert_eq!(p.balance, Money::krw(390_000));
        assert!(p.canceled.is_zero());
        let va = p.virtual_account().unwrap();
        assert_eq!(va.account_number, "X600802567548");
        assert_eq!(va.bank, Some(Bank::Daegu));
        assert_eq!(va.refund_status.as_deref(), Some("NONE"));
        assert!(!va.expired);
        assert!(va.due_date.is_some());
        assert_eq!(
            p.secret.as_ref().unwrap().expose(),
            "ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD"
        );
        assert!(!format!("{p:?}").contains("ps_Ba5PzR0ArnJOAoQ9oLdNrvmYnNeD"));
        assert_eq!(p.requested_at.unwrap().offset(), KST);
        assert!(p.approved_at.is_none());
        let raw = p.raw.value();
        assert_eq!(raw["orderName"], "비세토스 오리지널 콘티넨털 지갑");
        assert!(
            raw.get("secret").is_none(),
            "the secret is redacted from raw"
        );
        assert_eq!(raw["virtualAccount"]["accountNumber"], "X600802567548");
        let va_ref = payment_from_slice(VA_REF).unwrap();
        assert_eq!(va_ref.virtual_account().unwrap().bank, Some(Bank::Nonghyup));
    }

    #[test]
    fn expired_with_failure() {
        let p = payment_from_slice(EXPIRED).unwrap();
        assert_eq!(p.status, PaymentStatus::Expired);
        assert_eq!(p.method, None);
        let f = p.failure.unwrap();
        assert_eq!(f.code, "EXPIRED_PAYMENT");
        assert_eq!(f.message, "결제가 만료되었습니다. 다시 시도해주세요.");
        assert!(p.secret.is_none());
        assert!(p.receipt_url.is_none());
    }

    #[test]
    fn usd_paypal_decimals() {
        let p = payment_from_slice(PAYPAL).unwrap();
        assert_eq!(p.total, Money::new(72_624, Currency::Usd));
        assert_eq!(p.balance, Money::new(54_468, Currency::Usd));
        assert_eq!(p.canceled, Money::new(18_156, Currency::Usd));
        assert_eq!(p.cancellations[0].amount, Money::new(18_156, Currency::Usd));
        assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
        assert_eq!(
            p.method,
            Some(PaymentMethod::EasyPay {
                provider: "PAYPAL".into()
            })
        );
    }

    #[test]
    fn two_partial_cancellations() {
        let p = payment_from_slice(CARD).unwrap();
        assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
        assert_eq!(p.balance, Money::krw(40_000));
        assert_eq!(p.canceled, Money::krw(18_000));
        let Some(PaymentMethod::Card(card)) = &p.method else {
            panic!()
        };
        assert_eq!(card.installment_months, 3);
        assert_eq!(card.card_type.as_deref(), Some("신용"));
        assert_eq!(card.masked_number.as_deref(), Some("48902300****406*"));
        assert!(p.receipt_url.is_some());
    }

    #[test]
    fn fully_refunded_by_balance_even_if_partial_canceled() {
        let json = r#"{"paymentKey":"k","orderId":"order-1","status":"PARTIAL_CANCELED",
            "currency":"KRW","totalAmount":1000,"balanceAmount":0,"method":"카드",
            "cancels":[{"cancelAmount":300},{"cancelAmount":700}]}"#;
        let p = payment_from_slice(json.as_bytes()).unwrap();
        assert_eq!(p.status, PaymentStatus::Canceled);
        assert_eq!(p.raw_status, "PARTIAL_CANCELED");
        assert!(p.is_fully_refunded());
    }

    #[test]
    fn fractional_krw_is_a_decode_error() {
        let json = br#"{"paymentKey":"k","orderId":"o","status":"DONE","currency":"KRW","totalAmount":374000.5}"#;
        assert_eq!(
            payment_from_slice(json).unwrap_err().kind(),
            ErrorKind::Decode
        );
        let json = br#"{"paymentKey":"k","orderId":"o","status":"DONE","totalAmount":"374000.00"}"#;
        assert_eq!(
            payment_from_slice(json).unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn request_bodies() {
        let c = ConfirmRequest::new("tgen_key", "order-0001", Money::krw(964_000));
        assert_eq!(
            serde_json::to_string(&confirm_body(&c).unwrap()).unwrap(),
            r#"{"paymentKey":"tgen_key","orderId":"order-0001","amount":964000}"#
        );
        let va = VirtualAccountRequest::new(
            Money::krw(30_000),
            "order-va-001",
            "주문",
            "홍길동",
            Bank::Shinhan,
        )
        .valid_hours(24);
        let json = serde_json::to_value(virtual_account_body(&va).unwrap()).unwrap();
        assert_eq!(json["bank"], "88");
        assert_eq!(json["validHours"], 24);
        assert_eq!(json["amount"], 30000);
        assert!(json.get("dueDate").is_none());
        let b = BillingChargeRequest::new(
            Secret::new("bk_123="),
            "customer-1",
            Money::krw(9_900),
            "order-bill-1",
            "구독",
        );
        let json = serde_json::to_value(billing_charge_body(&b).unwrap()).unwrap();
        assert_eq!(json["amount"], 9900);
        assert_eq!(json["customerKey"], "customer-1");
    }
}
