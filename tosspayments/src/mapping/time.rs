//! Toss timestamps → `OffsetDateTime`.
//!
//! API objects use `yyyy-MM-dd'T'HH:mm:ss±hh:mm`; webhook `createdAt` has 0–9 fraction digits
//! and usually **no offset**, meaning Korean time (KST, +09:00). One lenient parser reads both.
//!
//! The text comes from unauthenticated input (a webhook body's `createdAt`, the
//! `tosspayments-webhook-transmission-time` header read before the signature is checked), so
//! this module does no unchecked arithmetic: every component is read with checked operations
//! and validated by the `time` crate's constructors.
#![deny(clippy::arithmetic_side_effects)]

use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// Korean Standard Time, +09:00.
pub const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Parses a Toss timestamp leniently: `2022-01-01T00:00:00`, with an optional fraction of 1 to
/// 9 digits, and an optional `Z` / `±hh:mm` / `±hhmm` offset (none means KST). `None` if
/// unreadable — never a panic, whatever the text.
///
/// The layout is fixed (every component has exactly its digits, one mandatory offset sign), so
/// it is read positionally and each value is checked by the `time` crate's constructors
/// (`Date::from_calendar_date`, `Time::from_hms_nano`, `UtcOffset::from_hms`) — a format
/// description would be interpreted anew on every call, and this runs on every webhook.
///
/// ```
/// use hanpay_tosspayments::mapping::parse_toss_time;
/// let a = parse_toss_time("2026-01-02T14:46:59.65327").unwrap();
/// let b = parse_toss_time("2026-01-02T14:46:59.653270+09:00").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_toss_time("2024-04-25T19:00:00--128:00").is_none());
/// ```
pub fn parse_toss_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim().as_bytes();
    let head = text.get(..19)?;
    let rest = text.get(19..)?;
    if head.get(4) != Some(&b'-')
        || head.get(7) != Some(&b'-')
        || head.get(10) != Some(&b'T')
        || head.get(13) != Some(&b':')
        || head.get(16) != Some(&b':')
    {
        return None;
    }
    let year = i32::try_from(digits(head.get(0..4)?)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(head.get(5..7)?)?).ok()?).ok()?;
    let day = u8::try_from(digits(head.get(8..10)?)?).ok()?;
    let hour = u8::try_from(digits(head.get(11..13)?)?).ok()?;
    let minute = u8::try_from(digits(head.get(14..16)?)?).ok()?;
    let second = u8::try_from(digits(head.get(17..19)?)?).ok()?;
    let (nanos, rest) = match rest.strip_prefix(b".") {
        Some(after) => {
            let count = after.iter().take_while(|b| b.is_ascii_digit()).count();
            if count == 0 || count > 9 {
                return None;
            }
            let (frac, rest) = after.split_at(count);
            let scale = 10u32.checked_pow(u32::try_from(9usize.checked_sub(count)?).ok()?)?;
            (digits(frac)?.checked_mul(scale)?, rest)
        }
        None => (0, rest),
    };
    let offset = match rest {
        b"" => KST,
        b"Z" | b"z" => UtcOffset::UTC,
        other => parse_offset(other)?,
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(date.with_time(time).assume_offset(offset))
}

/// `±hh:mm` (what Toss documents) and `±hhmm`: exactly two digits each, one mandatory sign.
fn parse_offset(text: &[u8]) -> Option<UtcOffset> {
    let (sign, rest) = text.split_first()?;
    let (hours, minutes) = match rest {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
        _ => return None,
    };
    let hours = i8::try_from(hours).ok()?;
    let minutes = i8::try_from(minutes).ok()?;
    let (hours, minutes) = match sign {
        b'+' => (hours, minutes),
        b'-' => (hours.checked_neg()?, minutes.checked_neg()?),
        _ => return None,
    };
    UtcOffset::from_hms(hours, minutes, 0).ok()
}

/// The value of a run of ASCII digits; `None` if any byte is not one (or on overflow).
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?
            .checked_add(u32::from(b.checked_sub(b'0')?))
    })
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
