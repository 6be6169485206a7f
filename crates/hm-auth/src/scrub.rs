//! Cleaning text that came from the token endpoint of every secret before any of it is kept.
//!
//! A misbehaving server or proxy may echo the request (client secret, assertion) or quote a token.
//! Text is always cleaned first and shortened after, so a secret cannot straddle the cut.

use secrecy::zeroize::Zeroizing;
use serde_json::Value;

const REDACTED: &str = "[REDACTED]";
/// How much of a reply body an error may quote.
const BODY_EXCERPT: usize = 120;

/// Knows the secrets of one token request and removes them from server text.
pub(crate) struct Scrubber {
    /// The client secret, the assertion and recently issued tokens, plus their form-encoded
    /// forms, longest first so that a secret containing another is removed whole.
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
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets: all }
    }

    /// This scrubber, also removing `secret` (e.g. the token of the reply being judged).
    pub(crate) fn also(&self, secret: &str) -> Scrubber {
        let mut more = Scrubber::new([secret]);
        more.secrets.extend(self.secrets.iter().cloned());
        more.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        more
    }

    /// `text` without known secrets, without values of sensitive-looking keys (`client_secret=...`,
    /// `"access_token": "..."`, also in broken JSON) and without JWT-shaped strings.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        without_jwts(&without_sensitive_values(&text))
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

    /// Replaces the values of sensitive keys, and cleans every other string, in place.
    fn clean_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if is_sensitive_key(key) {
                        *value = Value::String(REDACTED.to_owned());
                    } else {
                        self.clean_json(value);
                    }
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
            Some(q) => value.find(q).unwrap_or(value.len()),
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
    fn jwt_shapes_are_removed_but_words_are_kept() {
        assert_eq!(
            without_jwts("token eyJa.b-c_d.e, theyJump"),
            "token [REDACTED], theyJump"
        );
    }
}
