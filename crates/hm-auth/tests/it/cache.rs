//! The token cache with a mock provider under tokio's paused clock: single flight, refresh
//! ahead of expiry, stale-while-revalidate, failures not cached, throttled renewal. No sockets,
//! no real sleeps.

use std::time::Duration;

use futures::FutureExt;
use hm_auth::{AccessToken, ErrorKind, TokenCache};
use tokio::time::Instant;

use crate::support::*;

const LIFETIME: Duration = Duration::from_secs(300);
const LATENCY: Duration = Duration::from_millis(100);

fn cache() -> (TokenCache<MockProvider>, MockProvider) {
    let provider = MockProvider::new(LATENCY, LIFETIME);
    (TokenCache::new(provider.clone()), provider)
}

/// The token right now, failing the test if the call would have to wait.
fn token_without_waiting(cache: &TokenCache<MockProvider>) -> AccessToken {
    cache
        .token()
        .now_or_never()
        .expect("a call waited although a valid token existed")
        .expect("a call failed although a valid token existed")
}

#[tokio::test(start_paused = true)]
async fn thousand_concurrent_calls_on_a_cold_cache_make_one_token_request() {
    let (cache, provider) = cache();
    let calls = (0..1000).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.token().await })
    });
    let results = futures::future::join_all(calls).await;
    for result in results {
        assert_eq!(result.unwrap().unwrap().expose_secret(), "token-1");
    }
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_hour_of_steady_calls_refreshes_at_62_to_72_percent_of_the_lifetime_and_never_waits() {
    let (cache, provider) = cache();
    let start = Instant::now();
    cache.token().await.unwrap();
    while start.elapsed() < Duration::from_secs(3600) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        token_without_waiting(&cache);
    }
    let times = provider.call_times();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        // Refresh is due at 62-72 % of the lifetime; the next call (within 1 s) starts it.
        assert!(
            gap >= LIFETIME.mul_f64(0.62) && gap <= LIFETIME.mul_f64(0.72) + Duration::from_secs(1),
            "{gap:?} between token requests"
        );
    }
    assert!((17..=20).contains(&times.len()), "{} requests", times.len());
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_serving_the_valid_token_and_retries_every_5_to_10_s() {
    let (cache, provider) = cache();
    let first = cache.token().await.unwrap();
    provider.answer(Outcome::Fail(unavailable()));

    // Call every second until just before the token's usable end (lifetime minus 15 s margin).
    let until = first.expires_at() - Duration::from_secs(16);
    let mut calls = 0;
    while Instant::now() < until {
        assert_eq!(token_without_waiting(&cache).expose_secret(), "token-1");
        calls += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(calls > 250, "{calls}");
    let times = provider.call_times();
    let refreshes = &times[1..];
    // From ~186-216 s to ~284 s, one attempt every 5-10 s (plus up to 1 s until the next call).
    assert!(refreshes.len() >= 7, "{} refresh attempts", refreshes.len());
    for pair in refreshes.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(5) && gap <= Duration::from_secs(11),
            "{gap:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn once_the_token_is_unusable_callers_share_one_failing_request_and_failures_are_not_cached()
{
    let (cache, provider) = cache();
    let first = cache.token().await.unwrap();
    provider.answer(Outcome::Fail(unavailable()));
    tokio::time::sleep_until(first.expires_at()).await;
    let before = provider.calls();

    let results = futures::future::join_all((0..10).map(|_| cache.token())).await;
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    assert_eq!(provider.calls() - before, 1, "ten callers, one request");

    // The failure is not remembered: the next caller asks again, and gets a token.
    provider.answer(Outcome::Token);
    let token = cache.token().await.unwrap();
    assert_eq!(provider.calls() - before, 2);
    assert_eq!(token.expose_secret(), format!("token-{}", before + 2));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_caller_does_not_cancel_the_token_request() {
    let (cache, provider) = cache();
    let cancelled = tokio::time::timeout(LATENCY / 5, cache.token()).await;
    assert!(cancelled.is_err(), "the first caller gives up early");
    assert_eq!(cache.token().await.unwrap().expose_secret(), "token-1");
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_replaced_once_then_renewal_waits_30_s() {
    let (cache, provider) = cache();
    let first = cache.token().await.unwrap();

    // The API refuses token-1: dropped, a new one is worth fetching.
    assert!(cache.invalidate(first.expose_secret()));
    let second = cache.token().await.unwrap();
    assert_eq!(second.expose_secret(), "token-2");
    // A caller still holding token-1 learns that a newer one exists.
    assert!(cache.invalidate(first.expose_secret()));

    // token-2 is refused too, moments later: no third request, the 401 goes to the caller.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for _ in 0..20 {
        assert!(!cache.invalidate(second.expose_secret()));
        assert_eq!(token_without_waiting(&cache).expose_secret(), "token-2");
    }
    assert_eq!(provider.calls(), 2);

    // 30 s after the renewal, a refusal renews again.
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert!(cache.invalidate(second.expose_secret()));
    assert_eq!(cache.token().await.unwrap().expose_secret(), "token-3");
}

#[tokio::test(start_paused = true)]
async fn invalidating_a_token_that_is_not_cached_changes_nothing() {
    let (cache, provider) = cache();
    cache.token().await.unwrap();
    assert!(cache.invalidate("some-other-token"));
    assert_eq!(token_without_waiting(&cache).expose_secret(), "token-1");
    assert_eq!(provider.calls(), 1);
}

/// A provider may mean "never expires" with `Duration::MAX`: the token counts as valid for a
/// century, and neither it nor the cache overflows a clock.
#[tokio::test(start_paused = true)]
async fn a_token_that_never_expires_is_valid_for_a_century() {
    struct Forever;
    impl hm_auth::TokenProvider for Forever {
        async fn fetch_token(&self) -> Result<AccessToken, hm_auth::Error> {
            Ok(AccessToken::new("t", Instant::now(), Duration::MAX, vec![]))
        }
    }
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let cache = TokenCache::new(Forever);
    let token = cache.token().await.unwrap();
    assert_eq!(token.lifetime(), CENTURY);
    assert_eq!(token.expires_in(), CENTURY);
    assert!(token.expires_at_system_time() > std::time::SystemTime::now() + CENTURY / 2);
    assert!(format!("{token:?}").contains("expires_in"));
    tokio::time::sleep(Duration::from_secs(3600 * 24 * 365)).await;
    assert_eq!(cache.token().await.unwrap().expose_secret(), "t");
}

/// `TokenCache` serves any provider, polled by any executor; but token requests run as tokio
/// tasks, so one that must be started outside a tokio runtime is a clear error, not a panic. A
/// cached token is handed out there all the same.
#[test]
fn a_token_request_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let provider = MockProvider::new(Duration::ZERO, LIFETIME);
    let cache = TokenCache::new(provider.clone());
    let err = futures::executor::block_on(cache.token()).unwrap_err();
    assert!(matches!(err, hm_auth::Error::NoTokioRuntime), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    assert_eq!(provider.calls(), 0);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(cache.token()).unwrap();
    let again = futures::executor::block_on(cache.token()).unwrap();
    assert_eq!(again.expose_secret(), token.expose_secret());
    assert_eq!(provider.calls(), 1);
}
