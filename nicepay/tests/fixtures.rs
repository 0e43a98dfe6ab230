//! The reference's payloads (and ones built from its field tables) through the mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_core::{Bank, Money, PaymentMethod, PaymentStatus};
use hanpay_nicepay::mapping::payment_from_slice;
use hanpay_nicepay::webhook_signature;

const APPROVE: &[u8] = include_bytes!("fixtures/approve_sandbox.json");
const PARTIAL: &[u8] = include_bytes!("fixtures/partial_cancel.json");
const VBANK: &[u8] = include_bytes!("fixtures/vbank_ready.json");

#[test]
fn sandbox_approve_example() {
    let p = payment_from_slice(APPROVE).unwrap();
    assert_eq!(p.provider.as_str(), "nicepay");
    assert_eq!(p.payment_key, "UT0000113m01012111051714341073");
    assert_eq!(p.order_id, "c74a5960-830b-4cd8-82a9-fa1ce739a18f");
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.raw_status, "paid");
    assert_eq!(p.total, Money::krw(1004));
    assert_eq!(p.balance, Money::krw(1004));
    assert_eq!(p.canceled, Money::krw(0));
    assert!(p.cancellations.is_empty());
    assert_eq!(p.order_name.as_deref(), Some("나이스페이-상품"));
    let approved = p.approved_at.unwrap();
    assert_eq!(approved.offset().whole_hours(), 9);
    assert_eq!(approved.unix_timestamp(), 1_636_100_075);
    let Some(PaymentMethod::Card(card)) = &p.method else {
        panic!("{:?}", p.method)
    };
    assert_eq!(card.issuer_code.as_deref(), Some("04"));
    assert_eq!(card.acquirer_code.as_deref(), Some("04"));
    assert_eq!(card.masked_number.as_deref(), Some("123412******1234"));
    assert_eq!(card.installment_months, 0);
    assert_eq!(card.approval_number.as_deref(), Some("000000"));
    assert_eq!(card.card_type.as_deref(), Some("credit"));
    assert_eq!(p.raw.value()["resultMsg"], "정상 처리되었습니다.");
    // The example's signature is the documented hash of its own fields.
    assert_eq!(
        webhook_signature(
            &p.payment_key,
            1004,
            "2021-11-05T17:14:35.150+0900",
            "9eb85607103646da9f9c02b128f2e5ee"
        ),
        p.raw.value()["signature"].as_str().unwrap()
    );
}

#[test]
fn partial_cancel_with_cancels_and_quirks() {
    let p = payment_from_slice(PARTIAL).unwrap();
    assert_eq!(p.status, PaymentStatus::PartiallyCanceled);
    assert_eq!(p.total, Money::krw(1004));
    assert_eq!(p.balance, Money::krw(504));
    assert_eq!(p.canceled, Money::krw(500));
    assert_eq!(p.cancellations.len(), 1);
    let c = &p.cancellations[0];
    assert_eq!(c.amount, Money::krw(500));
    assert_eq!(
        c.transaction_key.as_deref(),
        Some("UT0000113m01012111051720000001")
    );
    assert_eq!(
        c.transaction_key.as_deref(),
        p.raw.value()["cancelledTid"].as_str()
    );
    assert_eq!(c.reason.as_deref(), Some("고객 변심"));
    assert!(c.canceled_at.is_some());
    let Some(PaymentMethod::Card(card)) = &p.method else {
        panic!("{:?}", p.method)
    };
    // cardQuota as a string, canPartCancel as a string.
    assert_eq!(card.installment_months, 3);
}

#[test]
fn vbank_ready_is_waiting_for_deposit() {
    let p = payment_from_slice(VBANK).unwrap();
    assert_eq!(p.status, PaymentStatus::WaitingForDeposit);
    assert!(!p.is_deposited_virtual_account());
    let va = p.virtual_account().unwrap();
    assert_eq!(va.bank, Some(Bank::Shinhan));
    assert_eq!(va.account_number, "56490000000001");
    assert_eq!(va.customer_name.as_deref(), Some("홍길동"));
    assert_eq!(va.due_date.unwrap().offset().whole_hours(), 9);
    assert!(!va.expired);
    // "0" means unset.
    assert!(p.approved_at.is_none());

    // The same after the deposit, and once expired.
    let text = String::from_utf8(VBANK.to_vec()).unwrap();
    let paid = payment_from_slice(text.replace("\"ready\"", "\"paid\"").as_bytes()).unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert!(paid.is_deposited_virtual_account());
    let expired = payment_from_slice(text.replace("\"ready\"", "\"expired\"").as_bytes()).unwrap();
    assert_eq!(expired.status, PaymentStatus::Expired);
    assert!(expired.virtual_account().unwrap().expired);
}

#[test]
fn full_cancel_down_to_zero_and_unknown_status() {
    let text = String::from_utf8(PARTIAL.to_vec()).unwrap();
    let zero = text.replace("\"balanceAmt\":504", "\"balanceAmt\":0");
    // partialCancelled with nothing left reads as canceled.
    assert_eq!(
        payment_from_slice(zero.as_bytes()).unwrap().status,
        PaymentStatus::Canceled
    );
    let unknown = text.replace("partialCancelled", "refundPending");
    let p = payment_from_slice(unknown.as_bytes()).unwrap();
    assert_eq!(p.status, PaymentStatus::Unknown);
    assert_eq!(p.raw_status, "refundPending");
    let method = text.replace("\"payMethod\":\"card\"", "\"payMethod\":\"tosspay\"");
    assert_eq!(
        payment_from_slice(method.as_bytes()).unwrap().method,
        Some(PaymentMethod::Other {
            raw: "tosspay".into()
        })
    );
}

#[test]
fn amounts_never_through_a_float() {
    let text = String::from_utf8(APPROVE.to_vec()).unwrap();
    for bad in [
        "\"amount\":1004.0",
        "\"amount\":\"1004\"",
        "\"amount\":1.004e3",
    ] {
        let body = text.replace("\"amount\":1004", bad);
        assert!(payment_from_slice(body.as_bytes()).is_err(), "{bad}");
    }
    let big = text
        .replace("\"amount\":1004", "\"amount\":999999999999")
        .replace("\"balanceAmt\":1004", "\"balanceAmt\":999999999999");
    assert_eq!(
        payment_from_slice(big.as_bytes()).unwrap().total,
        Money::krw(999_999_999_999)
    );
}
