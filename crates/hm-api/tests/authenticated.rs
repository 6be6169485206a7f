//! The generated clients meet hm-auth through progenitor's hooks: every request carries the bearer
//! token, a 401 leads to one fresh token and one retry, and a failure to obtain a token comes back as
//! a typed error that tells refused credentials from a token-endpoint outage.

#![allow(clippy::unwrap_used)] // test helpers fail loudly on broken fixtures

use std::time::Duration;

use httpmock::MockServer;
use serde_json::json;

use hm_api::auth::{Authenticator, Credentials, Environment, ErrorKind, RetryPolicy};
use hm_api::{CallExt, Error, HighMobility};

const VIN: &str = "1HMTEST0000000001";

fn token_mock<'a>(server: &'a MockServer, token: &str) -> httpmock::Mock<'a> {
    let token = token.to_owned();
    server.mock(move |when, then| {
        when.method("POST").path("/v1/access_tokens").json_body(json!({
            "client_id": "client-1", "client_secret": "s3cret", "grant_type": "client_credentials"
        }));
        then.status(200).json_body(json!({
            "access_token": token, "expires_in": 300, "token_type": "bearer", "scope": "fleet:clearance"
        }));
    })
}

fn api(server: &MockServer) -> HighMobility {
    let environment = Environment::custom(&server.base_url()).unwrap();
    let auth = Authenticator::builder(
        Credentials::client_secret("client-1", "s3cret").unwrap(),
        environment,
    )
    .build()
    .unwrap();
    HighMobility::new(auth).unwrap()
}

#[tokio::test]
async fn every_generated_call_carries_the_bearer_token() {
    let server = MockServer::start_async().await;
    let tokens = token_mock(&server, "token-a");
    let get = server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/fleets/vehicles/{VIN}"))
            .header("authorization", "Bearer token-a");
        then.status(200)
            .json_body(json!({"vin": VIN, "status": "approved"}));
    });
    let hm = api(&server);
    for _ in 0..3 {
        hm.fleet_clearance()
            .get_clearance()
            .vin(VIN)
            .send()
            .await
            .unwrap();
    }
    get.assert_calls(3);
    // One token serves every call.
    tokens.assert_calls(1);
}

#[tokio::test]
async fn a_401_gets_one_fresh_token_and_one_retry() {
    let server = MockServer::start_async().await;
    let tokens = token_mock(&server, "token-a");
    let refused = server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/vehicle-data/autoapi-13/{VIN}"));
        then.status(401).json_body(json!({
            "errors": [{"title": "Not Authorized", "detail": "Invalid token"}], "request_id": "r"
        }));
    });
    let err = api(&server)
        .vehicle_data()
        .get_vehicle_data()
        .vin(VIN)
        .send()
        .await
        .unwrap_err();
    // The first 401 made the client fetch a new token and retry once; the second 401 reaches the caller.
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    refused.assert_calls(2);
    tokens.assert_calls(2);
}

/// An authenticator whose token requests are retried without waiting (no real sleeps in tests).
fn api_with_quick_token_retries(server: &MockServer) -> HighMobility {
    let environment = Environment::custom(&server.base_url()).unwrap();
    let auth = Authenticator::builder(
        Credentials::client_secret("client-1", "s3cret").unwrap(),
        environment,
    )
    .token_retry_policy(RetryPolicy {
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        ..RetryPolicy::token_default()
    })
    .build()
    .unwrap();
    HighMobility::new(auth).unwrap()
}

#[tokio::test]
async fn refused_credentials_are_a_typed_permanent_auth_error_and_nothing_is_sent() {
    let server = MockServer::start_async().await;
    let tokens = server.mock(|when, then| {
        when.method("POST").path("/v1/access_tokens");
        then.status(400).json_body(json!({
            "error": "invalid_client", "error_description": "client_secret is invalid"
        }));
    });
    let api = server.mock(|when, then| {
        when.path_includes("/v1/fleets");
        then.status(200);
    });
    let err = api_with_quick_token_retries(&server)
        .fleet_clearance()
        .get_clearance()
        .vin(VIN)
        .send()
        .typed()
        .await
        .unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("expected Error::Auth, got {err:?}")
    };
    assert!(
        matches!(auth, hm_api::auth::Error::TokenRejected { status: 400, error, .. } if error == "invalid_client"),
        "{auth:?}"
    );
    assert_eq!(auth.kind(), ErrorKind::CredentialsRejected);
    assert!(!auth.is_retryable());
    assert!(
        err.to_string().contains("client_secret is invalid"),
        "{err}"
    );
    // A refusal is not retried, and the API never saw a request.
    tokens.assert_calls(1);
    api.assert_calls(0);
}

#[tokio::test]
async fn a_token_endpoint_outage_is_a_typed_transient_auth_error() {
    let server = MockServer::start_async().await;
    let tokens = server.mock(|when, then| {
        when.method("POST").path("/v1/access_tokens");
        then.status(503).body("upstream unavailable");
    });
    let api = server.mock(|when, then| {
        when.path_includes("/v1/vehicle-data");
        then.status(200);
    });
    let err = api_with_quick_token_retries(&server)
        .vehicle_data()
        .get_vehicle_data()
        .vin(VIN)
        .send()
        .typed()
        .await
        .unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("expected Error::Auth, got {err:?}")
    };
    assert!(
        matches!(
            auth,
            hm_api::auth::Error::TokenEndpointStatus { status: 503, .. }
        ),
        "{auth:?}"
    );
    assert_eq!(auth.kind(), ErrorKind::Unavailable);
    assert!(auth.is_retryable());
    tokens.assert_calls(RetryPolicy::token_default().max_attempts as usize);
    api.assert_calls(0);
}

#[tokio::test]
async fn without_typed_the_auth_failure_is_progenitors_custom_message() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("POST").path("/v1/access_tokens");
        then.status(400).json_body(
            json!({"error": "invalid_client", "error_description": "client_secret is invalid"}),
        );
    });
    let err = api_with_quick_token_retries(&server)
        .fleet_clearance()
        .get_clearance()
        .vin(VIN)
        .send()
        .await
        .unwrap_err();
    let hm_api::ApiError::Custom(message) = err else {
        panic!("expected Custom, got {err:?}")
    };
    assert!(message.contains("refused the credentials"), "{message}");
}

#[tokio::test]
async fn api_errors_pass_through_typed_unchanged() {
    let server = MockServer::start_async().await;
    token_mock(&server, "token-a");
    server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/fleets/vehicles/{VIN}"));
        then.status(404)
            .json_body(json!({"errors": [{"title": "Not found", "detail": "No clearance"}]}));
    });
    let err = api(&server)
        .fleet_clearance()
        .get_clearance()
        .vin(VIN)
        .send()
        .typed()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    let Error::Api(hm_api::ApiError::ErrorResponse(body)) = err else {
        panic!("expected the typed 404 body, got {err:?}")
    };
    assert_eq!(body.errors[0].title, "Not found");
}

#[tokio::test]
async fn requests_go_to_the_authenticators_environment() {
    // The base URL comes from the authenticator: there is no way to point the clients elsewhere
    // and have requests leave without a token.
    let server = MockServer::start_async().await;
    let hm = api(&server);
    assert_eq!(hm.base_url(), server.base_url());
}
