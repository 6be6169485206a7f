//! When to try a request again and how long to wait first, and the retry layer for API calls.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, Request, Response, StatusCode};

use crate::transport::Transport;

/// How requests are retried after transient failures (connect errors, timeouts, 429, 502, 503, 504),
/// by [`Authenticator::send_authorized`](crate::Authenticator::send_authorized) and
/// [`RetryMiddleware`](crate::RetryMiddleware); for token requests, by the token provider.
///
/// Waits grow exponentially from `base_delay`, are capped at `max_delay` and jittered so that many
/// clients do not retry in step. A `Retry-After: <seconds>` header is honoured: for API requests
/// capped at `max_delay`; for token requests exactly, and one longer than `max_delay` ends the
/// retries.
///
/// ```
/// use std::time::Duration;
/// use hm_auth::RetryPolicy;
/// let patient = RetryPolicy { max_attempts: 5, max_delay: Duration::from_secs(30), ..RetryPolicy::default() };
/// assert_eq!(RetryPolicy::disabled().max_attempts, 1);
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first; `1` means no retry.
    pub max_attempts: u32,
    /// Wait before the first retry (before jitter); doubles for each further retry.
    pub base_delay: Duration,
    /// Upper bound for any single wait. A longer `Retry-After` is capped at it for API requests;
    /// for token requests, it ends the retries instead (see
    /// [`RetryingProvider`](crate::RetryingProvider)).
    pub max_delay: Duration,
    /// Also retry methods that are not idempotent (POST, PATCH). Off by default: a POST that
    /// reached the server before the connection failed could otherwise be applied twice.
    pub retry_non_idempotent: bool,
}

impl Default for RetryPolicy {
    /// Three attempts, 200 ms then 400 ms (jittered), at most 10 s per wait, idempotent methods only.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            retry_non_idempotent: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The default for token requests: four attempts, 250 ms doubling up to 5 s. Token requests
    /// are POSTs but safe to repeat (each yields an independent token), so they are retried
    /// whatever `retry_non_idempotent` says.
    pub fn token_default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
            retry_non_idempotent: true,
        }
    }

    /// Whether this policy allows another attempt of `method` after `attempts_made` attempts.
    pub(crate) fn allows(&self, method: &Method, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts && (self.retry_non_idempotent || is_idempotent(method))
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_delay);
        }
        let exponent = retry.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // "Equal jitter": at least half the backoff, so waits still grow, plus a random share.
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// The retry layer for API calls: sends through `inner` and retries transient failures as
/// `policy` allows. Used by `Authenticator::send_authorized` and `RetryMiddleware`, never by
/// `AuthMiddleware`, so that stacking a retry middleware does not multiply attempts.
pub(crate) struct RetryLayer<T> {
    pub(crate) policy: RetryPolicy,
    pub(crate) inner: T,
}

impl<T: Transport> Transport for RetryLayer<T> {
    type Error = T::Error;

    async fn send(&mut self, request: Request) -> Result<Response, Self::Error> {
        self.send_with_retries(request, false).await.0
    }

    /// The copy for the next attempt doubles as the copy handed back, so a request sent once
    /// is copied once.
    fn send_keeping_copy(
        &mut self,
        request: Request,
    ) -> impl Future<Output = (Result<Response, Self::Error>, Option<Request>)> + Send {
        self.send_with_retries(request, true)
    }

    fn is_transient(error: &Self::Error) -> bool {
        T::is_transient(error)
    }
}

impl<T: Transport> RetryLayer<T> {
    async fn send_with_retries(
        &mut self,
        mut request: Request,
        keep_copy: bool,
    ) -> (Result<Response, T::Error>, Option<Request>) {
        let mut attempt = 1;
        loop {
            // Requests with a streaming body cannot be copied and get no second attempt.
            let may_retry = self.policy.allows(request.method(), attempt);
            let spare = if may_retry || keep_copy {
                request.try_clone()
            } else {
                None
            };
            let result = self.inner.send(request).await;
            let retry_after = match &result {
                _ if !may_retry => return (result, spare),
                Ok(response) if is_transient_status(response.status()) => {
                    retry_after(response.headers())
                }
                Err(error) if T::is_transient(error) => None,
                _ => return (result, spare),
            };
            let Some(next) = spare else {
                return (result, None);
            };
            let delay = self.policy.delay(attempt, retry_after);
            tracing::debug!(
                attempt,
                status = result.as_ref().ok().map(|r| r.status().as_u16()),
                delay_ms = delay.as_millis() as u64,
                "transient failure; retrying"
            );
            drop(result);
            tokio::time::sleep(delay).await;
            request = next;
            attempt += 1;
        }
    }
}

/// GET, HEAD, PUT, DELETE, OPTIONS and TRACE may be repeated without changing the outcome.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Statuses that say "try again later" rather than "this request is wrong".
pub(crate) fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The `Retry-After` header in its seconds form. The HTTP-date form is ignored (the regular backoff
/// applies): it needs a trustworthy wall clock and High Mobility does not document sending it.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            retry_non_idempotent: false,
        };
        for _ in 0..100 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.delay(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
    }

    #[test]
    fn only_idempotent_methods_retry_unless_opted_in() {
        let policy = RetryPolicy::default();
        assert!(policy.allows(&Method::GET, 1));
        assert!(policy.allows(&Method::DELETE, 2));
        assert!(!policy.allows(&Method::GET, 3), "three attempts in all");
        assert!(!policy.allows(&Method::POST, 1));
        let opted_in = RetryPolicy {
            retry_non_idempotent: true,
            ..policy
        };
        assert!(opted_in.allows(&Method::POST, 1));
        assert!(!RetryPolicy::disabled().allows(&Method::GET, 1));
    }

    #[test]
    fn retry_after_seconds_form_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "12".parse().expect("header value"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT"
                .parse()
                .expect("header value"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
