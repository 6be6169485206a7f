//! The token cache: refresh ahead of expiry, stale-while-revalidate, single flight, throttled
//! renewal after the API refuses a token.
//!
//! A token request always runs in its own spawned task. Callers that need to wait (no usable
//! token) await a shared handle to that task, so a caller that is cancelled leaves the request
//! running for the others; callers that hold a usable token never wait at all. The mutex guards
//! only short bookkeeping and is never held across an `.await`.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::{AccessToken, Error, TokenProvider};

/// Refresh starts at this share of the lifetime, plus up to `REFRESH_JITTER` of it, so that
/// processes started together drift apart instead of refreshing in step.
const REFRESH_AT: f64 = 0.62;
const REFRESH_JITTER: f64 = 0.10;
/// A token is not handed out in the last stretch of its life (this share of the lifetime, at
/// most `MAX_EXPIRY_MARGIN`), so it does not expire on its way to the server.
const EXPIRY_MARGIN: f64 = 0.05;
const MAX_EXPIRY_MARGIN: Duration = Duration::from_secs(15);
/// After a failed background refresh, wait this long (jittered up to twice) before the next one.
const REFRESH_RETRY: Duration = Duration::from_secs(5);
/// A token is not replaced sooner than this after it was issued (unless the API refused it): a
/// server whose tokens expire at once costs a token request per second, not one per call.
const MIN_TOKEN_INTERVAL: Duration = Duration::from_secs(1);
/// After the API refused a token and a new one was fetched for it, a refusal within this interval
/// fetches no other: a server that refuses every token would otherwise cost a token request per call.
pub(crate) const MIN_RENEWAL_INTERVAL: Duration = Duration::from_secs(30);

type Flight = Shared<BoxFuture<'static, Result<AccessToken, Error>>>;

/// Caches the tokens of one [`TokenProvider`] and decides when to ask it for a new one.
///
/// - **Single flight**: however many callers need a token at once, one request is made.
/// - **Refresh ahead**: at 62-72 % of a token's lifetime (jittered) the next caller starts a
///   refresh in the background and still gets the current token at once.
/// - **Stale while revalidate**: a failed background refresh keeps the current token (retried
///   5-10 s later); only when no usable token is left do callers see the error.
/// - **Failures are not cached**: the next caller after a failure starts a new request.
/// - **Never past expiry**: a token is handed out only within its lifetime (minus 5 %, at most
///   15 s). Tokens are replaced no sooner than 1 s after they were issued: a server whose tokens
///   expire at once costs one token request per second, and callers wait for it.
/// - **Throttled renewal**: see [`invalidate`](Self::invalidate).
///
/// Clones share the cache. [`Authenticator`](crate::Authenticator) uses one around the token
/// endpoint; build one yourself around another provider.
pub struct TokenCache<P> {
    shared: Arc<Inner<P>>,
}

struct Inner<P> {
    provider: P,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    /// The token request in progress, if any. At most one at a time.
    flight: Option<Flight>,
    /// When a refused token was last dropped so that a new one would be fetched.
    last_renewal: Option<Instant>,
}

struct Cached {
    token: AccessToken,
    /// From here on, the next caller starts a background refresh.
    refresh_at: Instant,
    /// Up to here, the token is handed out.
    usable_until: Instant,
}

