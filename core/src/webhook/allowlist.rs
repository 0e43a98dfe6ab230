//! [`IpAllowlist`]: which addresses may send webhooks, with trusted proxies.
// Parses untrusted input (addresses and X-Forwarded-For): no unchecked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

use super::WebhookError;

/// An allowlist of sender networks (IPv4 and IPv6), optionally behind trusted proxies.
///
/// - Addresses are canonicalised first: `::ffff:52.78.5.241` is `52.78.5.241`.
/// - `X-Forwarded-For` is read **only** when the TCP peer is a configured trusted proxy; the
///   header lines are joined in order and walked from the right, skipping trusted proxies; the
///   first untrusted address is the client. A spoofed header from anyone else is ignored.
/// - It fails closed: no peer address, a trusted proxy that sent no usable header, or an
///   unreadable entry → [`WebhookError::UnknownSource`].
///
/// ```
/// use hanpay_core::webhook::IpAllowlist;
/// use http::HeaderMap;
/// let list = IpAllowlist::parse(["52.78.5.241"]).unwrap();
/// let mapped = "::ffff:52.78.5.241".parse().unwrap();
/// assert!(list.check(Some(mapped), &HeaderMap::new()).is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist {
    allowed: Vec<IpNet>,
    trusted_proxies: Vec<IpNet>,
}

/// Why an allowlist entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {entry:?}: {reason}")]
pub struct InvalidNetwork {
    /// The entry as written.
    pub entry: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Turns an IPv4-mapped IPv6 network (`::ffff:a.b.c.d/120`) into its IPv4 form.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) => v6
                .prefix_len()
                .checked_sub(96)
                .and_then(|len| ipnet::Ipv4Net::new(v4, len).ok())
                .map_or(net, IpNet::V4),
            _ => net,
        },
        IpNet::V4(_) => net,
    }
}

/// Parses `"1.2.3.4"`, `"1.2.3.0/24"`, `"2001:db8::/32"`. Refuses leading zeros (octal
/// ambiguity) and surrounding junk.
pub fn parse_network(entry: &str) -> Result<IpNet, InvalidNetwork> {
    let err = |reason| InvalidNetwork {
        entry: entry.to_owned(),
        reason,
    };
    let text = entry.trim();
    let (addr_text, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| err("not an IP address (leading zeros are refused)"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| err("bad prefix length"))?,
    };
    let net = IpNet::new(addr, prefix).map_err(|_| err("bad prefix length"))?;
    Ok(canonical_net(net.trunc()))
}

fn parse_all<I, S>(entries: I) -> Result<Vec<IpNet>, InvalidNetwork>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    entries
        .into_iter()
        .map(|e| parse_network(e.as_ref()))
        .collect()
}

fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

/// Reads one `X-Forwarded-For` entry: a bare address, `1.2.3.4:443` or `[2001:db8::1]:443`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

