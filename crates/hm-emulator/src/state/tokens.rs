//! Issued access tokens: opaque random strings remembered with their owner, scopes and expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// What the emulator remembers about an issued token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The application it was issued to.
    pub client_id: Arc<str>,
    /// Its scopes.
    pub scopes: Arc<[String]>,
    /// When it stops working (virtual clock).
    pub expires_at: DateTime<Utc>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued, or revoked.
    Unknown,
    /// Issued but past its lifetime.
    Expired,
}

/// All live tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, Token>>,
}

impl TokenStore {
    /// Issues a new token and returns its value.
    pub fn issue(&self, token: Token, now: DateTime<Utc>) -> String {
        let value = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut tokens = self.lock();
        // Forget tokens that expired long ago so a long benchmark does not grow the map forever;
        // recently expired ones stay so that their use is reported as "expired", not "unknown".
        if tokens.len() > 10_000 {
            let horizon = now - chrono::Duration::hours(1);
            tokens.retain(|_, t| t.expires_at > horizon);
        }
        tokens.insert(value.clone(), token);
        value
    }

    /// The token with this value, if it is live at `now`.
    pub fn check(&self, value: &str, now: DateTime<Utc>) -> Result<Token, TokenProblem> {
        let tokens = self.lock();
        let token = tokens.get(value).ok_or(TokenProblem::Unknown)?;
        if token.expires_at <= now {
            return Err(TokenProblem::Expired);
        }
        Ok(token.clone())
    }

    /// Revokes the token if it belongs to `client_id`. Unknown tokens are ignored (RFC 7009).
    pub fn revoke(&self, value: &str, client_id: &str) {
        let mut tokens = self.lock();
        if tokens
            .get(value)
            .is_some_and(|t| &*t.client_id == client_id)
        {
            tokens.remove(value);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Token>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}
