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
/// written as an escape (`\u{1b}`), so that a hostile server cannot drive the terminal.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n'
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
}
