//! Shared pieces of the fuzz targets: the webhook input format and fixed clocks.
//!
//! A webhook input is one mode byte, then HTTP-like header lines (`name: value`, one per line)
//! up to the first blank line, then the raw body. Without a blank line everything after the
//! mode byte is the body. Lines that are not valid header names or values are skipped, so
//! every byte string is a valid input.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

/// A decoded webhook input.
pub struct WebhookInput<'a> {
    /// Flags chosen by the fuzzer (which signatures the harness adds, which peer).
    pub mode: u8,
    /// The headers as sent.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
}

/// Splits `data` into mode, headers and body.
pub fn webhook_input(data: &[u8]) -> Option<WebhookInput<'_>> {
    let (&mode, rest) = data.split_first()?;
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(line[..colon].trim_ascii());
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    Some(WebhookInput {
        mode,
        headers,
        body,
    })
}

/// The peer chosen by bits 2–3 of the mode: none, the PG's address, a trusted proxy (so the
/// `X-Forwarded-For` header decides), or a stranger.
pub fn peer(mode: u8, pg: Ipv4Addr) -> Option<SocketAddr> {
    let ip = match (mode >> 2) & 3 {
        0 => return None,
        1 => pg,
        2 => Ipv4Addr::new(10, 0, 0, 1),
        _ => Ipv4Addr::new(203, 0, 113, 9),
    };
    Some(SocketAddr::new(IpAddr::V4(ip), 443))
}

/// The fixed "now" of every webhook request (2024-09-05T12:19:30+09:00), so runs replay.
pub fn received_at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_725_506_370).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A header's value as text, if it is visible ASCII.
pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Splits a decode input: one selector byte, a big-endian HTTP status, then the body.
pub fn decode_input(data: &[u8]) -> Option<(u8, u16, &[u8])> {
    match data {
        [selector, hi, lo, body @ ..] => Some((*selector, u16::from_be_bytes([*hi, *lo]), body)),
        _ => None,
    }
}
