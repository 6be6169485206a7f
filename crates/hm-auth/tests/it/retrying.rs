//! Retrying token requests, as a decorator around any provider: retryable failures only, with
//! backoff, within the overall deadline. A mock provider under paused time; no sockets.

use std::time::Duration;

use hm_auth::{Error, ErrorKind, RetryPolicy, RetryingProvider, TokenProvider};
use tokio::time::Instant;

use crate::support::*;

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        retry_non_idempotent: false, // token requests are retried regardless
    }
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_are_retried_up_to_the_policy_and_report_the_attempts() {
    let provider = MockProvider::new(Duration::from_millis(50), Duration::from_secs(300));
    provider.answer(Outcome::Fail(unavailable()));
    let retrying = RetryingProvider::new(provider.clone(), policy(4));
    let err = retrying.fetch_token().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenEndpointStatus {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("after 4 attempt(s)"), "{err}");
    assert_eq!(provider.calls(), 4);
    let times = provider.call_times();
    for (i, pair) in times.windows(2).enumerate() {
        // 50 ms of latency, then half to all of 200 ms, 400 ms, 800 ms.
        let ceiling = Duration::from_millis(200 << i);
        let wait = pair[1] - pair[0] - Duration::from_millis(50);
        assert!(wait >= ceiling / 2 && wait <= ceiling, "{wait:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_recovering_provider_yields_a_token() {
    let provider = MockProvider::new(Duration::ZERO, Duration::from_secs(300));
    provider.answer(Outcome::Fail(unavailable()));
    let retrying = RetryingProvider::new(provider.clone(), policy(4));
    let recover = {
        let provider = provider.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            provider.answer(Outcome::Token);
        }
    };
    let (token, ()) = tokio::join!(retrying.fetch_token(), recover);
    assert!(token.unwrap().expose_secret().starts_with("token-"));
    assert!(provider.calls() >= 2);
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_are_not_retried() {
    let provider = MockProvider::new(Duration::ZERO, Duration::from_secs(300));
    provider.answer(Outcome::Fail(rejected()));
    let err = RetryingProvider::new(provider.clone(), policy(4))
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CredentialsRejected);
    assert!(!err.is_retryable());
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_up_to_max_delay() {
    let provider = MockProvider::new(Duration::ZERO, Duration::from_secs(300));
    provider.answer(Outcome::Fail(Error::TokenEndpointStatus {
        status: 429,
        attempts: 1,
        body: String::new(),
        retry_after: Some(Duration::from_secs(1)),
    }));
    RetryingProvider::new(provider.clone(), policy(2))
        .fetch_token()
        .await
        .unwrap_err();
    let times = provider.call_times();
    assert_eq!(times[1] - times[0], Duration::from_secs(1));
}

/// Waiting less than the server asked and asking again would be refused again, or worse: a
/// `Retry-After` beyond the policy's `max_delay` ends the retries at once.
#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_max_delay_ends_the_retries() {
    let provider = MockProvider::new(Duration::ZERO, Duration::from_secs(300));
    provider.answer(Outcome::Fail(Error::TokenEndpointStatus {
        status: 429,
        attempts: 1,
        body: String::new(),
        retry_after: Some(Duration::from_secs(120)),
    }));
    let start = Instant::now();
    let err = RetryingProvider::new(provider.clone(), policy(4))
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(provider.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_hung_provider_is_cut_at_the_deadline() {
    let provider = MockProvider::new(Duration::ZERO, Duration::from_secs(300));
    provider.answer(Outcome::Hang);
    let start = Instant::now();
    let err = RetryingProvider::new(provider.clone(), policy(4))
        .with_deadline(Duration::from_secs(30))
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert!(
        matches!(
            err,
            Error::TokenDeadline {
                attempts: 1,
                last: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Deadline);
    assert!(err.to_string().contains("30 s deadline"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn no_wait_is_started_that_would_end_past_the_deadline() {
    // 4 s per failing attempt, then the 2 s the server asks for: attempts at 0 and 6 s; a third
    // would start at 12 s, past the 11 s deadline, so the second failure is returned at 10 s.
    let provider = MockProvider::new(Duration::from_secs(4), Duration::from_secs(300));
    provider.answer(Outcome::Fail(Error::TokenEndpointStatus {
        status: 503,
        attempts: 1,
        body: String::new(),
        retry_after: Some(Duration::from_secs(2)),
    }));
    let start = Instant::now();
    let err = RetryingProvider::new(provider.clone(), policy(10))
        .with_deadline(Duration::from_secs(11))
        .fetch_token()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        matches!(err, Error::TokenEndpointStatus { attempts: 2, .. }),
        "{err:?}"
    );
}
