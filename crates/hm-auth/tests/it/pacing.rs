//! How often the token endpoint is asked: never before the `Retry-After` it gave, however many
//! callers need a token; tokens keep the lifetime the server gave them, however short, and are
//! replaced at most once a second. Loopback servers and a mock provider under tokio's paused
//! clock; no real waits.

use std::time::Duration;

use futures::FutureExt;
use hm_auth::{Error, ErrorKind, RetryPolicy, TokenCache};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

/// A token endpoint that answers 429 with `Retry-After: {seconds}` once, then tokens.
fn rate_limited_once(seconds: &str) -> TestServer {
    TestServer::scripted(vec![
        Reply::json(429, json!({"message": "rate limited"})).header("retry-after", seconds),
        Reply::json(200, token_reply(TOKEN, 300)),
    ])
}

/// Retries allowed, but waits of at most 5 s (the default for token requests).
fn patient_builder(server: &TestServer) -> hm_auth::AuthenticatorBuilder {
    quick_builder(secret_credentials(), server.environment()).token_retry_policy(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::ZERO,
        max_delay: Duration::from_secs(5),
        retry_non_idempotent: true,
    })
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_is_remembered_across_token_requests_and_fails_fast_until_it_passes() {
    let server = rate_limited_once("120");
    let auth = patient_builder(&server).build().unwrap();
    let start = Instant::now();

    // Longer than the policy's 5 s waits: no retry before the server allows one.
    let err = auth.access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenEndpointStatus { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.seen().len(), 1);

    // Every caller within the two minutes fails at once, retryable, saying how long is left
    // (while that is longer than the policy's waits).
    for elapsed in [0, 30, 60, 114] {
        tokio::time::sleep_until(start + Duration::from_secs(elapsed)).await;
        let err = auth.access_token().await.unwrap_err();
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(elapsed),
            "the call waited"
        );
        let Error::TokenRequestDeferred {
            status: 429,
            retry_after,
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(retry_after, Duration::from_secs(120 - elapsed));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert!(
            err.to_string().contains("no token request was sent"),
            "{err}"
        );
    }
    assert_eq!(server.seen().len(), 1);

    // 3 s before the end, a caller waits those 3 s, and its token request is sent right then.
    tokio::time::sleep_until(start + Duration::from_secs(117)).await;
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), TOKEN);
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_within_the_policy_is_waited_for_exactly() {
    let server = rate_limited_once("3");
    let auth = patient_builder(&server).build().unwrap();
    let start = Instant::now();
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), TOKEN);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_is_honoured_for_ten_minutes_at_most() {
    let server = TestServer::scripted(vec![
        Reply::status(503).header("retry-after", "31536000"),
        Reply::json(200, token_reply(TOKEN, 300)),
    ]);
    let auth = patient_builder(&server).build().unwrap();
    let start = Instant::now();
    auth.access_token().await.unwrap_err();
    let err = auth.access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenRequestDeferred { status: 503, retry_after } if retry_after <= Duration::from_secs(600)),
        "{err:?}"
    );
    tokio::time::sleep_until(start + Duration::from_secs(600)).await;
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), TOKEN);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_token_keeps_the_lifetime_its_server_gave_it() {
    for (expires_in, lifetime) in [
        (json!(10), Duration::from_secs(10)),
        (json!(0), Duration::ZERO),
        (json!(-5), Duration::ZERO),
        (json!(315_360_000), Duration::from_secs(3600)),
        (json!("soon"), Duration::from_secs(300)),
    ] {
        let mut reply = token_reply(TOKEN, 0);
        reply["expires_in"] = expires_in.clone();
        let server = TestServer::scripted(vec![Reply::json(200, reply)]);
        let token = quick_builder(secret_credentials(), server.environment())
            .build()
            .unwrap()
            .access_token()
            .await
            .unwrap();
        assert_eq!(token.lifetime(), lifetime, "expires_in {expires_in}");
    }
}

/// Ten-second tokens, a call every 100 ms for a minute: no token is ever handed out past its
/// expiry, no caller waits, and a token is fetched every 6-8 s (refresh at 62-72 %).
#[tokio::test(start_paused = true)]
async fn short_lived_tokens_are_never_handed_out_past_their_expiry() {
    let provider = MockProvider::new(Duration::from_millis(50), Duration::from_secs(10));
    let cache = TokenCache::new(provider.clone());
    cache.token().await.unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let token = cache
            .token()
            .now_or_never()
            .expect("a caller waited")
            .unwrap();
        assert!(token.expires_at() > Instant::now(), "an expired token");
    }
    let calls = provider.calls();
    assert!((8..=11).contains(&calls), "{calls} token requests");
}

/// Tokens that expire at once cost one token request per second, not one per call; every
/// caller gets a fresh token, after a wait of at most a second.
#[tokio::test(start_paused = true)]
async fn tokens_that_expire_at_once_cost_one_token_request_a_second() {
    let provider = MockProvider::new(Duration::from_millis(10), Duration::ZERO);
    let cache = TokenCache::new(provider.clone());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let asked = Instant::now();
        let token = cache.token().await.unwrap();
        assert!(token.issued_at() >= asked, "a token older than the call");
        assert!(asked.elapsed() <= Duration::from_millis(1010));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let times = provider.call_times();
    assert!((10..=11).contains(&times.len()), "{} requests", times.len());
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_secs(1), "{pair:?}");
    }
}
