//! Text from the server made safe to show: secrets the server reflects are redacted, and control
//! characters (terminal escape sequences) are shown escaped instead of being obeyed.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret in text shown to people or scripts.
const REDACTED: &str = "[redacted]";

/// The secrets of a session (its access tokens, its client secret), shared with every reply so that
/// an error body reflecting one of them (a debugging proxy echoing `Authorization`) prints none.
#[derive(Clone, Default)]
pub struct Secrets {
    known: Arc<Mutex<Vec<SecretString>>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

impl Secrets {
    /// Adds a secret to redact (empty and very short strings are ignored: they would redact
    /// ordinary words).
    pub fn add(&self, secret: &str) {
        if secret.len() < 8 {
            return;
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k.expose_secret() == secret) {
            known.push(SecretString::from(secret.to_owned()));
        }
    }

    /// `text` without the known secrets and without whatever follows `Bearer ` (a token renewed
    /// after the session learned its first one).
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.known.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            text = text.replace(secret.expose_secret(), REDACTED);
        }
        redact_bearer(&text)
    }
}

/// Replaces the credential after every `Bearer ` (any case) with [`REDACTED`].
fn redact_bearer(text: &str) -> String {
    const WORD: &str = "bearer ";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(WORD) {
        let start = from + found + WORD.len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .map_or(text.len(), |n| start + n);
        if end > start {
            out.push_str(&text[rest..start]);
            out.push_str(REDACTED);
            rest = end;
        }
        from = end.max(start);
    }
    out.push_str(&text[rest..]);
    out
}

/// `text` with every control character but the line break (ESC, BEL, CSI, carriage return, ...)
/// and every invisible format character (bidi overrides such as U+202E, zero-width spaces)
/// written as an escape (`\u{1b}`), so that a hostile server can neither drive the terminal nor
/// make text read other than it is. For multi-line text the program wrote itself.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape(text, |c| c != '\n' && is_unsafe(c))
}

/// One field of a line (a VIN, a message id, a value) with line breaks escaped too: a field
/// from the server must never start a line of its own.
pub fn escape_field(text: &str) -> Cow<'_, str> {
    escape(text, is_unsafe)
}

fn escape(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with the characters a terminal may obey or hide (DEL, C1 controls, format
/// characters, line and paragraph separators) written as JSON escapes (`\u009b`): still the same
/// JSON, since outside strings valid JSON holds only ASCII, and serde_json already escapes the
/// other control characters.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    // ASCII controls below DEL are left alone: in valid JSON they are whitespace between tokens.
    let unsafe_char = |c: char| c >= '\u{7f}' && is_unsafe(c);
    if !json.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters, and characters that change how the text around them reads without being
/// seen (Unicode's format characters and the line and paragraph separators).
fn is_unsafe(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    c.is_control()
        || (!c.is_ascii()
            && matches!(
                get_general_category(c),
                G::Format | G::LineSeparator | G::ParagraphSeparator
            ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_bearer_tokens_are_redacted() {
        let secrets = Secrets::default();
        secrets.add("token-0123456789");
        secrets.add("short");
        let text = secrets.scrub(
            "saw token-0123456789 and Authorization: Bearer other-token-abc, \"bearer x\" short",
        );
        assert_eq!(
            text,
            "saw [redacted] and Authorization: Bearer [redacted], \"bearer [redacted]\" short"
        );
        assert_eq!(secrets.scrub("no bearer "), "no bearer ");
        assert!(!format!("{secrets:?}").contains("token"));
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_controls("plain\ntext"), "plain\ntext");
        assert_eq!(
            escape_controls("a\u{1b}]0;x\u{7}b\u{9b}c\r"),
            "a\\u{1b}]0;x\\u{7}b\\u{9b}c\\r"
        );
    }

    #[test]
    fn a_field_never_starts_a_line_nor_hides_its_direction() {
        assert_eq!(
            escape_field("VIN1\nFORGED\u{202e}x\u{200b}\u{2028}"),
            "VIN1\\nFORGED\\u{202e}x\\u{200b}\\u{2028}"
        );
        assert_eq!(escape_controls("a\u{202e}b\nc"), "a\\u{202e}b\nc");
        assert_eq!(escape_field("Ä plain é"), "Ä plain é");
    }

    #[test]
    fn json_stays_the_same_json_with_terminal_controls_escaped() {
        let value = serde_json::json!({"vin": "V\u{7f}\u{9b}31m\u{202e}\u{e0041}\n", "é": 1});
        let text = serde_json::to_string_pretty(&value).expect("json");
        let escaped = escape_json(&text);
        assert!(
            !escaped.chars().any(|c| c >= '\u{7f}' && is_unsafe(c)),
            "{escaped}"
        );
        assert!(
            escaped.contains(r"\u007f\u009b31m\u202e\udb40\udc41\n"),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).expect("still JSON");
        assert_eq!(back, value);
    }
}
