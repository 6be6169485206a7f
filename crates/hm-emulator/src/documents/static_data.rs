//! Static data documents (`GET /v1/vehicle-static-data/{vin}` and `.../data`).

use serde_json::{Value, json};

use super::{pick, seed};

fn display_brand(fleet_brand: &str) -> String {
    match fleet_brand {
        "mercedes-benz" => "Mercedes-Benz".into(),
        "bmw" => "BMW".into(),
        "ds" => "DS".into(),
        "volvo-cars" => "Volvo".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// Manufacturer and equipment (the `VehicleStaticDataResponse` schema).
pub fn summary(vin: &str, fleet_brand: &str) -> Value {
    let s = seed(vin);
    let brand = display_brand(fleet_brand);
    let equipment = |id: &str, description: &str| json!({ "manufacturer_id": id, "description": description, "positions": [] });
    json!({
        "manufacturer": {
            "brand": brand,
            "model": format!("{brand} Model {}", 1 + s % 5),
            "type_group_name": format!("Model {}", 1 + s % 5),
            "sub_model": "Emulated",
            "sales_description": format!("{brand} Model {} Emulated Edition", 1 + s % 5),
            "vehicle_main_type_key": format!("{}", 100 + s % 50),
            "vehicle_sub_type_key": format!("{}", s % 40),
            "vehicle_type_key": "1",
        },
        "equipment": {
            "series_equipment": [
                equipment("E01", "airbag driver side/passenger side"),
                equipment("E02", "anti-lock braking system (ABS)"),
            ],
            "special_equipment": [equipment("S01", "navigation system")],
        },
    })
}

/// Detailed vehicle data (a subset of the `VehicleStaticDataDataResponse` schema).
pub fn details(vin: &str, fleet_brand: &str) -> Value {
    let s = seed(vin);
    let brand = display_brand(fleet_brand);
    let power_kw = pick(s, 20, 70.0, 220.0, 0);
    json!({
        "vehicle": {
            "manufacturer": {
                "brand": { "id": format!("{}", 100 + s % 200), "name": brand },
                "model": { "id": format!("{}", s % 300), "name": format!("{brand} Model {}", 1 + s % 5) },
                "sales_description": format!("{brand} Model {} Emulated Edition", 1 + s % 5),
            },
            "specs": {
                "body": { "doors": "5", "seats": "5" },
                "engine": { "output": { "power": {
                    "kw": format!("{power_kw}"),
                    "hp": format!("{}", (power_kw * 1.36).round()),
                } } },
                "fuel": { "capacity": format!("{}", pick(s, 21, 40.0, 70.0, 0)) },
            },
        }
    })
}
