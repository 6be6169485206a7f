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
    /// Wraps a secret. The empty string is refused: every signature would be computable by anyone.
    pub fn new(secret: impl Into<String>) -> Result<Self, Error> {
        let secret = SecretString::from(secret.into());
        if secret.expose_secret().is_empty() {
            return Err(Error::EmptySecret);
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
