//! NICEPAY timestamps: ISO 8601 with milliseconds and a colon-less offset
//! (`2021-11-05T17:14:35.150+0900`), the string `"0"` when unset (reference §7).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Parses a NICEPAY timestamp. `"0"`, `""` and anything unreadable are `None` (never a panic).
/// Also reads the same without milliseconds, and RFC 3339 (`+09:00`) as the MCP examples write.
///
/// ```
/// use hanpay_nicepay::mapping::parse_nice_time;
/// let t = parse_nice_time("2021-11-05T17:14:35.150+0900").unwrap();
/// assert_eq!(t.offset().whole_hours(), 9);
/// assert_eq!(t.millisecond(), 150);
/// assert!(parse_nice_time("0").is_none());
/// ```
pub fn parse_nice_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return None;
    }
    let with_millis = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    let without_millis = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(text, &with_millis)
        .or_else(|_| OffsetDateTime::parse(text, &without_millis))
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .ok()
}

/// Writes a request `ediDate` in the answers' own style (`2021-11-05T17:14:35.150+0900`).
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
}
