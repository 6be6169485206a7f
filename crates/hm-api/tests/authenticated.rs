//! The generated clients meet hm-auth through progenitor's hooks: every request carries the bearer
//! token, and a 401 leads to one fresh token and one retry.

#![allow(clippy::unwrap_used)] // test helpers fail loudly on broken fixtures

use httpmock::MockServer;
use serde_json::json;

use hm_api::HighMobility;
use hm_auth::{Authenticator, Credentials, Environment};

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
    HighMobility::new(auth)
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
