//! Each operation of each API, called through the generated client against a loopback httpmock server:
//! method, path, query and JSON body on the way out; success and typed error bodies on the way back,
//! including fields, brands and statuses the spec does not know yet.

use httpmock::MockServer;
use serde_json::json;

use hm_api::fleet_clearance::types::{Brand, ClearanceStatus, FleetVehicle, FleetVehicleRequest};
use hm_api::{ApiError as Error, ClearanceFilter, HighMobility};

const VIN: &str = "1HMTEST0000000001";

fn client(server: &MockServer) -> HighMobility {
    HighMobility::unauthenticated(&server.base_url(), reqwest::Client::new())
}

#[tokio::test]
async fn check_eligibility_sends_vin_and_brand_and_keeps_unknown_values() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("POST")
            .path("/v1/eligibility")
            .json_body(json!({"vin": VIN, "brand": "bmw"}));
        then.status(200).json_body(json!({
            "vin": VIN, "eligible": true, "data_delivery": ["pull", "stream"],
            "connectivity_status": "sleeping", "field_from_the_future": 1
        }));
    });
    use hm_api::eligibility::types::{Brand, ConnectivityStatus, DataDelivery, EligibilityRequest};
    let reply = client(&server)
        .eligibility()
        .check_eligibility()
        .body(EligibilityRequest {
            vin: VIN.into(),
            brand: Brand::Bmw,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert();
    assert!(reply.eligible);
    assert_eq!(
        reply.data_delivery,
        vec![
            DataDelivery::Pull,
            "stream".parse::<DataDelivery>().unwrap()
        ]
    );
    assert_eq!(
        reply.connectivity_status,
        Some("sleeping".parse::<ConnectivityStatus>().unwrap())
    );
    // An unknown value re-encodes as it arrived.
    assert_eq!(
        serde_json::to_value(&reply.data_delivery).unwrap(),
        json!(["pull", "stream"])
    );
}

#[tokio::test]
async fn check_eligibility_error_is_typed() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("POST").path("/v1/eligibility");
        then.status(422).json_body(json!({
            "errors": [{"title": "Invalid VIN", "detail": "vin should be 17 characters", "source": "vin"}]
        }));
    });
    use hm_api::eligibility::types::{Brand, EligibilityRequest};
    let err = client(&server)
        .eligibility()
        .check_eligibility()
        .body(EligibilityRequest {
            vin: "short".into(),
            brand: "lancia".parse::<Brand>().unwrap(),
        })
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.status(), 422);
    assert_eq!(body.errors[0].title, "Invalid VIN");
    assert_eq!(body.errors[0].source.as_deref(), Some("vin"));
}

#[tokio::test]
async fn create_clearance_posts_vehicles_with_tags() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("POST")
            .path("/v1/fleets/vehicles")
            .json_body(json!({
                "vehicles": [
                    {"vin": VIN, "brand": "mercedes-benz", "tags": {"fleet": "north"}},
                    {"vin": "1HMTEST0000000002", "brand": "lancia"}
                ]
            }));
        then.status(200).json_body(json!({"vehicles": [
            {"vin": VIN, "status": "pending", "tags": {"fleet": "north"}},
            {"vin": "1HMTEST0000000002", "status": "queued", "description": "new status"}
        ]}));
    });
    let request = FleetVehicleRequest {
        vehicles: vec![
            FleetVehicle {
                vin: VIN.into(),
                brand: Brand::MercedesBenz,
                control_measures: None,
                tags: [("fleet".to_owned(), "north".to_owned())].into(),
            },
            FleetVehicle {
                vin: "1HMTEST0000000002".into(),
                brand: "lancia".parse().unwrap(),
                control_measures: None,
                tags: Default::default(),
            },
        ],
    };
    let reply = client(&server)
        .fleet_clearance()
        .create_clearance()
        .body(request)
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert();
    assert_eq!(reply.vehicles[0].status, ClearanceStatus::Pending);
    assert_eq!(
        reply.vehicles[1].status,
        "queued".parse::<ClearanceStatus>().unwrap()
    );
}

