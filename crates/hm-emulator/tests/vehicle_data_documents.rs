//! Vehicle data documents exercise the whole schema: every capability and property of the spec,
//! values valid for the published schema (checked by `Checked::call` on every answer), failures
//! for the configured share, deterministic per VIN and seed, brands in vehicle data's spelling.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hm_api::fleet_clearance::types::Brand;
use hm_api::vehicle_data::types::VehicleData;
use hm_emulator::{EmulatorConfig, VehicleConfig, VehicleDataConfig};
use reqwest::Method;
use serde_json::Value;

const DATA: &str = "/v1/vehicle-data/autoapi-13/{vin}";
/// Properties that always carry plausible data (demos and summaries show them).
const HEADLINE: [(&str, &str); 7] = [
    ("diagnostics", "odometer"),
    ("diagnostics", "fuel_level"),
    ("diagnostics", "estimated_range"),
    ("charging", "battery_level"),
    ("charging", "estimated_range"),
    ("vehicle_location", "coordinates"),
    ("vehicle_location", "heading"),
];

/// One vehicle per clearance brand of the spec (so every brand spelling is tried).
fn fleet(settings: VehicleDataConfig) -> EmulatorConfig {
    let mut config = frozen_demo();
    config.vehicles = Brand::KNOWN
        .iter()
        .enumerate()
        .map(|(i, brand)| VehicleConfig::new(format!("EMUDATAVIN{i:07}"), brand.as_str()))
        .collect();
    config.vehicle_data = settings;
    config
}

/// Every vehicle's document (each checked against the spec by `call`).
async fn documents(config: EmulatorConfig) -> Vec<Value> {
    let vehicles: Vec<(String, String)> = config
        .vehicles
        .iter()
        .map(|v| (v.vin.clone(), v.brand.clone()))
        .collect();
    let api = Checked::start(config).await;
    let token = api.demo_token().await;
    let pairs: Vec<(&str, &str)> = vehicles
        .iter()
        .map(|(v, b)| (v.as_str(), b.as_str()))
        .collect();
    api.request_clearance(&token, &pairs).await;
    api.advance(2);
    let mut docs = Vec::new();
    for (vin, _) in &vehicles {
        let path = format!("/v1/vehicle-data/autoapi-13/{vin}");
        let reply = api
            .call(VEHICLE_DATA, DATA, Method::GET, &path, Some(&token), None)
            .await;
        assert_eq!(reply.status, 200, "{vin}: {}", reply.body);
        docs.push(reply.body);
    }
    docs
}

/// The capabilities and their properties, from the artefact the documents are generated from
/// (`cargo xtask codegen` writes it from the spec; `--check` keeps it fresh).
fn schema_properties() -> Vec<(String, Vec<String>)> {
    let shape: Value =
        serde_json::from_str(include_str!("../src/generated/vehicle_data_shape.json")).unwrap();
    let schemas = &shape["schemas"];
    let root = &schemas[shape["root"].as_str().unwrap()];
    let mut capabilities = Vec::new();
    for (name, field) in root["properties"].as_object().unwrap() {
        let Some(target) = field["$ref"].as_str() else {
            continue; // request_id, vin, brand
        };
        let properties = schemas[target]["properties"].as_object().unwrap();
        capabilities.push((name.clone(), properties.keys().cloned().collect()));
    }
    capabilities
}

/// Every property value of a document: `(capability, property, value)`, array items one by one.
fn properties(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut all = Vec::new();
    for (capability, properties) in doc.as_object().unwrap() {
        let Some(properties) = properties.as_object() else {
            continue;
        };
        for (name, value) in properties {
            match value {
                Value::Array(items) => {
                    all.extend(items.iter().map(|i| (&**capability, &**name, i)))
                }
                one => all.push((&**capability, &**name, one)),
            }
        }
    }
    all
}

