//! Deterministic mutations of a valid payload, for "no input ever panics" tests of decoders and
//! webhook verifiers: truncations, byte flips, type swaps and unknown additions.

/// Variants of `valid`: every prefix at a spread of cut points, single-byte flips at
/// deterministic pseudo-random positions, JSON numbers turned into strings and strings into
/// numbers, `null`s for values, an unknown field added, non-UTF-8 and empty inputs.
///
/// ```
/// let variants = hanpay_testkit::mutate::mutations(br#"{"amount":1000,"status":"DONE"}"#);
/// assert!(variants.len() > 20);
/// assert!(variants.iter().any(|v| v.is_empty()));
/// ```
pub fn mutations(valid: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![
        Vec::new(),
        vec![0xff, 0xfe, 0x00],
        b"null".to_vec(),
        b"[]".to_vec(),
    ];
    let len = valid.len();
    // Truncations.
    let step = (len / 48).max(1);
    let mut cut = 0;
    while cut < len {
        out.push(valid[..cut].to_vec());
        cut += step;
    }
    // Byte flips at xorshift positions.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    for _ in 0..64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if len == 0 {
            break;
        }
        let pos = (state % len as u64) as usize;
        let mut v = valid.to_vec();
        v[pos] ^= 1 << (state % 8) as u8;
        out.push(v);
    }
    if let Ok(text) = std::str::from_utf8(valid) {
        // Numbers as strings ("374000.00"-style), strings as numbers, values as null.
        out.push(quote_numbers(text).into_bytes());
        out.push(text.replace(":\"", ":1234").into_bytes());
        out.push(text.replace(":\"", ":null,\"_x\":\"").into_bytes());
        out.push(
            text.replacen('{', "{\"unknownField\":{\"nested\":[1,2,3]},", 1)
                .into_bytes(),
        );
        out.push(text.replace(':', ": 1.5e400, \"_y\":").into_bytes());
        // Non-UTF-8 inside a string.
        let mut bytes = text.as_bytes().to_vec();
        if let Some(p) = bytes.iter().position(|b| *b == b'"') {
            bytes.insert(p + 1, 0xc3);
        }
        out.push(bytes);
    }
    out
}

/// Wraps every JSON number in quotes: `{"amount":374000}` → `{"amount":"374000"}`.
fn quote_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for ch in text.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
            continue;
        }
        let numeric = ch.is_ascii_digit() || matches!(ch, '-' | '.' | 'e' | 'E' | '+');
        if in_number && !numeric {
            out.push('"');
            in_number = false;
        }
        if !in_number && (ch.is_ascii_digit() || ch == '-') {
            out.push('"');
            in_number = true;
        }
        if ch == '"' {
            in_string = true;
        }
        out.push(ch);
    }
    if in_number {
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_strings() {
        assert_eq!(
            quote_numbers(r#"{"a":374000,"b":"x1","c":[1.5,-2]}"#),
            r#"{"a":"374000","b":"x1","c":["1.5","-2"]}"#
        );
    }

    #[test]
    fn covers_prefixes_and_flips() {
        let v = mutations(b"{\"k\":1}");
        assert!(v.contains(&b"{\"k\"".to_vec()));
        assert!(v.iter().filter(|m| m.len() == 7).count() >= 64);
    }
}
