//! PortOne response decoding, as the client does it: selector byte 0 → a `Payment` (straight
//! from the bytes into the wire type, the body kept as raw, then mapped; cross-checked against
//! a decode through a `Value`), 1 → a `CancelPaymentResponse`,
//! 2 → an error body with the given HTTP status.
//! Input: selector, big-endian status (two bytes), body.
#![no_main]

use hanpay_core::{Currency, RawJson};
use hanpay_fuzz::{decode_input, received_at};
use hanpay_portone::{errors, mapping, wire};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

fuzz_target!(|data: &[u8]| {
    let Some((selector, status, body)) = decode_input(data) else {
        return;
    };
    match selector % 3 {
        0 => {
            let Ok(payment) = serde_json::from_slice::<wire::Payment>(body) else {
                return;
            };
            // Through a `Value` it decodes the same way (when it decodes at all: a `Value`
            // keeps the last of duplicate keys, the direct path refuses them).
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
                if let Ok(via_value) = wire::Payment::deserialize(&value) {
                    assert_eq!(via_value, payment);
                }
            }
            let raw = RawJson::new(body.to_vec());
            if let Ok(mapped) = mapping::payment(&payment, raw, received_at()) {
                assert_eq!(
                    mapped.balance.checked_add(&mapped.canceled),
                    Ok(mapped.total.clone())
                );
                let _ = format!("{mapped:?}");
            }
        }
        1 => {
            if let Ok(answer) = serde_json::from_slice::<wire::CancelPaymentResponse>(body) {
                let _ = format!(
                    "{:?}",
                    mapping::cancellation(&answer.cancellation, &Currency::Krw)
                );
            }
        }
        _ => {
            let e = errors::from_response("fuzz", status, body);
            let _ = format!("{e} {e:?}");
        }
    }
});
