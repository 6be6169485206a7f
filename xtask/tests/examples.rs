//! Every request and response example of the published specs (after our overlay) decodes into the
//! generated types and re-encodes to the same JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use hm_api::{eligibility, fleet_clearance, oauth, vehicle_data, vehicle_static_data};

/// Decodes `example` as `T` and re-encodes it.
fn round_trip<T: DeserializeOwned + Serialize>(example: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(example.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// The generated type of a component schema, by (module, schema name).
fn decode(module: &str, schema: &str, example: &Value) -> Option<Result<Value, String>> {
    Some(match (module, schema) {
        ("oauth", "AccessTokensReponse") => round_trip::<oauth::types::AccessTokenResponse>(example),
        ("oauth", "AccessTokensRequest") => round_trip::<oauth::types::AccessTokensRequest>(example),
        ("oauth", "AccessTokensError") => round_trip::<oauth::types::AccessTokensError>(example),
        ("oauth", "VehicleInfoResponse") => round_trip::<oauth::types::VehicleInfoResponse>(example),
        ("eligibility", "SuccessResponse") => round_trip::<eligibility::types::Eligibility>(example),
        ("fleet_clearance", "FleetVehicleGetResponse") => {
            round_trip::<fleet_clearance::types::FleetVehicleGetResponse>(example)
        }
        ("fleet_clearance", "FleetVehicleRequest") => {
            round_trip::<fleet_clearance::types::FleetVehicleRequest>(example)
        }
        ("fleet_clearance", "FleetVehiclePostResponse") => {
            round_trip::<fleet_clearance::types::FleetVehiclePostResponse>(example)
        }
        ("fleet_clearance", "FleetVin") => round_trip::<fleet_clearance::types::FleetVin>(example),
        ("fleet_clearance", "FleetVehicleDeleteItemResponse") => {
            round_trip::<fleet_clearance::types::FleetVehicleDeleteItemResponse>(example)
        }
        ("vehicle_data", "VehicleDataErrors") => {
            round_trip::<vehicle_data::types::VehicleDataErrors>(example)
        }
        ("vehicle_static_data", "VehicleStaticDataDataResponse") => {
            round_trip::<vehicle_static_data::types::VehicleStaticDataDataResponse>(example)
        }
        ("vehicle_static_data", "VehicleStaticDataResponseError") => {
            round_trip::<vehicle_static_data::types::VehicleStaticDataResponseError>(example)
        }
        ("vehicle_static_data", "VehicleStaticDataResponse") => {
            round_trip::<vehicle_static_data::types::VehicleStaticDataResponse>(example)
        }
        ("vehicle_static_data", "VehicleStaticDataValuationPriceInitialRegistrationCorrection") => {
            round_trip::<
                vehicle_static_data::types::VehicleStaticDataValuationPriceInitialRegistrationCorrection,
            >(example)
        }
        _ => return None,
    })
}

/// One example found in a spec: where it is, which component schema it illustrates, its value.
struct Example {
    location: String,
    schema: String,
    value: Value,
}

fn schema_name(schema: &Value) -> Option<String> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
        .map(str::to_owned)
}

fn media_examples(location: &str, content: &Value, found: &mut Vec<Example>) {
    let Some(media) = content.get("application/json") else {
        return;
    };
    let Some(schema) = media.get("schema").and_then(schema_name) else {
        return;
    };
    if let Some(value) = media.get("example") {
        found.push(Example {
            location: format!("{location} example"),
            schema: schema.clone(),
            value: value.clone(),
        });
    }
    for (name, example) in media
        .get("examples")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(value) = example.get("value") {
            found.push(Example {
                location: format!("{location} example `{name}`"),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
    }
}

fn examples(spec: &Value) -> Vec<Example> {
    let mut found = Vec::new();
    let schemas = spec["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, schema) in &schemas {
        if let Some(value) = schema.get("example") {
            found.push(Example {
                location: format!("components.schemas.{name}.example"),
                schema: name.clone(),
                value: value.clone(),
            });
        }
    }
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let at = format!("{} {path}", method.to_uppercase());
            if let Some(content) = operation.pointer("/requestBody/content") {
                media_examples(&format!("{at} request"), content, &mut found);
            }
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if let Some(content) = response.get("content") {
                    media_examples(&format!("{at} {status} response"), content, &mut found);
                }
            }
        }
    }
    found
}

/// JSON equality up to what serialisation legitimately normalises: 1 and 1.0 are the same number, two
/// RFC 3339 timestamps of the same instant are the same (`DateTime<Utc>` re-encodes `+02:00` as UTC),
/// and an absent field is the same as `null`, `{}` or `[]` (the generated types skip empty optional fields).
fn same(a: &Value, b: &Value) -> bool {
    let blank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) if x != y => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            instant(x).is_some() && instant(x) == instant(y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.keys()
                .chain(y.keys())
                .all(|k| match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => same(v, w) || (blank(Some(v)) && blank(Some(w))),
                    (v, w) => blank(v) && blank(w),
                })
        }
        _ => a == b,
    }
}

#[test]
fn every_spec_example_decodes_and_re_encodes() {
    let root = xtask::root();
    let manifest = xtask::manifest(&root).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in &manifest.specs {
        let spec = xtask::codegen::corrected_spec(&root, entry).unwrap_or_else(|e| panic!("{e}"));
        for example in examples(&spec.json) {
            let place = format!("{}: {} ({})", entry.file, example.location, example.schema);
            match decode(&entry.module, &example.schema, &example.value) {
                None => failures.push(format!(
                    "{place}: no generated type registered in xtask/tests/examples.rs"
                )),
                Some(Err(e)) => failures.push(format!("{place}: does not decode: {e}")),
                Some(Ok(encoded)) if !same(&encoded, &example.value) => failures.push(format!(
                    "{place}: re-encodes differently:\n  example: {}\n  encoded: {encoded}",
                    example.value
                )),
                Some(Ok(_)) => checked += 1,
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The specs hold 40+ examples; a drop means the walk above stopped finding them.
    assert!(checked >= 40, "only {checked} examples checked");
}
