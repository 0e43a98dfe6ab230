//! NICEPAY timestamps: ISO 8601 with milliseconds and a colon-less offset
//! (`2021-11-05T17:14:35.150+0900`), the string `"0"` when unset (reference §7).
//!
//! Only what NICEPAY documents is read: `YYYY-MM-DDTHH:MM:SS`, then at most three fraction
//! digits (millisecond precision), then a `+0900`-style offset (`+09:00` too, as the MCP
//! examples write it) within ±14:00. Everything read is written back by [`format_nice_time`]
//! to the same instant; anything else (a tenth fraction digit, `Z`, an offset such as `+2050`)
//! is a [`NiceTimeError`], never a panic.

use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Why a NICEPAY timestamp could not be read. The input itself is never quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NiceTimeError {
    /// Not `YYYY-MM-DDTHH:MM:SS[.fff]±HHMM` (or `±HH:MM`).
    #[error("NICEPAY date is not ISO 8601 as YYYY-MM-DDTHH:MM:SS[.fff]+HHMM")]
    Shape,
    /// More than three fraction digits: NICEPAY sends milliseconds at most.
    #[error("NICEPAY date has more than millisecond precision")]
    Precision,
    /// The date or the time of day does not exist (month 13, February 30th, 24:00, …).
    #[error("NICEPAY date names a day or time that does not exist")]
    OutOfRange,
    /// The offset is beyond ±14:00, or its minutes are not 00–59.
    #[error("NICEPAY date has an offset beyond ±14:00")]
    Offset,
}

/// Reads a NICEPAY timestamp strictly: `Ok(None)` for the documented unset values (`"0"`, or
/// an empty string), `Ok(Some(_))` for a documented date, an error for anything else.
/// Surrounding whitespace is ignored.
///
/// ```
/// use hanpay_nicepay::mapping::{decode_nice_time, NiceTimeError};
/// assert!(decode_nice_time("2021-11-05T17:14:35.150+0900").unwrap().is_some());
/// assert_eq!(decode_nice_time("0"), Ok(None));
/// assert_eq!(decode_nice_time("2021-11-05T17:14:35.1500+0900"), Err(NiceTimeError::Precision));
/// ```
pub fn decode_nice_time(text: &str) -> Result<Option<OffsetDateTime>, NiceTimeError> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return Ok(None);
    }
    let b = text.as_bytes();
    // "YYYY-MM-DDTHH:MM:SS" is 19 bytes, all ASCII when well formed.
    if b.len() < 19 || !b.is_ascii() {
        return Err(NiceTimeError::Shape);
    }
    let (head, mut rest) = b.split_at(19);
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if punctuation.iter().any(|&(i, c)| head[i] != c) {
        return Err(NiceTimeError::Shape);
    }
    let year = digits(&head[0..4])?;
    let month = digits(&head[5..7])?;
    let day = digits(&head[8..10])?;
    let hour = digits(&head[11..13])?;
    let minute = digits(&head[14..16])?;
    let second = digits(&head[17..19])?;

    let mut millis = 0;
    if let Some((b'.', after)) = rest.split_first() {
        let n = after.iter().take_while(|c| c.is_ascii_digit()).count();
        match n {
            0 => return Err(NiceTimeError::Shape),
            1..=3 => {}
            _ => return Err(NiceTimeError::Precision),
        }
        let (fraction, tail) = after.split_at(n);
        // 1 digit is tenths, 2 hundredths, 3 milliseconds.
        millis = digits(fraction)? * [100, 10, 1][n - 1];
        rest = tail;
    }

    let (sign, offset) = match rest.split_first() {
        Some((b'+', o)) => (1, o),
        Some((b'-', o)) => (-1, o),
        _ => return Err(NiceTimeError::Shape),
    };
    let (offset_hours, offset_minutes) = match offset {
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
        _ => return Err(NiceTimeError::Shape),
    };
    if offset_minutes > 59 || offset_hours * 60 + offset_minutes > 14 * 60 {
        return Err(NiceTimeError::Offset);
    }

    let small = |v: u32| u8::try_from(v).map_err(|_| NiceTimeError::OutOfRange);
    let month = Month::try_from(small(month)?).map_err(|_| NiceTimeError::OutOfRange)?;
    let year = i32::try_from(year).map_err(|_| NiceTimeError::OutOfRange)?;
    let date = Date::from_calendar_date(year, month, small(day)?)
        .map_err(|_| NiceTimeError::OutOfRange)?;
    let millis = u16::try_from(millis).map_err(|_| NiceTimeError::OutOfRange)?;
    let clock = Time::from_hms_milli(small(hour)?, small(minute)?, small(second)?, millis)
        .map_err(|_| NiceTimeError::OutOfRange)?;
    let offset_hours = i8::try_from(offset_hours).map_err(|_| NiceTimeError::Offset)?;
    let offset_minutes = i8::try_from(offset_minutes).map_err(|_| NiceTimeError::Offset)?;
    let offset = UtcOffset::from_hms(sign * offset_hours, sign * offset_minutes, 0)
        .map_err(|_| NiceTimeError::Offset)?;
    Ok(Some(
        PrimitiveDateTime::new(date, clock).assume_offset(offset),
    ))
}

