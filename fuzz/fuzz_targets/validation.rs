//! Request validation on arbitrary text: order ids, payment keys, bank codes in every scheme
//! and refund accounts. Input: lines `bank code`, `account number`, `holder name`; the whole
//! text is also tried as an order id and a payment key.
#![no_main]

use hanpay_core::{validate_order_id, validate_payment_key, Bank, BankCodeTable, RefundAccount};
use libfuzzer_sys::fuzz_target;

// Each PG crate declares its own code table; core keeps the KFTC one.
const TABLES: [&BankCodeTable; 3] = [
    &hanpay_tosspayments::mapping::BANK_CODES,
    &hanpay_portone::mapping::BANK_NAMES,
    &BankCodeTable::KFTC,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match validate_order_id(text) {
        Ok(()) => {
            assert!((6..=64).contains(&text.chars().count()), "{text:?}");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'=' | b'-')),
                "{text:?}"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = validate_payment_key(text).map_err(|e| e.to_string());

    let mut lines = text.splitn(3, '\n');
    let code = lines.next().unwrap_or("");
    let number = lines.next().unwrap_or("");
    let holder = lines.next().unwrap_or("");
    for table in TABLES {
        let bank: Bank = table.bank(code);
        let _ = bank.korean_name();
        // A code the bank reports for a scheme reads back as the same bank.
        for other in TABLES {
            if let Some(back) = other.code(&bank) {
                assert_eq!(other.bank(back), bank, "{code:?}");
            }
        }
        match RefundAccount::new(bank, number, holder) {
            Ok(account) => {
                assert!(!account.number().is_empty());
                assert!(account.number().len() <= 20);
                assert!(account.number().bytes().all(|b| b.is_ascii_digit()));
                assert!(!account.holder_name().trim().is_empty());
                let _ = format!("{account:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
