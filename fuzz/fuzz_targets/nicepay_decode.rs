//! NICEPAY response decoding, as the client does it: selector byte 0 → a Payment answer
//! (straight from the bytes into the wire type, the body kept as raw, then mapped: the balance
//! and the cancelled amount add up to the total), 1 → NICEPAY's `+0900` dates (strict: refused, or round-tripped), 2 → a result
//! code's classification. Input: selector, big-endian status (two bytes, unused), body.
#![no_main]

use hanpay_fuzz::decode_input;
use hanpay_nicepay::{errors, mapping};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, _status, body)) = decode_input(data) else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(payment) = mapping::payment_from_slice(body) {
                assert_eq!(
                    payment.balance.checked_add(&payment.canceled),
                    Ok(payment.total.clone())
                );
                let _ = format!("{payment:?}");
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(body) {
                // Anything undocumented is a decode error (never a panic); what decodes
                // formats back to a date that decodes to the same instant.
                let decoded = mapping::decode_nice_time(text);
                assert_eq!(mapping::parse_nice_time(text), decoded.ok().flatten());
                if let Ok(Some(t)) = decoded {
                    let again = mapping::decode_nice_time(&mapping::format_nice_time(t));
                    assert_eq!(again, Ok(Some(t)));
                }
            }
        }
        _ => {
            let code = String::from_utf8_lossy(body);
            let _ = format!("{:?}", errors::classify(&code));
        }
    }
});
