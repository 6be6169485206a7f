//! How token endpoint replies are judged and failures reported: strict about what is accepted,
//! typed and classified, retried only when retryable, never echoing a secret.

use hm_auth::{Credentials, Error, ErrorKind};
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
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_request");
            assert_eq!(description, "client_secret is invalid");
        }
        other => panic!("expected TokenRejected, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(err.kind(), ErrorKind::CredentialsRejected);
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
            ..
        } => {
            assert!(
                body.contains("text/html") && body.contains("502 Bad Gateway"),
                "{body}"
            );
        }
        other => panic!("expected TokenEndpointStatus, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.kind(), ErrorKind::Unavailable);
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

/// An authenticator whose token endpoint is `server`.
fn against(server: &TestServer) -> hm_auth::Authenticator {
    quick_builder(secret_credentials(), server.environment())
        .build()
        .unwrap()
}

#[tokio::test]
async fn token_type_must_be_bearer_in_any_case() {
    for accepted in ["bearer", "Bearer", "BEARER"] {
        let mut reply = token_reply(TOKEN, 300);
        reply["token_type"] = json!(accepted);
        let server = TestServer::scripted(vec![Reply::json(200, reply)]);
        assert_eq!(
            against(&server)
                .access_token()
                .await
                .unwrap()
                .expose_secret(),
            TOKEN
        );
    }
    for (token_type, expected) in [
        (json!("mac"), "`token_type` is `mac`, not `bearer`"),
        (json!("DPoP"), "`token_type` is `DPoP`, not `bearer`"),
        (json!(7), "`token_type` is not a string"),
        (serde_json::Value::Null, "no `token_type`"),
    ] {
        let mut reply = token_reply(TOKEN, 300);
        if token_type.is_null() {
            reply.as_object_mut().unwrap().remove("token_type");
        } else {
            reply["token_type"] = token_type;
        }
        let server = TestServer::scripted(vec![Reply::json(200, reply)]);
        let err = against(&server).access_token().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedReply, "{err}");
        assert!(err.to_string().contains(expected), "{err}");
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert_eq!(server.seen().len(), 1, "not retried");
    }
}

#[tokio::test]
async fn a_200_reply_with_an_error_field_is_an_error() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({
            "error": "invalid_client",
            "error_description": "unknown client",
            "access_token": TOKEN,
            "token_type": "bearer",
        }),
    )]);
    let auth = against(&server);
    let err = auth.access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::TokenRejected { status: 200, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::CredentialsRejected);
    assert!(err.to_string().contains("unknown client"), "{err}");
    assert!(!format!("{err} {err:?}").contains(TOKEN));
    // Nothing was cached: the next call asks again.
    auth.access_token().await.unwrap_err();
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_oversized_reply_is_refused_without_reading_it() {
    let huge = format!(
        "{{\"access_token\": \"{TOKEN}\", \"padding\": \"{}\"}}",
        "x".repeat(100 * 1024)
    );
    let server = TestServer::scripted(vec![
        Reply::status(200)
            .header("content-type", "application/json")
            .body(huge),
    ]);
    let err = against(&server).access_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedReply, "{err}");
    assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn an_endless_reply_is_cut_at_64_kib() {
    // Chunked, no Content-Length, never ending: read up to the limit, then refused.
    let server = TestServer::scripted(vec![Reply::status(200).body("x".repeat(4096)).endless()]);
    let err = against(&server).access_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedReply, "{err}");
    assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
}

#[tokio::test]
async fn a_non_json_200_does_not_quote_the_token() {
    // Cut-off JSON, a form-encoded body, a page and a bare opaque token, all carrying a token.
    let opaque = random_text(32);
    for (token, body) in [
        (
            TOKEN,
            format!("{{\"access_token\":\"{TOKEN}\",\"expires_in\":300"),
        ),
        (TOKEN, format!("access_token={TOKEN}&token_type=bearer")),
        (TOKEN, format!("<html>your token is {TOKEN}</html>")),
        (&opaque, opaque.clone()),
    ] {
        let server = TestServer::scripted(vec![Reply::status(200).body(body)]);
        let err = against(&server).access_token().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedReply, "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("not JSON"), "{text}");
        assert_no_fragment(&text, token, "token");
    }
}

#[tokio::test]
async fn a_secret_straddling_the_excerpt_cut_is_removed_whole() {
    // The body's first 120 characters end in the middle of the secret: cleaning after cutting
    // would leave its first half.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let prefix = "p".repeat(120 - 20);
        let body = format!("{prefix}{CLIENT_SECRET} was sent as client_secret={CLIENT_SECRET}");
        let server = TestServer::scripted(vec![
            Reply::status(400)
                .header("content-type", content_type)
                .body(body),
        ]);
        let err = against(&server).access_token().await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert_no_fragment(&text, CLIENT_SECRET, "secret");
    }
    // The same in JSON, under a key that is not an OAuth field.
    let server = TestServer::scripted(vec![Reply::json(
        500,
        json!({"message": "p".repeat(90), "request": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}),
    )]);
    let err = against(&server).access_token().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert_no_fragment(&text, CLIENT_SECRET, "secret");
}

#[tokio::test]
async fn a_404_names_the_base_url_as_the_likely_cause() {
    let server = TestServer::scripted(vec![
        Reply::status(404)
            .header("content-type", "text/html")
            .body("<h1>Not Found</h1>"),
    ]);
    let err = against(&server).access_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedReply);
    assert!(!err.is_retryable());
    assert!(err.hint().contains("base URL"), "{}", err.hint());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_200_reply_with_null_error_fields_is_a_token() {
    let mut reply = token_reply(TOKEN, 300);
    reply["error"] = serde_json::Value::Null;
    reply["error_description"] = serde_json::Value::Null;
    let server = TestServer::scripted(vec![Reply::json(200, reply)]);
    let token = against(&server).access_token().await.unwrap();
    assert_eq!(token.expose_secret(), TOKEN);
    // Any other `error` is still an error.
    for error in [json!(""), json!(false), json!({"code": 1})] {
        let mut reply = token_reply(TOKEN, 300);
        reply["error"] = error;
        let server = TestServer::scripted(vec![Reply::json(200, reply)]);
        against(&server).access_token().await.unwrap_err();
    }
}
