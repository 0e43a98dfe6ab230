//! `Money` parsing from text: `from_decimal_str`, `from_json` (the raw JSON token) and the
//! serde form, in currencies with 0, 2 and 3 minor digits. Whatever is accepted must be exact:
//! it formats back to a decimal that parses to the same amount, and an exponent never passes.
#![no_main]

use hanpay_core::{Currency, Money};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fn currencies() -> [Currency; 4] {
    [
        Currency::Krw,
        Currency::Usd,
        Currency::Jpy,
        Currency::from_code("KWD"),
    ]
}

fn check_exact(money: &Money, text: &str) {
    assert!(!text.contains(['e', 'E']), "exponent accepted: {text:?}");
    let back = Money::from_decimal_str(&money.major_decimal_string(), money.currency().clone());
    assert_eq!(back.as_ref(), Ok(money), "{text:?}");
    let token = money.to_json_major();
    assert_eq!(
        Money::from_json(&token, money.currency().clone()).as_ref(),
        Ok(money)
    );
    let _ = money.to_string();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Currency::from_code(text).exponent();
    let raw = serde_json::from_str::<&RawValue>(text).ok();
    for currency in currencies() {
        let decimal = Money::from_decimal_str(text, currency.clone());
        if let Ok(money) = &decimal {
            check_exact(money, text);
        }
        if let Some(raw) = raw {
            let json = Money::from_json(raw, currency.clone());
            if let Ok(money) = &json {
                check_exact(money, text);
                // The JSON path reads the token's text with the decimal rules.
                assert_eq!(
                    Money::from_decimal_str(raw.get().trim(), currency.clone()).as_ref(),
                    Ok(money)
                );
            }
            let _ = json.map_err(|e| e.to_string());
        }
    }
    if let Ok(money) = serde_json::from_str::<Money>(text) {
        let again = serde_json::to_string(&money).expect("Money serialises");
        assert_eq!(serde_json::from_str::<Money>(&again).ok(), Some(money));
    }
});
