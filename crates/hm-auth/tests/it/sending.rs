//! Sending API requests: the renewal after 401 (judged by who answered, throttled), origin
//! pinning, and the retry layer on its own.

use std::time::Duration;

use hm_auth::{Authenticator, Environment, Error, RetryMiddleware, RetryPolicy};
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

async fn send(
    auth: &Authenticator,
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
) -> reqwest::Response {
    let mut request = request.build().unwrap();
    auth.authorize(&mut request).await.unwrap();
    auth.send_authorized(client, request).await.unwrap()
}

async fn api_for<'a>(server: &'a MockServer, token: &str, status: u16) -> Mock<'a> {
    let header = format!("Bearer {token}");
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/fleets/vehicles")
                .header("authorization", header);
            then.status(status).json_body(json!({"errors": []}));
        })
        .await
}

/// Caches token "A", then makes the endpoint hand out "B".
async fn cache_a_then_serve_b<'a>(server: &'a MockServer, auth: &Authenticator) -> Mock<'a> {
    let a = token_endpoint(server, "A").await;
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), "A");
    a.delete_async().await;
    let reply = token_reply("B", 300);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200).json_body(reply);
        })
        .await
}

#[tokio::test]
async fn a_401_causes_one_refresh_and_one_retry() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials());
    let b_endpoint = cache_a_then_serve_b(&server, &auth).await;
    let refused = api_for(&server, "A", 401).await;
    let accepted = api_for(&server, "B", 200).await;

    let client = reqwest::Client::new();
    let response = send(
        &auth,
        &client,
        client.get(server.url("/v1/fleets/vehicles")),
    )
    .await;
    assert_eq!(response.status(), 200);
    refused.assert_calls_async(1).await;
    accepted.assert_calls_async(1).await;
    b_endpoint.assert_calls_async(1).await;
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), "B");
}