#[tokio::test]
async fn every_capability_and_property_for_many_vins_and_seeds() {
    let expected = schema_properties();
    assert!(expected.len() >= 34, "{} capabilities", expected.len());
    for seed in [0, 7, 1_000_003] {
        let docs = documents(fleet(VehicleDataConfig {
            seed,
            failure_share: 0.2,
            ..VehicleDataConfig::default()
        }))
        .await;
        assert!(docs.len() >= 28);
        for doc in &docs {
            for (capability, names) in &expected {
                for name in names {
                    assert!(
                        !doc[capability][name].is_null(),
                        "{}: {capability}.{name} is missing (seed {seed})",
                        doc["vin"]
                    );
                }
            }
            // What the client decodes is what was served: hm-api's types lose nothing of it.
            let typed: VehicleData = serde_json::from_value(doc.clone()).unwrap();
            assert_eq!(&serde_json::to_value(typed).unwrap(), doc);
            assert!(
                doc.to_string().len() > 30_000,
                "a real full response is tens of KB"
            );
        }
    }
}

#[tokio::test]
async fn failures_follow_the_configured_share() {
    for share in [0.0, 0.25, 1.0] {
        let docs = documents(fleet(VehicleDataConfig {
            seed: 3,
            failure_share: share,
            ..VehicleDataConfig::default()
        }))
        .await;
        let (mut failed, mut total) = (0, 0);
        for doc in &docs {
            for (capability, name, value) in properties(doc) {
                assert!(
                    value["timestamp"].is_string(),
                    "{capability}.{name}: {value}"
                );
                let failure = &value["failure"];
                assert_ne!(
                    failure.is_object(),
                    value["data"].is_object() || !value["data"].is_null(),
                    "{capability}.{name} needs exactly one of data and failure: {value}"
                );
                if HEADLINE.contains(&(capability, name)) {
                    assert!(
                        failure.is_null(),
                        "{capability}.{name} is a headline: {value}"
                    );
                    continue;
                }
                total += 1;
                if failure.is_object() {
                    failed += 1;
                    assert!(failure["reason"].is_string() && failure["description"].is_string());
                }
            }
        }
        let measured = f64::from(failed) / f64::from(total);
        assert!(
            (measured - share).abs() < 0.03,
            "share {share}: {failed} of {total} properties failed"
        );
    }
}

/// `value` with every RFC 3339 time replaced by a marker: times follow the request's clock.
fn without_times(value: &Value) -> Value {
    match value {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => "<time>".into(),
        Value::Array(items) => items.iter().map(without_times).collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| *k != "request_id")
            .map(|(k, v)| (k.clone(), without_times(v)))
            .collect(),
        other => other.clone(),
    }
}

#[tokio::test]
async fn documents_depend_only_on_vin_and_seed() {
    let settings = |seed| VehicleDataConfig {
        seed,
        failure_share: 0.1,
        ..VehicleDataConfig::default()
    };
    let run = async |seed| -> Vec<Value> {
        documents(fleet(settings(seed)))
            .await
            .iter()
            .map(without_times)
            .collect()
    };
    let a = run(1).await;
    assert_eq!(a, run(1).await);
    let other = run(2).await;
    assert_ne!(a, other);
    for (x, y) in a.iter().zip(&other) {
        assert_ne!(
            x["diagnostics"], y["diagnostics"],
            "{}: same data under two seeds",
            x["vin"]
        );
    }
    assert_ne!(
        a[0]["diagnostics"], a[1]["diagnostics"],
        "two VINs, one document"
    );
}

#[tokio::test]
async fn brands_are_spelled_as_vehicle_data_spells_them() {
    let docs = documents(fleet(VehicleDataConfig::default())).await;
    for (doc, brand) in docs.iter().zip(Brand::KNOWN) {
        let spelled = doc["brand"].as_str().unwrap();
        let same = spelled.replace('_', "-") == brand.as_str();
        assert!(
            same || spelled == "unknown",
            "{}: {spelled}",
            brand.as_str()
        );
        assert!(!spelled.contains('-'), "{spelled}");
    }
    assert!(docs.iter().any(|d| d["brand"] == "mercedes_benz"));
}
