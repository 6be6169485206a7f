//! The vehicle data document (`GET /v1/vehicle-data/autoapi-13/{vin}`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{pick, seed};
use crate::brands::vehicle_data_brand;
use crate::state::clock::wire_time;

fn property(data: Value, at: &str) -> Value {
    json!({ "data": data, "timestamp": at })
}

fn unit(value: f64, unit: &str) -> Value {
    json!({ "value": value, "unit": unit })
}

/// Builds the document for `vin` of `fleet_brand` as read at `now`.
///
/// Values depend only on the VIN; timestamps are a few seconds or minutes before `now`, as when a
/// vehicle last reported.
pub fn document(vin: &str, fleet_brand: &str, request_id: &str, now: DateTime<Utc>) -> Value {
    let s = seed(vin);
    let ago = |secs: i64| wire_time(now - chrono::Duration::seconds(secs));
    let (recent, older) = (ago(5 + (s % 50) as i64), ago(300 + (s % 600) as i64));
    let battery = pick(s, 1, 0.2, 0.95, 2);
    let locked = !s.is_multiple_of(3);
    let lock_state = if locked { "locked" } else { "unlocked" };
    let doors = ["front_left", "front_right", "rear_right", "rear_left"];
    json!({
        "request_id": request_id,
        "vin": vin,
        "brand": vehicle_data_brand(fleet_brand),
        "diagnostics": {
            "odometer": property(unit(pick(s, 2, 5_000.0, 180_000.0, 1), "kilometers"), &older),
            "fuel_level": property(json!(pick(s, 3, 0.05, 1.0, 2)), &older),
            "estimated_range": property(unit(pick(s, 4, 60.0, 700.0, 0), "kilometers"), &older),
            "battery_voltage": property(unit(pick(s, 5, 12.0, 14.4, 1), "volts"), &recent),
            "speed": property(unit(0.0, "kilometers_per_hour"), &recent),
            "tire_pressures": doors.iter().enumerate().map(|(i, location)| property(
                json!({ "location": location, "pressure": unit(pick(s, 10 + i as u64, 220.0, 260.0, 0), "kilopascals") }),
                &older,
            )).collect::<Vec<_>>(),
        },
        "charging": {
            "battery_level": property(json!(battery), &recent),
            "estimated_range": property(unit((battery * 420.0).round(), "kilometers"), &recent),
            "charge_limit": property(json!(0.8), &older),
        },
        "vehicle_location": {
            "coordinates": property(json!({
                "latitude": pick(s, 6, 52.40, 52.60, 6),
                "longitude": pick(s, 7, 13.25, 13.55, 6),
            }), &recent),
            "heading": property(unit(pick(s, 8, 0.0, 360.0, 1), "degrees"), &recent),
            "altitude": property(unit(pick(s, 9, 30.0, 120.0, 1), "meters"), &recent),
        },
        "doors": {
            "locks_state": property(json!(lock_state), &recent),
            "locks": doors.iter().map(|location| property(
                json!({ "location": location, "lock_state": lock_state }), &recent,
            )).collect::<Vec<_>>(),
            "positions": doors.iter().map(|location| property(
                json!({ "location": location, "position": "closed" }), &recent,
            )).collect::<Vec<_>>(),
        },
        "ignition": {
            "state": property(json!("off"), &recent),
        },
    })
}
