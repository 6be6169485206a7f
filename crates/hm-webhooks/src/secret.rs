//! The shared secret a webhook is signed with.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// The secret string set for a webhook in the High Mobility console.
///
/// Held in a [`secrecy`] type (zeroed on drop); `Debug` prints `WebhookSecret([REDACTED])` and
/// there is no `Display`, so it cannot end up in a log line by accident.
#[derive(Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    /// Wraps a secret, exactly as set in the console.
    ///
    /// Refused: an empty or blank secret ([`Error::EmptySecret`]: every signature would be
    /// computable by anyone), and one that begins or ends with whitespace
    /// ([`Error::SecretWhitespace`]: typically the newline of a file read whole, which would make
    /// every genuine delivery fail as a mismatch). Trim what you read before passing it.
    pub fn new(secret: impl Into<String>) -> Result<Self, Error> {
        let secret = SecretString::from(secret.into());
        let text = secret.expose_secret();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Error::EmptySecret);
        }
        if trimmed.len() != text.len() {
            return Err(Error::SecretWhitespace);
        }
        Ok(WebhookSecret(secret))
    }

    /// The key bytes for the HMAC; never leaves the crate.
    pub(crate) fn key(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}
