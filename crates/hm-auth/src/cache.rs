//! The token cache: refresh ahead of expiry, stale-while-revalidate, single flight.
//!
//! A token request always runs in its own spawned task. Callers that need to wait (no usable
//! token) await a shared handle to that task, so a caller that is cancelled leaves the request
//! running for the others; callers that hold a usable token never wait at all. The mutex guards
//! only short bookkeeping and is never held across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::token_client::{Fetched, TokenClient};
use crate::{AccessToken, Error};

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

type Flight = Shared<BoxFuture<'static, Result<AccessToken, Error>>>;

pub(crate) struct TokenCache {
    client: TokenClient,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    /// The token request in progress, if any. At most one at a time.
    flight: Option<Flight>,
}

struct Cached {
    token: AccessToken,
    /// From here on, the next caller starts a background refresh.
    refresh_at: Instant,
    /// Up to here, the token is handed out.
    usable_until: Instant,
}

impl TokenCache {
    pub(crate) fn new(client: TokenClient) -> Arc<Self> {
        Arc::new(TokenCache {
            client,
            state: Mutex::new(State::default()),
        })
    }

    pub(crate) fn client(&self) -> &TokenClient {
        &self.client
    }

    /// A usable token: the cached one if there is one (starting a background refresh when it is
    /// due), otherwise the result of the one token request that all waiting callers share.
    pub(crate) async fn token(self: &Arc<Self>) -> Result<AccessToken, Error> {
        let flight = {
            let mut state = self.lock();
            let now = Instant::now();
            let State { current, flight } = &mut *state;
            match current {
                Some(cached) if now < cached.usable_until => {
                    if now >= cached.refresh_at && flight.is_none() {
                        tracing::debug!("token refresh due; refreshing in the background");
                        *flight = Some(self.start_flight());
                    }
                    return Ok(cached.token.clone());
                }
                _ => flight.get_or_insert_with(|| self.start_flight()).clone(),
            }
        };
        flight.await
    }

    /// Forgets the cached token if it is still `bearer`, the token a refused request carried.
    /// If another caller has already replaced it, the newer token is kept.
    pub(crate) fn invalidate(&self, bearer: &str) {
        let mut state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == bearer)
        {
            tracing::debug!("the API refused the cached token; it will be replaced");
            state.current = None;
        }
    }

    /// Must be called with the state locked, so that `complete` (which locks too) cannot run
    /// before the flight is recorded.
    fn start_flight(self: &Arc<Self>) -> Flight {
        let cache = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut guard = ClearFlightOnDrop(Some(&cache));
            let result = cache.client.fetch().await;
            cache.complete(&result);
            guard.0 = None;
            result.map(|fetched| fetched.token)
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(Error::RefreshTaskFailed {
                    detail: e.to_string(),
                })
            })
        }
        .boxed()
        .shared()
    }

    fn complete(&self, result: &Result<Fetched, Error>) {
        let mut state = self.lock();
        state.flight = None;
        match result {
            Ok(fetched) => state.current = Some(schedule(fetched)),
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

/// Forgets the flight if its task ends without completing (a panic, or the runtime shutting
/// down), so that the next caller starts a new one instead of inheriting a dead one.
struct ClearFlightOnDrop<'a>(Option<&'a TokenCache>);

impl Drop for ClearFlightOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(cache) = self.0 {
            cache.lock().flight = None;
        }
    }
}

/// When to refresh and until when to use a fresh token, measured from when its request was sent.
fn schedule(fetched: &Fetched) -> Cached {
    let lifetime = fetched.token.lifetime();
    let share = REFRESH_AT + rand::random_range(0.0..=REFRESH_JITTER);
    let margin = lifetime.mul_f64(EXPIRY_MARGIN).min(MAX_EXPIRY_MARGIN);
    Cached {
        token: fetched.token.clone(),
        refresh_at: fetched.sent_at + lifetime.mul_f64(share),
        usable_until: fetched.sent_at + lifetime - margin,
    }
}