#[tokio::test]
async fn a_post_is_sent_again_with_its_body_after_401_though_never_retried_otherwise() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials());
    let b_endpoint = cache_a_then_serve_b(&server, &auth).await;
    let body = json!({"vin": "1HMTEST0000000001", "brand": "sandbox"});
    let refused = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v1/eligibility")
                .header("authorization", "Bearer A");
            then.status(401);
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v1/eligibility")
                .header("authorization", "Bearer B")
                .json_body(body.clone());
            then.status(200).json_body(json!({"eligible": true}));
        })
        .await;
    let client = reqwest::Client::new();
    let response = send(
        &auth,
        &client,
        client.post(server.url("/v1/eligibility")).json(&body),
    )
    .await;
    assert_eq!(response.status(), 200);
    refused.assert_calls_async(1).await;
    accepted.assert_calls_async(1).await;
    b_endpoint.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_second_401_is_returned_to_the_caller() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials());
    let b_endpoint = cache_a_then_serve_b(&server, &auth).await;
    let refused_a = api_for(&server, "A", 401).await;
    let refused_b = api_for(&server, "B", 401).await;

    let client = reqwest::Client::new();
    let response = send(
        &auth,
        &client,
        client.get(server.url("/v1/fleets/vehicles")),
    )
    .await;
    assert_eq!(response.status(), 401);
    refused_a.assert_calls_async(1).await;
    refused_b.assert_calls_async(1).await;
    b_endpoint.assert_calls_async(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_401s_cause_one_refresh() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials());
    let b_endpoint = cache_a_then_serve_b(&server, &auth).await;
    let refused = api_for(&server, "A", 401).await;
    let accepted = api_for(&server, "B", 200).await;

    let client = reqwest::Client::new();
    let url = server.url("/v1/fleets/vehicles");
    // Both carry token A before either is sent, so both are refused.
    let mut first = client.get(&url).build().unwrap();
    let mut second = client.get(&url).build().unwrap();
    auth.authorize(&mut first).await.unwrap();
    auth.authorize(&mut second).await.unwrap();
    let (one, two) = tokio::join!(
        auth.send_authorized(&client, first),
        auth.send_authorized(&client, second)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(
        (one.status(), two.status()),
        (reqwest::StatusCode::OK, reqwest::StatusCode::OK)
    );
    refused.assert_calls_async(2).await;
    accepted.assert_calls_async(2).await;
    b_endpoint.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_request_to_another_origin_carries_no_token() {
    let api = MockServer::start_async().await;
    let other = MockServer::start_async().await;
    token_endpoint(&api, TOKEN).await;
    let elsewhere = other
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/fleets/vehicles")
                .header_missing("authorization");
            then.status(200);
        })
        .await;
    let auth = authenticator(&api, secret_credentials());
    let client = reqwest::Client::new();

    let mut request = client
        .get(other.url("/v1/fleets/vehicles"))
        .build()
        .unwrap();
    auth.authorize(&mut request).await.unwrap();
    assert!(request.headers().get("authorization").is_none());
    assert_eq!(
        auth.send_authorized(&client, request)
            .await
            .unwrap()
            .status(),
        200
    );

    // Same host, other port, and other scheme are other origins too.
    let mut request = client
        .get(format!("https://127.0.0.1:{}/v1", api.port()))
        .build()
        .unwrap();
    auth.authorize(&mut request).await.unwrap();
    assert!(request.headers().get("authorization").is_none());

    let middleware_client = reqwest_middleware::ClientBuilder::new(client.clone())
        .with(auth.middleware())
        .build();
    assert_eq!(
        middleware_client
            .get(other.url("/v1/fleets/vehicles"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    elsewhere.assert_calls_async(2).await;
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    for url in [
        "http://api.high-mobility.com",
        "http://10.0.0.7:4000",
        "ftp://127.0.0.1",
    ] {
        let err = Environment::custom(url).unwrap_err();
        assert!(
            matches!(err, Error::InvalidBaseUrl { .. }),
            "{url}: {err:?}"
        );
        let from_url =
            Authenticator::builder(secret_credentials(), url::Url::parse(url).unwrap()).build();
        assert!(
            matches!(from_url, Err(Error::InvalidBaseUrl { .. })),
            "{url}"
        );
    }
    let err = Environment::custom("http://api.high-mobility.com").unwrap_err();
    assert!(err.to_string().contains("use https"), "{err}");
    for url in [
        "http://127.0.0.1:4000",
        "http://localhost:4000",
        "http://[::1]:4000",
        "https://example.com/hm",
    ] {
        Authenticator::builder(secret_credentials(), Environment::custom(url).unwrap())
            .build()
            .unwrap();
    }
    for environment in [Environment::Sandbox, Environment::Production] {
        Authenticator::builder(secret_credentials(), environment)
            .build()
            .unwrap();
    }
}

#[tokio::test]
async fn get_is_retried_after_503_then_succeeds() {
    let api = TestServer::scripted(vec![Reply::status(503), Reply::status(200)]);
    let server = MockServer::start_async().await;
    token_endpoint(&server, TOKEN).await;
    let auth = authenticator(&server, secret_credentials());
    let client = reqwest::Client::new();
    // Not our origin, so no token; the retry policy applies to every request sent this way.
    let response = auth
        .send_authorized(&client, client.get(&api.url).build().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = api.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|s| s.method == "GET" && s.authorization.is_none()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn post_is_not_retried_by_default_but_can_opt_in() {
    let server = MockServer::start_async().await;
    token_endpoint(&server, TOKEN).await;
    let unavailable = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/eligibility");
            then.status(503);
        })
        .await;
    let client = reqwest::Client::new();
    let auth = authenticator(&server, secret_credentials());
    let response = send(
        &auth,
        &client,
        client.post(server.url("/v1/eligibility")).body("{}"),
    )
    .await;
    assert_eq!(response.status(), 503);
    unavailable.assert_calls_async(1).await;

    let opted_in = quick_builder(secret_credentials(), base(&server))
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            retry_non_idempotent: true,
        })
        .build()
        .unwrap();
    let response = send(
        &opted_in,
        &client,
        client.post(server.url("/v1/eligibility")).body("{}"),
    )
    .await;
    assert_eq!(response.status(), 503);
    unavailable.assert_calls_async(4).await;
}

