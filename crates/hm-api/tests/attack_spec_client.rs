//! Attack findings (issue 9): the generated client against a hostile or evolving server on loopback.
//! Each finding is fixed (brief B-fix); its test keeps it fixed.

use hm_api::HighMobility;
use hm_api::auth::{Authenticator, Credentials, Environment, RetryPolicy};
use hm_api::{CallExt, Error};
use httpmock::prelude::*;

fn list_body(changelog: &str) -> String {
    format!(
        r#"[{{"vin":"1HMTEST0000000001","status":"approved","brand":"bmw","tags":{{}},"changelog":{changelog}}}]"#
    )
}

async fn list_with(
    body: String,
) -> Result<hm_api::fleet_clearance::types::FleetVehicleGetResponse, String> {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/fleets/vehicles");
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;
    let hm = HighMobility::unauthenticated(&server.base_url(), reqwest::Client::new());
    hm.fleet_clearance()
        .list_clearances()
        .send()
        .await
        .map(|r| r.into_inner())
        .map_err(|e| e.to_string())
}

/// The published spec's own example sends changelog timestamps without a UTC designator
/// (`2022-03-22T09:36:51`); the overlay rewrote the example instead of accepting the form, so a server
/// that answers like its documentation makes the whole clearance list undecodable.
#[tokio::test]
async fn attack_changelog_timestamp_without_zone_still_decodes() {
    let body = list_body(r#"[{"timestamp":"2022-03-22T09:36:51","status":"pending"}]"#);
    let list = list_with(body).await.expect("the list decodes");
    assert_eq!(
        list[0].changelog[0].timestamp.to_rfc3339(),
        "2022-03-22T09:36:51+00:00"
    );
}

/// A server that serialises an empty collection as `null` (common for Go/Elixir backends) makes the
/// whole list fail, although `tags` and `changelog` are optional and default to empty.
#[tokio::test]
async fn attack_null_optional_collections_still_decode() {
    let body = r#"[{"vin":"1HMTEST0000000001","status":"approved","tags":null,"changelog":null}]"#;
    let list = list_with(body.to_owned()).await.expect("the list decodes");
    assert!(list[0].tags.is_empty() && list[0].changelog.is_empty());
}

/// What held: an offset timestamp, unknown fields and unknown enum values at every level decode,
/// and an unknown value re-encodes unchanged.
#[tokio::test]
async fn attack_held_offsets_unknown_fields_and_values() {
    let body = r#"[{"vin":"1HMTEST0000000001","status":"frozen","brand":"rivian","tags":{"a":"b"},
        "new_top":{"x":[1,2]},
        "changelog":[{"timestamp":"2022-03-22T11:36:51.5+02:00","status":"sleeping","new":1}]}]"#;
    let list = list_with(body.to_owned()).await.expect("the list decodes");
    let item = &list[0];
    assert!(!item.status.is_known() && item.status.as_str() == "frozen");
    assert_eq!(item.brand.as_ref().unwrap().as_str(), "rivian");
    assert_eq!(
        item.changelog[0].timestamp.to_rfc3339(),
        "2022-03-22T09:36:51.500+00:00"
    );
    let again = serde_json::to_value(item).unwrap();
    assert_eq!(again["status"], "frozen");
    assert_eq!(again["changelog"][0]["status"], "sleeping");
}

fn token_body() -> &'static str {
    r#"{"access_token":"tok-123","token_type":"bearer","expires_in":3600}"#
}

#[allow(clippy::unwrap_used)] // test setup: a failure here is a broken test, not a finding
async fn authenticated(server: &MockServer) -> HighMobility {
    let credentials = Credentials::client_secret("client-id", "client-secret").unwrap();
    let env = Environment::custom(&server.base_url()).unwrap();
    let auth = Authenticator::builder(credentials, env)
        .token_retry_policy(RetryPolicy::disabled())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    HighMobility::with_http_client(auth, reqwest::Client::new())
}

/// `typed()` reports the *first* token failure seen anywhere inside its scope, even when the call
/// whose error it returns got its token and failed for another reason: a caller that retries inside
/// one `typed()` scope is told "credentials refused" when the API in fact answered 404.
#[tokio::test]
async fn attack_typed_does_not_blame_auth_for_a_later_api_error() {
    let server = MockServer::start_async().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(401)
                .header("content-type", "application/json")
                .body(r#"{"errors":[{"title":"invalid client"}]}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/fleets/vehicles/1HMTEST0000000001");
            then.status(404)
                .header("content-type", "application/json")
                .body(r#"{"errors":[{"title":"not found"}]}"#);
        })
        .await;
    let hm = authenticated(&server).await;

    let outcome = async {
        let mut last = None;
        for attempt in 0..2 {
            if attempt == 1 {
                // The operator fixed the credentials; the token endpoint now answers.
                refused.delete_async().await;
                server
                    .mock_async(|when, then| {
                        when.method(POST).path("/v1/access_tokens");
                        then.status(200)
                            .header("content-type", "application/json")
                            .body(token_body());
                    })
                    .await;
            }
            match hm
                .fleet_clearance()
                .get_clearance()
                .vin("1HMTEST0000000001")
                .send()
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap())
    }
    .typed()
    .await;
    match outcome {
        Err(Error::Api(e)) => assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{e}"),
        other => panic!("expected the API's 404, got {other:?}"),
    }
}

