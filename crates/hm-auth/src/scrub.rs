//! Cleaning text that came from the token endpoint of every secret before any of it is kept.
//!
//! A misbehaving server or proxy may echo the request (client secret, assertion) or quote a token,
//! and may escape it on the way (JSON `\"`, HTML `&amp;`, ...). Rather than enumerate escapings,
//! every run of [`FRAGMENT`] or more characters of a known secret is removed: whatever an escaping
//! does to a few characters, the stretches between them are recognised. Text is always cleaned
//! first and shortened after, so a secret cannot straddle the cut.

use std::collections::HashSet;

use secrecy::zeroize::Zeroizing;
use serde_json::Value;

const REDACTED: &str = "[REDACTED]";
/// How much of a reply body an error may quote.
const BODY_EXCERPT: usize = 120;
/// The shortest piece of a known secret that is removed wherever it appears: long enough not to
/// hit ordinary words by chance, short enough that no escaped secret keeps a useful stretch.
const FRAGMENT: usize = 8;

/// Knows the secrets of one token request and removes them from server text.
pub(crate) struct Scrubber {
    /// The client secret, the assertion and recently issued tokens, plus their form-encoded forms
    /// (`%2F` breaks a secret into stretches that may all be shorter than a fragment).
    secrets: Vec<Zeroizing<String>>,
}

impl Scrubber {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all = Vec::new();
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if encoded != secret {
                all.push(Zeroizing::new(encoded));
            }
            all.push(Zeroizing::new(secret.to_owned()));
        }
        Scrubber { secrets: all }
    }

    /// This scrubber, also removing `secret` (e.g. the token of the reply being judged).
    pub(crate) fn also(&self, secret: &str) -> Scrubber {
        let mut more = Scrubber::new([secret]);
        more.secrets.extend(self.secrets.iter().cloned());
        more
    }

    /// `text` without any [`FRAGMENT`]-character piece of a known secret, without values of
    /// sensitive-looking keys (`client_secret=...`, `"access_token": "..."`, also in broken JSON)
    /// and without JWT-shaped strings.
    pub(crate) fn text(&self, text: &str) -> String {
        without_jwts(&without_sensitive_values(&self.without_fragments(text)))
    }

    /// `text` with every run of characters that belongs to a [`FRAGMENT`]-character window of a
    /// known secret (or to a whole secret shorter than that) replaced by one `[REDACTED]`.
    fn without_fragments(&self, text: &str) -> String {
        let mut windows: HashSet<&str> = HashSet::new();
        let mut short: Vec<&str> = Vec::new();
        for secret in &self.secrets {
            let bounds = char_bounds(secret);
            if bounds.len() <= FRAGMENT {
                short.push(secret);
            } else {
                windows.extend(
                    bounds
                        .windows(FRAGMENT + 1)
                        .map(|w| &secret[w[0]..w[FRAGMENT]]),
                );
            }
        }
        // Which bytes of `text` belong to a secret; matches always cover whole characters.
        let mut hidden = vec![false; text.len()];
        let bounds = char_bounds(text);
        for w in bounds.windows(FRAGMENT + 1) {
            if windows.contains(&text[w[0]..w[FRAGMENT]]) {
                hidden[w[0]..w[FRAGMENT]].fill(true);
            }
        }
        for secret in short {
            for (at, found) in text.match_indices(secret) {
                hidden[at..at + found.len()].fill(true);
            }
        }
        if !hidden.contains(&true) {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut in_secret = false;
        for (at, c) in text.char_indices() {
            match (hidden[at], in_secret) {
                (true, false) => out.push_str(REDACTED),
                (false, _) => out.push(c),
                (true, true) => {}
            }
            in_secret = hidden[at];
        }
        out
    }

    /// [`text`](Self::text), then at most `max` characters with control characters blanked.
    pub(crate) fn short(&self, text: &str, max: usize) -> String {
        shorten(&self.text(text), max)
    }

    /// "text/html, 512 bytes: <html><head><title>502 Bad Gateway..." for an error message.
    ///
    /// A JSON body has the values of sensitive keys replaced before anything else happens to it.
    pub(crate) fn describe_body(&self, content_type: &str, bytes: &[u8]) -> String {
        if bytes.is_empty() {
            return format!("{content_type}, empty body");
        }
        let clean = match serde_json::from_slice::<Value>(bytes) {
            Ok(mut json) => {
                self.clean_json(&mut json);
                json.to_string()
            }
            Err(_) => self.text(&String::from_utf8_lossy(bytes)),
        };
        format!(
            "{content_type}, {} bytes: {}",
            bytes.len(),
            shorten(&clean, BODY_EXCERPT)
        )
    }

    /// Replaces the values of sensitive keys, and cleans every other string, object keys
    /// included (a server may make a parameter name of an echoed request), in place.
    fn clean_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, mut value) in std::mem::take(map) {
                    if is_sensitive_key(&key) {
                        value = Value::String(REDACTED.to_owned());
                    } else {
                        self.clean_json(&mut value);
                    }
                    map.insert(self.text(&key), value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.clean_json(v)),
            Value::String(text) => *text = self.text(text),
            _ => {}
        }
    }
}

/// `client_secret`, `client_assertion`, `access_token`, `refresh_token`, `assertion`,
/// `password`, and anything else that contains `secret` or `token`.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("secret")
        || key.contains("token")
        || key.contains("assertion")
        || key.contains("password")
}

