//! The token cache: single flight, refresh ahead of expiry, stale-while-revalidate, recovery.

use std::time::Duration;

use futures::FutureExt;
use hm_auth::{AccessToken, Authenticator, Error};
use httpmock::Method::POST;
use httpmock::MockServer;
use tokio::time::Instant;

use crate::support::*;

const LIFETIME: Duration = Duration::from_secs(300);
/// The cache refreshes between 62 % and 72 % of the lifetime.
const LATEST_REFRESH: f64 = 0.72;

/// The token right now, failing the test if the call would have to wait.
fn token_without_waiting(auth: &Authenticator) -> AccessToken {
    auth.access_token()
        .now_or_never()
        .expect("a call waited although a valid token existed")
        .expect("a call failed although a valid token existed")
}

/// Lets a background refresh that is in flight finish in real time, without moving the paused
/// clock: the test's loop runs thousands of simulated seconds per real millisecond, faster than
/// loopback I/O completes.
async fn let_refresh_land(auth: &Authenticator, old: &AccessToken) {
    for _ in 0..10_000 {
        if token_without_waiting(auth).expires_at() != old.expires_at() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
        tokio::task::yield_now().await;
    }
    panic!("the background refresh did not complete within 10 s of real time");
}

/// Gives token requests in flight real time to finish, letting simulated time move a little
/// (their retry backoff runs on it).
async fn drain() {
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_calls_on_a_cold_cache_make_one_token_request() {
    let server = MockServer::start_async().await;
    let reply = token_reply(TOKEN, 300);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            // Slow enough that every caller arrives while the request is in flight.
            then.status(200)
                .json_body(reply)
                .delay(Duration::from_millis(300));
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let calls = (0..1000).map(|_| {
        let auth = auth.clone();
        tokio::spawn(async move { auth.access_token().await })
    });
    let results = futures::future::join_all(calls).await;
    for result in results {
        assert_eq!(result.unwrap().unwrap().expose_secret(), TOKEN);
    }
    mock.assert_calls_async(1).await;
}

#[tokio::test(start_paused = true)]
async fn an_hour_of_steady_calls_refreshes_about_every_two_thirds_of_a_lifetime_and_never_waits() {
    let server = MockServer::start_async().await;
    let mock = token_endpoint(&server, TOKEN).await;
    let auth = authenticator(&server, secret_credentials());
    let start = Instant::now();
    auth.access_token().await.unwrap();
    let mut calls = 0u32;

    while start.elapsed() < Duration::from_secs(3600) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let token = token_without_waiting(&auth);
        calls += 1;
        let sent_at = token.expires_at() - LIFETIME;
        if Instant::now() >= sent_at + LIFETIME.mul_f64(LATEST_REFRESH) + Duration::from_secs(1) {
            // A refresh must have started by now; let it land before simulated time moves on.
            let_refresh_land(&auth, &token).await;
        }
    }

    let requests = mock.calls_async().await;
    // One initial request plus one per 186-216 s (62-72 % of 300 s, jittered).
    let fewest = 1 + (3600.0 / (LIFETIME.as_secs_f64() * LATEST_REFRESH)).floor() as usize;
    let most = 1 + (3600.0 / (LIFETIME.as_secs_f64() * 0.62)).ceil() as usize;
    assert!(
        (fewest..=most).contains(&requests),
        "{requests} token requests for {calls} calls over an hour; expected {fewest}..={most}"
    );
}

#[tokio::test(start_paused = true)]
async fn failing_refresh_while_the_token_is_valid_fails_no_call() {
    let server = MockServer::start_async().await;
    let good = token_endpoint(&server, TOKEN).await;
    let auth = authenticator(&server, secret_credentials());
    let first = auth.access_token().await.unwrap();
    good.delete_async().await;
    let down = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(503).body("maintenance");
        })
        .await;

    // Call every second until just before the token's usable end (lifetime minus 15 s margin).
    let until = first.expires_at() - Duration::from_secs(16);
    let mut calls = 0;
    while Instant::now() < until {
        let token = token_without_waiting(&auth);
        assert_eq!(token.expose_secret(), TOKEN);
        calls += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(calls > 250, "{calls}");
    drain().await;
    assert!(
        down.calls_async().await >= 3,
        "background refreshes should have been attempted"
    );
}

#[tokio::test(start_paused = true)]
async fn endpoint_down_past_expiry_gives_a_clear_error_then_recovers() {
    let server = MockServer::start_async().await;
    let good = token_endpoint(&server, TOKEN).await;
    let auth = authenticator(&server, secret_credentials());
    let first = auth.access_token().await.unwrap();
    good.delete_async().await;
    let down = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(503).body("maintenance");
        })
        .await;

    tokio::time::sleep_until(first.expires_at() + Duration::from_secs(1)).await;
    drain().await; // background refreshes attempted before expiry
    let before = down.calls_async().await;
    // Ten callers, no valid token: they share one (failing) token request of three attempts.
    let results = futures::future::join_all((0..10).map(|_| auth.access_token())).await;
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert!(
            matches!(err, Error::TokenEndpointStatus { status: 503, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("503") && err.is_transient(),
            "{err}"
        );
    }
    assert_eq!(
        down.calls_async().await - before,
        3,
        "one flight of three attempts"
    );

    down.delete_async().await;
    let recovered = token_endpoint(&server, "second-token").await;
    assert_eq!(
        auth.access_token().await.unwrap().expose_secret(),
        "second-token"
    );
    recovered.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_cancelled_caller_does_not_cancel_the_token_request() {
    let server = MockServer::start_async().await;
    let reply = token_reply(TOKEN, 300);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200)
                .json_body(reply)
                .delay(Duration::from_millis(300));
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let cancelled = tokio::time::timeout(Duration::from_millis(20), auth.access_token()).await;
    assert!(cancelled.is_err(), "the first caller gives up early");
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), TOKEN);
    mock.assert_calls_async(1).await;
}

#[tokio::test(start_paused = true)]
async fn absurd_lifetimes_are_clamped() {
    let server = MockServer::start_async().await;
    let reply = token_reply(TOKEN, 0);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200).json_body(reply);
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    assert_eq!(
        auth.access_token().await.unwrap().lifetime(),
        Duration::from_secs(30)
    );

    let server = MockServer::start_async().await;
    let reply = token_reply(TOKEN, 10 * 365 * 24 * 3600);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200).json_body(reply);
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    assert_eq!(
        auth.access_token().await.unwrap().lifetime(),
        Duration::from_secs(3600)
    );
}
