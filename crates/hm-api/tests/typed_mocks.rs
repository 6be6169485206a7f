//! The remaining operations, mocked with the generated typed helpers of hm-api-httpmock (which also
//! proves those helpers match the client).

use httpmock::MockServer;

use hm_api::{ApiError as Error, HighMobility};
use hm_api_httpmock::oauth::MockServerExt as _;
use hm_api_httpmock::vehicle_static_data::MockServerExt as _;

const VIN: &str = "1HMTEST0000000001";

fn client(server: &MockServer) -> HighMobility {
    HighMobility::unauthenticated(&server.base_url(), reqwest::Client::new())
}

#[tokio::test]
async fn revoke_access_token_sends_the_token_in_the_body() {
    use hm_api::oauth::types::{AccessTokensRevoke, AccessTokensRevokeTokenTypeHint};
    let server = MockServer::start_async().await;
    let revoke = AccessTokensRevoke {
        client_id: "client-1".into(),
        client_secret: "s3cret".into(),
        token: "token-a".into(),
        token_type_hint: Some(AccessTokensRevokeTokenTypeHint::AccessToken),
    };
    let mock = server.revoke_access_token(|when, then| {
        when.body(&revoke);
        then.ok();
    });
    client(&server)
        .oauth()
        .revoke_access_token()
        .body(revoke.clone())
        .send()
        .await
        .unwrap();
    mock.assert();
}

#[tokio::test]
async fn get_vehicle_info_and_its_typed_401() {
    use hm_api::oauth::types::{VehicleInfoError, VehicleInfoResponse};
    let server = MockServer::start_async().await;
    server.get_vehicle_info(|_, then| {
        then.unauthorized(&VehicleInfoError {
            error: "invalid_token".into(),
            error_description: Some("the access token has expired".into()),
        });
    });
    let err = client(&server)
        .oauth()
        .get_vehicle_info()
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.error, "invalid_token");

    let server = MockServer::start_async().await;
    let info = VehicleInfoResponse {
        vin: VIN.into(),
        sub: "00000000-0000-0000-0000-000000000000".into(),
    };
    server.get_vehicle_info(|_, then| {
        then.ok(&info);
    });
    let reply = client(&server)
        .oauth()
        .get_vehicle_info()
        .send()
        .await
        .unwrap();
    assert_eq!(reply.into_inner(), info);
}

#[tokio::test]
async fn get_static_data_details_by_vin() {
    use hm_api::vehicle_static_data::types::VehicleStaticDataDataResponse;
    let server = MockServer::start_async().await;
    let details: VehicleStaticDataDataResponse = serde_json::from_value(serde_json::json!({
        "vehicle": {"manufacturer": {"brand": {"id": "130", "name": "Jeep"}}}
    }))
    .unwrap();
    let mock = server.get_static_data_details(|when, then| {
        when.vin(VIN);
        then.ok(&details);
    });
    let reply = client(&server)
        .vehicle_static_data()
        .get_static_data_details()
        .vin(VIN)
        .send()
        .await
        .unwrap();
    mock.assert();
    assert_eq!(reply.into_inner(), details);
}
