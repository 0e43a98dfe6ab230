//! Toss response decoding: selector byte 0 → a `Payment` (confirm / lookup / cancel answers),
//! 1 → one `cancels[]` entry, 2 → an error body with the given HTTP status.
//! Input: selector, big-endian status (two bytes), body.
#![no_main]

use hanpay_core::Currency;
use hanpay_fuzz::decode_input;
use hanpay_tosspayments::errors::error_from_response;
use hanpay_tosspayments::mapping::cancel::cancellation_from_wire;
use hanpay_tosspayments::mapping::payment_from_slice;
use hanpay_tosspayments::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, status, body)) = decode_input(data) else {
        return;
    };
    match selector % 3 {
        0 => match payment_from_slice(body) {
            Ok(payment) => {
                let _ = format!("{payment:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
        1 => {
            if let Ok(cancel) = serde_json::from_slice::<wire::Cancel>(body) {
                for currency in [Currency::Krw, Currency::Usd] {
                    let _ = format!("{:?}", cancellation_from_wire(&cancel, &currency));
                }
            }
        }
        _ => {
            let e = error_from_response("fuzz", status, body);
            let _ = format!("{e} {e:?}");
        }
    }
});
