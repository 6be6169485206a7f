//! Where tokens come from: the [`TokenProvider`] seam, and retrying as a decorator around it.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::{AccessToken, Error, RetryPolicy};

/// Obtains one new access token per call: the seam between the [`TokenCache`](crate::TokenCache)
/// and the token endpoint.
///
/// hm-auth's own provider sends one token request (client secret or signed JWT assertion);
/// [`RetryingProvider`] retries any provider. Implement it for test doubles, or to take tokens from
/// elsewhere:
///
/// ```
/// use std::time::Duration;
/// use hm_auth::{AccessToken, Error, TokenCache, TokenProvider};
///
/// struct Fixed;
///
/// impl TokenProvider for Fixed {
///     async fn fetch_token(&self) -> Result<AccessToken, Error> {
///         let now = tokio::time::Instant::now();
///         Ok(AccessToken::new("a-token", now, Duration::from_secs(300), vec![]))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cache = TokenCache::new(Fixed);
/// assert_eq!(cache.token().await.unwrap().expose_secret(), "a-token");
/// # }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Requests a new token. Called by one task at a time per cache, never for a cached token.
    fn fetch_token(&self) -> impl Future<Output = Result<AccessToken, Error>> + Send;
}

/// Retries another provider's failures that [are retryable](Error::is_retryable), with the
/// backoff of a [`RetryPolicy`], within an overall deadline.
///
/// Every token request may be repeated (each yields an independent token), so the policy's
/// `retry_non_idempotent` does not apply here. A `Retry-After` is waited for exactly, never
/// shortened: one longer than the policy's `max_delay` ends the retries, and the failure is
/// returned. A wait that would end past the deadline is not started either. An attempt still
/// running at the deadline is abandoned with [`Error::TokenDeadline`].
#[derive(Debug)]
pub struct RetryingProvider<P> {
    inner: P,
    policy: RetryPolicy,
    deadline: Option<Duration>,
}

impl<P: TokenProvider> RetryingProvider<P> {
    /// Retries `inner` as `policy` says, with no deadline (see [`with_deadline`](Self::with_deadline)).
    pub fn new(inner: P, policy: RetryPolicy) -> Self {
        RetryingProvider {
            inner,
            policy,
            deadline: None,
        }
    }

    /// Gives up when no token has been obtained `deadline` after the first attempt began.
    pub fn with_deadline(mut self, deadline: impl Into<Option<Duration>>) -> Self {
        self.deadline = deadline.into();
        self
    }

    /// The provider that is retried.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: TokenProvider> TokenProvider for RetryingProvider<P> {
    async fn fetch_token(&self) -> Result<AccessToken, Error> {
        let started = Instant::now();
        let mut attempts = 0;
        let mut last: Option<Error> = None;
        let retries = async {
            loop {
                attempts += 1;
                let error = match self.inner.fetch_token().await {
                    Ok(token) => return Ok(token),
                    Err(error) => error.with_attempts(attempts),
                };
                if !error.is_retryable() || attempts >= self.policy.max_attempts {
                    return Err(error);
                }
                if let Some(asked) = error.retry_after().filter(|a| *a > self.policy.max_delay) {
                    tracing::warn!(
                        attempt = attempts,
                        retry_after_ms = asked.as_millis() as u64,
                        %error,
                        "token request failed; the server asks for a longer wait than the retry \
                         policy allows, so no other attempt is made"
                    );
                    return Err(error);
                }
                let delay = self.policy.delay(attempts, error.retry_after());
                if self
                    .deadline
                    .is_some_and(|deadline| started.elapsed() + delay >= deadline)
                {
                    tracing::warn!(attempt = attempts, %error, "token request failed; no time left for another attempt");
                    return Err(error);
                }
                tracing::warn!(
                    attempt = attempts,
                    delay_ms = delay.as_millis() as u64,
                    %error,
                    "token request failed; retrying"
                );
                last = Some(error);
                tokio::time::sleep(delay).await;
            }
        };
        let Some(deadline) = self.deadline else {
            return retries.await;
        };
        // A statement of its own, so that the borrows of `attempts` and `last` end here.
        let outcome = tokio::time::timeout(deadline, retries).await;
        match outcome {
            Ok(result) => result,
            Err(_) => Err(Error::TokenDeadline {
                deadline,
                attempts,
                last: last.map(Box::new),
            }),
        }
    }
}