#[tokio::test]
async fn disabled_policy_does_not_retry() {
    let api = TestServer::scripted(vec![Reply::status(503), Reply::status(200)]);
    let server = MockServer::start_async().await;
    let auth = quick_builder(secret_credentials(), base(&server))
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let response = auth
        .send_authorized(&client, client.get(&api.url).build().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(api.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_capped() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials()); // max_delay 10 s
    let client = paused_time_client();

    let api = TestServer::scripted(vec![
        Reply::status(429).header("retry-after", "7"),
        Reply::status(200),
    ]);
    let start = Instant::now();
    let response = auth
        .send_authorized(&client, client.get(&api.url).build().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
        "{waited:?}"
    );

    let api = TestServer::scripted(vec![
        Reply::status(503).header("retry-after", "86400"),
        Reply::status(200),
    ]);
    let start = Instant::now();
    let response = auth
        .send_authorized(&client, client.get(&api.url).build().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "capped: {waited:?}"
    );
}

#[tokio::test]
async fn middleware_attaches_the_token_and_renews_it_after_401() {
    let server = MockServer::start_async().await;
    let auth = authenticator(&server, secret_credentials());
    let b_endpoint = cache_a_then_serve_b(&server, &auth).await;
    let refused = api_for(&server, "A", 401).await;
    let accepted = api_for(&server, "B", 200).await;

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth.middleware())
        .build();
    let response = client
        .get(server.url("/v1/fleets/vehicles"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    refused.assert_calls_async(1).await;
    accepted.assert_calls_async(1).await;
    b_endpoint.assert_calls_async(1).await;
}

#[test]
fn authenticator_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Authenticator>();
    assert_traits::<hm_auth::AuthMiddleware>();
    assert_traits::<hm_auth::AccessToken>();
    assert_traits::<Error>();
    assert_traits::<hm_auth::TokenCache<MockProvider>>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}

#[tokio::test]
async fn twenty_calls_refused_with_401_cost_two_token_requests() {
    let server = MockServer::start_async().await;
    let tokens = token_endpoint(&server, TOKEN).await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/fleets/vehicles");
            then.status(401)
                .json_body(json!({"errors": [{"title": "Unauthorized"}]}));
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let response = send(
            &auth,
            &client,
            client.get(server.url("/v1/fleets/vehicles")),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    // The first token, and one renewal; then the 401 goes straight to the caller.
    tokens.assert_calls_async(2).await;
    refused.assert_calls_async(21).await;
}

#[tokio::test]
async fn a_401_from_another_origin_after_a_redirect_keeps_the_token() {
    let server = MockServer::start_async().await;
    let elsewhere = TestServer::scripted(vec![Reply::status(401)]);
    let tokens = token_endpoint(&server, TOKEN).await;
    let location = format!("{}/stolen", elsewhere.url);
    server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/fleets/vehicles");
            then.status(302).header("location", location);
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let client = reqwest::Client::new(); // follows redirects, as the user configured it
    for _ in 0..3 {
        let response = send(
            &auth,
            &client,
            client.get(server.url("/v1/fleets/vehicles")),
        )
        .await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.url().as_str(), format!("{}/stolen", elsewhere.url));
    }
    tokens.assert_calls_async(1).await;
    let seen = elsewhere.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s.authorization.is_none()),
        "the token must not follow a redirect to another origin: {seen:?}"
    );
}

#[tokio::test]
async fn stacking_a_retry_middleware_does_not_multiply_attempts() {
    let server = MockServer::start_async().await;
    token_endpoint(&server, TOKEN).await;
    let unavailable = server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/fleets/vehicles");
            then.status(503);
        })
        .await;
    let auth = authenticator(&server, secret_credentials()); // three attempts per policy

    let auth_only = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth.middleware())
        .build();
    let response = auth_only
        .get(server.url("/v1/fleets/vehicles"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    unavailable.assert_calls_async(1).await;

    let stacked = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth.retry_middleware())
        .with(auth.middleware())
        .build();
    let response = stacked
        .get(server.url("/v1/fleets/vehicles"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    unavailable.assert_calls_async(1 + 3).await;

    // Any retry middleware in front: still exactly its own attempts.
    let other_retry = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            retry_non_idempotent: false,
        }))
        .with(auth.middleware())
        .build();
    other_retry
        .get(server.url("/v1/fleets/vehicles"))
        .send()
        .await
        .unwrap();
    unavailable.assert_calls_async(1 + 3 + 2).await;
}
