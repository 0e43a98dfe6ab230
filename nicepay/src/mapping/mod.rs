//! Pure wire ↔ core conversions for NICEPAY: statuses, pay methods, virtual accounts, 3-digit
//! bank codes, cancels, dates. No I/O here.
//!
//! | NICEPAY `status` | hanpay |
//! | --- | --- |
//! | `paid` | `Paid` |
//! | `ready` with a `vbank{}` (or `payMethod: vbank`) | `WaitingForDeposit` |
//! | `ready` otherwise | `Ready` |
//! | `partialCancelled` | `PartiallyCanceled` (`Canceled` once `balanceAmt` is 0) |
//! | `cancelled` | `Canceled` |
//! | `failed` | `Failed` |
//! | `expired` | `Expired` |
//! | anything else (raw kept in `raw_status`) | `Unknown` |
//!
//! Pay methods: `card` → card, `vbank` → virtual account, `bank` → transfer, `cellphone` → mobile
//! phone, the wallets (`naverpay`, `kakaopay`, `payco`, `ssgpay`, `samsungpay` and the window's
//! `naverpayCard`, `kakaopayCard`, `kakaopayMoney`, `samsungpayCard`) → easy pay keeping the
//! raw name; anything else → [`PaymentMethod::Other`] with the raw name. The cancel mapping is
//! [`cancel`].

pub mod cancel;
mod time;

use bytes::Bytes;
use hanpay_core::{
    Bank, CardDetails, Currency, Failure, Money, Payment, PaymentError, PaymentMethod,
    PaymentStatus, ProviderId, RawJson, VirtualAccountDetails,
};

pub use self::time::{decode_nice_time, format_nice_time, parse_nice_time, NiceTimeError};
use crate::wire;

/// The provider id, `"nicepay"`.
pub const PROVIDER_ID: ProviderId = ProviderId::from_static(crate::ID);

/// The same id as a static, for `PaymentProvider::id`.
pub(crate) static PROVIDER: ProviderId = PROVIDER_ID;

/// The `resultCode` of success.
pub const SUCCESS: &str = "0000";

/// NICEPAY `status` → unified status (see the module table).
///
/// ```
/// use hanpay_core::PaymentStatus;
/// use hanpay_nicepay::mapping::map_status;
/// assert_eq!(map_status("ready", true, false), PaymentStatus::WaitingForDeposit);
/// assert_eq!(map_status("partialCancelled", false, true), PaymentStatus::Canceled);
/// assert_eq!(map_status("someday", false, false), PaymentStatus::Unknown);
/// ```
pub fn map_status(status: &str, is_vbank: bool, balance_is_zero: bool) -> PaymentStatus {
    match status {
        "paid" => PaymentStatus::Paid,
        "ready" if is_vbank => PaymentStatus::WaitingForDeposit,
        "ready" => PaymentStatus::Ready,
        "partialCancelled" if balance_is_zero => PaymentStatus::Canceled,
        "partialCancelled" => PaymentStatus::PartiallyCanceled,
        "cancelled" => PaymentStatus::Canceled,
        "failed" => PaymentStatus::Failed,
        "expired" => PaymentStatus::Expired,
        _ => PaymentStatus::Unknown,
    }
}