/// The decimal value of a run of ASCII digits (at most four here, so no overflow).
fn digits(run: &[u8]) -> Result<u32, NiceTimeError> {
    run.iter().try_fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            Ok(acc * 10 + u32::from(c - b'0'))
        } else {
            Err(NiceTimeError::Shape)
        }
    })
}

/// Parses a NICEPAY timestamp. `"0"`, `""` and anything [`decode_nice_time`] refuses are
/// `None` (never a panic): an answer's unreadable date is an unknown time, not a failed
/// payment. Reads the same without milliseconds, and with a `+09:00` offset as the MCP
/// examples write.
///
/// ```
/// use hanpay_nicepay::mapping::parse_nice_time;
/// let t = parse_nice_time("2021-11-05T17:14:35.150+0900").unwrap();
/// assert_eq!(t.offset().whole_hours(), 9);
/// assert_eq!(t.millisecond(), 150);
/// assert!(parse_nice_time("0").is_none());
/// ```
pub fn parse_nice_time(text: &str) -> Option<OffsetDateTime> {
    decode_nice_time(text).ok().flatten()
}

/// Writes a request `ediDate` in the answers' own style (`2021-11-05T17:14:35.150+0900`),
/// truncated to the millisecond. Whatever [`decode_nice_time`] read comes back as the same
/// instant.
pub fn format_nice_time(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
    );
    t.format(&f).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let a = parse_nice_time("2021-11-05T17:14:35.150+0900").unwrap();
        assert_eq!(a.unix_timestamp(), 1_636_100_075);
        let b = parse_nice_time("2021-11-05T17:14:35+0900").unwrap();
        assert_eq!(b.unix_timestamp(), a.unix_timestamp());
        let c = parse_nice_time("2025-06-30T21:00:00+09:00").unwrap();
        assert_eq!(c.offset().whole_hours(), 9);
        for unset in [
            "0",
            "",
            " 0 ",
            "20230214",
            "2021-13-05T17:14:35.150+0900",
            "garbage",
        ] {
            assert!(parse_nice_time(unset).is_none(), "{unset}");
        }
        assert_eq!(format_nice_time(a), "2021-11-05T17:14:35.150+0900");
    }

    /// What the fuzz target checks: a date that decodes formats back to the same instant.
    fn round_trips(text: &str) {
        let t = decode_nice_time(text).unwrap().unwrap();
        assert_eq!(
            decode_nice_time(&format_nice_time(t)),
            Ok(Some(t)),
            "{text}"
        );
    }

    /// The fuzz target's property on its finding (and on the odd offsets it reached): either
    /// refused, or read back to the same instant.
    #[test]
    fn fuzz_finding_round_trips_or_is_refused() {
        for text in [
            "2024-02-29T23:59:59.555555555999+2050",
            "2024-02-29T23:59:59.555555555+2050",
            "2024-02-29T23:59:59.555555+0900",
            "2024-02-29T23:59:59.555z",
        ] {
            if let Some(t) = parse_nice_time(text) {
                assert_eq!(parse_nice_time(&format_nice_time(t)), Some(t), "{text}");
            }
        }
    }

    #[test]
    fn documented_dates_round_trip() {
        for text in [
            "2021-11-05T17:14:35.150+0900",
            "2021-11-05T17:14:35+0900",
            "2021-11-05T17:14:35.1+0900",
            "2021-11-05T17:14:35.15+0900",
            "2025-06-30T21:00:00+09:00",
            "2024-02-29T23:59:59.999-1200",
            "0001-01-01T00:00:00.000+1400",
            "9999-12-31T23:59:59.999+0000",
        ] {
            round_trips(text);
        }
        let t = decode_nice_time("2021-11-05T17:14:35.15+0900")
            .unwrap()
            .unwrap();
        assert_eq!(t.millisecond(), 150);
        assert_eq!(format_nice_time(t), "2021-11-05T17:14:35.150+0900");
    }

    #[test]
    fn undocumented_dates_are_decode_errors() {
        use NiceTimeError::*;
        for (text, why) in [
            // The fuzz finding: twelve fraction digits and an offset of +20:50.
            ("2024-02-29T23:59:59.555555555999+2050", Precision),
            ("2024-02-29T23:59:59.5555+0900", Precision),
            ("2024-02-29T23:59:59.555+2050", Offset),
            ("2024-02-29T23:59:59.555+0960", Offset),
            ("2024-02-29T23:59:59.555+1401", Offset),
            ("2024-02-29T23:59:59.555z", Shape),
            ("2024-02-29T23:59:59.555Z", Shape),
            ("2024-02-29T23:59:59.+0900", Shape),
            ("2024-02-29T23:59:59", Shape),
            ("2024-02-29T23:59:59+09", Shape),
            ("2024-02-29t23:59:59+0900", Shape),
            ("+2024-02-29T23:59:59+0900", Shape),
            ("2024-02-29T23:59:59+0900 extra", Shape),
            ("2024-02-29T23:59:５9+0900", Shape),
            ("2023-02-29T23:59:59+0900", OutOfRange),
            ("2024-02-29T24:00:00+0900", OutOfRange),
            ("2024-02-29T23:59:60+0900", OutOfRange),
            ("2024-00-29T23:59:59+0900", OutOfRange),
        ] {
            assert_eq!(decode_nice_time(text), Err(why), "{text}");
            assert_eq!(parse_nice_time(text), None, "{text}");
        }
    }
}
