//! `parse_toss_time` on arbitrary text (reached from unsigned webhook bodies and from the
//! transmission-time header before the signature is checked). What it accepts formats back to
//! RFC 3339 and reads back as the same instant.
#![no_main]

use hanpay_tosspayments::mapping::parse_toss_time;
use libfuzzer_sys::fuzz_target;
use time::format_description::well_known::Rfc3339;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(parsed) = parse_toss_time(text) else {
        return;
    };
    if let Ok(formatted) = parsed.format(&Rfc3339) {
        assert_eq!(
            parse_toss_time(&formatted),
            Some(parsed),
            "{text:?} → {formatted}"
        );
    }
});