/// A 3-digit NICEPAY bank code → [`Bank`] (KFTC scheme; unknown codes kept raw).
///
/// ```
/// use hanpay_core::Bank;
/// use hanpay_nicepay::mapping::bank_from_code;
/// assert_eq!(bank_from_code("088"), Bank::Shinhan);
/// assert!(matches!(bank_from_code("026"), Bank::Unknown { .. })); // 서울은행, long merged
/// ```
pub fn bank_from_code(code: &str) -> Bank {
    Bank::from_kftc_code(code)
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_easy_pay(method: &str) -> bool {
    matches!(
        method,
        "naverpay"
            | "kakaopay"
            | "payco"
            | "ssgpay"
            | "samsungpay"
            | "naverpayCard"
            | "kakaopayCard"
            | "kakaopayMoney"
            | "samsungpayCard"
            | "cardAndEasyPay"
    )
}

/// Installment months from `cardQuota` (`"0"`, `"00"`, `0`, `"03"`); anything unreadable is 0.
fn installments(quota: Option<&wire::Lenient>) -> u32 {
    quota
        .map(|q| q.0.trim())
        .filter(|q| !q.is_empty() && q.len() <= 3)
        .and_then(|q| q.parse::<u32>().ok())
        .unwrap_or(0)
}

/// The pay method with its details.
pub fn method_from_wire(p: &wire::Payment, expired: bool) -> Option<PaymentMethod> {
    let raw = p.pay_method.as_deref().map(str::trim).unwrap_or("");
    let method = match raw {
        "" => {
            // No method named: infer from the objects present.
            if p.vbank.is_some() {
                "vbank"
            } else if p.card.is_some() {
                "card"
            } else {
                return None;
            }
        }
        other => other,
    };
    Some(match method {
        "card" => {
            let card = p.card.clone().unwrap_or_default();
            PaymentMethod::Card(CardDetails {
                issuer_code: non_empty(card.card_code.as_ref()),
                acquirer_code: non_empty(card.acqu_card_code.as_ref()),
                masked_number: non_empty(card.card_num.as_ref()),
                installment_months: installments(card.card_quota.as_ref()),
                approval_number: non_empty(p.approve_no.as_ref()),
                card_type: non_empty(card.card_type.as_ref()),
            })
        }
        "vbank" => {
            let vbank = p.vbank.clone().unwrap_or_default();
            PaymentMethod::VirtualAccount(VirtualAccountDetails {
                bank: non_empty(vbank.vbank_code.as_ref()).map(|c| bank_from_code(&c)),
                account_number: non_empty(vbank.vbank_number.as_ref()).unwrap_or_default(),
                customer_name: non_empty(vbank.vbank_holder.as_ref()),
                due_date: vbank.vbank_exp_date.as_deref().and_then(parse_nice_time),
                expired,
                refund_status: None,
            })
        }
        "bank" => PaymentMethod::Transfer {
            bank: p
                .bank
                .as_ref()
                .and_then(|b| non_empty(b.bank_code.as_ref()))
                .map(|c| bank_from_code(&c)),
        },
        "cellphone" => PaymentMethod::MobilePhone,
        m if is_easy_pay(m) => PaymentMethod::EasyPay {
            provider: m.to_owned(),
        },
        other => PaymentMethod::Other {
            raw: other.to_owned(),
        },
    })
}

fn decode_error(message: String) -> PaymentError {
    PaymentError::new(hanpay_core::ErrorKind::Decode, message).with_provider(PROVIDER_ID)
}

/// A decoded Payment object → core [`Payment`]. `raw` is the body as received.
///
/// Fails (as [`ErrorKind::Decode`](hanpay_core::ErrorKind::Decode)) only without a `tid`, or when
/// the amounts do not add up (negative, a balance above the amount).
pub fn payment_from_wire(p: &wire::Payment, raw: RawJson) -> Result<Payment, PaymentError> {
    let tid = non_empty(p.tid.as_ref())
        .ok_or_else(|| decode_error("NICEPAY sent a payment without a tid".into()))?;
    let currency = p
        .currency
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(Currency::from_code)
        .unwrap_or(Currency::Krw);
    let raw_status = p.status.clone().unwrap_or_default();
    let cancellations: Vec<_> = p
        .cancels
        .iter()
        .flatten()
        .map(|c| cancel::cancellation_from_wire(c, &currency))
        .collect();
    let total = p.amount.map_or(0, wire::Amount::get);
    let canceled_sum = cancellations
        .iter()
        .try_fold(0i64, |acc, c| acc.checked_add(c.amount.minor_units()))
        .ok_or_else(|| decode_error("the cancellations overflow".into()))?;
    let balance = match p.balance_amt {
        Some(b) => b.get(),
        None => total
            .checked_sub(canceled_sum)
            .ok_or_else(|| decode_error("the cancellations overflow".into()))?,
    };
    if total < 0 || balance < 0 || balance > total {
        return Err(decode_error(format!(
            "NICEPAY sent amount {total} with balance {balance}"
        )));
    }
    let is_vbank = p.pay_method.as_deref() == Some("vbank") || p.vbank.is_some();
    let status = map_status(raw_status.trim(), is_vbank, balance == 0 && total > 0);
    let failure = (status == PaymentStatus::Failed).then(|| Failure {
        code: p.result_code.clone().unwrap_or_default(),
        message: p.result_msg.clone().unwrap_or_default(),
    });
    Ok(Payment {
        provider: PROVIDER_ID,
        payment_key: tid,
        order_id: p.order_id.clone().unwrap_or_default(),
        order_name: non_empty(p.goods_name.as_ref()),
        status,
        raw_status,
        method: method_from_wire(p, status == PaymentStatus::Expired),
        total: Money::new(total, currency.clone()),
        balance: Money::new(balance, currency.clone()),
        canceled: Money::new(total - balance, currency),
        cancellations,
        requested_at: None,
        approved_at: p.paid_at.as_deref().and_then(parse_nice_time),
        failure,
        receipt_url: non_empty(p.receipt_url.as_ref()),
        secret: None,
        raw,
    })
}

/// Decodes a Payment answer body (UTF-8 whatever the charset header says) into a core payment:
/// one parse, straight into the wire types; the body itself is kept (not copied) as
/// [`Payment::raw`].
pub fn payment_from_bytes(body: Bytes) -> Result<Payment, PaymentError> {
    let wire: wire::Payment = serde_json::from_slice(&body)
        .map_err(|e| decode_error(format!("NICEPAY sent an unreadable Payment: {e}")))?;
    payment_from_wire(&wire, RawJson::new(body))
}

/// [`payment_from_bytes`] for a borrowed body (copied once, to be kept as [`Payment::raw`]).
pub fn payment_from_slice(body: &[u8]) -> Result<Payment, PaymentError> {
    payment_from_bytes(Bytes::copy_from_slice(body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_status() {
        use PaymentStatus as S;
        let table = [
            ("paid", false, false, S::Paid),
            ("paid", true, false, S::Paid),
            ("ready", true, false, S::WaitingForDeposit),
            ("ready", false, false, S::Ready),
            ("failed", false, false, S::Failed),
            ("cancelled", false, true, S::Canceled),
            ("partialCancelled", false, false, S::PartiallyCanceled),
            ("partialCancelled", false, true, S::Canceled),
            ("expired", true, false, S::Expired),
            ("", false, false, S::Unknown),
            ("PAID", false, false, S::Unknown),
            ("refunded", false, false, S::Unknown),
        ];
        for (raw, vbank, zero, want) in table {
            assert_eq!(map_status(raw, vbank, zero), want, "{raw}");
        }
    }

    #[test]
    fn every_bank_code_of_the_reference() {
        let known = [
            ("002", Bank::Kdb),
            ("003", Bank::Ibk),
            ("004", Bank::Kookmin),
            ("007", Bank::Suhyup),
            ("011", Bank::Nonghyup),
            ("012", Bank::LocalNonghyup),
            ("020", Bank::Woori),
            ("023", Bank::StandardChartered),
            ("027", Bank::Citi),
            ("031", Bank::Daegu),
            ("032", Bank::Busan),
            ("034", Bank::Kwangju),
            ("035", Bank::Jeju),
            ("037", Bank::Jeonbuk),
            ("039", Bank::Kyongnam),
            ("045", Bank::Saemaul),
            ("048", Bank::Shinhyup),
            ("050", Bank::SavingsBank),
            ("071", Bank::Post),
            ("081", Bank::Hana),
            ("088", Bank::Shinhan),
            ("089", Bank::KBank),
            ("090", Bank::KakaoBank),
        ];
        for (code, bank) in known {
            assert_eq!(bank_from_code(code), bank, "{code}");
            assert_eq!(bank.kftc_code(), Some(code));
        }
        // 한국은행, 외환 (merged into 하나), 수출입, 서울: no core variant; kept raw.
        for code in ["001", "005", "008", "026", "999", "", "88"] {
            match bank_from_code(code) {
                Bank::Unknown { code: raw, .. } => assert_eq!(raw, code.trim()),
                other => panic!("{code} mapped to {other:?}"),
            }
        }
    }

    fn wire_with_method(method: &str) -> wire::Payment {
        wire::Payment {
            tid: Some("T".into()),
            pay_method: Some(method.into()),
            amount: Some(wire::Amount::new(1000)),
            status: Some("paid".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_pay_method() {
        let m = |s: &str| method_from_wire(&wire_with_method(s), false);
        assert!(matches!(m("card"), Some(PaymentMethod::Card(_))));
        assert!(matches!(m("vbank"), Some(PaymentMethod::VirtualAccount(_))));
        assert!(matches!(
            m("bank"),
            Some(PaymentMethod::Transfer { bank: None })
        ));
        assert_eq!(m("cellphone"), Some(PaymentMethod::MobilePhone));
        for wallet in [
            "naverpay",
            "kakaopay",
            "payco",
            "ssgpay",
            "samsungpay",
            "naverpayCard",
            "kakaopayCard",
            "kakaopayMoney",
            "samsungpayCard",
            "cardAndEasyPay",
        ] {
            assert_eq!(
                m(wallet),
                Some(PaymentMethod::EasyPay {
                    provider: wallet.into()
                })
            );
        }
        assert_eq!(
            m("giftcard"),
            Some(PaymentMethod::Other {
                raw: "giftcard".into()
            })
        );
        assert_eq!(m(""), None);
        let mut transfer = wire_with_method("bank");
        transfer.bank = Some(wire::BankTransfer {
            bank_code: Some("004".into()),
            bank_name: Some("국민".into()),
        });
        assert_eq!(
            method_from_wire(&transfer, false),
            Some(PaymentMethod::Transfer {
                bank: Some(Bank::Kookmin)
            })
        );
    }

    #[test]
    fn installments_from_quota() {
        let q = |s: &str| installments(Some(&wire::Lenient(s.into())));
        assert_eq!(q("0"), 0);
        assert_eq!(q("00"), 0);
        assert_eq!(q("03"), 3);
        assert_eq!(q("12"), 12);
        assert_eq!(q("x"), 0);
        assert_eq!(q("99999999999"), 0);
        assert_eq!(installments(None), 0);
    }

    #[test]
    fn amounts_must_add_up() {
        let mut w = wire_with_method("card");
        w.balance_amt = Some(wire::Amount::new(2000));
        assert!(payment_from_wire(&w, RawJson::new(Bytes::new())).is_err());
        w.balance_amt = Some(wire::Amount::new(-1));
        assert!(payment_from_wire(&w, RawJson::new(Bytes::new())).is_err());
        w.balance_amt = None;
        let p = payment_from_wire(&w, RawJson::new(Bytes::new())).unwrap();
        assert_eq!(p.balance, Money::krw(1000));
        w.tid = Some(" ".into());
        assert!(payment_from_wire(&w, RawJson::new(Bytes::new())).is_err());
    }
}
