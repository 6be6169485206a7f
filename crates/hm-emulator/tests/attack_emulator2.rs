//! Attack findings against hm-emulator's spec-built bodies and generated documents (issue 12,
//! part 2). Each test states what the emulator should do; each failed before its fix. Everything goes through the public
//! interface: the emulator on loopback, spoken to over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig, EmulatorHandle, VehicleConfig,
};
use serde_json::{Value, json};

/// A frozen-clock emulator with the demo application and `vehicles` (VIN, brand), each approved
/// after 2 s.
async fn start(vehicles: &[(&str, &str)]) -> EmulatorHandle {
    let mut config = EmulatorConfig {
        follow_real_time: false,
        ..EmulatorConfig::demo()
    };
    config.vehicles = vehicles
        .iter()
        .map(|(vin, brand)| VehicleConfig::new(*vin, *brand))
        .collect();
    Emulator::start(config).await.unwrap()
}

async fn post(
    emulator: &EmulatorHandle,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", emulator.base_url()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(emulator: &EmulatorHandle, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", emulator.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn token(emulator: &EmulatorHandle) -> String {
    let (status, body) = post(
        emulator,
        "/v1/access_tokens",
        None,
        &json!({
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Sends one vehicle to `POST /v1/fleets/vehicles`; `Some(status)` of the vehicle when the request
/// as a whole was accepted, `None` when it was refused with a 4xx.
async fn clearance_status(
    emulator: &EmulatorHandle,
    token: &str,
    vehicle: Value,
) -> Option<String> {
    let (status, body) = post(
        emulator,
        "/v1/fleets/vehicles",
        Some(token),
        &json!({"vehicles": [vehicle]}),
    )
    .await;
    if (400..500).contains(&status) {
        return None;
    }
    assert_eq!(status, 200, "{body}");
    Some(body["vehicles"][0]["status"].as_str().unwrap().to_owned())
}

/// The spec's `FleetVehicle.tags` is `type: object` (not nullable): `"tags": null` violates the
/// request schema, but hm-api's `null_as_default` (a client-side tolerance for responses) turns it
/// into an empty map and the emulator starts a clearance.
#[tokio::test]
async fn clearance_refuses_null_tags() {
    let emulator = start(&[("VIN00000000000001", "bmw")]).await;
    let token = token(&emulator).await;
    let status = clearance_status(
        &emulator,
        &token,
        json!({"vin": "VIN00000000000001", "brand": "bmw", "tags": null}),
    )
    .await;
    assert_ne!(
        status.as_deref(),
        Some("pending"),
        "a body that violates the spec's request schema must be refused"
    );
}

/// `control_measures.odometer.unit` is a closed enum (`kilometers`, `miles`) in the spec, but the
/// generated open enum accepts any string, so the emulator accepts `"parsecs"`.
#[tokio::test]
async fn clearance_refuses_unknown_odometer_unit() {
    let emulator = start(&[("VIN00000000000001", "bmw")]).await;
    let token = token(&emulator).await;
    let status = clearance_status(
        &emulator,
        &token,
        json!({
            "vin": "VIN00000000000001",
            "brand": "bmw",
            "control_measures": {"odometer": {"value": 1, "unit": "parsecs"}},
        }),
    )
    .await;
    assert_ne!(
        status.as_deref(),
        Some("pending"),
        "unit \"parsecs\" is not in the spec's enum"
    );
}

/// `control_measures` is `type: object`, not nullable; `null` is accepted as "absent".
#[tokio::test]
async fn clearance_refuses_null_control_measures() {
    let emulator = start(&[("VIN00000000000001", "bmw")]).await;
    let token = token(&emulator).await;
    let status = clearance_status(
        &emulator,
        &token,
        json!({"vin": "VIN00000000000001", "brand": "bmw", "control_measures": null}),
    )
    .await;
    assert_ne!(status.as_deref(), Some("pending"), "null is not an object");
}

/// A configured vehicle's brand is accepted for EVERY VIN, even when it is a typo the spec does
/// not know (`volvo` for `volvo-cars`): a client that sends the typo passes every emulator test and
/// fails against High Mobility. The brand should at most be accepted for the configured VIN (or
/// the config refused at load, naming the spec's spelling).
#[tokio::test]
async fn off_spec_config_brand_is_not_accepted_for_other_vins() {
    for (typo, spelling) in [("volvo", "volvo-cars"), ("Mercedes-Benz", "mercedes-benz")] {
        let mut config = EmulatorConfig {
            follow_real_time: false,
            ..EmulatorConfig::demo()
        };
        config.vehicles = vec![VehicleConfig::new("VIN00000000000001", typo)];
        let Err(e) = Emulator::start(config).await else {
            // Accepted at load: then the brand must at least not work for another VIN.
            let emulator = start(&[("VIN00000000000001", typo)]).await;
            let token = token(&emulator).await;
            let status = clearance_status(
                &emulator,
                &token,
                json!({"vin": "VIN00000000000099", "brand": typo}),
            )
            .await;
            assert!(
                matches!(status.as_deref(), None | Some("error")),
                "brand {typo:?} is not in the clearance spec and VIN00000000000099 is not configured: {status:?}"
            );
            continue;
        };
        let message = e.to_string();
        assert!(
            message.contains(&format!("did you mean \"{spelling}\"")),
            "the refusal names the spec's spelling: {message}"
        );
    }
}

/// The eligibility spec lists 17 brands; `tesla` is not one of them (the clearance spec has it).
/// Configuring any Tesla vehicle makes `POST /v1/eligibility` accept `tesla` for every VIN, where
/// High Mobility answers 422 "Invalid brand".
#[tokio::test]
async fn eligibility_refuses_clearance_only_brand_for_unconfigured_vin() {
    let emulator = start(&[("VIN00000000000001", "tesla")]).await;
    let token = token(&emulator).await;
    let (status, body) = post(
        &emulator,
        "/v1/eligibility",
        Some(&token),
        &json!({"vin": "VIN00000000000099", "brand": "tesla"}),
    )
    .await;
    assert_eq!(
        status, 422,
        "eligibility's spec has no brand \"tesla\": {body}"
    );
}

/// Events that have happened (the last theft alarm event, the detection of windscreen damage, the
/// end of a finished charging session's record) are dated up to 30 days in the FUTURE: every
/// date-time is drawn around `now`. A client computing "time since last event" gets negative ages.
#[tokio::test]
async fn past_events_are_not_in_the_future() {
    let vins: Vec<String> = (0..20).map(|i| format!("VIN{i:014}")).collect();
    let vehicles: Vec<(&str, &str)> = vins.iter().map(|v| (v.as_str(), "bmw")).collect();
    let emulator = start(&vehicles).await;
    let token = token(&emulator).await;
    let body = json!({"vehicles": vins.iter().map(|v| json!({"vin": v, "brand": "bmw"})).collect::<Vec<_>>()});
    let (status, _) = post(&emulator, "/v1/fleets/vehicles", Some(&token), &body).await;
    assert_eq!(status, 200);
    emulator.advance(Duration::from_secs(10));
    let now = emulator.now();
    let mut future = Vec::new();
    for vin in &vins {
        let (status, doc) = get(
            &emulator,
            &format!("/v1/vehicle-data/autoapi-13/{vin}"),
            &token,
        )
        .await;
        assert_eq!(status, 200, "{doc}");
        for (capability, property) in [
            ("theft_alarm", "last_event"),
            ("windscreen", "windscreen_damage_detection_time"),
        ] {
            if let Some(at) = doc[capability][property]["data"].as_str() {
                let at: DateTime<Utc> = at.parse().unwrap();
                if at > now {
                    future.push(format!("{vin} {capability}.{property} = {at} (now {now})"));
                }
            }
        }
    }
    assert!(
        future.is_empty(),
        "events in the future:\n{}",
        future.join("\n")
    );
}