#[tokio::test]
async fn list_clearances_sends_the_filter_as_url_encoded_json() {
    let server = MockServer::start_async().await;
    let filter = ClearanceFilter::default()
        .status_eq(ClearanceStatus::Approved)
        .brand_in([Brand::Bmw, "lancia".parse::<Brand>().unwrap()]);
    let mock = server.mock(|when, then| {
        when.method("GET")
            .path("/v1/fleets/vehicles")
            .query_param("filter", filter.to_json());
        then.status(200).json_body(json!([{
            "vin": VIN, "status": "approved", "brand": "lancia", "tags": {},
            "changelog": [{"timestamp": "2024-03-22T09:36:51Z", "status": "pending"},
                          {"timestamp": "2024-03-22T10:36:51Z", "status": "approved"}],
            "approved_by": "owner"
        }]));
    });
    let reply = client(&server)
        .fleet_clearance()
        .list_clearances()
        .filter(filter.to_json())
        .send()
        .await
        .unwrap()
        .into_inner();
    mock.assert();
    assert_eq!(reply.0.len(), 1);
    assert_eq!(reply.0[0].brand, Some("lancia".parse::<Brand>().unwrap()));
    assert_eq!(reply.0[0].changelog.len(), 2);
}

#[tokio::test]
async fn list_clearances_query_is_percent_encoded_on_the_wire() {
    // Decode the raw request line ourselves: the JSON must not travel as a deep object or unescaped.
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("GET").path("/v1/fleets/vehicles").query_param(
            "filter",
            r#"{"vin":{"operator":"eq","value":"1HMTEST0000000001"}}"#,
        );
        then.status(200).json_body(json!([]));
    });
    let url = format!(
        "{}/v1/fleets/vehicles?filter=%7B%22vin%22%3A%7B%22operator%22%3A%22eq%22%2C%22value%22%3A%221HMTEST0000000001%22%7D%7D",
        server.base_url()
    );
    reqwest::get(&url).await.unwrap();
    client(&server)
        .fleet_clearance()
        .list_clearances()
        .filter(ClearanceFilter::default().vin_eq(VIN).to_json())
        .send()
        .await
        .unwrap();
    // Both the hand-encoded request and the client's matched the same decoded JSON.
    mock.assert_calls(2);
}

#[tokio::test]
async fn get_clearance_by_vin_and_its_typed_404() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/fleets/vehicles/{VIN}"));
        then.status(200)
            .json_body(json!({"vin": VIN, "status": "approved", "brand": "bmw"}));
    });
    server.mock(|when, then| {
        when.method("GET")
            .path("/v1/fleets/vehicles/UNKNOWN0000000000");
        then.status(404).json_body(
            json!({"errors": [{"title": "Not found", "detail": "No clearance for this VIN"}]}),
        );
    });
    let hm = client(&server);
    let found = hm
        .fleet_clearance()
        .get_clearance()
        .vin(VIN)
        .send()
        .await
        .unwrap();
    assert_eq!(found.status, ClearanceStatus::Approved);
    assert_eq!(found.brand, Some(Brand::Bmw));

    let err = hm
        .fleet_clearance()
        .get_clearance()
        .vin("UNKNOWN0000000000")
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.status(), 404);
    assert_eq!(
        body.errors[0].detail.as_deref(),
        Some("No clearance for this VIN")
    );
}

#[tokio::test]
async fn delete_clearance_and_its_typed_409() {
    let server = MockServer::start_async().await;
    let delete = server.mock(|when, then| {
        when.method("DELETE")
            .path(format!("/v1/fleets/vehicles/{VIN}"));
        then.status(200)
            .json_body(json!({"vin": VIN, "status": "revoking"}));
    });
    server.mock(|when, then| {
        when.method("DELETE")
            .path("/v1/fleets/vehicles/1HMTEST0000000002");
        then.status(409).json_body(json!({"errors": [
            {"title": "Conflict", "detail": "Clearance is already removed", "source": "vin"}
        ]}));
    });
    let hm = client(&server);
    let reply = hm
        .fleet_clearance()
        .delete_clearance()
        .vin(VIN)
        .send()
        .await
        .unwrap();
    delete.assert();
    assert_eq!(reply.status, ClearanceStatus::Revoking);
    let err = hm
        .fleet_clearance()
        .delete_clearance()
        .vin("1HMTEST0000000002")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(matches!(err, Error::ErrorResponse(ref b) if b.errors[0].title == "Conflict"));
}

#[tokio::test]
async fn cancel_activation_takes_no_authorization_parameter() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method("POST")
            .path(format!("/v1/fleets/{VIN}/cancel_activation"));
        then.status(200)
            .json_body(json!({"vin": VIN, "status": "canceling"}));
    });
    let reply = client(&server)
        .fleet_clearance()
        .cancel_activation()
        .vin(VIN)
        .send()
        .await
        .unwrap();
    mock.assert();
    assert_eq!(reply.status, ClearanceStatus::Canceling);
}

