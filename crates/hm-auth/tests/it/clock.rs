//! Clock skew: when the token endpoint refuses the assertion and its `Date` shows a clock far
//! from ours, one more request is made with `iat` on the server's clock, and later assertions
//! keep the correction. Against a loopback server whose clock is off by ten minutes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hm_auth::{Authenticator, Credentials, ErrorKind};
use serde_json::json;

use crate::support::*;

const TOLERANCE_S: i64 = 30;

fn iat_of(request: &Seen) -> Option<i64> {
    let assertion = request.json()["client_assertion"].as_str()?.to_owned();
    let claims = URL_SAFE_NO_PAD.decode(assertion.split('.').nth(1)?).ok()?;
    serde_json::from_slice::<serde_json::Value>(&claims).ok()?["iat"].as_i64()
}

/// A token endpoint whose clock is `skew_s` seconds off ours. It accepts an assertion whose
/// `iat` is within 30 s of its own time (when `accepts`), like High Mobility's, and answers
/// `GET /v1/data` with 401.
fn skewed_server(skew_s: i64, accepts: bool) -> TestServer {
    TestServer::start(move |request| {
        let now = SystemTime::now();
        let server_now = if skew_s >= 0 {
            now + Duration::from_secs(skew_s as u64)
        } else {
            now - Duration::from_secs(skew_s.unsigned_abs())
        };
        let date = httpdate::fmt_http_date(server_now);
        if request.path == "/v1/data" {
            return Reply::status(401).header("date", date);
        }
        let server_secs = server_now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let fresh = iat_of(request).is_some_and(|iat| (iat - server_secs).abs() <= TOLERANCE_S);
        if accepts && (fresh || request.json()["client_secret"].is_string()) {
            Reply::json(200, token_reply(&random_text(24), 300)).header("date", date)
        } else {
            Reply::json(
                400,
                json!({"error": "invalid_request", "error_description": "the client_assertion was rejected"}),
            )
            .header("date", date)
        }
    })
}

fn key_credentials() -> Credentials {
    Credentials::private_key_pem(CLIENT_ID, KEY_ID, &test_key().pkcs8_pem).unwrap()
}

#[tokio::test]
async fn a_refusal_by_a_skewed_server_is_retried_once_with_its_clock_and_remembered() {
    let captured = capture_tracing();
    for skew in [600, -600] {
        let server = skewed_server(skew, true);
        let auth = quick_builder(key_credentials(), server.environment())
            .build()
            .unwrap();
        auth.access_token().await.unwrap();
        let seen = server.seen();
        assert_eq!(seen.len(), 2, "refused, then accepted");
        let (first, second) = (iat_of(&seen[0]).unwrap(), iat_of(&seen[1]).unwrap());
        assert!(
            (second - first - skew).abs() <= 2,
            "iat moved by {} s, the server's clock is {skew} s off",
            second - first
        );

        // A later token request (renewal after a 401) starts with the corrected clock.
        let client = reqwest::Client::new();
        let mut request = client
            .get(format!("{}/v1/data", server.url))
            .build()
            .unwrap();
        auth.authorize(&mut request).await.unwrap();
        auth.send_authorized(&client, request).await.unwrap();
        let seen = server.seen();
        let token_requests: Vec<_> = seen
            .iter()
            .filter(|s| s.path == "/v1/access_tokens")
            .collect();
        assert_eq!(token_requests.len(), 3, "one more, accepted at once");
        assert!((iat_of(token_requests[2]).unwrap() - first - skew).abs() <= 2);
    }
    let log = captured.text();
    assert!(
        log.contains("retrying once with `iat` taken from its `Date` header"),
        "the correction is logged:\n{log}"
    );
    // `Date` has whole seconds, so the measured skew may be a second short.
    let logged: Vec<i64> = log
        .split("clock_skew_s=")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| c != '-' && !c.is_ascii_digit())?;
            rest[..end].parse().ok()
        })
        .collect();
    assert!(logged.iter().any(|s| (599..=601).contains(s)), "{logged:?}");
    assert!(
        logged.iter().any(|s| (-601..=-599).contains(s)),
        "{logged:?}"
    );
}

#[tokio::test]
async fn a_refusal_that_persists_is_reported_with_the_clock_in_the_hint() {
    let server = skewed_server(600, false);
    let err = token_error(quick_builder(key_credentials(), server.environment())).await;
    assert_eq!(server.seen().len(), 2, "one correction, no more");
    assert_eq!(err.kind(), ErrorKind::CredentialsRejected);
    let hint = err.hint();
    assert!(
        hint.contains("s ahead of this machine's") && hint.contains("clock"),
        "{hint}"
    );
    assert!(err.to_string().ends_with(&hint));
}

#[tokio::test]
async fn a_refusal_by_a_server_on_time_is_not_retried_and_does_not_blame_the_clock() {
    let server = skewed_server(0, false);
    let err = token_error(quick_builder(key_credentials(), server.environment())).await;
    assert_eq!(server.seen().len(), 1);
    assert!(!err.hint().contains("clock"), "{}", err.hint());
}

#[tokio::test]
async fn a_description_about_iat_makes_the_hint_mention_the_clock() {
    let server = TestServer::scripted(vec![Reply::json(
        400,
        json!({"error": "invalid_request", "error_description": "iat must not be in the future"}),
    )]);
    let err = token_error(Authenticator::builder(
        key_credentials(),
        server.environment(),
    ))
    .await;
    assert!(err.hint().contains("system clock"), "{}", err.hint());
}

#[tokio::test]
async fn the_client_secret_flow_ignores_the_servers_clock() {
    let server = TestServer::start(|_| {
        Reply::json(400, json!({"error": "invalid_client"})).header(
            "date",
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(600)),
        )
    });
    let err = token_error(quick_builder(secret_credentials(), server.environment())).await;
    assert_eq!(server.seen().len(), 1);
    assert!(!err.hint().contains("clock"), "{}", err.hint());
}
