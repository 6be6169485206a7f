//! Eligibility checks against the configured vehicles.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_emulator::{DEMO_VIN_APPROVED, DEMO_VIN_MERCEDES, DEMO_VIN_NOT_ELIGIBLE};
use reqwest::Method;
use serde_json::{Value, json};

async fn check(api: &Checked, token: &str, body: &Value) -> Reply {
    api.call(
        ELIGIBILITY,
        "/v1/eligibility",
        Method::POST,
        "/v1/eligibility",
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn configured_vehicles_answer_as_configured() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let eligible = check(
        &api,
        &token,
        &json!({"vin": DEMO_VIN_MERCEDES, "brand": "mercedes-benz"}),
    )
    .await;
    assert_eq!(eligible.status, 200);
    assert_eq!(eligible.body["eligible"], true);
    assert_eq!(eligible.body["data_delivery"], json!(["pull", "push"]));
    assert_eq!(eligible.body["connectivity_status"], "activated");

    let not = check(
        &api,
        &token,
        &json!({"vin": DEMO_VIN_NOT_ELIGIBLE, "brand": "ford"}),
    )
    .await;
    assert_eq!(not.body["eligible"], false);
    assert_eq!(not.body["data_delivery"], json!([]));
}

#[tokio::test]
async fn unknown_vins_and_wrong_brands_are_not_eligible() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    let unknown = check(
        &api,
        &token,
        &json!({"vin": "WVWZZZ1JZXW000001", "brand": "sandbox"}),
    )
    .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body["eligible"], false);
    let wrong_brand = check(
        &api,
        &token,
        &json!({"vin": DEMO_VIN_APPROVED, "brand": "bmw"}),
    )
    .await;
    assert_eq!(wrong_brand.body["eligible"], false);
}

#[tokio::test]
async fn the_spec_example_vins_are_valid() {
    // High Mobility's own examples contain I and O, which ISO 3779 forbids: the API accepts them.
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    for vin in [
        "EXVETESTVIN000001",
        "VIN00000000000001",
        "1HM62652356323000",
    ] {
        let reply = check(&api, &token, &json!({"vin": vin, "brand": "sandbox"})).await;
        assert_eq!(reply.status, 200, "{vin}: {:?}", reply.body);
        assert_eq!(reply.body["vin"], vin);
    }
}

#[tokio::test]
async fn invalid_vins_and_bodies_get_422() {
    let api = Checked::start(frozen_demo()).await;
    let token = api.demo_token().await;
    for body in [
        json!({"vin": "1HMDEM0CAR000000", "brand": "sandbox"}), // 16 characters
        json!({"vin": "1hmdem0car0000001", "brand": "sandbox"}), // lower case
        json!({"vin": DEMO_VIN_APPROVED}),
        json!({"vin": DEMO_VIN_APPROVED, "brand": "not-a-brand"}),
        json!({"vin": DEMO_VIN_APPROVED, "brand": 7}),
        json!({"brand": "sandbox"}),
        json!("nonsense"),
    ] {
        let reply = check(&api, &token, &body).await;
        assert_eq!(reply.status, 422, "{body}");
        assert!(reply.body["errors"][0]["title"].is_string());
    }
}
