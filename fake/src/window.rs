//! What the fakes' payment windows share: the page frame (Korean and English labels, no
//! external assets), amounts in 원 with thousands separators, HTML escaping, redirect URLs.
//! Each fake serves its PG's browser SDK stand-in beside its window (`/sdk/<pg>.js`).
//!
//! The stand-ins are **sandbox stand-ins, not the PGs' SDKs**: they implement the few calls a
//! storefront makes (seed 001: `loadTossPayments(clientKey)` → `widgets({customerKey})` →
//! `setAmount`, `renderPaymentMethods`, `renderAgreement`, `requestPayment`; PortOne's
//! `PortOne.requestPayment({...})` with a `redirectUrl`; NICEPAY's
//! `AUTHNICE.requestPay({...})`) and open the fake's window instead of
//! the PG's, so a storefront swaps one script URL to test against the sandbox.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `58000` → `58,000원`.
pub fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push('원');
    out
}

/// Escapes text for HTML content and (double- or single-quoted) attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A KRW amount from its decimal text: digits only (no sign, no fraction, no exponent), at
/// least 1, within `i64`. Never goes through a float.
pub fn parse_amount(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|a| *a >= 1)
}

/// Whether `url` can be redirected to: an absolute `http`/`https` URL.
pub fn valid_return_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !url.bytes().any(|b| b.is_ascii_control() || b == b' ')
}

/// `url` with `params` appended to its query (form-encoded, UTF-8), keeping a query it has.
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!("{base}{sep}{query}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;background:#f2f4f6;margin:0;padding:2rem}\
main{max-width:28rem;margin:auto;background:#fff;border-radius:12px;padding:1.5rem;\
box-shadow:0 2px 8px #0002}h1{font-size:1.2rem;margin-top:0}h1 small{display:block;color:#6b7684;\
font-weight:normal;font-size:.8rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}\
dt{color:#6b7684}dd{margin:0;font-weight:600}.note{font-size:.8rem;color:#8b95a1;\
background:#f9fafb;padding:.5rem;border-radius:6px}form{display:grid;gap:.5rem;margin-top:1rem}\
button{font-size:1rem;padding:.7rem;border-radius:8px;border:1px solid #d1d6db;background:#fff;\
cursor:pointer}button.primary{background:#3182f6;color:#fff;border-color:#3182f6}\
.error{color:#f04452}";

/// A whole page: `title`, then `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// An HTML answer.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A window error page (the PG's code and message), e.g. for a malformed request.
pub fn error_page(pg: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{pg} 샌드박스 결제창 <small>{pg} sandbox payment window</small></h1>\
         <p class=\"error\">결제를 진행할 수 없습니다 · The payment cannot proceed</p>\
         <dl><dt>code</dt><dd id=\"error-code\">{}</dd><dt>message</dt><dd id=\"error-message\">{}</dd></dl>",
        escape(code),
        escape(message),
        pg = escape(pg),
    );
    html(StatusCode::BAD_REQUEST, page(pg, &body))
}

/// A `303 See Other` to `location` (the browser follows it with a GET).
pub fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A JavaScript answer.
pub fn script(source: &'static str) -> Response {
    let mut resp = source.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_has_thousands_separators() {
        assert_eq!(won(1), "1원");
        assert_eq!(won(999), "999원");
        assert_eq!(won(1_000), "1,000원");
        assert_eq!(won(58_000), "58,000원");
        assert_eq!(won(1_234_567), "1,234,567원");
        assert_eq!(won(-1_000), "-1,000원");
        assert_eq!(won(i64::MIN), "-9,223,372,036,854,775,808원");
    }

    #[test]
    fn amounts_are_integers_from_text() {
        assert_eq!(parse_amount("58000"), Some(58_000));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "58,000",
            "99999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn query_is_appended_and_encoded() {
        assert_eq!(
            with_query("http://shop/ok", &[("a", "1"), ("m", "결제 취소&")]),
            "http://shop/ok?a=1&m=%EA%B2%B0%EC%A0%9C+%EC%B7%A8%EC%86%8C%26"
        );
        assert_eq!(
            with_query("http://shop/ok?x=1#top", &[("a", "1")]),
            "http://shop/ok?x=1&a=1#top"
        );
        assert!(valid_return_url("http://127.0.0.1:3000/ok"));
        for bad in ["/ok", "javascript:alert(1)", "http:///x", "http://a b", ""] {
            assert!(!valid_return_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
