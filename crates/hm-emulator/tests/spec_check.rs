//! The spec validator used by the other tests really refuses bodies that drift from the spec.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

#[test]
#[should_panic(expected = "does not match")]
fn a_wrongly_typed_field_fails() {
    spec::assert_matches(
        ELIGIBILITY,
        "/v1/eligibility",
        "POST",
        200,
        &json!({"vin": 5, "eligible": true, "data_delivery": []}),
    );
}

#[test]
#[should_panic(expected = "does not match")]
fn an_unknown_vehicle_data_field_fails() {
    // Vehicle data properties are `additionalProperties: false`.
    let body = json!({"diagnostics": {"odometer": {"data": {"value": 1.0, "unit": "kilometers"}, "colour": "red"}}});
    spec::assert_matches(
        VEHICLE_DATA,
        "/v1/vehicle-data/autoapi-13/{vin}",
        "GET",
        200,
        &body,
    );
}

#[test]
#[should_panic(expected = "does not match")]
fn a_missing_required_field_fails() {
    spec::assert_matches(
        CLEARANCE,
        "/v1/fleets/vehicles/{vin}",
        "GET",
        200,
        &json!({"vin": "X"}),
    );
}

#[test]
fn a_conforming_body_passes() {
    spec::assert_matches(
        CLEARANCE,
        "/v1/fleets/vehicles/{vin}",
        "GET",
        200,
        &json!({"vin": "X", "status": "approved"}),
    );
}

/// The emulator refuses `null` anywhere in a JSON request body (hm-api's types would read it as
/// "absent"); that is right only while no schema of the JSON request APIs is nullable.
#[test]
fn no_schema_of_the_json_request_apis_is_nullable() {
    for file in [ELIGIBILITY, CLEARANCE] {
        let text = std::fs::read_to_string(spec::spec_path(file)).unwrap();
        assert!(
            !text.contains("nullable"),
            "{file} now has a nullable schema: refusing every null in request bodies \
             (routes/extract.rs JsonBody) must become a check against the schema"
        );
    }
}
