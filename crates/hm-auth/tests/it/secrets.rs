//! Secrets stay out of `Debug` output and out of logs.

use hm_auth::{Authenticator, Credentials};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

use crate::support::*;

/// A line of the base64 body of a PEM key: enough to recognise the key in any output.
fn key_fragment(pem: &str) -> String {
    pem.lines().nth(1).unwrap().to_owned()
}

fn assert_clean(text: &str, key_pem: &str) {
    assert!(
        !text.contains(CLIENT_SECRET),
        "client secret leaked:\n{text}"
    );
    assert!(!text.contains(TOKEN), "access token leaked:\n{text}");
    assert!(
        !text.contains(&key_fragment(key_pem)),
        "private key leaked:\n{text}"
    );
    assert!(
        !text.contains("eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"),
        "assertion leaked:\n{text}"
    );
}

#[tokio::test]
async fn debug_output_is_redacted() {
    let server = MockServer::start_async().await;
    token_endpoint(&server, TOKEN).await;
    let key = test_key();
    let secret = secret_credentials();
    let keyed = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let builder = Authenticator::builder(secret.clone(), base(&server));
    let auth = authenticator(&server, secret.clone());
    let token = auth.access_token().await.unwrap();

    let mut client = reqwest::Client::new()
        .get(server.url("/v1/x"))
        .build()
        .unwrap();
    auth.authorize(&mut client).await.unwrap();

    let text = format!(
        "{secret:?} {keyed:?} {builder:?} {auth:?} {token:?} {:?} {:?}",
        auth.middleware(),
        client.headers()
    );
    assert_clean(&text, &key.pkcs8_pem);
    assert!(
        text.contains("[REDACTED]") && text.contains(CLIENT_ID) && text.contains(KEY_ID),
        "{text}"
    );
    assert!(
        text.contains("fleet:clearance"),
        "scopes are not secret: {text}"
    );
}

#[tokio::test]
async fn tracing_output_has_no_secret() {
    let captured = capture_tracing();
    let server = MockServer::start_async().await;
    let key = test_key();

    // Secret flow, through execute with a 401 (so a refresh and a retry are logged too).
    let tokens = token_endpoint(&server, TOKEN).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/fleets/vehicles");
            then.status(401)
                .json_body(json!({"errors": [{"title": "Unauthorized"}]}));
        })
        .await;
    let auth = authenticator(&server, secret_credentials());
    let client = reqwest::Client::new();
    let mut request = client
        .get(server.url("/v1/fleets/vehicles"))
        .build()
        .unwrap();
    auth.authorize(&mut request).await.unwrap();
    assert_eq!(auth.execute(&client, request).await.unwrap().status(), 401);
    tokens.assert_calls_async(2).await;

    // JWT flow against a rejecting endpoint, and a 502.
    let rejecting = MockServer::start_async().await;
    rejecting
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(502).body("bad gateway");
        })
        .await;
    let keyed = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    let err = authenticator(&rejecting, keyed)
        .access_token()
        .await
        .unwrap_err();
    tracing::error!(%err, ?err, "reported by the application");

    let text = captured.text();
    assert!(
        text.contains("hm_auth.token_request"),
        "token request spans are logged:\n{text}"
    );
    assert!(
        text.contains("flow=\"client_secret\"") || text.contains("flow=client_secret"),
        "{text}"
    );
    assert!(
        text.contains("status=502") && text.contains("lifetime_s=300"),
        "{text}"
    );
    assert_clean(&text, &key.pkcs8_pem);
}
