//! Vehicle data needs an approved clearance; static data needs a configured vehicle.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_emulator::{DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, DEMO_VIN_SLOW};
use reqwest::Method;

const DATA: &str = "/v1/vehicle-data/autoapi-13/{vin}";

async fn data(api: &Checked, token: &str, vin: &str) -> Reply {
    api.call(
        VEHICLE_DATA,
        DATA,
        Method::GET,
        &format!("/v1/vehicle-data/autoapi-13/{vin}"),
        Some(token),
        None,
    )
    .await
}

#[tokio::test]
async fn data_flows_only_while_the_clearance_is_approved() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let forbidden = data(&api, &token, DEMO_VIN_MERCEDES).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.body["errors"][0]["detail"],
        "No active consent for this vehicle"
    );

    api.request_clearance(
        &token,
        &[
            (DEMO_VIN_MERCEDES, "mercedes-benz"),
            (DEMO_VIN_SLOW, "sandbox"),
        ],
    )
    .await;
    assert_eq!(data(&api, &token, DEMO_VIN_MERCEDES).await.status, 422);
    api.advance(2);
    let ok = data(&api, &token, DEMO_VIN_MERCEDES).await;
    assert_eq!(ok.status, 200);
    let doc = &ok.body;
    assert_eq!(doc["vin"], DEMO_VIN_MERCEDES);
    assert_eq!(
        doc["brand"], "mercedes_benz",
        "vehicle data spells brands with underscores"
    );
    assert_eq!(doc["diagnostics"]["odometer"]["data"]["unit"], "kilometers");
    assert!(
        doc["diagnostics"]["odometer"]["data"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let fuel = doc["diagnostics"]["fuel_level"]["data"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&fuel));
    assert!(doc["charging"]["battery_level"]["data"].as_f64().is_some());
    assert!(
        doc["vehicle_location"]["coordinates"]["data"]["latitude"]
            .as_f64()
            .is_some()
    );
    assert!(
        doc["diagnostics"]["odometer"]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(doc["doors"]["locks"].as_array().unwrap().len(), 4);

    // Deterministic: the same VIN gives the same values, and request ids differ.
    let again = data(&api, &token, DEMO_VIN_MERCEDES).await.body;
    assert_eq!(
        again["diagnostics"]["odometer"],
        doc["diagnostics"]["odometer"]
    );
    assert_ne!(again["request_id"], doc["request_id"]);

    // Still pending: 422; revoked: 403 again.
    assert_eq!(data(&api, &token, DEMO_VIN_SLOW).await.status, 422);
    api.clearance(
        Method::DELETE,
        &format!("/v1/fleets/vehicles/{DEMO_VIN_MERCEDES}"),
        "/v1/fleets/vehicles/{vin}",
        &token,
        None,
    )
    .await;
    assert_eq!(data(&api, &token, DEMO_VIN_MERCEDES).await.status, 403);
}

#[tokio::test]
async fn different_vins_get_different_but_stable_documents() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    api.request_clearance(
        &token,
        &[
            (DEMO_VIN_MERCEDES, "mercedes-benz"),
            (DEMO_VIN_APPROVED, "sandbox"),
        ],
    )
    .await;
    api.advance(2);
    let a = data(&api, &token, DEMO_VIN_MERCEDES).await.body;
    let b = data(&api, &token, DEMO_VIN_APPROVED).await.body;
    assert_ne!(a["diagnostics"]["odometer"], b["diagnostics"]["odometer"]);
    assert_eq!(b["brand"], "sandbox");
}

#[tokio::test]
async fn static_data_for_configured_vehicles() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let summary = api
        .call(
            STATIC_DATA,
            "/v1/vehicle-static-data/{vin}",
            Method::GET,
            &format!("/v1/vehicle-static-data/{DEMO_VIN_MERCEDES}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(summary.status, 200);
    assert_eq!(summary.body["manufacturer"]["brand"], "Mercedes-Benz");
    let details = api
        .call(
            STATIC_DATA,
            "/v1/vehicle-static-data/{vin}/data",
            Method::GET,
            &format!("/v1/vehicle-static-data/{DEMO_VIN_MERCEDES}/data"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(details.status, 200);
    assert_eq!(
        details.body["vehicle"]["manufacturer"]["brand"]["name"],
        "Mercedes-Benz"
    );
    let unknown = api
        .call(
            STATIC_DATA,
            "/v1/vehicle-static-data/{vin}",
            Method::GET,
            "/v1/vehicle-static-data/WVWZZZ1JZXW000001",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["request_id"].is_string());
}
