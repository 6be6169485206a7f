//! `hm vehicle-data VIN`: the latest data of a cleared vehicle, summarised by capability.

use hm_api::vehicle_data::types::VehicleData;
use serde_json::Value;

use crate::cli::VinArgs;
use crate::commands::Ctx;
use crate::config::Session;
use crate::error::{CliError, api_error};
use crate::output::{human_value, print_fields, print_json};

/// Fetches the vehicle data document of `vin`.
pub async fn fetch(session: &Session, vin: &str) -> Result<VehicleData, CliError> {
    match session
        .hm
        .vehicle_data()
        .get_vehicle_data()
        .vin(vin.to_owned())
        .send()
        .await
    {
        Ok(rv) => Ok(rv.into_inner()),
        Err(e) => Err(api_error(format!("vehicle data of {vin}"), e).await),
    }
}

/// The document as JSON (the typed model, serialised back).
pub fn to_value(data: &VehicleData) -> Result<Value, CliError> {
    serde_json::to_value(data)
        .map_err(|e| CliError::Other(format!("cannot encode the vehicle data as JSON: {e}")))
}

fn data<'a>(doc: &'a Value, capability: &str, property: &str) -> Option<&'a Value> {
    doc.get(capability)?.get(property)?.get("data")
}

/// The headline values: odometer, fuel and charge level, range, location, locks, ignition.
pub fn headline(doc: &Value) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let mut add = |label: &'static str, capability: &str, property: &str| {
        if let Some(value) = data(doc, capability, property) {
            lines.push((label, human_value(property, value)));
        }
    };
    add("odometer", "diagnostics", "odometer");
    add("fuel level", "diagnostics", "fuel_level");
    add("charge level", "charging", "battery_level");
    add("range", "diagnostics", "estimated_range");
    add("electric range", "charging", "estimated_range");
    add("doors", "doors", "locks_state");
    add("ignition", "ignition", "state");
    if let Some(c) = data(doc, "vehicle_location", "coordinates")
        && let (Some(lat), Some(lon)) = (c.get("latitude"), c.get("longitude"))
    {
        lines.push(("location", format!("{lat}, {lon} (latitude, longitude)")));
    }
    lines
}

/// Every property, grouped by capability: `(capability, [(property, value)])`.
pub fn by_capability(doc: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let Some(map) = doc.as_object() else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for (capability, properties) in map {
        let Some(properties) = properties.as_object() else {
            continue;
        };
        let mut lines = Vec::new();
        for (name, property) in properties {
            lines.push((name.clone(), property_text(name, property)));
        }
        groups.push((capability.clone(), lines));
    }
    groups
}

fn property_text(name: &str, property: &Value) -> String {
    match property {
        Value::Array(items) => items
            .iter()
            .map(|p| property_text(name, p))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => {
            if let Some(failure) = map.get("failure") {
                let reason = failure
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("failure");
                let description = failure
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return format!("unavailable ({reason}) {description}")
                    .trim_end()
                    .to_owned();
            }
            match map.get("data") {
                Some(data) => human_value(name, data),
                None => human_value(name, property),
            }
        }
        other => human_value(name, other),
    }
}

/// Prints the summary for people.
pub fn print_summary(doc: &Value) {
    let vin = doc.get("vin").and_then(Value::as_str).unwrap_or("?");
    let brand = doc.get("brand").and_then(Value::as_str).unwrap_or("?");
    println!("Vehicle {vin} ({brand})");
    print_fields(&headline(doc));
    for (capability, lines) in by_capability(doc) {
        println!("\n[{capability}]");
        let refs: Vec<(&str, String)> =
            lines.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        print_fields(&refs);
    }
}

/// Runs `hm vehicle-data`.
pub async fn run(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx.session().await?;
    let doc = to_value(&fetch(&session, &args.vin).await?)?;
    if ctx.json {
        print_json(&doc)
    } else {
        print_summary(&doc);
        Ok(())
    }
}
