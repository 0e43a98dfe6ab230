//! Toss timestamps → `OffsetDateTime`.
//!
//! API objects use `yyyy-MM-dd'T'HH:mm:ss±hh:mm`; webhook `createdAt` has 0–9 fraction digits
//! and usually **no offset**, meaning Korean time (KST, +09:00). One lenient parser reads both.
//!
//! The text comes from unauthenticated input (a webhook body's `createdAt`, the
//! `tosspayments-webhook-transmission-time` header read before the signature is checked), so
//! this module does no unchecked arithmetic: every component is read by the `time` crate's
//! parsers or with checked operations.
#![deny(clippy::arithmetic_side_effects)]

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Korean Standard Time, +09:00.
pub const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `±hh:mm` (what Toss documents) and `±hhmm`: exactly two digits each, one mandatory sign.
const OFFSET_FORMATS: [&[BorrowedFormatItem<'static>]; 2] = [
    format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    format_description!("[offset_hour sign:mandatory][offset_minute]"),
];

/// Parses a Toss timestamp leniently: `2022-01-01T00:00:00`, with an optional fraction of 1 to
/// 9 digits, and an optional `Z` / `±hh:mm` / `±hhmm` offset (none means KST). `None` if
/// unreadable — never a panic, whatever the text.
///
/// ```
/// use hanpay_tosspayments::mapping::parse_toss_time;
/// let a = parse_toss_time("2026-01-02T14:46:59.65327").unwrap();
/// let b = parse_toss_time("2026-01-02T14:46:59.653270+09:00").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_toss_time("2024-04-25T19:00:00--128:00").is_none());
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
            let value: u32 = frac.parse().ok()?;
            let scale = 10u32.checked_pow(u32::try_from(9usize.checked_sub(digits)?).ok()?)?;
            (value.checked_mul(scale)?, rest)
        }
        None => (0, rest),
    };
    let offset = match rest {
        "" => KST,
        "Z" | "z" => UtcOffset::UTC,
        other => OFFSET_FORMATS
            .iter()
            .find_map(|format| UtcOffset::parse(other, format).ok())?,
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
            // A doubled sign used to read as −09:00.
            "2022-01-01T00:00:00+-9:00",
            "2022-01-01T00:00:00-+09:00",
            "2022-01-01T00:00:00+9:00",
            "2022-01-01T00:00:00+09:0",
            "2022-01-01T00:00:00+09:",
            "2022-01-01T00:00:00+",
            "2022-01-01T00:00:00+09:00Z",
            "2022-01-01T00:00:00+26:00",
            "2022-01-01T00:00:00+09:60",
        ] {
            assert!(parse_toss_time(bad).is_none(), "{bad}");
        }
    }

    /// `sign * h` in `i8` overflowed for `-128`: a panic (with overflow checks on) reachable
    /// from an unsigned webhook header. Every such offset is now simply unreadable.
    #[test]
    fn out_of_range_offsets_are_refused_without_panicking() {
        for bad in [
            "2024-04-25T19:00:00--128:00",
            "2024-04-25T19:00:00-00:-128",
            "2024-04-25T19:00:00+-128:00",
            "2024-04-25T19:00:00--12800",
            "2024-04-25T19:00:00-127:00",
            "2024-04-25T19:00:00+00:-1",
            "2024-04-25T19:00:00.999999999--128:-128",
        ] {
            assert!(parse_toss_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_exact() {
        let kst = parse_toss_time("2022-01-01T09:00:00+09:00").unwrap();
        let compact = parse_toss_time("2022-01-01T09:00:00+0900").unwrap();
        assert_eq!(kst, compact);
        let half = parse_toss_time("2022-01-01T00:00:00-00:30").unwrap();
        assert_eq!(half.offset(), UtcOffset::from_hms(0, -30, 0).unwrap());
        let far = parse_toss_time("2022-01-01T00:00:00-12:45").unwrap();
        assert_eq!(far.offset(), UtcOffset::from_hms(-12, -45, 0).unwrap());
        assert_eq!(
            parse_toss_time("2022-01-01T00:00:00+00:00")
                .unwrap()
                .offset(),
            UtcOffset::UTC
        );
    }
}
