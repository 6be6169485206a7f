//! Issued access tokens: opaque random strings remembered with their owner, scopes and expiry.

use std::collections::{HashMap, VecDeque};
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
    /// Never issued, revoked, or forgotten (see [`TokenStore::issue`]).
    Unknown,
    /// Issued but past its lifetime.
    Expired,
}

/// All remembered tokens, at most `per_app` per application.
#[derive(Debug)]
pub struct TokenStore {
    per_app: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, Token>,
    /// Each application's token values, oldest first (revoked ones may linger until popped).
    issued: HashMap<Arc<str>, VecDeque<String>>,
}

impl TokenStore {
    /// A store that remembers at most `per_app` tokens per application.
    pub fn new(per_app: u64) -> Self {
        Self {
            per_app: usize::try_from(per_app).unwrap_or(usize::MAX).max(1),
            inner: Mutex::default(),
        }
    }

    /// Issues a new token and returns its value.
    ///
    /// Beyond the per-application cap the application's oldest token is forgotten (it then gets
    /// 401 like a revoked one), so a client that asks for tokens in a loop cannot grow memory.
    pub fn issue(&self, token: Token) -> String {
        let value = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Inner { tokens, issued } = &mut *inner;
        let order = issued.entry(token.client_id.clone()).or_default();
        order.push_back(value.clone());
        while order.len() > self.per_app {
            if let Some(oldest) = order.pop_front() {
                tokens.remove(&oldest);
            }
        }
        tokens.insert(value.clone(), token);
        value
    }

    /// The token with this value, if it is live at `now`.
    pub fn check(&self, value: &str, now: DateTime<Utc>) -> Result<Token, TokenProblem> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let token = inner.tokens.get(value).ok_or(TokenProblem::Unknown)?;
        if token.expires_at <= now {
            return Err(TokenProblem::Expired);
        }
        Ok(token.clone())
    }

    /// Revokes the token if it belongs to `client_id`. Unknown tokens are no error (RFC 7009
    /// §2.2); a token issued to another application is left alone and reported (§2.1).
    pub fn revoke(&self, value: &str, client_id: &str) -> Result<(), NotYours> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match inner.tokens.get(value) {
            Some(token) if &*token.client_id != client_id => Err(NotYours),
            Some(_) => {
                inner.tokens.remove(value);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// A revocation named a token that was issued to another application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotYours;

#[cfg(test)]
mod tests {
    use super::*;

    fn token(client: &str) -> Token {
        Token {
            client_id: client.into(),
            scopes: Arc::from(Vec::new()),
            expires_at: DateTime::<Utc>::MAX_UTC,
        }
    }

    #[test]
    fn the_oldest_token_of_an_application_is_forgotten_beyond_the_cap() {
        let store = TokenStore::new(2);
        let now = Utc::now();
        let first = store.issue(token("a"));
        let other = store.issue(token("b"));
        let second = store.issue(token("a"));
        let third = store.issue(token("a"));
        assert_eq!(store.check(&first, now).unwrap_err(), TokenProblem::Unknown);
        for live in [&other, &second, &third] {
            assert!(store.check(live, now).is_ok());
        }
    }
}
