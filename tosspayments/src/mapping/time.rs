//! Toss timestamps → `OffsetDateTime`.
//!
//! API objects use `yyyy-MM-dd'T'HH:mm:ss±hh:mm`; webhook `createdAt` has 0–9 fraction digits
//! and usually **no offset**, meaning Korean time (KST, +09:00). One lenient parser reads both.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Korean Standard Time, +09:00.
pub const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Parses a Toss timestamp leniently: `2022-01-01T00:00:00`, with an optional fraction of 1 to
/// 9 digits, and an optional `Z` / `±hh:mm` offset (none means KST). `None` if unreadable.
///
/// ```
/// use hanpay_tosspayments::mapping::parse_toss_time;
/// let a = parse_toss_time("2026-01-02T14:46:59.65327").unwrap();
/// let b = parse_toss_time("2026-01-02T14:46:59.653270+09:00").unwrap();
/// assert_eq!(a, b);
/// ```
pub fn parse_toss_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let head = text.get(..19)?;
    let rest = text.get(19..)?;
    let base = PrimitiveDateTime::parse(
        head,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()?;
    let (nanos, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let (frac, rest) = after.split_at(digits);
            let mut n: u32 = frac.parse().ok()?;
            for _ in digits..9 {
                n *= 10;
            }
            (n, rest)
        }
        None => (0, rest),
    };
    let offset = match rest {
        "" => KST,
        "Z" | "z" => UtcOffset::UTC,
        other => {
            let sign = match other.as_bytes().first()? {
                b'+' => 1i8,
                b'-' => -1i8,
                _ => return None,
            };
            let body = other.get(1..)?;
            let (h, m) = body
                .split_once(':')
                .unwrap_or((body.get(..2)?, body.get(2..)?));
            let h: i8 = h.parse().ok()?;
            let m: i8 = m.parse().ok()?;
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
    };
    base.replace_nanosecond(nanos)
        .ok()
        .map(|t| t.assume_offset(offset))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn api_and_webhook_formats() {
        let t = parse_toss_time("2024-09-03T19:30:22+09:00").unwrap();
        assert_eq!(t.offset(), KST);
        assert_eq!(t.hour(), 19);
        let w = parse_toss_time("2022-01-01T00:00:00.000000").unwrap();
        assert_eq!(w.offset(), KST);
        let seconds_only = parse_toss_time("2022-01-01T00:00:00").unwrap();
        assert_eq!(w, seconds_only);
        let nine = parse_toss_time("2022-01-01T00:00:00.123456789").unwrap();
        assert_eq!(nine.nanosecond(), 123_456_789);
        let one = parse_toss_time("2022-01-01T00:00:00.5").unwrap();
        assert_eq!(one.nanosecond(), 500_000_000);
        let z = parse_toss_time("2021-12-31T15:00:00Z").unwrap();
        assert_eq!(z, seconds_only);
        let neg = parse_toss_time("2021-12-31T10:00:00-05:00").unwrap();
        assert_eq!(neg, seconds_only);
    }

    #[test]
    fn garbage() {
        for bad in [
            "",
            "2022-01-01",
            "2022-01-01T00:00:00.",
            "2022-01-01T00:00:00.1234567890",
            "2022-01-01T00:00:00+9",
            "2022-13-01T00:00:00",
            "2022-01-01T00:00:00 junk",
            "ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋ",
        ] {
            assert!(parse_toss_time(bad).is_none(), "{bad}");
        }
    }
}