#[tokio::test]
async fn vehicle_data_decodes_units_and_tolerates_new_capabilities() {
    use hm_api::vehicle_data::types::{UnitLengthUnit, VehicleDataBrand};
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET").path(format!("/v1/vehicle-data/autoapi-13/{VIN}"));
        then.status(200).json_body(json!({
            "request_id": "r-1", "vin": VIN, "brand": "mercedes_benz",
            "diagnostics": {
                "odometer": {"data": {"value": 12345.6, "unit": "kilometers"}, "timestamp": "2024-05-01T10:00:00Z"},
                "fuel_level": {"data": 0.42, "timestamp": "2024-05-01T10:00:00Z"},
                "distance_since_reset": {"data": {"value": 3, "unit": "furlongs"}, "timestamp": "2024-05-01T10:00:00Z"},
                "new_property": {"data": true}
            },
            "teleportation": {"status": {"data": "ready"}}
        }));
    });
    let data = client(&server)
        .vehicle_data()
        .get_vehicle_data()
        .vin(VIN)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(data.brand, Some(VehicleDataBrand::MercedesBenz));
    let diagnostics = data.diagnostics.unwrap();
    let odometer = diagnostics.odometer.unwrap().data.unwrap();
    assert_eq!(odometer.unit, UnitLengthUnit::Kilometers);
    assert_eq!(odometer.value, 12345.6);
    let unknown_unit = diagnostics.distance_since_reset.unwrap().data.unwrap();
    assert_eq!(
        unknown_unit.unit,
        "furlongs".parse::<UnitLengthUnit>().unwrap()
    );
}

#[tokio::test]
async fn vehicle_data_403_is_typed_with_request_id() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/vehicle-data/autoapi-13/{VIN}"));
        then.status(403).json_body(json!({
            "errors": [{"title": "Forbidden", "detail": "No active consent for this vehicle"}],
            "request_id": "5c88d1f1"
        }));
    });
    let err = client(&server)
        .vehicle_data()
        .get_vehicle_data()
        .vin(VIN)
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.request_id.as_deref(), Some("5c88d1f1"));
    assert_eq!(body.errors[0].title.as_deref(), Some("Forbidden"));
}

#[tokio::test]
async fn static_data_routes_and_typed_errors() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("GET")
            .path(format!("/v1/vehicle-static-data/{VIN}"));
        then.status(200).json_body(json!({
            "manufacturer": {"brand": "Jeep", "model": "Compass"},
            "equipment": {"series_equipment": [{"description": "airbag"}]}
        }));
    });
    let valuation = server.mock(|when, then| {
        when.method("POST")
            .path(format!("/v1/vehicle-static-data/{VIN}/valuation"))
            .json_body(json!({"odometer": 1222.0, "country_code": "DE"}));
        then.status(422).json_body(json!({
            "errors": [{"detail": "registration_date is required", "source": "registration_date"}],
            "request_id": "abc"
        }));
    });
    let hm = client(&server);
    let data = hm
        .vehicle_static_data()
        .get_static_data()
        .vin(VIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        data.manufacturer.as_ref().and_then(|m| m.brand.as_deref()),
        Some("Jeep")
    );
    let err = hm
        .vehicle_static_data()
        .get_valuation()
        .vin(VIN)
        .body(
            hm_api::vehicle_static_data::types::VehicleStaticValuationDataRequest {
                odometer: Some(1222.0),
                country_code: Some("DE".into()),
                registration_date: None,
            },
        )
        .send()
        .await
        .unwrap_err();
    valuation.assert();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.errors[0].source.as_deref(), Some("registration_date"));
}

#[tokio::test]
async fn oauth_token_request_and_typed_400() {
    use hm_api::oauth::types::{AccessTokensRequest, AccessTokensRequestGrantType};
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("POST")
            .path("/v1/access_tokens")
            .json_body(json!({
                "grant_type": "client_credentials", "client_id": "id", "client_secret": "wrong"
            }));
        then.status(400).json_body(
            json!({"error": "invalid_request", "error_description": "client_secret is invalid"}),
        );
    });
    let err = client(&server)
        .oauth()
        .create_access_token()
        .body(AccessTokensRequest {
            grant_type: AccessTokensRequestGrantType::ClientCredentials,
            client_id: "id".into(),
            client_secret: Some("wrong".into()),
            client_assertion: None,
            client_assertion_type: None,
            code: None,
            code_verifier: None,
            redirect_uri: None,
            refresh_token: None,
        })
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(body) = err else {
        panic!("expected a typed error, got {err:?}")
    };
    assert_eq!(body.error, "invalid_request");
    assert_eq!(
        body.error_description.as_deref(),
        Some("client_secret is invalid")
    );
}