/// Path parameters are percent-encoded except for dot segments: `get_clearance().vin(".")` is sent
/// as `GET /v1/fleets/vehicles/.`, which the URL parser normalises to `GET /v1/fleets/vehicles/`,
/// i.e. a different operation (with the caller's token). A VIN taken from user input can steer a
/// `delete_clearance` or `get_clearance` to another endpoint.
#[tokio::test]
async fn attack_dot_segment_path_parameter_stays_in_its_operation() {
    let server = MockServer::start_async().await;
    let other = server
        .mock_async(|when, then| {
            when.path_matches(r"^/v1/fleets(/vehicles)?/?$");
            then.status(200)
                .header("content-type", "application/json")
                .body("[]");
        })
        .await;
    let hm = HighMobility::unauthenticated(&server.base_url(), reqwest::Client::new());
    for vin in [".", ".."] {
        let _ = hm.fleet_clearance().get_clearance().vin(vin).send().await;
        let _ = hm
            .fleet_clearance()
            .delete_clearance()
            .vin(vin)
            .send()
            .await;
    }
    assert_eq!(
        other.calls_async().await,
        0,
        "a request for one VIN reached the fleet-wide endpoint"
    );
}

/// Vehicle data: one property whose timestamp has no zone makes the whole response (every
/// capability) undecodable, so a single odd property costs the caller all of a vehicle's data.
#[tokio::test]
async fn attack_vehicle_data_zone_less_property_timestamp_still_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v1/vehicle-data/autoapi-13/1HMTEST0000000001");
            then.status(200)
                .header("content-type", "application/json")
                .body(
                    r#"{"diagnostics":{"odometer":{"data":{"value":1234.5,"unit":"kilometers"},"timestamp":"2024-05-02T10:00:00"},
                        "speed":{"data":{"value":3,"unit":"kilometers_per_hour"},"timestamp":"2024-05-02T10:00:00.000Z"}}}"#,
                );
        })
        .await;
    let hm = HighMobility::unauthenticated(&server.base_url(), reqwest::Client::new());
    let data = hm
        .vehicle_data()
        .get_vehicle_data()
        .vin("1HMTEST0000000001")
        .send()
        .await
        .map_err(|e| e.to_string())
        .expect("the vehicle data decode")
        .into_inner();
    assert!(data.diagnostics.is_some());
}

/// What held: the authenticated context taken out of a `HighMobility` client and reused for a
/// generated client at another origin sends no token there.
#[tokio::test]
async fn attack_held_authenticated_context_at_another_origin_sends_no_token() {
    use progenitor_client::ClientInfo;
    let api = MockServer::start_async().await;
    api.mock_async(|when, then| {
        when.method(POST).path("/v1/access_tokens");
        then.status(200)
            .header("content-type", "application/json")
            .body(token_body());
    })
    .await;
    let evil = MockServer::start_async().await;
    let with_token = evil
        .mock_async(|when, then| {
            when.header_exists("authorization");
            then.status(200).body("{}");
        })
        .await;
    let without = evil
        .mock_async(|when, then| {
            when.path("/v1/fleets/vehicles/1HMTEST0000000001");
            then.status(404).body("{}");
        })
        .await;
    let hm = authenticated(&api).await;
    let context = hm.fleet_clearance().inner().clone();
    let elsewhere = hm_api::fleet_clearance::Client::new_with_client(
        &evil.base_url(),
        reqwest::Client::new(),
        context,
    );
    let _ = elsewhere
        .get_clearance()
        .vin("1HMTEST0000000001")
        .send()
        .await;
    assert_eq!(with_token.calls_async().await, 0);
    assert_eq!(without.calls_async().await, 1);
}

/// What held: two concurrent `typed()` calls in one task, one whose token is refused and one whose
/// API answers 404, each get their own error (the task-local slot is per call).
#[tokio::test]
async fn attack_held_concurrent_typed_calls_keep_their_own_errors() {
    let refusing = MockServer::start_async().await;
    refusing
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(401)
                .body(r#"{"errors":[{"title":"invalid client"}]}"#);
        })
        .await;
    let working = MockServer::start_async().await;
    working
        .mock_async(|when, then| {
            when.method(POST).path("/v1/access_tokens");
            then.status(200)
                .header("content-type", "application/json")
                .body(token_body());
        })
        .await;
    working
        .mock_async(|when, then| {
            when.path("/v1/fleets/vehicles/1HMTEST0000000001");
            then.status(404)
                .header("content-type", "application/json")
                .body(r#"{"errors":[{"title":"not found"}]}"#);
        })
        .await;
    let (bad, good) = (
        authenticated(&refusing).await,
        authenticated(&working).await,
    );
    let call = |hm: HighMobility| async move {
        hm.fleet_clearance()
            .get_clearance()
            .vin("1HMTEST0000000001")
            .send()
            .typed()
            .await
    };
    let (a, b) = tokio::join!(call(bad), call(good));
    assert!(matches!(a, Err(Error::Auth(_))), "{a:?}");
    assert!(
        matches!(&b, Err(Error::Api(e)) if e.status().map(|s| s.as_u16()) == Some(404)),
        "{b:?}"
    );
}