/// At most `max` characters, control characters blanked, "..." when cut.
fn shorten(text: &str, max: usize) -> String {
    let mut short: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    short = short.trim().to_owned();
    if text.chars().count() > max {
        short.push_str("...");
    }
    short
}

/// The byte offset of every character of `text`, and its length.
fn char_bounds(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(at, _)| at)
        .chain([text.len()])
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Replaces the value after `key=`, `key: `, `"key": "` for every sensitive key, in text that is
/// not valid JSON (form bodies, log lines, cut-off JSON).
fn without_sensitive_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_word_char) {
        let word_len = rest[start..]
            .find(|c: char| !is_word_char(c))
            .unwrap_or(rest.len() - start);
        let word_end = start + word_len;
        out.push_str(&rest[..word_end]);
        rest = &rest[word_end..];
        if !is_sensitive_key(&out[out.len() - word_len..]) {
            continue;
        }
        // Separator: optional closing quote, spaces, `:` or `=`, spaces, optional opening quote.
        let after_key = rest.trim_start_matches(['"', '\'']);
        let after_space = after_key.trim_start();
        let Some(after_sep) = after_space
            .strip_prefix(':')
            .or_else(|| after_space.strip_prefix('='))
        else {
            continue;
        };
        let value_start = after_sep.trim_start();
        let (quote, value) = match value_start.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &value_start[1..]),
            _ => (None, value_start),
        };
        let value_len = match quote {
            Some(q) => closing_quote(value, q),
            None => value
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '}' | ']'))
                .unwrap_or(value.len()),
        };
        let consumed = rest.len() - value.len();
        out.push_str(&rest[..consumed]);
        rest = value;
        if value_len > 0 && !value.starts_with(REDACTED) {
            out.push_str(REDACTED);
            rest = &value[value_len..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the quoted value at the start of `text` ends: at the first `quote` that is not escaped
/// with a backslash, or at the end.
fn closing_quote(text: &str, quote: char) -> usize {
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == quote => return at,
            _ => {}
        }
    }
    text.len()
}

/// Replaces JWT-shaped strings (`eyJ...` with at least one dot) such as access tokens and
/// assertions.
fn without_jwts(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        let len = rest[start..]
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(rest.len() - start);
        let candidate = &rest[start..start + len];
        let preceded_by_word = rest[..start].chars().next_back().is_some_and(is_b64);
        out.push_str(&rest[..start]);
        if candidate.contains('.') && !preceded_by_word {
            out.push_str(REDACTED);
        } else {
            out.push_str(candidate);
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_sensitive_values_are_removed() {
        let scrubber = Scrubber::new(["s3cret/with+chars", "eyJhbGciOi.eyJpc3Mi.sig"]);
        let text = scrubber.text(
            "bad client_secret=s3cret%2Fwith%2Bchars&client_assertion=eyJhbGciOi.eyJpc3Mi.sig; \
             {\"access_token\": \"opaque-token-value\", \"expires_in\": 300",
        );
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("eyJhbGciOi"), "{text}");
        assert!(!text.contains("opaque-token-value"), "{text}");
        assert!(text.contains("expires_in\": 300"), "{text}");
        assert_eq!(
            scrubber.text("client_secret is invalid"),
            "client_secret is invalid"
        );
        assert_eq!(
            scrubber.text("got client_secret=s3cret/with+chars]"),
            "got client_secret=[REDACTED]]"
        );
    }

    #[test]
    fn json_values_of_sensitive_keys_are_replaced_before_cutting() {
        let secret = "x".repeat(44);
        let scrubber = Scrubber::new([]);
        let body = format!(
            "{{\"padding\": \"{}\", \"nested\": {{\"Client_Secret\": \"{secret}\"}}}}",
            "p".repeat(100)
        );
        let described = scrubber.describe_body("application/json", body.as_bytes());
        assert!(!described.contains("xxxxxxxx"), "{described}");
    }

    #[test]
    fn escaped_secrets_are_recognised_by_their_fragments() {
        let secret = "Zq\"Xv9mK2pL7&wR4tY8uB3nC6dF1<gH5";
        let scrubber = Scrubber::new([secret]);
        for echoed in [
            secret.replace('"', "\\\""),
            secret.replace('&', "&amp;").replace('<', "&lt;"),
            secret.replace('"', "\\u0022"),
        ] {
            let text = scrubber.text(&format!("got {echoed} here"));
            let chars: Vec<char> = secret.chars().collect();
            for window in chars.windows(FRAGMENT) {
                let window: String = window.iter().collect();
                assert!(!text.contains(&window), "{window} in {text}");
            }
            assert!(
                text.starts_with("got ") && text.ends_with(" here"),
                "{text}"
            );
        }
    }

    #[test]
    fn json_keys_are_cleaned_and_escaped_quotes_end_no_value() {
        let secret = "Qm7pX2vL9sK4tR8wN3bF6hJ1";
        let scrubber = Scrubber::new([secret]);
        let body = serde_json::json!({ format!("client_secret={secret}"): ["unknown"] });
        let described = scrubber.describe_body("application/json", body.to_string().as_bytes());
        assert!(!described.contains("Qm7pX2vL"), "{described}");
        assert_eq!(
            Scrubber::new([]).text(r#"{"password": "ab\"cdefghijkl", "n": 1}"#),
            r#"{"password": "[REDACTED]", "n": 1}"#
        );
    }

    #[test]
    fn jwt_shapes_are_removed_but_words_are_kept() {
        assert_eq!(
            without_jwts("token eyJa.b-c_d.e, theyJump"),
            "token [REDACTED], theyJump"
        );
    }
}