impl<P> Clone for TokenCache<P> {
    fn clone(&self) -> Self {
        TokenCache {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<P: TokenProvider> TokenCache<P> {
    /// An empty cache in front of `provider`. Nothing is requested until the first [`token`](Self::token).
    pub fn new(provider: P) -> Self {
        TokenCache {
            shared: Arc::new(Inner {
                provider,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The provider behind the cache.
    pub fn provider(&self) -> &P {
        &self.shared.provider
    }

    /// A usable token: the cached one if there is one (starting a background refresh when it is
    /// due), otherwise the result of the one token request that all waiting callers share.
    ///
    /// Token requests run as tokio tasks: a call that has to start one outside a tokio runtime
    /// fails with [`Error::NoTokioRuntime`] (a cached token is still handed out there).
    pub async fn token(&self) -> Result<AccessToken, Error> {
        let flight = {
            let mut state = self.shared.lock();
            let now = Instant::now();
            let State {
                current, flight, ..
            } = &mut *state;
            match current {
                Some(cached) if now < cached.usable_until => {
                    if now >= cached.refresh_at && flight.is_none() {
                        tracing::debug!("token refresh due; refreshing in the background");
                        *flight = self.start_flight(Some(&cached.token)).ok();
                    }
                    return Ok(cached.token.clone());
                }
                _ => match flight {
                    Some(flight) => flight.clone(),
                    None => {
                        let replacing = current.as_ref().map(|c| &c.token);
                        flight.insert(self.start_flight(replacing)?).clone()
                    }
                },
            }
        };
        flight.await
    }

    /// Reports that the API refused `token` (the bearer value sent, e.g. after a 401) and says
    /// whether sending the request again with a token from [`token`](Self::token) is worthwhile.
    ///
    /// - `token` is still the cached one: it is dropped, so the next caller fetches a new one;
    ///   `true`. But if a refused token was already dropped less than 30 s ago, the new one is
    ///   refused too and fetching yet another would not help: the token is kept and the answer is
    ///   `false` (return the 401 to the caller) until the 30 s have passed.
    /// - Another caller already replaced it: `true`, the newer token is kept.
    pub fn invalidate(&self, token: &str) -> bool {
        let mut state = self.shared.lock();
        let now = Instant::now();
        let is_current = state
            .current
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token);
        if !is_current {
            return true;
        }
        if let Some(last) = state.last_renewal
            && now.saturating_duration_since(last) < MIN_RENEWAL_INTERVAL
        {
            tracing::warn!(
                "the API refused a token obtained moments after another refused one; not fetching \
                 another until {} s have passed",
                MIN_RENEWAL_INTERVAL.as_secs()
            );
            return false;
        }
        tracing::debug!("the API refused the cached token; it will be replaced");
        state.current = None;
        state.last_renewal = Some(now);
        true
    }

    /// Starts the token request that replaces `replacing` (if any) no sooner than
    /// [`MIN_TOKEN_INTERVAL`] after it was issued.
    ///
    /// Must be called with the state locked, so that `complete` (which locks too) cannot run
    /// before the flight is recorded.
    fn start_flight(&self, replacing: Option<&AccessToken>) -> Result<Flight, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoTokioRuntime)?;
        let not_before = replacing
            .map(|token| token.issued_at() + MIN_TOKEN_INTERVAL)
            .filter(|at| *at > Instant::now());
        let shared = Arc::clone(&self.shared);
        let task = runtime.spawn(async move {
            let mut guard = ClearFlightOnDrop(Some(&*shared));
            if let Some(at) = not_before {
                tracing::debug!("the current token was issued less than a second ago; waiting");
                tokio::time::sleep_until(at).await;
            }
            let result = shared.provider.fetch_token().await;
            shared.complete(&result);
            guard.0 = None;
            result
        });
        let flight = async move {
            task.await.unwrap_or_else(|e| {
                Err(Error::RefreshTaskFailed {
                    detail: e.to_string(),
                })
            })
        };
        Ok(flight.boxed().shared())
    }
}

impl<P> Inner<P> {
    fn complete(&self, result: &Result<AccessToken, Error>) {
        let mut state = self.lock();
        state.flight = None;
        match result {
            Ok(token) => state.current = Some(schedule(token)),
            Err(error) => {
                // Keep a token that is still usable; try again a little later rather than on
                // the very next call, so a struggling endpoint is not hammered.
                let now = Instant::now();
                if let Some(cached) = state.current.as_mut().filter(|c| now < c.usable_until) {
                    let retry_at = now + REFRESH_RETRY.mul_f64(rand::random_range(1.0..=2.0));
                    cached.refresh_at = retry_at.min(cached.usable_until);
                    tracing::warn!(%error, "background token refresh failed; keeping the current token");
                } else {
                    tracing::warn!(%error, "token request failed");
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a single assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<P: fmt::Debug> fmt::Debug for TokenCache<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("provider", &self.shared.provider)
            .finish_non_exhaustive()
    }
}

/// Forgets the flight if its task ends without completing (a panic, or the runtime shutting
/// down), so that the next caller starts a new one instead of inheriting a dead one.
struct ClearFlightOnDrop<'a, P>(Option<&'a Inner<P>>);

impl<P> Drop for ClearFlightOnDrop<'_, P> {
    fn drop(&mut self) {
        if let Some(shared) = self.0 {
            shared.lock().flight = None;
        }
    }
}

/// When to refresh and until when to hand out a fresh token, measured from when it was issued.
fn schedule(token: &AccessToken) -> Cached {
    let lifetime = token.lifetime();
    let share = REFRESH_AT + rand::random_range(0.0..=REFRESH_JITTER);
    let margin = lifetime.mul_f64(EXPIRY_MARGIN).min(MAX_EXPIRY_MARGIN);
    Cached {
        token: token.clone(),
        refresh_at: token.issued_at() + lifetime.mul_f64(share),
        usable_until: token.issued_at() + lifetime - margin,
    }
}
