//! The message types generated from the published JSON Schemas (`hm_stream::generated`): the published
//! fixtures decode and re-encode, and what the schema does not list yet (a capability, a property, an
//! envelope field, an enum value) survives a round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use hm_stream::Message;
use hm_stream::auto_api::{Capabilities, PropertyLengthDataUnit};
use hm_stream::generated::janus::Envelope;
use serde_json::{Value, json};

/// A published fixture, where `cargo xtask fetch` puts it.
fn fixture(schema: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../openapi/fetched/json-schema")
        .join(schema)
        .join("0002/fixtures/example.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {} is missing ({e}): run `cargo xtask fetch` first",
            path.display()
        )
    })
}

/// Equal JSON, numbers compared by value (the schema's `number` is an `f64`: `2050` re-encodes as
/// `2050.0`).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
        }
        (a, b) => a == b,
    }
}

/// Decodes `text` as `T`, re-encodes it and checks that nothing changed.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) -> T {
    let decoded: T = serde_json::from_str(text).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    let encoded = serde_json::to_value(&decoded).unwrap();
    assert!(
        same_json(&original, &encoded),
        "re-encoding changed the document:\n{original:#}\n{encoded:#}"
    );
    decoded
}

#[test]
fn the_published_vehicle_data_fixture_decodes_and_re_encodes() {
    let data: Capabilities = round_trip(&fixture("auto-api"));
    let diagnostics = data.diagnostics.as_ref().expect("diagnostics");
    let odometer = diagnostics.odometer[0].data.as_ref().expect("a value");
    assert_eq!(odometer.value, 2050.0);
    assert_eq!(odometer.unit, PropertyLengthDataUnit::Kilometers);
    assert_eq!(
        diagnostics.odometer[0].timestamp.unwrap().to_rfc3339(),
        "2021-10-06T13:59:25.648943+00:00"
    );
    let speed = diagnostics.speed[0].data.as_ref().expect("a speed");
    assert_eq!(
        (speed.value, speed.unit.as_str()),
        (42.0, "kilometers_per_hour")
    );
    let race = data.race.as_ref().expect("race");
    assert_eq!(
        race.vehicle_moving[0].data.as_ref().unwrap().as_str(),
        "moving"
    );
    assert!(data.extra.is_empty() && diagnostics.extra.is_empty());
}

#[test]
fn the_published_envelope_fixture_decodes_as_envelope_and_as_message() {
    let text = fixture("janus");
    let envelope: Envelope = round_trip(&text);
    assert_eq!(envelope.message_id, "ABCDEF");
    assert_eq!(envelope.vin, "EXVETESTVIN000001");
    assert!(envelope.data.diagnostics.is_some());

    // The generated root type is the consumer's typed payload.
    let message: Message<Capabilities> = serde_json::from_str(&text).unwrap();
    assert_eq!(message.message_id, envelope.message_id);
    assert_eq!(message.application_id, envelope.application_id);
    assert_eq!(message.data, envelope.data);
}

#[test]
fn what_the_schema_does_not_list_yet_survives_a_round_trip() {
    let text = json!({
        "version": 2,
        "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9",
        "message_id": "M-2",
        "vin": "EXVETESTVIN000002",
        "envelope_field_from_2030": {"a": [1, 2]},
        "data": {
            "teleportation": {"destination": [{"data": "mars", "timestamp": "2030-01-01T00:00:00Z"}]},
            "diagnostics": {
                "odometer": [{"data": {"value": 7, "unit": "light_years"}, "timestamp": "2030-01-01T00:00:00Z"}],
                "flux_capacitor": [{"data": {"value": 1.21, "unit": "gigawatts"}}],
            },
            "race": {"vehicle_moving": [{"data": "hovering"}]},
        }
    })
    .to_string();
    let envelope: Envelope = round_trip(&text);
    assert_eq!(
        envelope.extra["envelope_field_from_2030"],
        json!({"a": [1, 2]})
    );
    let data = &envelope.data;
    assert!(data.extra.contains_key("teleportation"));
    let diagnostics = data.diagnostics.as_ref().unwrap();
    assert!(diagnostics.extra.contains_key("flux_capacitor"));
    let unit = &diagnostics.odometer[0].data.as_ref().unwrap().unit;
    assert!(!unit.is_known());
    assert_eq!(unit.as_str(), "light_years");
    let moving = data.race.as_ref().unwrap().vehicle_moving[0]
        .data
        .as_ref()
        .unwrap();
    assert_eq!((moving.is_known(), moving.as_str()), (false, "hovering"));
}

#[test]
fn data_the_schema_forbids_is_refused() {
    let err = serde_json::from_str::<Capabilities>(
        r#"{"diagnostics": {"odometer": [{"data": {"value": "far", "unit": "kilometers"}}]}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("invalid type"), "{err}");
    let err =
        serde_json::from_str::<Capabilities>(r#"{"diagnostics": {"odometer": {}}}"#).unwrap_err();
    assert!(err.to_string().contains("expected a sequence"), "{err}");
}

/// The decoders xtask generates for the types that keep unlisted members (instead of serde's buffering
/// `flatten`) refuse what the derive refused and read timestamps as chrono's general parser did.
#[test]
fn members_given_twice_are_refused_and_timestamps_decode_as_before() {
    for (text, duplicate) in [
        (r#"{"race": {}, "race": {}}"#, "race"),
        (r#"{"teleport": 1, "teleport": 2}"#, "teleport"),
        (r#"{"diagnostics": {"speed": [], "speed": []}}"#, "speed"),
    ] {
        let err = serde_json::from_str::<Capabilities>(text).unwrap_err();
        let expected = format!("duplicate field `{duplicate}`");
        assert!(err.to_string().contains(&expected), "{text}: {err}");
    }
    let values = |time: &str| {
        let text = format!(r#"{{"diagnostics": {{"odometer": [{{"timestamp": {time}}}, {{}}]}}}}"#);
        serde_json::from_str::<Capabilities>(&text).map(|data| {
            let diagnostics = data.diagnostics.unwrap();
            (
                diagnostics.odometer[0].timestamp,
                diagnostics.odometer[1].timestamp,
            )
        })
    };
    let offset = values(r#""2021-10-06T15:59:25.5+02:00""#).unwrap();
    assert_eq!(
        offset.0.unwrap().to_rfc3339(),
        "2021-10-06T13:59:25.500+00:00"
    );
    assert_eq!(offset.1, None);
    // Not RFC 3339 (a space for the `T`), but chrono's general parser, which the derive used, takes it.
    let relaxed = values(r#""2021-10-06 13:59:25Z""#).unwrap();
    assert_eq!(relaxed.0.unwrap().to_rfc3339(), "2021-10-06T13:59:25+00:00");
    assert_eq!(values("null").unwrap().0, None);
    assert!(values(r#""yesterday""#).is_err());
    assert!(values("7").is_err());
}
