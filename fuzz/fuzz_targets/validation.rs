//! Request validation on arbitrary text: order ids, payment keys, bank codes in every scheme
//! and refund accounts. Input: lines `bank code`, `account number`, `holder name`; the whole
//! text is also tried as an order id and a payment key.
#![no_main]

use hanpay_core::{validate_order_id, validate_payment_key, Bank, BankCodeScheme, RefundAccount};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [BankCodeScheme; 3] = [
    BankCodeScheme::Toss,
    BankCodeScheme::PortOneV2,
    BankCodeScheme::Kftc,
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
    for scheme in SCHEMES {
        let bank = Bank::from_code(scheme, code);
        let _ = bank.korean_name();
        // A code the bank reports for a scheme reads back as the same bank.
        for other in SCHEMES {
            if let Some(back) = bank.code(other) {
                assert_eq!(Bank::from_code(other, back), bank, "{code:?}");
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
