//! The access token handed to callers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

/// The longest lifetime a token keeps: "never expires" (`Duration::MAX`) becomes a century,
/// which every clock can represent.
const LONGEST_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A bearer token for High Mobility's APIs.
///
/// Cheap to clone (shared). The token itself is reachable only through
/// [`expose_secret`](AccessToken::expose_secret); `Debug` shows expiry and scopes but not the token.
#[derive(Clone)]
pub struct AccessToken {
    inner: Arc<Inner>,
}

struct Inner {
    secret: SecretString,
    /// `Bearer <token>`, marked sensitive, made once rather than for every request; `None` if the
    /// token has characters a header cannot carry.
    authorization: Option<HeaderValue>,
    issued_at: Instant,
    expires_at_wall: SystemTime,
    lifetime: Duration,
    scopes: Vec<String>,
}

impl AccessToken {
    /// A token valid for `lifetime` from `issued_at`, as a [`TokenProvider`](crate::TokenProvider)
    /// returns it. Pass the moment the token request was *sent* as `issued_at`, so that the expiry
    /// errs early, never late, by the request's own latency. A lifetime beyond a century (such as
    /// `Duration::MAX` for a token that does not expire) counts as a century.
    ///
    /// ```
    /// use std::time::Duration;
    /// let token = hm_auth::AccessToken::new("opaque", tokio::time::Instant::now(), Duration::from_secs(300), vec![]);
    /// assert_eq!(token.lifetime(), Duration::from_secs(300));
    /// ```
    pub fn new(
        token: impl Into<SecretString>,
        issued_at: Instant,
        lifetime: Duration,
        scopes: Vec<String>,
    ) -> Self {
        let lifetime = lifetime.min(LONGEST_LIFETIME);
        let expires_in = (issued_at + lifetime).saturating_duration_since(Instant::now());
        let secret: SecretString = token.into();
        let authorization = HeaderValue::from_str(&Zeroizing::new(format!(
            "Bearer {}",
            secret.expose_secret()
        )))
        .ok()
        .map(|mut value| {
            value.set_sensitive(true);
            value
        });
        AccessToken {
            inner: Arc::new(Inner {
                secret,
                authorization,
                issued_at,
                // A century fits every platform's clock; `checked_add` only keeps this panic-free.
                expires_at_wall: SystemTime::now()
                    .checked_add(expires_in)
                    .unwrap_or_else(SystemTime::now),
                lifetime,
                scopes,
            }),
        }
    }

    /// The bearer token. Send it only to the High Mobility API.
    pub fn expose_secret(&self) -> &str {
        self.inner.secret.expose_secret()
    }

    /// The `Authorization` header value, if the token can be sent in a header.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.inner.authorization.as_ref()
    }

    /// When the token was issued (its request sent), on tokio's clock (pausable in tests).
    pub fn issued_at(&self) -> Instant {
        self.inner.issued_at
    }

    /// When the token expires, on tokio's clock (pausable in tests).
    pub fn expires_at(&self) -> Instant {
        self.inner.issued_at + self.inner.lifetime
    }

    /// When the token expires, on the wall clock (for display).
    pub fn expires_at_system_time(&self) -> SystemTime {
        self.inner.expires_at_wall
    }

    /// How long the token is still valid (zero once expired).
    pub fn expires_in(&self) -> Duration {
        self.expires_at().saturating_duration_since(Instant::now())
    }

    /// The lifetime the token was granted with: from hm-auth's token endpoint, the reply's
    /// `expires_in` (300 s when absent, at most an hour).
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    /// The scopes granted, e.g. `fleet:clearance`, `vehicle:data`.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_in", &self.expires_in())
            .field("scopes", &self.inner.scopes)
            .finish()
    }
}
