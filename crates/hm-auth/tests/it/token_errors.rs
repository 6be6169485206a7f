//! How token endpoint failures are reported: typed, clear, retried only when transient, and
//! never echoing the secret.

use hm_auth::{Credentials, Error};
use httpmock::Method::POST;
use httpmock::MockServer;
use serde_json::json;

use crate::support::*;

fn assert_no_secret(err: &Error) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(CLIENT_SECRET), "secret echoed: {text}");
}

#[tokio::test]
async fn oauth_400_becomes_typed_error_without_retry() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(400).json_body(json!({
                "error": "invalid_request",
                "error_description": "client_secret is invalid",
            }));
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let err = auth.access_token().await.unwrap_err();
    match &err {
        Error::TokenRejected {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_request");
            assert_eq!(description, "client_secret is invalid");
        }
        other => panic!("expected TokenRejected, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(
        err.to_string().contains("client_secret is invalid"),
        "{err}"
    );
    assert_no_secret(&err);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_server_echoing_the_secret_is_redacted() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(400).json_body(json!({
                "error": "invalid_request",
                "error_description": format!("client_secret {CLIENT_SECRET} is invalid"),
            }));
        })
        .await;
    let err = authenticator(&server, secret_credentials())
        .access_token()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("[REDACTED]"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn html_502_page_is_a_clear_error_after_retries() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
        })
        .await;
    let err = authenticator(&server, secret_credentials())
        .access_token()
        .await
        .unwrap_err();
    match &err {
        Error::TokenEndpointStatus {
            status: 502,
            attempts: 3,
            body,
        } => {
            assert!(
                body.contains("text/html") && body.contains("502 Bad Gateway"),
                "{body}"
            );
        }
        other => panic!("expected TokenEndpointStatus, got {other:?}"),
    }
    assert!(err.is_transient());
    assert!(err.to_string().contains("try again later"), "{err}");
    assert_no_secret(&err);
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn reply_without_access_token_is_a_clear_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200)
                .json_body(json!({"expires_in": 300, "token_type": "bearer"}));
        })
        .await;
    let err = authenticator(&server, secret_credentials())
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidTokenResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no `access_token`"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn non_json_success_is_a_clear_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200)
                .header("content-type", "text/html")
                .body("<html>login</html>");
        })
        .await;
    let err = authenticator(&server, secret_credentials())
        .access_token()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTokenResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn unreachable_endpoint_is_a_transport_error_after_retries() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let auth = hm_auth::Authenticator::builder(
        secret_credentials(),
        hm_auth::Environment::custom(&format!("http://127.0.0.1:{port}")).unwrap(),
    )
    .token_retry_policy(hm_auth::RetryPolicy {
        max_attempts: 2,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(5),
        retry_non_idempotent: true,
    })
    .build()
    .unwrap();
    let err = auth.access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenTransport { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("cannot reach the token endpoint"),
        "{err}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn jwt_flow_rejection_does_not_echo_the_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(400).json_body(json!({
                "error": "invalid_request",
                "error_description": "client_assertion is signed with an expired key",
            }));
        })
        .await;
    let key = test_key();
    let credentials = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let err = authenticator(&server, credentials)
        .access_token()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired key"), "{err}");
    let text = format!("{err} {err:?}");
    let key_body: String = key.pkcs8_pem.lines().nth(1).unwrap().to_owned();
    assert!(!text.contains(&key_body));
}
