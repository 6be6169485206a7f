//! Bounded in time, and honest about why: DNS failure, connection refused, connect timeout,
//! read timeout and the overall deadline are told apart. Hung peers under tokio's paused clock,
//! so every timeout elapses in virtual time.

use std::time::Duration;

use hm_auth::{Authenticator, Environment, Error, ErrorKind, RetryPolicy};
use tokio::time::Instant;

use crate::support::*;

/// Resolves nothing: every name fails at once, or (with `hang`) never answers.
struct Resolver {
    hang: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let hang = self.hang;
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            Err("no such host (test resolver)".into())
        })
    }
}

fn with_resolver(hang: bool) -> hm_auth::AuthenticatorBuilder {
    let environment = Environment::custom("http://localhost:4000").unwrap();
    quick_builder(secret_credentials(), environment)
        .token_client_builder(
            reqwest::Client::builder()
                .pool_idle_timeout(None)
                .dns_resolver(std::sync::Arc::new(Resolver { hang })),
        )
        .token_retry_policy(RetryPolicy::disabled())
}

#[tokio::test]
async fn a_dns_failure_says_so() {
    let err = token_error(with_resolver(false)).await;
    assert_eq!(err.kind(), ErrorKind::Dns, "{err}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("could not be resolved (DNS)"), "{text}");
    assert!(err.hint().contains("host name"), "{}", err.hint());
}

#[tokio::test]
async fn a_refused_connection_says_so_after_the_retries() {
    let environment = Environment::custom(&format!("http://127.0.0.1:{}", closed_port())).unwrap();
    let err = token_error(quick_builder(secret_credentials(), environment)).await;
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert!(
        matches!(err, Error::TokenTransport { attempts: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("cannot reach the token endpoint") && text.contains("connection was refused"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_completes_fails_at_the_connect_timeout() {
    let start = Instant::now();
    let err = token_error(with_resolver(true).token_connect_timeout(Duration::from_secs(5))).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(err.kind(), ErrorKind::ConnectTimeout, "{err}");
    assert!(
        err.to_string()
            .contains("no connection within the connect timeout"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_reply_fails_at_the_attempt_timeout() {
    let hung = TestServer::start(|_| Reply::hang());
    let start = Instant::now();
    let err = token_error(
        quick_builder(secret_credentials(), hung.environment())
            .token_attempt_timeout(Duration::from_secs(10))
            .token_retry_policy(RetryPolicy::disabled()),
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(err.kind(), ErrorKind::ReadTimeout, "{err}");
    assert!(
        err.to_string()
            .contains("no reply within the per-attempt timeout"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_endpoint_fails_at_the_deadline_not_after_every_attempt() {
    // Default attempt timeout (10 s), deadline (30 s) and token retry policy (4 attempts): the
    // third attempt is cut at 30 s. No connect timeout, which paused time could fire early while
    // the loopback connection is being set up.
    let hung = TestServer::start(|_| Reply::hang());
    let start = Instant::now();
    let err = token_error(
        Authenticator::builder(secret_credentials(), hung.environment())
            .token_connect_timeout(None),
    )
    .await;
    assert_eq!(start.elapsed(), hm_auth::DEFAULT_TOKEN_DEADLINE);
    assert_eq!(err.kind(), ErrorKind::Deadline, "{err}");
    match &err {
        Error::TokenDeadline {
            attempts: 3,
            last: Some(last),
            ..
        } => assert_eq!(last.kind(), ErrorKind::ReadTimeout, "{last}"),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("no token within the 30 s deadline")
            && text.contains("no reply within the per-attempt timeout"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_defaults_a_hung_endpoint_fails_within_30_s() {
    let hung = TestServer::start(|_| Reply::hang());
    let start = Instant::now();
    let err = token_error(Authenticator::builder(
        secret_credentials(),
        hung.environment(),
    ))
    .await;
    assert!(
        start.elapsed() <= Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    // Deadline, or (if paused time fired the connect timeout early) connect timeouts.
    assert!(
        matches!(err.kind(), ErrorKind::Deadline | ErrorKind::ConnectTimeout),
        "{err}"
    );
}
