//! Strict `application/x-www-form-urlencoded` parsing, for token request bodies and query strings.
//!
//! The common parsers are forgiving: they pass a broken `%zz` through, replace invalid UTF-8 and
//! keep both copies of a repeated key. A token endpoint must not guess, so each of those is an error.

/// The `name=value` pairs of `input` in order, decoded (`+` is a space, `%XX` a byte).
///
/// Errors (as a sentence for the client): an empty pair (`a=1&&b=2`), a pair without `=`, a bad
/// percent escape, a name or value that is not UTF-8 after decoding, and a repeated name.
pub fn parse(input: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if input.is_empty() {
        return Ok(pairs);
    }
    for raw in input.split(|b| *b == b'&') {
        if raw.is_empty() {
            return Err("the form body has an empty parameter (\"&&\" or a trailing \"&\")".into());
        }
        let Some(eq) = raw.iter().position(|b| *b == b'=') else {
            // Not echoed: a mangled pair (`client_secret:...`, a JSON body) may hold a secret.
            return Err(format!(
                "form parameter {} has no \"=\"; send name=value pairs joined by \"&\" \
                 (or, for a JSON body, Content-Type: application/json)",
                pairs.len() + 1
            ));
        };
        let name = decode(&raw[..eq])?;
        let value = decode(&raw[eq + 1..])?;
        if name.is_empty() {
            return Err("a form parameter has an empty name".into());
        }
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(format!("parameter {name:?} appears more than once"));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn decode(raw: &[u8]) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let (Some(high), Some(low)) = (
                    raw.get(i + 1).and_then(hex_digit),
                    raw.get(i + 2).and_then(hex_digit),
                ) else {
                    return Err("a form parameter has a bad percent escape (expected %XX)".into());
                };
                bytes.push(high << 4 | low);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| "a form parameter is not UTF-8 after decoding".to_string())
}

fn hex_digit(b: &u8) -> Option<u8> {
    char::from(*b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn decodes_pairs_in_order() {
        let pairs = parse(b"grant_type=client_credentials&client_id=a%2Bb&x=y+z&empty=").unwrap();
        let expected = [
            ("grant_type", "client_credentials"),
            ("client_id", "a+b"),
            ("x", "y z"),
            ("empty", ""),
        ];
        assert_eq!(pairs.len(), expected.len());
        for ((name, value), (n, v)) in pairs.iter().zip(expected) {
            assert_eq!((name.as_str(), value.as_str()), (n, v));
        }
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_a_lenient_parser_would_guess() {
        for bad in [
            &b"a=1&a=2"[..],
            b"a=1&&b=2",
            b"a=1&",
            b"a",
            b"=1",
            b"a=%zz",
            b"a=%4",
            b"a=%+1",
            b"a=%ff",
            b"a=\xff",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