impl IpAllowlist {
    /// An allowlist of `networks` with no trusted proxy.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> IpAllowlist {
        IpAllowlist {
            allowed: networks.into_iter().map(canonical_net).collect(),
            trusted_proxies: Vec::new(),
        }
    }

    /// Parses entries such as `"52.78.5.241"` or `"115.92.221.0/24"`.
    pub fn parse<I, S>(entries: I) -> Result<IpAllowlist, InvalidNetwork>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(IpAllowlist::new(parse_all(entries)?))
    }

    /// Sets the proxies whose `X-Forwarded-For` is believed.
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> IpAllowlist {
        self.trusted_proxies = proxies.into_iter().map(canonical_net).collect();
        self
    }

    /// Parses and sets the trusted proxies.
    pub fn with_trusted_proxies_parsed<I, S>(
        self,
        proxies: I,
    ) -> Result<IpAllowlist, InvalidNetwork>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(self.with_trusted_proxies(parse_all(proxies)?))
    }

    /// The allowed networks.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// The trusted proxies.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }

    /// Whether `ip` (canonicalised) is on the list.
    pub fn allows(&self, ip: IpAddr) -> bool {
        contains(&self.allowed, ip.to_canonical())
    }

    /// The client's address: the peer, or — only when the peer is a trusted proxy — the
    /// rightmost untrusted `X-Forwarded-For` entry. Fails closed.
    pub fn client_ip(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<IpAddr, WebhookError> {
        let peer = peer
            .ok_or_else(|| WebhookError::UnknownSource("no peer address".into()))?
            .to_canonical();
        if !contains(&self.trusted_proxies, peer) {
            return Ok(peer);
        }
        let mut saw_entry = false;
        for line in headers.get_all("x-forwarded-for").iter().rev() {
            let text = line.to_str().map_err(|_| {
                WebhookError::UnknownSource("X-Forwarded-For is not visible ASCII".into())
            })?;
            for entry in text.rsplit(',') {
                saw_entry = true;
                let ip = parse_forwarded_entry(entry)
                    .ok_or_else(|| {
                        WebhookError::UnknownSource("unreadable X-Forwarded-For entry".into())
                    })?
                    .to_canonical();
                if !contains(&self.trusted_proxies, ip) {
                    return Ok(ip);
                }
            }
        }
        Err(WebhookError::UnknownSource(if saw_entry {
            "every X-Forwarded-For entry is a trusted proxy".into()
        } else {
            format!("trusted proxy {peer} sent no X-Forwarded-For")
        }))
    }

    /// The client's address if it is allowed, else [`WebhookError::ForbiddenSource`].
    pub fn check(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<IpAddr, WebhookError> {
        let client = self.client_ip(peer, headers)?;
        if contains(&self.allowed, client) {
            Ok(client)
        } else {
            Err(WebhookError::ForbiddenSource(client))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn mapped_ipv6_matches_ipv4_rule() {
        let list = IpAllowlist::parse(["52.78.5.241/32"]).unwrap();
        assert_eq!(
            list.check(Some(ip("::ffff:52.78.5.241")), &HeaderMap::new()),
            Ok(ip("52.78.5.241"))
        );
        assert!(list.allows(ip("52.78.5.241")));
        assert!(!list.allows(ip("52.78.5.242")));
        // ::1 must not turn into 0.0.0.1, nor ::a.b.c.d into v4.
        assert_eq!(
            list.client_ip(Some(ip("::1")), &HeaderMap::new()),
            Ok(ip("::1"))
        );
        assert!(!list.allows(ip("::52.78.5.241")));
        // A mapped allowlist entry is canonicalised too.
        let mapped = IpAllowlist::parse(["::ffff:3.18.12.0/120"]).unwrap();
        assert!(mapped.allows(ip("3.18.12.63")));
    }

    #[test]
    fn spoofed_forwarded_for_from_untrusted_peer_is_ignored() {
        let list = IpAllowlist::parse(["52.78.5.241"]).unwrap();
        let h = xff(&["52.78.5.241"]);
        assert_eq!(
            list.check(Some(ip("203.0.113.9")), &h),
            Err(WebhookError::ForbiddenSource(ip("203.0.113.9")))
        );
    }

    #[test]
    fn trusted_proxy_header_is_honoured_rightmost_first() {
        let list = IpAllowlist::parse(["52.78.5.241"])
            .unwrap()
            .with_trusted_proxies_parsed(["10.0.0.0/8"])
            .unwrap();
        // The attacker prepends a fake address; the proxy appends the real one.
        let h = xff(&["52.78.5.241, 198.51.100.7"]);
        assert_eq!(
            list.check(Some(ip("10.1.2.3")), &h),
            Err(WebhookError::ForbiddenSource(ip("198.51.100.7")))
        );
        let h = xff(&["1.1.1.1, 52.78.5.241", "10.0.0.5"]);
        assert_eq!(list.check(Some(ip("10.1.2.3")), &h), Ok(ip("52.78.5.241")));
        let h = xff(&["[::ffff:52.78.5.241]:443"]);
        assert_eq!(
            list.check(Some(ip("::ffff:10.1.2.3")), &h),
            Ok(ip("52.78.5.241"))
        );
        let h = xff(&["52.78.5.241:8080"]);
        assert_eq!(list.check(Some(ip("10.1.2.3")), &h), Ok(ip("52.78.5.241")));
    }

    #[test]
    fn fails_closed() {
        let list = IpAllowlist::parse(["52.78.5.241"])
            .unwrap()
            .with_trusted_proxies_parsed(["10.0.0.0/8"])
            .unwrap();
        assert!(matches!(
            list.check(None, &HeaderMap::new()),
            Err(WebhookError::UnknownSource(_))
        ));
        assert!(matches!(
            list.check(Some(ip("10.0.0.1")), &HeaderMap::new()),
            Err(WebhookError::UnknownSource(_))
        ));
        assert!(matches!(
            list.check(Some(ip("10.0.0.1")), &xff(&["garbage"])),
            Err(WebhookError::UnknownSource(_))
        ));
        assert!(matches!(
            list.check(Some(ip("10.0.0.1")), &xff(&["10.0.0.2"])),
            Err(WebhookError::UnknownSource(_))
        ));
    }

    #[test]
    fn parsing_rules() {
        assert!(parse_network("01.2.3.4").is_err());
        assert!(parse_network("1.2.3.4/33").is_err());
        assert!(parse_network("1.2.3.4/x").is_err());
        assert_eq!(
            parse_network(" 1.2.3.4 ").unwrap().to_string(),
            "1.2.3.4/32"
        );
        assert_eq!(
            parse_network("3.18.12.63/24").unwrap().to_string(),
            "3.18.12.0/24"
        );
        assert_eq!(
            parse_network("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
    }
}
